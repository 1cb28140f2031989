-- Threshold alerts (docs/alerts.md).

-- The language of a user's emails and console ('en' or 'zh').
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en';

-- One row per threshold reached in one window of one (user, platform): the unique key is what makes
-- detection idempotent across processes and retries (INSERT ... ON CONFLICT DO NOTHING).
CREATE TABLE quota_alerts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform         TEXT    NOT NULL,
    window_name      TEXT    NOT NULL,
    threshold        INTEGER  NOT NULL,
    window_start_ms  INTEGER  NOT NULL,
    usage_nanos      INTEGER  NOT NULL,
    limit_nanos      INTEGER  NOT NULL,
    resets_at_ms     INTEGER,
    created_at_ms    INTEGER  NOT NULL,
    UNIQUE (user_id, platform, window_name, threshold, window_start_ms)
);
CREATE INDEX quota_alerts_created ON quota_alerts (created_at_ms);

-- Deliveries still to make (or made): one row per channel and recipient, written in the alert's
-- transaction. A worker claims due rows with a lease (locked_until_ms), so two processes never send
-- the same row at once; failures are retried with backoff until dead_at_ms.
CREATE TABLE alert_outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id            INTEGER  NOT NULL REFERENCES quota_alerts(id) ON DELETE CASCADE,
    channel             TEXT    NOT NULL,
    recipient           TEXT    NOT NULL,
    payload             TEXT    NOT NULL,
    attempts            INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at_ms  INTEGER  NOT NULL,
    locked_until_ms     INTEGER  NOT NULL DEFAULT 0,
    delivered_at_ms     INTEGER,
    dead_at_ms          INTEGER,
    last_error          TEXT
);
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at_ms) WHERE delivered_at_ms IS NULL AND dead_at_ms IS NULL;
CREATE INDEX alert_outbox_alert ON alert_outbox (alert_id);

-- Notices shown on a user's dashboard.
CREATE TABLE notices (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind           TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    created_at_ms  INTEGER  NOT NULL,
    read_at_ms     INTEGER
);
CREATE INDEX notices_user ON notices (user_id, id);
