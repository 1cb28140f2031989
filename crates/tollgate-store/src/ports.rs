//! The storage port. Each trait is one concern; [`Store`] is all of them, behind one `Arc<dyn Store>`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;
use tollgate_core::money::Money;
use tollgate_core::platform::Platform;
use tollgate_core::quota::{QuotaRow, WindowLimits};
use tollgate_core::window::{QuotaWindow, WindowClock};

use crate::StoreError;
use crate::models::{NewQuota, NewReservation, NewUsageRecord, NewUser, SettleOutcome, User, UserPage, UserPatch};
use tollgate_core::quota::Admission;

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
    async fn upsert_for_user(&self, user_id: i64, records: &[(Platform, WindowLimits)]) -> Result<(), StoreError>;

    /// Zeroes one window's usage without moving its boundary (admin action). `NotFound` when the user
    /// has no row for that platform.
    async fn reset_window(
        &self,
        user_id: i64,
        platform: Platform,
        window: QuotaWindow,
        now: Timestamp,
    ) -> Result<(), StoreError>;
}

/// The settings table: key → JSON text, each value replaced whole.
#[async_trait]
pub trait SettingsRepo: Send + Sync {
    /// Every stored key and its JSON text.
    async fn load_settings(&self) -> Result<BTreeMap<String, String>, StoreError>;

    /// Writes all `values` (already validated, canonical JSON text) in one transaction.
    async fn save_settings(&self, values: &[(String, String)], now: Timestamp) -> Result<(), StoreError>;
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
    ) -> Result<SettleOutcome, StoreError>;

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
}

/// Liveness of the database.
#[async_trait]
pub trait Health: Send + Sync {
    /// A round trip to the database.
    async fn ping(&self) -> Result<(), StoreError>;

    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}

/// The whole storage port.
pub trait Store: QuotaRepo + SettingsRepo + UserRepo + BillingRepo + Health {}

impl<T: QuotaRepo + SettingsRepo + UserRepo + BillingRepo + Health> Store for T {}
