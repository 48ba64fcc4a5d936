-- Webhooks out: the shop's endpoints, one delivery per (outbox message, endpoint),
-- and every attempt at it. Secrets are kept as given (`whsec_…`): signing needs them.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    shop_id         TEXT NOT NULL REFERENCES shops (id),
    url             TEXT NOT NULL,
    -- A JSON array of event types, `prefix.*` or `*`.
    events          JSONB NOT NULL,
    secret          TEXT NOT NULL,
    -- The secret before the last rotation, still signing alongside until previous_until.
    previous_secret TEXT,
    previous_until  BIGINT,
    enabled         BOOLEAN NOT NULL,
    -- Why the endpoint was turned off by Kembali (a 410 answer), if it was.
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
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
    attempts      BIGINT NOT NULL DEFAULT 0,
    last_status   BIGINT,
    last_error    TEXT,
    last_attempt_at BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- One delivery per message and endpoint, however often the message is dispatched.
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (endpoint_id, message_id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (shop_id, endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    shop_id     TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    status      BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
