//! The storage port. Each trait is one concern; [`Store`] is all of them, behind one `Arc<dyn Store>`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use tollgate_core::money::Money;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::pricing::Price;
use tollgate_core::quota::{LimitValue, QuotaOwner, QuotaRow, WindowLimits};
use tollgate_core::window::{QuotaWindow, WindowClock};

use crate::StoreError;
use crate::models::{
    AlertRecipients, AlertSummary, ApiKey, AuditPage, DailySpend, Delivery, DeliveryOutcome, NewAlert, NewApiKey,
    NewAuditEntry, NewDelivery, NewNotice, NewQuota, NewReservation, NewSession, NewUpstream, NewUsageRecord, NewUser,
    Notice, Promotion, RateAdmission, RateLimitRow, RequestLogEntry, RequestLogFilter, SecretRewrite, Session,
    SettleOutcome, UnbilledRequest, UnpricedModel, Upstream, UpstreamPatch, UsageBreakdown, UsageRecord, User,
    UserPage, UserPatch,
};
use tollgate_core::quota::Admission;
use tollgate_core::rate::{RateKind, RateLimit, RateSubject};

/// The runtime quota rows (SPEC 1.4).
#[async_trait]
pub trait QuotaRepo: Send + Sync {
    /// The active row of (user, platform), or `None` (not an error). A soft-deleted row is `None`.
    async fn get_by_user_platform(&self, user_id: i64, platform: Platform) -> Result<Option<QuotaRow>, StoreError>;

    /// Inserts initial limits. Idempotent: an existing row (and so any admin-set limit) is never
    /// touched; a second identical call changes nothing.
    async fn bulk_insert_initial(&self, records: &[NewQuota]) -> Result<(), StoreError>;

    /// Atomically adds `cost` to every window of (user, platform): a window whose stored start is not
    /// the current window's start (per `clock` at `now`) is reset to `cost`; others get `+cost`. A user
    /// with no row gets one (no limits). One statement: exact under concurrent callers and processes.
    async fn increment_usage_with_reset(
        &self,
        user_id: i64,
        platform: Platform,
        cost: Money,
        now: Timestamp,
        clock: &WindowClock,
    ) -> Result<(), StoreError>;

    /// Every row of the user, soft-deleted ones included (their usage is still shown; their limits
    /// read as inactive through [`QuotaRow::effective_limits`]).
    async fn list_by_user(&self, user_id: i64) -> Result<Vec<QuotaRow>, StoreError>;

    /// In one transaction, the user's active limits become exactly `records`: platforms left out are
    /// soft-deleted, listed ones are updated, reactivated or inserted. Only limits change; usage and
    /// window starts are kept. Duplicate platforms are refused. `NotFound` for an unknown user.
    async fn upsert_for_user(&self, user_id: i64, records: &[(Platform, WindowLimits)]) -> Result<(), StoreError> {
        self.upsert_for_user_audited(user_id, records, None).await
    }

    /// [`Self::upsert_for_user`], writing `audit` in the same transaction.
    async fn upsert_for_user_audited(
        &self,
        user_id: i64,
        records: &[(Platform, WindowLimits)],
        audit: Option<&NewAuditEntry>,
    ) -> Result<(), StoreError>;

    /// Zeroes one window's usage without moving its boundary (admin action). `NotFound` when the user
    /// has no row for that platform.
    async fn reset_window(
        &self,
        user_id: i64,
        platform: Platform,
        window: QuotaWindow,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.reset_window_audited(user_id, platform, window, now, None).await
    }

    /// [`Self::reset_window`], writing `audit` in the same transaction.
    async fn reset_window_audited(
        &self,
        user_id: i64,
        platform: Platform,
        window: QuotaWindow,
        now: Timestamp,
        audit: Option<&NewAuditEntry>,
    ) -> Result<(), StoreError>;
}

/// API keys' own quota rows (`key_platform_quotas`, checked on top of the user's) and the admin
/// top-ups of users' and keys' windows.
#[async_trait]
pub trait KeyQuotaRepo: Send + Sync {
    /// The key's row of `platform` for admission, carrying the key's lifetime budget; a key without
    /// a row for that platform reads as a row without limits or usage (so its lifetime budget is
    /// still checked). `None` for an unknown or revoked key.
    async fn get_key_quota(&self, key_id: i64, platform: Platform) -> Result<Option<QuotaRow>, StoreError>;

    /// Every row of the key, soft-deleted ones included (their usage is still shown).
    async fn list_key_quotas(&self, key_id: i64) -> Result<Vec<QuotaRow>, StoreError>;

    /// In one transaction, the key's active limits become exactly `records` (as
    /// [`QuotaRepo::upsert_for_user`] does for a user) and its lifetime budget `lifetime`; `audit` is
    /// written with them. `NotFound` unless the key is a key of `user_id` that is not revoked.
    async fn set_key_limits_audited(
        &self,
        user_id: i64,
        key_id: i64,
        records: &[(Platform, WindowLimits)],
        lifetime: LimitValue,
        audit: Option<&NewAuditEntry>,
    ) -> Result<(), StoreError>;

    /// Adds `amount` to the top-up of the current `window` of the owner's active row of `platform`:
    /// a one-off extra allowance that ends with that window (a window not running is started now,
    /// empty, as a charge would start it). The limit itself is not changed. `NotFound` when the
    /// owner has no active row for the platform.
    #[allow(clippy::too_many_arguments)]
    async fn top_up_audited(
        &self,
        owner: QuotaOwner,
        platform: Platform,
        window: QuotaWindow,
        amount: Money,
        now: Timestamp,
        clock: &WindowClock,
        audit: Option<&NewAuditEntry>,
    ) -> Result<(), StoreError>;
}

/// The settings table: key → JSON text, each value replaced whole.
#[async_trait]
pub trait SettingsRepo: Send + Sync {
    /// Every stored key and its JSON text.
    async fn load_settings(&self) -> Result<BTreeMap<String, String>, StoreError>;

    /// Writes all `values` (already validated, canonical JSON text) in one transaction.
    async fn save_settings(&self, values: &[(String, String)], now: Timestamp) -> Result<(), StoreError> {
        self.save_settings_audited(values, now, None).await
    }

    /// [`Self::save_settings`], writing `audit` in the same transaction.
    async fn save_settings_audited(
        &self,
        values: &[(String, String)],
        now: Timestamp,
        audit: Option<&NewAuditEntry>,
    ) -> Result<(), StoreError>;
}

/// User accounts.
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Creates a user and its initial quota rows in one transaction. `Conflict` if the email exists.
    async fn create_user(
        &self,
        user: &NewUser,
        initial_quotas: &[(Platform, WindowLimits)],
        now: Timestamp,
    ) -> Result<User, StoreError>;

    async fn get_user(&self, id: i64) -> Result<Option<User>, StoreError>;

    /// By email, case-insensitively.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;

    /// Users whose email or display name contains `query` (case-insensitive), newest id last, paged
    /// from 1.
    async fn list_users(&self, query: &str, page: i64, per_page: i64) -> Result<UserPage, StoreError>;

    /// `NotFound` for an unknown user.
    async fn update_user(&self, id: i64, patch: &UserPatch, now: Timestamp) -> Result<User, StoreError>;

    async fn count_users(&self) -> Result<i64, StoreError>;
}

/// The billing chain's writes (SPEC 2.3, 2.4).
#[async_trait]
pub trait BillingRepo: Send + Sync {
    /// Writes the usage record and the quota increment together, in one transaction, and drops the
    /// request's reservation. Idempotent per request id: a retried settlement charges once.
    async fn settle(
        &self,
        record: &NewUsageRecord,
        now: Timestamp,
        clock: &WindowClock,
    ) -> Result<SettleOutcome, StoreError> {
        let mut out = self.settle_batch(std::slice::from_ref(record), now, clock).await?;
        out.pop().ok_or_else(|| StoreError::Other("settle_batch returned no outcome".into()))
    }

    /// Settles several requests in one transaction (group commit): each is idempotent on its own
    /// request id, and all commit or none. Outcomes are in the order of `records`.
    async fn settle_batch(
        &self,
        records: &[NewUsageRecord],
        now: Timestamp,
        clock: &WindowClock,
    ) -> Result<Vec<SettleOutcome>, StoreError>;

    /// Strict mode: atomically checks `usage + held + amount` against every limited window of the
    /// (user, platform) row and, when it fits, holds `amount` until settlement or expiry. Concurrent
    /// callers on any number of processes queue on the row, so holds never overlap past a limit.
    async fn reserve(
        &self,
        reservation: &NewReservation,
        now: Timestamp,
        clock: &WindowClock,
    ) -> Result<Admission, StoreError>;

    /// Drops a hold without charging (the request failed before producing anything).
    async fn release(&self, request_id: &str) -> Result<(), StoreError>;

    /// Moves a hold's expiry to `expires_at` (a stream still running keeps its hold). Nothing
    /// happens when the hold is gone (settled or released).
    async fn renew_reservation(&self, request_id: &str, expires_at: Timestamp) -> Result<(), StoreError>;
}

/// Gateway API keys.
#[async_trait]
pub trait ApiKeyRepo: Send + Sync {
    /// Stores a new key. `Conflict` if the hash exists; `NotFound` for an unknown user.
    async fn create_api_key(&self, new: &NewApiKey, now: Timestamp) -> Result<ApiKey, StoreError>;

    /// The user's keys that are not revoked, oldest first.
    async fn list_api_keys(&self, user_id: i64) -> Result<Vec<ApiKey>, StoreError>;

    /// Revokes a key. `NotFound` unless it is an active key of that user.
    async fn revoke_api_key(&self, user_id: i64, id: i64, now: Timestamp) -> Result<(), StoreError>;

    /// The active (not revoked) key with this hash.
    async fn find_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError>;

    /// Records a use of the key (`last_used_at`).
    async fn touch_api_key(&self, id: i64, now: Timestamp) -> Result<(), StoreError>;
}

/// Upstream accounts.
#[async_trait]
pub trait UpstreamRepo: Send + Sync {
    async fn create_upstream(&self, new: &NewUpstream, now: Timestamp) -> Result<Upstream, StoreError>;

    /// Every upstream, ordered by platform, then priority (lowest, tried first), then id.
    async fn list_upstreams(&self) -> Result<Vec<Upstream>, StoreError>;

    /// `NotFound` for an unknown id.
    async fn update_upstream(&self, id: i64, patch: &UpstreamPatch, now: Timestamp) -> Result<Upstream, StoreError>;

    /// `NotFound` for an unknown id.
    async fn delete_upstream(&self, id: i64) -> Result<(), StoreError>;
}

/// Admin price overrides (merged over the built-in table by the caller).
#[async_trait]
pub trait PriceRepo: Send + Sync {
    /// Every override, by model name.
    async fn list_price_overrides(&self) -> Result<Vec<(String, Price)>, StoreError>;

    /// Adds or replaces the override of `model`.
    async fn upsert_price_override(&self, model: &str, price: &Price, now: Timestamp) -> Result<(), StoreError> {
        self.upsert_price_overrides_audited(&[(model.to_owned(), price.clone())], now, None).await
    }

    /// `NotFound` when `model` has no override.
    async fn delete_price_override(&self, model: &str) -> Result<(), StoreError>;

    /// Adds or replaces every override in `prices` and writes `audit`, in one transaction: all of
    /// them or none (a price import).
    async fn upsert_price_overrides_audited(
        &self,
        prices: &[(String, Price)],
        now: Timestamp,
        audit: Option<&NewAuditEntry>,
    ) -> Result<(), StoreError>;

    /// Counts a request for a model without a price of its own (`requests` more calls).
    async fn note_unpriced_model(
        &self,
        model: &str,
        platform: Platform,
        requests: i64,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Every model noted by [`Self::note_unpriced_model`], most recently seen first.
    async fn list_unpriced_models(&self) -> Result<Vec<UnpricedModel>, StoreError>;
}

/// Console sessions.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Stores a session (and drops expired ones).
    async fn create_session(&self, new: &NewSession, now: Timestamp) -> Result<(), StoreError>;

    /// The session with this token hash when it has not expired and its user is active.
    async fn find_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Session>, StoreError>;

    /// Ends one session (no error when it does not exist).
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;

    /// Ends every session of a user (password change, account disabled).
    async fn delete_user_sessions(&self, user_id: i64) -> Result<(), StoreError>;
}

/// The audit log of admin actions on limits and settings.
#[async_trait]
pub trait AuditRepo: Send + Sync {
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<(), StoreError>;

    /// Newest first, paged from 1, optionally only entries about one user.
    async fn list_audit(&self, target_user_id: Option<i64>, page: i64, per_page: i64) -> Result<AuditPage, StoreError>;
}

/// External identities (OAuth / OIDC subjects) linked to users.
#[async_trait]
pub trait IdentityRepo: Send + Sync {
    /// The user linked to (source, subject), if any.
    async fn find_user_by_identity(&self, source: AuthSource, subject: &str) -> Result<Option<User>, StoreError>;

    /// Creates the user, links the identity and inserts the initial quota rows in one transaction.
    /// `Conflict` when the email or the identity exists (nothing is written).
    async fn create_user_with_identity(
        &self,
        user: &NewUser,
        source: AuthSource,
        subject: &str,
        initial_quotas: &[(Platform, WindowLimits)],
        now: Timestamp,
    ) -> Result<User, StoreError>;

    /// Makes an existing account an active admin with `password_hash`, in one transaction that also
    /// ends its sessions, unlinks its external identities and revokes its API keys: whoever held
    /// the account before keeps no way into it. `NotFound` for an unknown user.
    async fn promote_to_admin(
        &self,
        user_id: i64,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Promotion, StoreError>;
}

/// Reads of the usage records.
#[async_trait]
pub trait UsageQuery: Send + Sync {
    /// The user's spend and request count per (local date in `zone`, platform) since `since`,
    /// ordered by date then platform. Days without records are absent.
    async fn daily_spend(&self, user_id: i64, since: Timestamp, zone: &TimeZone)
    -> Result<Vec<DailySpend>, StoreError>;

    /// The user's latest usage records, newest first (at most `limit`).
    async fn recent_usage(&self, user_id: i64, limit: i64) -> Result<Vec<UsageRecord>, StoreError>;
}

/// The request log (docs/request-log.md) and the grouped totals of the analytics charts.
#[async_trait]
pub trait RequestLogRepo: Send + Sync {
    /// Appends requests that were not charged (a repeated request id is skipped).
    async fn log_unbilled(&self, rows: &[UnbilledRequest]) -> Result<(), StoreError>;

    /// One page of the log (usage records and unbilled requests), newest first, at most `limit`
    /// (clamped to 1..=1000) rows.
    async fn request_log(&self, filter: &RequestLogFilter, limit: i64) -> Result<Vec<RequestLogEntry>, StoreError>;

    /// Deletes log rows (unbilled requests and usage records) older than `before`, a chunk per
    /// statement. Quota counters are separate rows and are not touched. Returns the rows deleted.
    async fn prune_request_log(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// Usage records of one user (or of all, `None`) since `since`: per local date in `zone`, and
    /// the `top` models, keys and (for all users) users by cost.
    async fn usage_breakdown(
        &self,
        user_id: Option<i64>,
        since: Timestamp,
        zone: &TimeZone,
        top: i64,
    ) -> Result<UsageBreakdown, StoreError>;
}

/// Rewrites of stored secrets (encryption at rest and key rotation).
#[async_trait]
pub trait SecretRepo: Send + Sync {
    /// Applies every change of `rewrite` in one transaction; each replaces exactly the old value it
    /// names, else nothing is written (`Conflict`).
    async fn rewrite_secrets(&self, rewrite: &SecretRewrite, now: Timestamp) -> Result<(), StoreError>;
}

/// Liveness of the database.
/// Threshold alerts, their delivery outbox, dashboard notices and the user's language
/// (docs/alerts.md).
#[async_trait]
pub trait AlertRepo: Send + Sync {
    /// Records `alert` unless the same (user, platform, window, threshold, window start) is already
    /// recorded; only when this call created it, writes the deliveries and notice `build` returns
    /// (given the new alert's id) in the same transaction. `Some(id)` when created.
    async fn record_alert(
        &self,
        alert: &NewAlert,
        build: &(dyn Fn(i64) -> (Vec<NewDelivery>, Option<NewNotice>) + Send + Sync),
    ) -> Result<Option<i64>, StoreError>;

    /// Claims up to `limit` due deliveries for this worker until `lease_until` (no other worker
    /// takes them meanwhile) and counts the attempt.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records how an attempt ended and releases the lease.
    async fn finish_delivery(&self, id: i64, outcome: &DeliveryOutcome, now: Timestamp) -> Result<(), StoreError>;

    /// The user's address and language, and the active admins' addresses.
    async fn alert_recipients(&self, user_id: i64) -> Result<AlertRecipients, StoreError>;

    /// Sets the user's language (`en` or `zh`). `NotFound` for an unknown user.
    async fn set_language(&self, user_id: i64, language: &str, now: Timestamp) -> Result<(), StoreError>;

    /// The user's language.
    async fn language(&self, user_id: i64) -> Result<String, StoreError>;

    /// The user's newest notices first.
    async fn list_notices(&self, user_id: i64, limit: i64) -> Result<Vec<Notice>, StoreError>;

    /// Marks one of the user's notices read (`NotFound` if it is not theirs), or all when `id` is
    /// `None`.
    async fn mark_notices_read(&self, user_id: i64, id: Option<i64>, now: Timestamp) -> Result<(), StoreError>;

    /// The newest alerts with the state of each delivery.
    async fn list_alerts(&self, limit: i64) -> Result<Vec<AlertSummary>, StoreError>;
}

#[async_trait]
pub trait Health: Send + Sync {
    /// A round trip to the database.
    async fn ping(&self) -> Result<(), StoreError>;

    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Periodic housekeeping, run about once a second by the server (SQLite: WAL checkpoints).
    async fn maintain(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Per-user and per-key rate limit overrides (docs/rate-limits.md).
#[async_trait]
pub trait RateLimitRepo: Send + Sync {
    /// Every override row (the gateway caches them).
    async fn list_rate_limits(&self) -> Result<Vec<RateLimitRow>, StoreError>;

    /// The overrides of one user or key, by platform.
    async fn subject_rate_limits(
        &self,
        subject: RateSubject,
        subject_id: i64,
    ) -> Result<Vec<(Platform, RateLimit)>, StoreError>;

    /// In one transaction, the subject's overrides become exactly `limits` (platforms left out
    /// inherit again), with `audit` written alongside.
    async fn replace_rate_limits_audited(
        &self,
        subject: RateSubject,
        subject_id: i64,
        limits: &[(Platform, RateLimit)],
        now: Timestamp,
        audit: Option<&NewAuditEntry>,
    ) -> Result<(), StoreError>;

    /// The owner of an active (not revoked) API key.
    async fn api_key_owner(&self, key_id: i64) -> Result<Option<i64>, StoreError>;
}

/// Rate counters shared by every process on the database (PostgreSQL). A store without them
/// (SQLite: one process) leaves counting to the process's memory; its methods are never called.
#[async_trait]
pub trait RateCounterRepo: Send + Sync {
    /// Whether this store holds shared counters.
    fn shares_rate_counters(&self) -> bool {
        false
    }

    /// Checks every subject's limits and, only if all pass, counts the request and takes its
    /// leases: one round trip. `Some((subject, kind))`: the first limit reached.
    async fn rate_admit(&self, _a: &RateAdmission<'_>) -> Result<Option<(RateSubject, RateKind)>, StoreError> {
        Err(StoreError::Invalid("this store keeps no shared rate counters".into()))
    }

    /// Adds settled tokens to a subject's minute bucket.
    async fn rate_add_tokens(
        &self,
        _subject: RateSubject,
        _subject_id: i64,
        _platform: Platform,
        _minute: i64,
        _tokens: u64,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Ends a request's leases.
    async fn rate_release(&self, _request_id: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// Extends the leases of running requests to `until`.
    async fn rate_renew(&self, _request_ids: &[String], _until: Timestamp) -> Result<(), StoreError> {
        Ok(())
    }

    /// Deletes past minute buckets and expired leases.
    async fn rate_prune(&self, _now: Timestamp) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The whole storage port.
pub trait Store:
    QuotaRepo
    + KeyQuotaRepo
    + SettingsRepo
    + UserRepo
    + ApiKeyRepo
    + UpstreamRepo
    + PriceRepo
    + SessionRepo
    + AuditRepo
    + IdentityRepo
    + UsageQuery
    + RequestLogRepo
    + BillingRepo
    + SecretRepo
    + AlertRepo
    + RateLimitRepo
    + RateCounterRepo
    + Health
{
}

impl<T> Store for T where
    T: QuotaRepo
        + KeyQuotaRepo
        + SettingsRepo
        + UserRepo
        + ApiKeyRepo
        + UpstreamRepo
        + PriceRepo
        + SessionRepo
        + AuditRepo
        + IdentityRepo
        + UsageQuery
        + RequestLogRepo
        + BillingRepo
        + SecretRepo
        + AlertRepo
        + RateLimitRepo
        + RateCounterRepo
        + Health
{
}
