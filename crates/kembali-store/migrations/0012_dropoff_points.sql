-- Drop-off points where shoppers hand in returns (parcel lockers, courier agents,
-- shops), imported per shop from CSV and keyed by the carrier and the carrier's
-- own id of the point, so a new import of the same file updates them in place.
-- Coordinates are millionths of a degree (about 0.1 m), as integers, so both
-- databases compare and round them the same way.
CREATE TABLE dropoff_points (
    shop_id       TEXT NOT NULL REFERENCES shops (id),
    carrier       TEXT NOT NULL,
    point_id      TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT,
    address       TEXT NOT NULL,
    city          TEXT,
    postal_code   TEXT NOT NULL,
    -- The postal code as compared: letters and digits, upper case (`00950`).
    postal_key    TEXT NOT NULL,
    country       TEXT,
    latitude      BIGINT NOT NULL,
    longitude     BIGINT NOT NULL,
    opening_hours TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (shop_id, carrier, point_id)
);
CREATE INDEX dropoff_points_postal ON dropoff_points (shop_id, postal_key);
CREATE INDEX dropoff_points_latitude ON dropoff_points (shop_id, latitude);
