//! Rate limits (docs/rate-limits.md): the `rate_limits` overrides on both backends, and the shared
//! counters of PostgreSQL (`rate_counters`, `rate_leases`, `tollgate_rate_admit`, migration 0009).
//! SQLite serves one process, which counts in memory (`RateCounterRepo`'s defaults).

use tollgate_core::platform::Platform;
use tollgate_core::rate::{RateKind, RateLimit, RateSubject};

use super::RowExt;
use crate::StoreError;
use crate::models::RateLimitRow;

pub(crate) const ALL: &str = "SELECT subject_kind, subject_id, platform, rpm, tpm, concurrency FROM rate_limits ORDER BY subject_kind, subject_id, platform";
pub(crate) const BY_SUBJECT: &str = "SELECT subject_kind, subject_id, platform, rpm, tpm, concurrency FROM rate_limits \
     WHERE subject_kind = $1 AND subject_id = $2 ORDER BY platform";
pub(crate) const DELETE_SUBJECT: &str = "DELETE FROM rate_limits WHERE subject_kind = $1 AND subject_id = $2";
pub(crate) const INSERT: &str = "INSERT INTO rate_limits \
     (subject_kind, subject_id, platform, rpm, tpm, concurrency, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const KEY_OWNER: &str = "SELECT user_id FROM api_keys WHERE id = $1 AND revoked_at_ms IS NULL";

pub(crate) const ADMIT: &str = "SELECT tollgate_rate_admit($1, $2, $3, $4, $5, $6, $7, $8, $9) AS refused";
pub(crate) const ADD_TOKENS: &str = "INSERT INTO rate_counters (subject_kind, subject_id, platform, minute, requests, tokens) \
     VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (subject_kind, subject_id, platform, minute) \
     DO UPDATE SET tokens = rate_counters.tokens + excluded.tokens";
pub(crate) const RELEASE: &str = "DELETE FROM rate_leases WHERE request_id = $1";
pub(crate) const RENEW: &str = "UPDATE rate_leases SET expires_at_ms = $2 WHERE request_id = ANY($1)";
pub(crate) const PRUNE_COUNTERS: &str = "DELETE FROM rate_counters WHERE minute < $1";
pub(crate) const PRUNE_LEASES: &str = "DELETE FROM rate_leases WHERE expires_at_ms < $1";

fn limit(r: &impl RowExt, col: &str) -> Result<Option<u64>, StoreError> {
    r.opt_i64(col)?
        .map(|n| u64::try_from(n).map_err(|_| StoreError::Invalid(format!("negative rate limit in {col}"))))
        .transpose()
}

/// A stored row; `None` for a platform or subject this build does not know (skipped, never an error).
pub(crate) fn decode(r: &impl RowExt) -> Result<Option<RateLimitRow>, StoreError> {
    let (Ok(subject), Ok(platform)) =
        (r.string("subject_kind")?.parse::<RateSubject>(), r.string("platform")?.parse::<Platform>())
    else {
        return Ok(None);
    };
    Ok(Some(RateLimitRow {
        subject,
        subject_id: r.i64("subject_id")?,
        platform,
        limit: RateLimit { rpm: limit(r, "rpm")?, tpm: limit(r, "tpm")?, concurrency: limit(r, "concurrency")? },
    }))
}

pub(crate) fn db(v: Option<u64>) -> Option<i64> {
    v.and_then(|n| i64::try_from(n).ok())
}

/// `'<subject>:<kind>'` from `tollgate_rate_admit`.
pub(crate) fn refusal(text: &str) -> Option<(RateSubject, RateKind)> {
    let (s, k) = text.split_once(':')?;
    Some((s.parse().ok()?, k.parse().ok()?))
}

macro_rules! impl_rate_limit_repo {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::RateLimitRepo for $store {
            async fn list_rate_limits(&self) -> Result<Vec<$crate::RateLimitRow>, $crate::StoreError> {
                let rows = sqlx::query($crate::sql::rate_limits::ALL).fetch_all(&self.pool).await?;
                let decoded: Result<Vec<_>, _> = rows.iter().map($crate::sql::rate_limits::decode).collect();
                Ok(decoded?.into_iter().flatten().collect())
            }

            async fn subject_rate_limits(
                &self,
                subject: tollgate_core::rate::RateSubject,
                subject_id: i64,
            ) -> Result<Vec<(tollgate_core::platform::Platform, tollgate_core::rate::RateLimit)>, $crate::StoreError>
            {
                let rows = sqlx::query($crate::sql::rate_limits::BY_SUBJECT)
                    .bind(subject.as_str())
                    .bind(subject_id)
                    .fetch_all(&self.pool)
                    .await?;
                let decoded: Result<Vec<_>, _> = rows.iter().map($crate::sql::rate_limits::decode).collect();
                Ok(decoded?.into_iter().flatten().map(|r| (r.platform, r.limit)).collect())
            }

            async fn replace_rate_limits_audited(
                &self,
                subject: tollgate_core::rate::RateSubject,
                subject_id: i64,
                limits: &[(tollgate_core::platform::Platform, tollgate_core::rate::RateLimit)],
                now: jiff::Timestamp,
                audit: Option<&$crate::NewAuditEntry>,
            ) -> Result<(), $crate::StoreError> {
                use $crate::sql::rate_limits::db;
                let mut conn = self.write_conn().await?;
                let mut tx = Self::begin_on(&mut conn).await?;
                sqlx::query($crate::sql::rate_limits::DELETE_SUBJECT)
                    .bind(subject.as_str())
                    .bind(subject_id)
                    .execute(&mut *tx)
                    .await?;
                for (platform, l) in limits {
                    sqlx::query($crate::sql::rate_limits::INSERT)
                        .bind(subject.as_str())
                        .bind(subject_id)
                        .bind(platform.as_str())
                        .bind(db(l.rpm))
                        .bind(db(l.tpm))
                        .bind(db(l.concurrency))
                        .bind($crate::sql::ms(now))
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(entry) = audit {
                    Self::insert_audit(&mut *tx, entry).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn api_key_owner(&self, key_id: i64) -> Result<Option<i64>, $crate::StoreError> {
                use $crate::sql::RowExt as _;
                let row =
                    sqlx::query($crate::sql::rate_limits::KEY_OWNER).bind(key_id).fetch_optional(&self.pool).await?;
                row.map(|r| r.i64("user_id")).transpose()
            }
        }
    };
}
pub(crate) use impl_rate_limit_repo;

#[async_trait::async_trait]
impl crate::RateCounterRepo for crate::postgres::PgStore {
    fn shares_rate_counters(&self) -> bool {
        true
    }

    async fn rate_admit(&self, a: &crate::RateAdmission<'_>) -> Result<Option<(RateSubject, RateKind)>, StoreError> {
        let kinds: Vec<&str> = a.subjects.iter().map(|s| s.0.as_str()).collect();
        let ids: Vec<i64> = a.subjects.iter().map(|s| s.1).collect();
        let field = |k: RateKind| a.subjects.iter().map(|s| db(s.2.get(k))).collect::<Vec<_>>();
        let row = sqlx::query(ADMIT)
            .bind(a.request_id)
            .bind(a.platform.as_str())
            .bind(super::ms(a.now))
            .bind(super::ms(a.lease_until))
            .bind(kinds)
            .bind(ids)
            .bind(field(RateKind::Rpm))
            .bind(field(RateKind::Tpm))
            .bind(field(RateKind::Concurrency))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.opt_string("refused")?.as_deref().and_then(refusal))
    }

    async fn rate_add_tokens(
        &self,
        subject: RateSubject,
        subject_id: i64,
        platform: Platform,
        minute: i64,
        tokens: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(ADD_TOKENS)
            .bind(subject.as_str())
            .bind(subject_id)
            .bind(platform.as_str())
            .bind(minute)
            .bind(i64::try_from(tokens).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn rate_release(&self, request_id: &str) -> Result<(), StoreError> {
        sqlx::query(RELEASE).bind(request_id).execute(&self.pool).await?;
        Ok(())
    }

    async fn rate_renew(&self, request_ids: &[String], until: jiff::Timestamp) -> Result<(), StoreError> {
        sqlx::query(RENEW).bind(request_ids).bind(super::ms(until)).execute(&self.pool).await?;
        Ok(())
    }

    async fn rate_prune(&self, now: jiff::Timestamp) -> Result<(), StoreError> {
        let minute = super::ms(now) / 60_000;
        sqlx::query(PRUNE_COUNTERS).bind(minute - 2).execute(&self.pool).await?;
        sqlx::query(PRUNE_LEASES).bind(super::ms(now)).execute(&self.pool).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::RateCounterRepo for crate::sqlite::SqliteStore {}
