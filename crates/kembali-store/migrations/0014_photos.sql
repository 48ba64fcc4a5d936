-- Shoppers' photos for returns and claims, as Kembali re-encoded them (JPEG,
-- no metadata): never the bytes as uploaded. They live in the database, not
-- on an instance's disk, so every instance behind a load balancer serves them.
-- `sha256` is of the stored bytes (an ETag, and a check a backup can make).
CREATE TABLE photos (
    shop_id    TEXT NOT NULL REFERENCES shops (id),
    id         TEXT NOT NULL,
    width      BIGINT NOT NULL,
    height     BIGINT NOT NULL,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    jpeg       BYTEA NOT NULL,
    PRIMARY KEY (shop_id, id)
);
