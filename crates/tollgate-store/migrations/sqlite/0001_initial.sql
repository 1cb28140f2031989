-- Tollgate schema, SQLite. Money is INTEGER nano-USD; times are INTEGER Unix milliseconds (UTC).
-- Platform and auth-source names are plain TEXT with no CHECK list: the registries live in code.

CREATE TABLE users (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    email                 TEXT    NOT NULL UNIQUE,
    display_name          TEXT    NOT NULL DEFAULT '',
    password_hash         TEXT,
    role                  TEXT    NOT NULL DEFAULT 'user',
    status                TEXT    NOT NULL DEFAULT 'active',
    auth_source           TEXT    NOT NULL DEFAULT 'email',
    cost_multiplier_nanos INTEGER NOT NULL DEFAULT 1000000000,
    created_at_ms         INTEGER NOT NULL,
    updated_at_ms         INTEGER NOT NULL
);

-- An external identity (OAuth / OIDC subject) linked to a user.
CREATE TABLE user_identities (
    source        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (source, subject)
);

CREATE TABLE settings (
    key           TEXT    PRIMARY KEY,
    value         TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- Runtime quota rows: one per (user, platform). A NULL limit is unlimited, 0 is disabled.
-- A row whose deleted_at_ms is set has had its limits removed by an admin; its usage is still metered.
CREATE TABLE user_platform_quotas (
    user_id                 INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    platform                TEXT    NOT NULL,
    daily_limit_nanos       INTEGER,
    weekly_limit_nanos      INTEGER,
    monthly_limit_nanos     INTEGER,
    daily_usage_nanos       INTEGER NOT NULL DEFAULT 0,
    weekly_usage_nanos      INTEGER NOT NULL DEFAULT 0,
    monthly_usage_nanos     INTEGER NOT NULL DEFAULT 0,
    daily_window_start_ms   INTEGER,
    weekly_window_start_ms  INTEGER,
    monthly_window_start_ms INTEGER,
    deleted_at_ms           INTEGER,
    created_at_ms           INTEGER NOT NULL,
    updated_at_ms           INTEGER NOT NULL,
    PRIMARY KEY (user_id, platform)
);

-- Strict-mode reservations: an upper bound of an in-flight request's cost, per request.
CREATE TABLE quota_reservations (
    request_id    TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    platform      TEXT    NOT NULL,
    amount_nanos  INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE INDEX quota_reservations_user ON quota_reservations (user_id, platform);

-- One row per settled request; request_id makes settlement idempotent.
CREATE TABLE usage_records (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
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
    created_at_ms        INTEGER NOT NULL
);
CREATE INDEX usage_records_user_time ON usage_records (user_id, created_at_ms);

CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    prefix          TEXT    NOT NULL,
    key_hash        TEXT    NOT NULL UNIQUE,
    platforms       TEXT,
    created_at_ms   INTEGER NOT NULL,
    last_used_at_ms INTEGER,
    revoked_at_ms   INTEGER
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE sessions (
    token_hash    TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token    TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);

CREATE TABLE upstreams (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    platform      TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    base_url      TEXT    NOT NULL,
    api_key       TEXT    NOT NULL,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    priority      INTEGER NOT NULL DEFAULT 0,
    protocol      TEXT    NOT NULL DEFAULT 'native',
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

-- Admin price overrides, USD per million tokens as nano-USD.
CREATE TABLE price_overrides (
    model                     TEXT    PRIMARY KEY,
    platform                  TEXT    NOT NULL,
    input_nanos               INTEGER NOT NULL,
    output_nanos              INTEGER NOT NULL,
    cache_read_nanos          INTEGER,
    cache_write_5m_nanos      INTEGER,
    cache_write_1h_nanos      INTEGER,
    long_context              TEXT,
    updated_at_ms             INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms          INTEGER NOT NULL,
    actor_id       INTEGER,
    action         TEXT    NOT NULL,
    target_user_id INTEGER,
    platform       TEXT,
    before_json    TEXT,
    after_json     TEXT
);
CREATE INDEX audit_log_target ON audit_log (target_user_id, at_ms);
