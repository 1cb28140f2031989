-- Settlement in one statement: inserting a usage record charges it. Each record carries the window
-- rule it was charged under (for each window: a stored start at or after *_from_ms is the current
-- window and is added to; anything else is reset to this cost under *_start_ms), so the trigger
-- applies exactly the increment of `increment_usage_with_reset`, and the record says which windows
-- it was counted in. A record of a strict-mode request (held) also drops its reservation.
-- `INSERT ... ON CONFLICT (request_id) DO NOTHING` fires the trigger only for new request ids, so
-- a retried settlement charges once.

ALTER TABLE usage_records
    ADD COLUMN daily_from_ms BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN daily_start_ms BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN weekly_from_ms BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN weekly_start_ms BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN monthly_from_ms BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN monthly_start_ms BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;

CREATE FUNCTION usage_records_charge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_platform_quotas AS q
        (user_id, platform, daily_usage_nanos, weekly_usage_nanos, monthly_usage_nanos,
         daily_window_start_ms, weekly_window_start_ms, monthly_window_start_ms, created_at_ms, updated_at_ms)
    VALUES (NEW.user_id, NEW.platform, NEW.cost_nanos, NEW.cost_nanos, NEW.cost_nanos,
            NEW.daily_start_ms, NEW.weekly_start_ms, NEW.monthly_start_ms, NEW.created_at_ms, NEW.created_at_ms)
    ON CONFLICT (user_id, platform) DO UPDATE SET
        daily_usage_nanos = CASE WHEN q.daily_window_start_ms >= NEW.daily_from_ms
            THEN q.daily_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        daily_window_start_ms = CASE WHEN q.daily_window_start_ms >= NEW.daily_from_ms
            THEN q.daily_window_start_ms ELSE NEW.daily_start_ms END,
        weekly_usage_nanos = CASE WHEN q.weekly_window_start_ms >= NEW.weekly_from_ms
            THEN q.weekly_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        weekly_window_start_ms = CASE WHEN q.weekly_window_start_ms >= NEW.weekly_from_ms
            THEN q.weekly_window_start_ms ELSE NEW.weekly_start_ms END,
        monthly_usage_nanos = CASE WHEN q.monthly_window_start_ms >= NEW.monthly_from_ms
            THEN q.monthly_usage_nanos + NEW.cost_nanos ELSE NEW.cost_nanos END,
        monthly_window_start_ms = CASE WHEN q.monthly_window_start_ms >= NEW.monthly_from_ms
            THEN q.monthly_window_start_ms ELSE NEW.monthly_start_ms END,
        updated_at_ms = NEW.created_at_ms;
    IF NEW.held THEN
        DELETE FROM quota_reservations WHERE request_id = NEW.request_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER usage_records_charge AFTER INSERT ON usage_records
    FOR EACH ROW EXECUTE FUNCTION usage_records_charge();
