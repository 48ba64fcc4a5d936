-- Webhooks out: the shop's endpoints, one delivery per (outbox message, endpoint),
-- and every attempt at it. Secrets are kept as given (`whsec_…`): signing needs them.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    shop_id         TEXT NOT NULL REFERENCES shops (id),
    url             TEXT NOT NULL,
    -- A JSON array of event types, `prefix.*` or `*`.
    events          TEXT NOT NULL,
    secret          TEXT NOT NULL,
    -- The secret before the last rotation, still signing alongside until previous_until.
    previous_secret TEXT,
    previous_until  INTEGER,
    enabled         INTEGER NOT NULL,
    -- Why the endpoint was turned off by Kembali (a 410 answer), if it was.
    disabled_reason TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_shop ON webhook_endpoints (shop_id, id);

CREATE TABLE webhook_deliveries (
    id            TEXT PRIMARY KEY,
    shop_id       TEXT NOT NULL REFERENCES shops (id),
    endpoint_id   TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    -- pending, delivered, retrying, dead
    state         TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_status   INTEGER,
    last_error    TEXT,
    last_attempt_at INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
-- One delivery per message and endpoint, however often the message is dispatched.
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (endpoint_id, message_id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (shop_id, endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    shop_id     TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    status      INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
