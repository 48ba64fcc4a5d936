-- The merchant API's resources: shop settings read whole, the customer's history
-- kept on their row, cancelled orders, and agents' notes on returns.

-- The reasons a shop offers, per language, and where parcels go back to: JSON
-- read whole, never queried inside.
ALTER TABLE shops ADD COLUMN reasons JSONB NOT NULL DEFAULT '{}';
ALTER TABLE shops ADD COLUMN return_address JSONB;

-- What the policy asks about a customer, kept on their row and changed in the
-- transaction of the order, return or parcel that changes it: a look-up reads
-- one row however many orders the customer has.
ALTER TABLE customers ADD COLUMN order_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN return_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN refused_parcels BIGINT NOT NULL DEFAULT 0;
UPDATE customers SET
    order_count = (SELECT COUNT(*) FROM orders o
                    WHERE o.shop_id = customers.shop_id AND o.customer_id = customers.id),
    return_count = (SELECT COUNT(*) FROM returns r
                      JOIN orders o ON o.shop_id = r.shop_id AND o.id = r.order_id
                     WHERE o.shop_id = customers.shop_id AND o.customer_id = customers.id),
    refused_parcels = (SELECT COUNT(*) FROM orders o
                         JOIN shipments s ON s.shop_id = o.shop_id AND s.order_id = o.id
                        WHERE o.shop_id = customers.shop_id AND o.customer_id = customers.id
                          AND o.payment_method = 'cash_on_delivery'
                          AND s.status = 'returned_to_sender');

-- An order cancelled before delivery takes no returns.
ALTER TABLE orders ADD COLUMN cancelled_at BIGINT;

-- Agents' internal notes on a return: not status changes, so not on the timeline.
CREATE TABLE return_notes (
    shop_id   TEXT NOT NULL,
    id        TEXT NOT NULL,
    return_id TEXT NOT NULL,
    body      TEXT NOT NULL,
    actor     JSONB NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (shop_id, id),
    FOREIGN KEY (shop_id, return_id) REFERENCES returns (shop_id, id)
);
CREATE INDEX return_notes_return ON return_notes (shop_id, return_id, id);
