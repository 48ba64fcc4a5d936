-- The return portal's signing secret per shop, made once by whichever instance
-- asks first, so every instance signs links and form tokens alike.
CREATE TABLE portal_secrets (
    shop_id    TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (shop_id)
);

-- Failed order look-ups per subject (a client address or an order number) and
-- time window: the rate limit holds across instances.
CREATE TABLE portal_attempts (
    shop_id      TEXT NOT NULL,
    subject      TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    failures     BIGINT NOT NULL,
    PRIMARY KEY (shop_id, subject, window_start)
);
