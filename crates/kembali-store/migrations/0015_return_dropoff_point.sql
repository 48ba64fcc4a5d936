-- The drop-off point the shopper chose for a return handed in at one (method
-- `drop_off`): the carrier and the carrier's own id of the point, as a shop's
-- points are keyed. No foreign key: a later import may drop the point, and the
-- return keeps what was chosen. Plain `ADD COLUMN`s of nullable text, one per
-- statement, read the same by SQLite and PostgreSQL (no type to rewrite).
ALTER TABLE returns ADD COLUMN dropoff_carrier TEXT;
ALTER TABLE returns ADD COLUMN dropoff_point_id TEXT;
