-- usage_records without AUTOINCREMENT. AUTOINCREMENT made every settlement also rewrite the
-- sqlite_sequence page: one more WAL frame per commit (of about five), and WAL volume is what
-- checkpoints pay for (docs/benchmarks.md). Record ids are internal (no query uses them), so
-- SQLite's plain rowid (max + 1) serves.

CREATE TABLE usage_records_new (
    id                   INTEGER PRIMARY KEY,
    request_id           TEXT    NOT NULL UNIQUE,
    user_id              INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    api_key_id           INTEGER,
    platform             TEXT    NOT NULL,
    model                TEXT    NOT NULL,
    input_tokens         INTEGER NOT NULL DEFAULT 0,
    output_tokens        INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens    INTEGER NOT NULL DEFAULT 0,
    cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
    cost_nanos           INTEGER NOT NULL,
    status               TEXT    NOT NULL,
    http_status          INTEGER,
    latency_ms           INTEGER NOT NULL DEFAULT 0,
    upstream_id          INTEGER,
    output_estimated     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at_ms        INTEGER NOT NULL,
    daily_from_ms        INTEGER NOT NULL DEFAULT 0,
    daily_start_ms       INTEGER NOT NULL DEFAULT 0,
    weekly_from_ms       INTEGER NOT NULL DEFAULT 0,
    weekly_start_ms      INTEGER NOT NULL DEFAULT 0,
    monthly_from_ms      INTEGER NOT NULL DEFAULT 0,
    monthly_start_ms     INTEGER NOT NULL DEFAULT 0,
    held                 BOOLEAN NOT NULL DEFAULT FALSE
);

INSERT INTO usage_records_new
    (id, request_id, user_id, api_key_id, platform, model, input_tokens, output_tokens, cache_read_tokens,
     cache_write_5m_tokens, cache_write_1h_tokens, cost_nanos, status, http_status, latency_ms, upstream_id,
     output_estimated, created_at_ms, daily_from_ms, daily_start_ms, weekly_from_ms, weekly_start_ms,
     monthly_from_ms, monthly_start_ms, held)
SELECT id, request_id, user_id, api_key_id, platform, model, input_tokens, output_tokens, cache_read_tokens,
     cache_write_5m_tokens, cache_write_1h_tokens, cost_nanos, status, http_status, latency_ms, upstream_id,
     output_estimated, created_at_ms, daily_from_ms, daily_start_ms, weekly_from_ms, weekly_start_ms,
     monthly_from_ms, monthly_start_ms, held
FROM usage_records;

-- Dropping the table drops its index and the settlement trigger; both are recreated below as
-- migrations 0001 and 0002 defined them.
DROP TABLE usage_records;
ALTER TABLE usage_records_new RENAME TO usage_records;
DELETE FROM sqlite_sequence WHERE name = 'usage_records';
CREATE INDEX usage_records_user_time ON usage_records (user_id, created_at_ms);

CREATE TRIGGER usage_records_charge AFTER INSERT ON usage_records
BEGIN
    INSERT INTO user_platform_quotas
        (user_id, platform, daily_usage_nanos, weekly_usage_nanos, monthly_usage_nanos,
         daily_window_start_ms, weekly_window_start_ms, monthly_window_start_ms, created_at_ms, updated_at_ms)
    VALUES (NEW.user_id, NEW.platform, NEW.cost_nanos, NEW.cost_nanos, NEW.cost_nanos,
            NEW.daily_start_ms, NEW.weekly_start_ms, NEW.monthly_start_ms, NEW.created_at_ms, NEW.created_at_ms)
    ON CONFLICT (user_id, platform) DO UPDATE SET
        daily_usage_nanos = CASE WHEN daily_window_start_ms >= NEW.daily_from_ms
            THEN daily_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        daily_window_start_ms = CASE WHEN daily_window_start_ms >= NEW.daily_from_ms
            THEN daily_window_start_ms ELSE NEW.daily_start_ms END,
        weekly_usage_nanos = CASE WHEN weekly_window_start_ms >= NEW.weekly_from_ms
            THEN weekly_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        weekly_window_start_ms = CASE WHEN weekly_window_start_ms >= NEW.weekly_from_ms
            THEN weekly_window_start_ms ELSE NEW.weekly_start_ms END,
        monthly_usage_nanos = CASE WHEN monthly_window_start_ms >= NEW.monthly_from_ms
            THEN monthly_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        monthly_window_start_ms = CASE WHEN monthly_window_start_ms >= NEW.monthly_from_ms
            THEN monthly_window_start_ms ELSE NEW.monthly_start_ms END,
        updated_at_ms = NEW.created_at_ms;
    DELETE FROM quota_reservations WHERE NEW.held AND request_id = NEW.request_id;
END;
