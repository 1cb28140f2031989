//! Reads of the usage records for charts.
//!
//! Grouping by local date is done in Rust with jiff, because SQLite and PostgreSQL have different
//! date functions and neither knows the quota zone's rules. To keep the rows fetched small, SQL
//! first sums per 15-minute bucket: every UTC offset in use is a multiple of 15 minutes, so a bucket
//! never straddles a local midnight.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;

use super::RowExt;
use crate::StoreError;
use crate::models::DailySpend;

pub(crate) const BUCKET_MS: i64 = 15 * 60 * 1000;

/// Integer division on both backends (INTEGER / INTEGER and BIGINT / BIGINT truncate); the times are
/// positive, so truncation is flooring. PostgreSQL sums BIGINT as NUMERIC: cast back.
pub(crate) const BUCKETS: &str = "SELECT platform, created_at_ms / 900000 AS bucket, \
     CAST(SUM(cost_nanos) AS BIGINT) AS cost, COUNT(*) AS n FROM usage_records \
     WHERE user_id = $1 AND created_at_ms >= $2 GROUP BY platform, created_at_ms / 900000";

pub(crate) fn group(rows: &[impl RowExt], zone: &TimeZone) -> Result<Vec<DailySpend>, StoreError> {
    let mut days: BTreeMap<(jiff::civil::Date, Platform), (i64, i64)> = BTreeMap::new();
    for r in rows {
        let Ok(platform) = r.string("platform")?.parse::<Platform>() else { continue };
        let start = Timestamp::from_millisecond(r.i64("bucket")?.saturating_mul(BUCKET_MS))
            .map_err(|e| StoreError::Invalid(format!("bad usage time: {e}")))?;
        let date = start.to_zoned(zone.clone()).date();
        let e = days.entry((date, platform)).or_default();
        e.0 = e.0.saturating_add(r.i64("cost")?);
        e.1 = e.1.saturating_add(r.i64("n")?);
    }
    days.into_iter()
        .map(|((date, platform), (cost, requests))| {
            let cost = Money::from_nanos(cost).map_err(|_| StoreError::Invalid("negative usage cost".into()))?;
            Ok(DailySpend { date, platform, cost, requests })
        })
        .collect()
}

pub(crate) const RECENT: &str = "SELECT request_id, api_key_id, platform, model, input_tokens, output_tokens, \
     cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, tool_calls, cost_nanos, tool_cost_nanos, \
     status, output_estimated, created_at_ms FROM usage_records WHERE user_id = $1 \
     ORDER BY created_at_ms DESC, request_id DESC LIMIT $2";

/// Decodes a usage record; `Ok(None)` for a platform this build does not know.
pub(crate) fn decode_record(r: &impl RowExt) -> Result<Option<crate::UsageRecord>, StoreError> {
    let Ok(platform) = r.string("platform")?.parse::<Platform>() else { return Ok(None) };
    let tokens = |c: &str| r.i64(c).map(|n| u64::try_from(n).unwrap_or(0));
    let tool_calls = match r.opt_string("tool_calls")? {
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| StoreError::Invalid(format!("stored tool_calls: {e}")))?
        }
        None => tollgate_core::usage::ToolCalls::default(),
    };
    Ok(Some(crate::UsageRecord {
        request_id: r.string("request_id")?,
        api_key_id: r.opt_i64("api_key_id")?,
        platform,
        model: r.string("model")?,
        usage: tollgate_core::usage::Usage {
            input_tokens: tokens("input_tokens")?,
            output_tokens: tokens("output_tokens")?,
            cache_read_tokens: tokens("cache_read_tokens")?,
            cache_write_5m_tokens: tokens("cache_write_5m_tokens")?,
            cache_write_1h_tokens: tokens("cache_write_1h_tokens")?,
            tool_calls,
        },
        cost: r.money("cost_nanos")?,
        tool_cost: r.money("tool_cost_nanos")?,
        status: r.string("status")?,
        output_estimated: r.bool("output_estimated")?,
        created_at: r.time("created_at_ms")?,
    }))
}

macro_rules! impl_usage_query {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::UsageQuery for $store {
            async fn daily_spend(
                &self,
                user_id: i64,
                since: jiff::Timestamp,
                zone: &jiff::tz::TimeZone,
            ) -> Result<Vec<$crate::DailySpend>, $crate::StoreError> {
                let rows = sqlx::query($crate::sql::usage::BUCKETS)
                    .bind(user_id)
                    .bind($crate::sql::ms(since))
                    .fetch_all(&self.pool)
                    .await?;
                $crate::sql::usage::group(&rows, zone)
            }

            async fn recent_usage(
                &self,
                user_id: i64,
                limit: i64,
            ) -> Result<Vec<$crate::UsageRecord>, $crate::StoreError> {
                let rows =
                    sqlx::query($crate::sql::usage::RECENT).bind(user_id).bind(limit).fetch_all(&self.pool).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.extend($crate::sql::usage::decode_record(r)?);
                }
                Ok(out)
            }
        }
    };
}
pub(crate) use impl_usage_query;
