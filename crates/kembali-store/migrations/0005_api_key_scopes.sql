-- What each API key may do: `read`, `write`, `admin`, joined by commas. Keys made
-- before scopes existed could do everything, so they stay `admin`.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'admin';

-- Lists page through (shop_id, id), the primary keys; their created-range
-- filters read these instead of every row of the shop.
CREATE INDEX orders_created ON orders (shop_id, created_at);
CREATE INDEX returns_created ON returns (shop_id, created_at);
