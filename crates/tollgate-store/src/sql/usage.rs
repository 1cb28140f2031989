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
        }
    };
}
pub(crate) use impl_usage_query;
