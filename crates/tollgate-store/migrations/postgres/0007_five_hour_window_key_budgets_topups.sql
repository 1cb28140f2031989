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

ALTER TABLE user_platform_quotas ADD COLUMN five_hour_limit_nanos BIGINT;
ALTER TABLE user_platform_quotas ADD COLUMN five_hour_usage_nanos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_platform_quotas ADD COLUMN five_hour_window_start_ms BIGINT;
ALTER TABLE user_platform_quotas ADD COLUMN five_hour_topup_nanos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_platform_quotas ADD COLUMN daily_topup_nanos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_platform_quotas ADD COLUMN weekly_topup_nanos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE user_platform_quotas ADD COLUMN monthly_topup_nanos BIGINT NOT NULL DEFAULT 0;

CREATE TABLE key_platform_quotas (
    key_id        BIGINT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL,
    platform      TEXT   NOT NULL,
    five_hour_limit_nanos BIGINT,
    daily_limit_nanos BIGINT,
    weekly_limit_nanos BIGINT,
    monthly_limit_nanos BIGINT,
    five_hour_usage_nanos BIGINT NOT NULL DEFAULT 0,
    daily_usage_nanos BIGINT NOT NULL DEFAULT 0,
    weekly_usage_nanos BIGINT NOT NULL DEFAULT 0,
    monthly_usage_nanos BIGINT NOT NULL DEFAULT 0,
    five_hour_window_start_ms BIGINT,
    daily_window_start_ms BIGINT,
    weekly_window_start_ms BIGINT,
    monthly_window_start_ms BIGINT,
    five_hour_topup_nanos BIGINT NOT NULL DEFAULT 0,
    daily_topup_nanos BIGINT NOT NULL DEFAULT 0,
    weekly_topup_nanos BIGINT NOT NULL DEFAULT 0,
    monthly_topup_nanos BIGINT NOT NULL DEFAULT 0,
    deleted_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (key_id, platform)
);

ALTER TABLE api_keys ADD COLUMN lifetime_limit_nanos BIGINT;
ALTER TABLE api_keys ADD COLUMN lifetime_usage_nanos BIGINT NOT NULL DEFAULT 0;

ALTER TABLE usage_records ADD COLUMN five_hour_from_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN five_hour_start_ms BIGINT NOT NULL DEFAULT 0;

ALTER TABLE quota_reservations ADD COLUMN api_key_id BIGINT;
CREATE INDEX quota_reservations_key ON quota_reservations (api_key_id, platform);

-- Still once per statement (migration 0003): records summed per row, each row updated once, rows
-- locked in a fixed order (users' rows, then keys' rows, then the keys) as strict-mode reserve does.
CREATE OR REPLACE FUNCTION usage_records_charge() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- The statement's window rule (the same on each of its records).
    v_five_hour BIGINT;
    v_daily BIGINT;
    v_weekly BIGINT;
    v_monthly BIGINT;
BEGIN
    SELECT MAX(five_hour_from_ms), MAX(daily_from_ms), MAX(weekly_from_ms), MAX(monthly_from_ms)
    INTO v_five_hour, v_daily, v_weekly, v_monthly
    FROM inserted;
    INSERT INTO user_platform_quotas AS q
        (user_id, platform, five_hour_usage_nanos, daily_usage_nanos, weekly_usage_nanos, monthly_usage_nanos,
         five_hour_window_start_ms, daily_window_start_ms, weekly_window_start_ms, monthly_window_start_ms, created_at_ms, updated_at_ms)
    SELECT i.user_id, i.platform, SUM(i.cost_nanos), SUM(i.cost_nanos), SUM(i.cost_nanos), SUM(i.cost_nanos),
           MAX(i.five_hour_start_ms), MAX(i.daily_start_ms), MAX(i.weekly_start_ms), MAX(i.monthly_start_ms), MAX(i.created_at_ms), MAX(i.created_at_ms)
    FROM inserted i
    GROUP BY i.user_id, i.platform
    ORDER BY i.user_id, i.platform
    ON CONFLICT (user_id, platform) DO UPDATE SET
        five_hour_usage_nanos = CASE WHEN q.five_hour_window_start_ms >= v_five_hour
            THEN q.five_hour_usage_nanos + EXCLUDED.five_hour_usage_nanos ELSE EXCLUDED.five_hour_usage_nanos END,
        five_hour_topup_nanos = CASE WHEN q.five_hour_window_start_ms >= v_five_hour THEN q.five_hour_topup_nanos ELSE 0 END,
        five_hour_window_start_ms = CASE WHEN q.five_hour_window_start_ms >= v_five_hour
            THEN q.five_hour_window_start_ms ELSE EXCLUDED.five_hour_window_start_ms END,
        daily_usage_nanos = CASE WHEN q.daily_window_start_ms >= v_daily
            THEN q.daily_usage_nanos + EXCLUDED.daily_usage_nanos ELSE EXCLUDED.daily_usage_nanos END,
        daily_topup_nanos = CASE WHEN q.daily_window_start_ms >= v_daily THEN q.daily_topup_nanos ELSE 0 END,
        daily_window_start_ms = CASE WHEN q.daily_window_start_ms >= v_daily
            THEN q.daily_window_start_ms ELSE EXCLUDED.daily_window_start_ms END,
        weekly_usage_nanos = CASE WHEN q.weekly_window_start_ms >= v_weekly
            THEN q.weekly_usage_nanos + EXCLUDED.weekly_usage_nanos ELSE EXCLUDED.weekly_usage_nanos END,
        weekly_topup_nanos = CASE WHEN q.weekly_window_start_ms >= v_weekly THEN q.weekly_topup_nanos ELSE 0 END,
        weekly_window_start_ms = CASE WHEN q.weekly_window_start_ms >= v_weekly
            THEN q.weekly_window_start_ms ELSE EXCLUDED.weekly_window_start_ms END,
        monthly_usage_nanos = CASE WHEN q.monthly_window_start_ms >= v_monthly
            THEN q.monthly_usage_nanos + EXCLUDED.monthly_usage_nanos ELSE EXCLUDED.monthly_usage_nanos END,
        monthly_topup_nanos = CASE WHEN q.monthly_window_start_ms >= v_monthly THEN q.monthly_topup_nanos ELSE 0 END,
        monthly_window_start_ms = CASE WHEN q.monthly_window_start_ms >= v_monthly
            THEN q.monthly_window_start_ms ELSE EXCLUDED.monthly_window_start_ms END,
        updated_at_ms = EXCLUDED.updated_at_ms;
    -- A key that no longer exists is not charged (its user still is).
    INSERT INTO key_platform_quotas AS q
        (key_id, user_id, platform, five_hour_usage_nanos, daily_usage_nanos, weekly_usage_nanos, monthly_usage_nanos,
         five_hour_window_start_ms, daily_window_start_ms, weekly_window_start_ms, monthly_window_start_ms, created_at_ms, updated_at_ms)
    SELECT k.id, k.user_id, i.platform, SUM(i.cost_nanos), SUM(i.cost_nanos), SUM(i.cost_nanos), SUM(i.cost_nanos),
           MAX(i.five_hour_start_ms), MAX(i.daily_start_ms), MAX(i.weekly_start_ms), MAX(i.monthly_start_ms), MAX(i.created_at_ms), MAX(i.created_at_ms)
    FROM inserted i JOIN api_keys k ON k.id = i.api_key_id
    GROUP BY k.id, k.user_id, i.platform
    ORDER BY k.id, i.platform
    ON CONFLICT (key_id, platform) DO UPDATE SET
        five_hour_usage_nanos = CASE WHEN q.five_hour_window_start_ms >= v_five_hour
            THEN q.five_hour_usage_nanos + EXCLUDED.five_hour_usage_nanos ELSE EXCLUDED.five_hour_usage_nanos END,
        five_hour_topup_nanos = CASE WHEN q.five_hour_window_start_ms >= v_five_hour THEN q.five_hour_topup_nanos ELSE 0 END,
        five_hour_window_start_ms = CASE WHEN q.five_hour_window_start_ms >= v_five_hour
            THEN q.five_hour_window_start_ms ELSE EXCLUDED.five_hour_window_start_ms END,
        daily_usage_nanos = CASE WHEN q.daily_window_start_ms >= v_daily
            THEN q.daily_usage_nanos + EXCLUDED.daily_usage_nanos ELSE EXCLUDED.daily_usage_nanos END,
        daily_topup_nanos = CASE WHEN q.daily_window_start_ms >= v_daily THEN q.daily_topup_nanos ELSE 0 END,
        daily_window_start_ms = CASE WHEN q.daily_window_start_ms >= v_daily
            THEN q.daily_window_start_ms ELSE EXCLUDED.daily_window_start_ms END,
        weekly_usage_nanos = CASE WHEN q.weekly_window_start_ms >= v_weekly
            THEN q.weekly_usage_nanos + EXCLUDED.weekly_usage_nanos ELSE EXCLUDED.weekly_usage_nanos END,
        weekly_topup_nanos = CASE WHEN q.weekly_window_start_ms >= v_weekly THEN q.weekly_topup_nanos ELSE 0 END,
        weekly_window_start_ms = CASE WHEN q.weekly_window_start_ms >= v_weekly
            THEN q.weekly_window_start_ms ELSE EXCLUDED.weekly_window_start_ms END,
        monthly_usage_nanos = CASE WHEN q.monthly_window_start_ms >= v_monthly
            THEN q.monthly_usage_nanos + EXCLUDED.monthly_usage_nanos ELSE EXCLUDED.monthly_usage_nanos END,
        monthly_topup_nanos = CASE WHEN q.monthly_window_start_ms >= v_monthly THEN q.monthly_topup_nanos ELSE 0 END,
        monthly_window_start_ms = CASE WHEN q.monthly_window_start_ms >= v_monthly
            THEN q.monthly_window_start_ms ELSE EXCLUDED.monthly_window_start_ms END,
        updated_at_ms = EXCLUDED.updated_at_ms;
    UPDATE api_keys k SET lifetime_usage_nanos = k.lifetime_usage_nanos + s.total
    FROM (SELECT api_key_id, SUM(cost_nanos) AS total FROM inserted WHERE api_key_id IS NOT NULL GROUP BY api_key_id) s
    WHERE k.id = s.api_key_id;
    DELETE FROM quota_reservations WHERE request_id IN (SELECT request_id FROM inserted WHERE held);
    RETURN NULL;
END
$$;
