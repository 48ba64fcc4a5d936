-- Shipments as their own resource: the carrier's tracking page for the parcel.
ALTER TABLE shipments ADD COLUMN tracking_url TEXT;

-- Where a return's refund goes (bank account, e-wallet, store credit), checked
-- when the return was opened; the whole account number is kept here and on the
-- refund, and shown masked everywhere but to the payer.
ALTER TABLE returns ADD COLUMN refund_destination JSONB;
ALTER TABLE refunds ADD COLUMN payout JSONB;

-- The returns list narrowed to a customer: copied from the order when the
-- return is opened, as the email is.
ALTER TABLE returns ADD COLUMN customer_id TEXT;
UPDATE returns SET customer_id = (
    SELECT o.customer_id FROM orders o WHERE o.shop_id = returns.shop_id AND o.id = returns.order_id
);
CREATE INDEX returns_customer ON returns (shop_id, customer_id, id);
