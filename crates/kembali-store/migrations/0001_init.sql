-- Kembali's first schema. Every table carries shop_id and every key starts with it,
-- so the tables can be distributed by shop (Citus) without changing a query.
-- Times are BIGINT milliseconds since the Unix epoch (UTC), bound from Rust.

CREATE TABLE shops (
    id            TEXT PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    time_zone     TEXT NOT NULL,
    default_locale TEXT NOT NULL,
    country       TEXT NOT NULL,
    return_prefix TEXT NOT NULL,
    return_seq    BIGINT NOT NULL DEFAULT 1000,
    created_at    BIGINT NOT NULL
);

CREATE TABLE api_keys (
    shop_id      TEXT NOT NULL REFERENCES shops (id),
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    PRIMARY KEY (shop_id, id)
);

CREATE TABLE customers (
    shop_id    TEXT NOT NULL REFERENCES shops (id),
    id         TEXT NOT NULL,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL,
    locale     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (shop_id, id),
    UNIQUE (shop_id, email)
);

CREATE TABLE products (
    shop_id  TEXT NOT NULL REFERENCES shops (id),
    id       TEXT NOT NULL,
    title    TEXT NOT NULL,
    category TEXT,
    tags     JSONB NOT NULL,
    PRIMARY KEY (shop_id, id)
);

CREATE TABLE variants (
    shop_id    TEXT NOT NULL,
    id         TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sku        TEXT NOT NULL,
    title      TEXT NOT NULL,
    price      BIGINT NOT NULL,
    currency   TEXT NOT NULL,
    final_sale BOOLEAN NOT NULL,
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
    placed_at         BIGINT NOT NULL,
    payment_method    TEXT NOT NULL,
    taxes_included    BOOLEAN NOT NULL,
    shipping_address  JSONB NOT NULL,
    shipping_paid     BIGINT NOT NULL,
    cheapest_shipping BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
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
    position   BIGINT NOT NULL,
    product_id TEXT,
    variant_id TEXT,
    sku        TEXT NOT NULL,
    title      TEXT NOT NULL,
    category   TEXT,
    tags       JSONB NOT NULL,
    final_sale BOOLEAN NOT NULL,
    quantity   BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    discount   BIGINT NOT NULL,
    tax        BIGINT NOT NULL,
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
    shipped_at      BIGINT,
    delivered_at    BIGINT,
    promised_by     BIGINT,
    lines           JSONB NOT NULL,
    PRIMARY KEY (shop_id, id),
    FOREIGN KEY (shop_id, order_id) REFERENCES orders (shop_id, id)
);
CREATE INDEX shipments_order ON shipments (shop_id, order_id);

-- One row per version of a shop's policy; a return names the version it was decided under.
CREATE TABLE policies (
    shop_id    TEXT NOT NULL REFERENCES shops (id),
    version    BIGINT NOT NULL,
    document   JSONB NOT NULL,
    created_at BIGINT NOT NULL,
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
    version        BIGINT NOT NULL,
    policy_version BIGINT NOT NULL,
    method         TEXT NOT NULL,
    risk           JSONB NOT NULL,
    quote          JSONB NOT NULL,
    refund_due_by  BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
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
    position         BIGINT NOT NULL,
    line_id          TEXT NOT NULL,
    quantity         BIGINT NOT NULL,
    reason           TEXT NOT NULL,
    comment          TEXT,
    resolution       TEXT NOT NULL,
    photos           JSONB NOT NULL,
    decision         JSONB NOT NULL,
    facts            JSONB NOT NULL,
    receipt          JSONB,
    inspection       JSONB,
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
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    actor      JSONB NOT NULL,
    note       TEXT,
    data       JSONB NOT NULL,
    PRIMARY KEY (shop_id, id),
    UNIQUE (shop_id, return_id, seq),
    FOREIGN KEY (shop_id, return_id) REFERENCES returns (shop_id, id)
);

-- The first response to each Idempotency-Key, kept so a retry gets it again.
CREATE TABLE idempotency_keys (
    shop_id      TEXT NOT NULL REFERENCES shops (id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code  BIGINT NOT NULL,
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (shop_id, key)
);
