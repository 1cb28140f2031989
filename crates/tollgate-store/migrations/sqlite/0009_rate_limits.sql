-- Rate limits (docs/rate-limits.md): per-user and per-key overrides. SQLite serves one process,
-- which keeps its rate counters in memory (no counter tables here).

-- A user's or a key's own limits on one platform; NULL = unlimited. A user without a row for a
-- platform inherits the settings defaults; a key without one has no key-level limit.
CREATE TABLE rate_limits (
    subject_kind   TEXT    NOT NULL CHECK (subject_kind IN ('user', 'key')),
    subject_id     INTEGER NOT NULL,
    platform       TEXT    NOT NULL,
    rpm            INTEGER CHECK (rpm IS NULL OR rpm >= 1),
    tpm            INTEGER CHECK (tpm IS NULL OR tpm >= 1),
    concurrency    INTEGER CHECK (concurrency IS NULL OR concurrency >= 1),
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (subject_kind, subject_id, platform)
);
