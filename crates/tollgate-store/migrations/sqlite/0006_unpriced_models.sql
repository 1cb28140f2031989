-- Models that were called without a price of their own (priced at the platform's fallback, or
-- refused): the console lists them so an admin can price them in one step.
CREATE TABLE unpriced_models (
    model          TEXT    NOT NULL,
    platform       TEXT    NOT NULL,
    requests       INTEGER NOT NULL DEFAULT 0,
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    PRIMARY KEY (model, platform)
);
