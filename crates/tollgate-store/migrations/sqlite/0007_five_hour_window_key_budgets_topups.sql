-- Issue 15: the rolling 5-hour window, per-API-key budgets and admin top-ups.
--
-- - Every quota row gets a five_hour window (limit, usage, start) and, per window, a top-up: an
--   admin's extra allowance for the window it was given in. The charge resets a window's top-up with
--   its usage when the window rolls over, so a top-up ends with its window.
-- - key_platform_quotas: the same row per (API key, platform). Every charge made with a key is
--   counted there too (its spend shows even without limits); a request must fit both rows.
-- - api_keys.lifetime_*: an optional budget of a key over its whole life, all platforms together.
-- - usage_records carries the 5-hour window rule like the others; quota_reservations the key, so a
--   strict-mode hold counts against the key's windows and lifetime budget as well.

ALTER TABLE user_platform_quotas ADD COLUMN five_hour_limit_nanos INTEGER;
ALTER TABLE user_platform_quotas ADD COLUMN five_hour_usage_nanos INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_platform_quotas ADD COLUMN five_hour_window_start_ms INTEGER;
ALTER TABLE user_platform_quotas ADD COLUMN five_hour_topup_nanos INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_platform_quotas ADD COLUMN daily_topup_nanos INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_platform_quotas ADD COLUMN weekly_topup_nanos INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_platform_quotas ADD COLUMN monthly_topup_nanos INTEGER NOT NULL DEFAULT 0;

CREATE TABLE key_platform_quotas (
    key_id        INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL,
    platform      TEXT    NOT NULL,
    five_hour_limit_nanos INTEGER,
    daily_limit_nanos INTEGER,
    weekly_limit_nanos INTEGER,
    monthly_limit_nanos INTEGER,
    five_hour_usage_nanos INTEGER NOT NULL DEFAULT 0,
    daily_usage_nanos INTEGER NOT NULL DEFAULT 0,
    weekly_usage_nanos INTEGER NOT NULL DEFAULT 0,
    monthly_usage_nanos INTEGER NOT NULL DEFAULT 0,
    five_hour_window_start_ms INTEGER,
    daily_window_start_ms INTEGER,
    weekly_window_start_ms INTEGER,
    monthly_window_start_ms INTEGER,
    five_hour_topup_nanos INTEGER NOT NULL DEFAULT 0,
    daily_topup_nanos INTEGER NOT NULL DEFAULT 0,
    weekly_topup_nanos INTEGER NOT NULL DEFAULT 0,
    monthly_topup_nanos INTEGER NOT NULL DEFAULT 0,
    deleted_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (key_id, platform)
);

ALTER TABLE api_keys ADD COLUMN lifetime_limit_nanos INTEGER;
ALTER TABLE api_keys ADD COLUMN lifetime_usage_nanos INTEGER NOT NULL DEFAULT 0;

ALTER TABLE usage_records ADD COLUMN five_hour_from_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN five_hour_start_ms INTEGER NOT NULL DEFAULT 0;

ALTER TABLE quota_reservations ADD COLUMN api_key_id INTEGER;
CREATE INDEX quota_reservations_key ON quota_reservations (api_key_id, platform);

DROP TRIGGER usage_records_charge;

CREATE TRIGGER usage_records_charge AFTER INSERT ON usage_records
BEGIN
    INSERT INTO user_platform_quotas
        (user_id, platform, five_hour_usage_nanos, daily_usage_nanos, weekly_usage_nanos, monthly_usage_nanos,
         five_hour_window_start_ms, daily_window_start_ms, weekly_window_start_ms, monthly_window_start_ms, created_at_ms, updated_at_ms)
    VALUES (NEW.user_id, NEW.platform, NEW.cost_nanos, NEW.cost_nanos, NEW.cost_nanos, NEW.cost_nanos,
            NEW.five_hour_start_ms, NEW.daily_start_ms, NEW.weekly_start_ms, NEW.monthly_start_ms, NEW.created_at_ms, NEW.created_at_ms)
    ON CONFLICT (user_id, platform) DO UPDATE SET
        five_hour_usage_nanos = CASE WHEN five_hour_window_start_ms >= NEW.five_hour_from_ms
            THEN five_hour_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        five_hour_topup_nanos = CASE WHEN five_hour_window_start_ms >= NEW.five_hour_from_ms THEN five_hour_topup_nanos ELSE 0 END,
        five_hour_window_start_ms = CASE WHEN five_hour_window_start_ms >= NEW.five_hour_from_ms
            THEN five_hour_window_start_ms ELSE NEW.five_hour_start_ms END,
        daily_usage_nanos = CASE WHEN daily_window_start_ms >= NEW.daily_from_ms
            THEN daily_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        daily_topup_nanos = CASE WHEN daily_window_start_ms >= NEW.daily_from_ms THEN daily_topup_nanos ELSE 0 END,
        daily_window_start_ms = CASE WHEN daily_window_start_ms >= NEW.daily_from_ms
            THEN daily_window_start_ms ELSE NEW.daily_start_ms END,
        weekly_usage_nanos = CASE WHEN weekly_window_start_ms >= NEW.weekly_from_ms
            THEN weekly_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        weekly_topup_nanos = CASE WHEN weekly_window_start_ms >= NEW.weekly_from_ms THEN weekly_topup_nanos ELSE 0 END,
        weekly_window_start_ms = CASE WHEN weekly_window_start_ms >= NEW.weekly_from_ms
            THEN weekly_window_start_ms ELSE NEW.weekly_start_ms END,
        monthly_usage_nanos = CASE WHEN monthly_window_start_ms >= NEW.monthly_from_ms
            THEN monthly_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        monthly_topup_nanos = CASE WHEN monthly_window_start_ms >= NEW.monthly_from_ms THEN monthly_topup_nanos ELSE 0 END,
        monthly_window_start_ms = CASE WHEN monthly_window_start_ms >= NEW.monthly_from_ms
            THEN monthly_window_start_ms ELSE NEW.monthly_start_ms END,
        updated_at_ms = NEW.created_at_ms;
    -- A key that no longer exists is not charged (its user still is).
    INSERT INTO key_platform_quotas
        (key_id, user_id, platform, five_hour_usage_nanos, daily_usage_nanos, weekly_usage_nanos, monthly_usage_nanos,
         five_hour_window_start_ms, daily_window_start_ms, weekly_window_start_ms, monthly_window_start_ms, created_at_ms, updated_at_ms)
    SELECT id, user_id, NEW.platform, NEW.cost_nanos, NEW.cost_nanos, NEW.cost_nanos, NEW.cost_nanos,
           NEW.five_hour_start_ms, NEW.daily_start_ms, NEW.weekly_start_ms, NEW.monthly_start_ms, NEW.created_at_ms, NEW.created_at_ms
    FROM api_keys WHERE id = NEW.api_key_id
    ON CONFLICT (key_id, platform) DO UPDATE SET
        five_hour_usage_nanos = CASE WHEN five_hour_window_start_ms >= NEW.five_hour_from_ms
            THEN five_hour_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        five_hour_topup_nanos = CASE WHEN five_hour_window_start_ms >= NEW.five_hour_from_ms THEN five_hour_topup_nanos ELSE 0 END,
        five_hour_window_start_ms = CASE WHEN five_hour_window_start_ms >= NEW.five_hour_from_ms
            THEN five_hour_window_start_ms ELSE NEW.five_hour_start_ms END,
        daily_usage_nanos = CASE WHEN daily_window_start_ms >= NEW.daily_from_ms
            THEN daily_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        daily_topup_nanos = CASE WHEN daily_window_start_ms >= NEW.daily_from_ms THEN daily_topup_nanos ELSE 0 END,
        daily_window_start_ms = CASE WHEN daily_window_start_ms >= NEW.daily_from_ms
            THEN daily_window_start_ms ELSE NEW.daily_start_ms END,
        weekly_usage_nanos = CASE WHEN weekly_window_start_ms >= NEW.weekly_from_ms
            THEN weekly_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        weekly_topup_nanos = CASE WHEN weekly_window_start_ms >= NEW.weekly_from_ms THEN weekly_topup_nanos ELSE 0 END,
        weekly_window_start_ms = CASE WHEN weekly_window_start_ms >= NEW.weekly_from_ms
            THEN weekly_window_start_ms ELSE NEW.weekly_start_ms END,
        monthly_usage_nanos = CASE WHEN monthly_window_start_ms >= NEW.monthly_from_ms
            THEN monthly_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        monthly_topup_nanos = CASE WHEN monthly_window_start_ms >= NEW.monthly_from_ms THEN monthly_topup_nanos ELSE 0 END,
        monthly_window_start_ms = CASE WHEN monthly_window_start_ms >= NEW.monthly_from_ms
            THEN monthly_window_start_ms ELSE NEW.monthly_start_ms END,
        updated_at_ms = NEW.created_at_ms;
    UPDATE api_keys SET lifetime_usage_nanos = lifetime_usage_nanos + NEW.cost_nanos WHERE id = NEW.api_key_id;
    DELETE FROM quota_reservations WHERE NEW.held AND request_id = NEW.request_id;
END;
