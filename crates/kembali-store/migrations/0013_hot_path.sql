-- The hot path (issue 11): outbox messages dispatched in batches by a relay
-- that reads the outbox itself, and indexes that serve the reads of every
-- order look-up whatever the planner's statistics say.

-- The relay takes pending messages oldest first. A message it could not
-- dispatch is handed to a job of its own (retried with back-off, `dead` for an
-- operator to see) and leaves the relay's queue.
ALTER TABLE outbox ADD COLUMN handed_off_at BIGINT;
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (occurred_at, id)
    WHERE dispatched_at IS NULL AND handed_off_at IS NULL;

-- An order's shipments in id order: without statistics SQLite chose the
-- primary key (shop_id, id) for `… WHERE shop_id = ? AND order_id = ? ORDER BY
-- id` and walked every shipment of the shop.
DROP INDEX shipments_order;
CREATE INDEX shipments_order ON shipments (shop_id, order_id, id);
