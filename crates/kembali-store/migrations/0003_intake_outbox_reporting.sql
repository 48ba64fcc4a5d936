-- Order intake by source: a platform's redelivered or reordered webhook finds the
-- order it made by (source, external_id) instead of making a second one.
ALTER TABLE orders ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
ALTER TABLE orders ADD COLUMN external_id TEXT;
-- The platform's own last-change time: an older update never overwrites a newer one.
ALTER TABLE orders ADD COLUMN source_updated_at BIGINT;
ALTER TABLE orders ADD COLUMN updated_at BIGINT;
UPDATE orders SET external_id = number, updated_at = created_at;
CREATE UNIQUE INDEX orders_source ON orders (shop_id, source, external_id);
-- The platform's id of a line, so an update changes the line it names.
ALTER TABLE order_lines ADD COLUMN external_id TEXT;

-- What reports sum and group by, in columns rather than inside JSON: the value of
-- the returned items, the fees, the refund and the credit (minor units of the
-- order's currency), and the day the return was opened in the shop's time zone.
ALTER TABLE returns ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE returns ADD COLUMN item_value BIGINT NOT NULL DEFAULT 0;
ALTER TABLE returns ADD COLUMN fees BIGINT NOT NULL DEFAULT 0;
ALTER TABLE returns ADD COLUMN refund BIGINT NOT NULL DEFAULT 0;
ALTER TABLE returns ADD COLUMN credit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE returns ADD COLUMN local_date TEXT NOT NULL DEFAULT '';
CREATE INDEX returns_local_date ON returns (shop_id, local_date);
ALTER TABLE return_items ADD COLUMN category TEXT;
ALTER TABLE return_items ADD COLUMN value BIGINT NOT NULL DEFAULT 0;

-- The transactional outbox: every change the outside may care about, written in
-- the transaction of the change. A dispatch job per message fans it out.
CREATE TABLE outbox (
    shop_id       TEXT NOT NULL REFERENCES shops (id),
    id            TEXT NOT NULL,
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    payload       JSONB NOT NULL,
    occurred_at   BIGINT NOT NULL,
    dispatched_at BIGINT,
    PRIMARY KEY (shop_id, id)
);
CREATE INDEX outbox_subject ON outbox (shop_id, subject, id);
CREATE INDEX outbox_pending ON outbox (occurred_at) WHERE dispatched_at IS NULL;
