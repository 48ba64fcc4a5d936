-- Where a shop's orders come from: a Shopify store (found by its myshopify.com
-- domain, which one app secret may serve for several shops) or a WooCommerce site.
-- The secret signs the platform's webhooks; after a rotation the previous one is
-- still accepted until previous_until, while the platform switches over.
CREATE TABLE sources (
    shop_id         TEXT NOT NULL REFERENCES shops (id),
    id              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    -- Shopify: the shop's myshopify.com domain; WooCommerce: the site's URL.
    address         TEXT NOT NULL,
    secret          TEXT NOT NULL,
    previous_secret TEXT,
    previous_until  BIGINT,
    -- Payment gateway names that mean cash on delivery, as the platform spells them.
    cod_gateways    JSONB NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (shop_id, id)
);
-- A Shopify domain belongs to one shop: it is how a delivery finds its shop.
CREATE UNIQUE INDEX sources_address ON sources (kind, address);

-- Every delivery a source made that passed its signature check: what it was, and
-- what came of it. The platform's delivery id is the replay key.
CREATE TABLE intake_log (
    shop_id     TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    event_id    TEXT,
    topic       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    order_id    TEXT,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (shop_id, id),
    FOREIGN KEY (shop_id, source_id) REFERENCES sources (shop_id, id)
);
CREATE UNIQUE INDEX intake_log_delivery ON intake_log (shop_id, source_id, delivery_id);
CREATE INDEX intake_log_source ON intake_log (shop_id, source_id, id);
