-- The settlement trigger, once per statement instead of once per record. A batch of settlements
-- is one INSERT; charging each record on its own updated the same quota row once per record, and
-- PostgreSQL keeps every one of those row versions until the transaction ends (each update walks
-- the chain of the earlier ones). Now the records of a statement are summed per (user, platform)
-- and each quota row is updated once. The result is the same: every record of one statement carries
-- the same window rule (the batch's rollovers), and reset-then-add of each cost equals a reset to
-- their sum.

DROP TRIGGER usage_records_charge ON usage_records;
DROP FUNCTION usage_records_charge();

CREATE FUNCTION usage_records_charge() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- The statement's window rule (the same on each of its records).
    d_from BIGINT;
    w_from BIGINT;
    m_from BIGINT;
BEGIN
    SELECT MAX(daily_from_ms), MAX(weekly_from_ms), MAX(monthly_from_ms) INTO d_from, w_from, m_from
    FROM inserted;
    INSERT INTO user_platform_quotas AS q
        (user_id, platform, daily_usage_nanos, weekly_usage_nanos, monthly_usage_nanos,
         daily_window_start_ms, weekly_window_start_ms, monthly_window_start_ms, created_at_ms, updated_at_ms)
    SELECT user_id, platform, SUM(cost_nanos), SUM(cost_nanos), SUM(cost_nanos),
           MAX(daily_start_ms), MAX(weekly_start_ms), MAX(monthly_start_ms), MAX(created_at_ms), MAX(created_at_ms)
    FROM inserted
    GROUP BY user_id, platform
    ON CONFLICT (user_id, platform) DO UPDATE SET
        daily_usage_nanos = CASE WHEN q.daily_window_start_ms >= d_from
            THEN q.daily_usage_nanos + EXCLUDED.daily_usage_nanos ELSE EXCLUDED.daily_usage_nanos END,
        daily_window_start_ms = CASE WHEN q.daily_window_start_ms >= d_from
            THEN q.daily_window_start_ms ELSE EXCLUDED.daily_window_start_ms END,
        weekly_usage_nanos = CASE WHEN q.weekly_window_start_ms >= w_from
            THEN q.weekly_usage_nanos + EXCLUDED.weekly_usage_nanos ELSE EXCLUDED.weekly_usage_nanos END,
        weekly_window_start_ms = CASE WHEN q.weekly_window_start_ms >= w_from
            THEN q.weekly_window_start_ms ELSE EXCLUDED.weekly_window_start_ms END,
        monthly_usage_nanos = CASE WHEN q.monthly_window_start_ms >= m_from
            THEN q.monthly_usage_nanos + EXCLUDED.monthly_usage_nanos ELSE EXCLUDED.monthly_usage_nanos END,
        monthly_window_start_ms = CASE WHEN q.monthly_window_start_ms >= m_from
            THEN q.monthly_window_start_ms ELSE EXCLUDED.monthly_window_start_ms END,
        updated_at_ms = EXCLUDED.updated_at_ms;
    DELETE FROM quota_reservations WHERE request_id IN (SELECT request_id FROM inserted WHERE held);
    RETURN NULL;
END
$$;

CREATE TRIGGER usage_records_charge AFTER INSERT ON usage_records
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION usage_records_charge();
