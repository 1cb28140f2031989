-- The request log (docs/request-log.md): every gateway request. A charged request is its usage
-- record (which gains the time to first byte and the client's x-request-id); a request that was
-- not charged (refused, failed upstream, never billed) is a row of unbilled_requests. The view
-- request_log is both, with one set of columns.

ALTER TABLE usage_records ADD COLUMN ttfb_ms BIGINT;
ALTER TABLE usage_records ADD COLUMN client_request_id TEXT;
-- Time-range reads of all users (the admin's log, CSV export, retention pruning).
CREATE INDEX usage_records_time ON usage_records (created_at_ms);

CREATE TABLE unbilled_requests (
    request_id        TEXT    NOT NULL PRIMARY KEY,
    client_request_id TEXT,
    created_at_ms     BIGINT  NOT NULL,
    user_id           BIGINT,
    api_key_id        BIGINT,
    platform          TEXT    NOT NULL,
    route             TEXT    NOT NULL,
    model             TEXT,
    outcome           TEXT    NOT NULL,
    http_status       BIGINT  NOT NULL,
    latency_ms        BIGINT  NOT NULL,
    upstream_id       BIGINT
);
CREATE INDEX unbilled_requests_time ON unbilled_requests (created_at_ms);
CREATE INDEX unbilled_requests_user_time ON unbilled_requests (user_id, created_at_ms);

CREATE VIEW request_log AS
SELECT request_id, client_request_id, created_at_ms, user_id, api_key_id, platform, CAST(NULL AS TEXT) AS route,
       model, status AS outcome, http_status, input_tokens, output_tokens, cache_read_tokens,
       cache_write_5m_tokens + cache_write_1h_tokens AS cache_write_tokens, cost_nanos, latency_ms, ttfb_ms,
       upstream_id, output_estimated, TRUE AS charged
FROM usage_records
UNION ALL
SELECT request_id, client_request_id, created_at_ms, user_id, api_key_id, platform, route, model,
       outcome, http_status, 0, 0, 0, 0, 0, latency_ms, NULL, upstream_id, FALSE, FALSE
FROM unbilled_requests;
