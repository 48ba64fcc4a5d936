-- Stock where the shop tracks it (NULL: not tracked, always available), and the
-- variant's options (size, colour) as the shop names them.
ALTER TABLE variants ADD COLUMN stock BIGINT;
ALTER TABLE variants ADD COLUMN options JSONB;
CREATE INDEX variants_product ON variants (shop_id, product_id);

-- The variant a shopper asked for in exchange for a returned item, and, once the
-- return resolves, the exchange order made for it and the price difference
-- (positive: the shopper pays it; negative: given back as store credit).
CREATE TABLE exchanges (
    shop_id          TEXT NOT NULL,
    item_id          TEXT NOT NULL,
    return_id        TEXT NOT NULL,
    variant_id       TEXT NOT NULL,
    quantity         BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    order_id         TEXT,
    price_difference BIGINT,
    created_at       BIGINT NOT NULL,
    settled_at       BIGINT,
    PRIMARY KEY (shop_id, item_id),
    FOREIGN KEY (shop_id, return_id) REFERENCES returns (shop_id, id),
    FOREIGN KEY (shop_id, variant_id) REFERENCES variants (shop_id, id)
);
CREATE INDEX exchanges_return ON exchanges (shop_id, return_id);
