-- Settlement in one statement: inserting a usage record charges it. Each record carries the window
-- rule it was charged under (for each window: a stored start at or after *_from_ms is the current
-- window and is added to; anything else is reset to this cost under *_start_ms), so the trigger
-- applies exactly the increment of `increment_usage_with_reset`, and the record says which windows
-- it was counted in. A record of a strict-mode request (held) also drops its reservation.
-- `INSERT ... ON CONFLICT (request_id) DO NOTHING` fires the trigger only for new request ids, so
-- a retried settlement charges once.

ALTER TABLE usage_records ADD COLUMN daily_from_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN daily_start_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN weekly_from_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN weekly_start_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN monthly_from_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN monthly_start_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_records ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;

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
