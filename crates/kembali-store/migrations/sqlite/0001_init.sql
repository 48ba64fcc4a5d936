-- Kembali's first schema. Every table carries shop_id and every key starts with it,
-- so the tables can be distributed by shop (Citus) without changing a query.
-- Times are INTEGER milliseconds since the Unix epoch (UTC), bound from Rust.

CREATE TABLE shops (
    id            TEXT PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    time_zone     TEXT NOT NULL,
    default_locale TEXT NOT NULL,
    country       TEXT NOT NULL,
    return_prefix TEXT NOT NULL,
    return_seq    INTEGER NOT NULL DEFAULT 1000,
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_keys (
    shop_id      TEXT NOT NULL REFERENCES shops (id),
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    PRIMARY KEY (shop_id, id)
);

CREATE TABLE customers (
    shop_id    TEXT NOT NULL REFERENCES shops (id),
    id         TEXT NOT NULL,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL,
    locale     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (shop_id, id),
    UNIQUE (shop_id, email)
);

CREATE TABLE products (
    shop_id  TEXT NOT NULL REFERENCES shops (id),
    id       TEXT NOT NULL,
    title    TEXT NOT NULL,
    category TEXT,
    tags     TEXT NOT NULL,
    PRIMARY KEY (shop_id, id)
);

CREATE TABLE variants (
    shop_id    TEXT NOT NULL,
    id         TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sku        TEXT NOT NULL,
    title      TEXT NOT NULL,
    price      INTEGER NOT NULL,
    currency   TEXT NOT NULL,
    final_sale INTEGER NOT NULL,
    PRIMARY KEY (shop_id, id),
    UNIQUE (shop_id, sku),
    FOREIGN KEY (shop_id, product_id) REFERENCES products (shop_id, id)
);

CREATE TABLE orders (
    shop_id           TEXT NOT NULL REFERENCES shops (id),
    id                TEXT NOT NULL,
    number            TEXT NOT NULL,
    customer_id       TEXT,
    email             TEXT NOT NULL,
    locale            TEXT NOT NULL,
    currency          TEXT NOT NULL,
    placed_at         INTEGER NOT NULL,
    payment_method    TEXT NOT NULL,
    taxes_included    INTEGER NOT NULL,
    shipping_address  TEXT NOT NULL,
    shipping_paid     INTEGER NOT NULL,
    cheapest_shipping INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (shop_id, id),
    UNIQUE (shop_id, number),
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, id)
);
CREATE INDEX orders_email ON orders (shop_id, email);
CREATE INDEX orders_customer ON orders (shop_id, customer_id);

CREATE TABLE order_lines (
    shop_id    TEXT NOT NULL,
    id         TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    position   INTEGER NOT NULL,
    product_id TEXT,
    variant_id TEXT,
    sku        TEXT NOT NULL,
    title      TEXT NOT NULL,
    category   TEXT,
    tags       TEXT NOT NULL,
    final_sale INTEGER NOT NULL,
    quantity   INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    discount   INTEGER NOT NULL,
    tax        INTEGER NOT NULL,
    PRIMARY KEY (shop_id, id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id)
);
CREATE INDEX order_lines_order ON order_lines (shop_id, order_id, position);

CREATE TABLE shipments (
    shop_id         TEXT NOT NULL,
    id              TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    carrier         TEXT NOT NULL,
    tracking_number TEXT,
    status          TEXT NOT NULL,
    shipped_at      INTEGER,
    delivered_at    INTEGER,
    promised_by     INTEGER,
    lines           TEXT NOT NULL,
    PRIMARY KEY (shop_id, id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id)
);
CREATE INDEX shipments_order ON shipments (shop_id, order_id);

-- One row per version of a shop's policy; a return names the version it was decided under.
CREATE TABLE policies (
    shop_id    TEXT NOT NULL REFERENCES shops (id),
    version    INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (shop_id, version)
);

CREATE TABLE returns (
    shop_id        TEXT NOT NULL,
    id             TEXT NOT NULL,
    number         TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    -- The customer's email, copied from the order: their return count is one look-up.
    email          TEXT NOT NULL,
    status         TEXT NOT NULL,
    version        INTEGER NOT NULL,
    policy_version INTEGER NOT NULL,
    method         TEXT NOT NULL,
    risk           TEXT NOT NULL,
    quote          TEXT NOT NULL,
    refund_due_by  INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (shop_id, id),
    UNIQUE (shop_id, number),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id),
    FOREIGN KEY (shop_id, policy_version) REFERENCES policies (shop_id, version)
);
CREATE INDEX returns_order ON returns (shop_id, order_id);
CREATE INDEX returns_email ON returns (shop_id, email);
CREATE INDEX returns_status ON returns (shop_id, status, created_at);

CREATE TABLE return_items (
    shop_id          TEXT NOT NULL,
    id               TEXT NOT NULL,
    return_id        TEXT NOT NULL,
    -- The order, copied from the return, so held quantities are one index look-up.
    order_id         TEXT NOT NULL,
    position         INTEGER NOT NULL,
    line_id          TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    comment          TEXT,
    resolution       TEXT NOT NULL,
    photos           TEXT NOT NULL,
    decision         TEXT NOT NULL,
    facts            TEXT NOT NULL,
    receipt          TEXT,
    inspection       TEXT,
    final_resolution TEXT,
    PRIMARY KEY (shop_id, id),
    FOREIGN KEY (shop_id, return_id) REFERENCES returns (shop_id, id),
    FOREIGN KEY (shop_id, line_id) REFERENCES order_lines (shop_id, id)
);
CREATE INDEX return_items_return ON return_items (shop_id, return_id, position);
CREATE INDEX return_items_order ON return_items (shop_id, order_id);

-- Append-only timeline of a return.
CREATE TABLE return_events (
    shop_id    TEXT NOT NULL,
    id         TEXT NOT NULL,
    return_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    note       TEXT,
    data       TEXT NOT NULL,
    PRIMARY KEY (shop_id, id),
    UNIQUE (shop_id, return_id, seq),
    FOREIGN KEY (shop_id, return_id) REFERENCES returns (shop_id, id)
);

-- The first response to each Idempotency-Key, kept so a retry gets it again.
CREATE TABLE idempotency_keys (
    shop_id      TEXT NOT NULL REFERENCES shops (id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (shop_id, key)
);
