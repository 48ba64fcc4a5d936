-- Shoppers' photos for returns and claims, as Kembali re-encoded them (JPEG,
-- no metadata): never the bytes as uploaded. They live in the database, not
-- on an instance's disk, so every instance behind a load balancer serves them.
-- `sha256` is of the stored bytes (a check a backup can make). `return_id` is
-- the return that last named the photo: photos no return names are purged
-- after a week (`photos.purge`), through the partial index.
CREATE TABLE photos (
    shop_id    TEXT NOT NULL REFERENCES shops (id),
    id         TEXT NOT NULL,
    width      BIGINT NOT NULL,
    height     BIGINT NOT NULL,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    jpeg       BYTEA NOT NULL,
    return_id  TEXT,
    PRIMARY KEY (shop_id, id)
);
CREATE INDEX photos_unattached ON photos (created_at) WHERE return_id IS NULL;
