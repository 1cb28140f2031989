-- The request log (docs/request-log.md): every gateway request. A charged request is its usage
-- record (which gains the time to first byte and the client's x-request-id); a request that was
-- not charged (refused, failed upstream, never billed) is a row of unbilled_requests. The view
-- request_log is both, with one set of columns.

ALTER TABLE usage_records ADD COLUMN ttfb_ms INTEGER;
ALTER TABLE usage_records ADD COLUMN client_request_id TEXT;
-- Time-range reads of all users (the admin's log, CSV export, retention pruning).
CREATE INDEX usage_records_time ON usage_records (created_at_ms);

CREATE TABLE unbilled_requests (
    request_id        TEXT    NOT NULL PRIMARY KEY,
    client_request_id TEXT,
    created_at_ms     INTEGER NOT NULL,
    user_id           INTEGER,
    api_key_id        INTEGER,
    platform          TEXT    NOT NULL,
    route             TEXT    NOT NULL,
    model             TEXT,
    outcome           TEXT    NOT NULL,
    http_status       INTEGER NOT NULL,
    latency_ms        INTEGER NOT NULL,
    upstream_id       INTEGER
) WITHOUT ROWID;
CREATE INDEX unbilled_requests_time ON unbilled_requests (created_at_ms);
CREATE INDEX unbilled_requests_user_time ON unbilled_requests (user_id, created_at_ms);

CREATE VIEW request_log AS
SELECT request_id, client_request_id, created_at_ms, user_id, api_key_id, platform, NULL AS route, model,
       status AS outcome, http_status, input_tokens, output_tokens, cache_read_tokens,
       cache_write_5m_tokens + cache_write_1h_tokens AS cache_write_tokens, cost_nanos, latency_ms, ttfb_ms,
       upstream_id, output_estimated, 1 AS charged
FROM usage_records
UNION ALL
SELECT request_id, client_request_id, created_at_ms, user_id, api_key_id, platform, route, model,
       outcome, http_status, 0, 0, 0, 0, 0, latency_ms, NULL, upstream_id, 0, 0
FROM unbilled_requests;
