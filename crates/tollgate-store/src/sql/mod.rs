//! SQL shared by both backends, and the repository implementations written once.
//!
//! The statements use `$N` placeholders, which sqlx binds by number on SQLite and PostgreSQL alike.
//! The `impl_*_repo!` macros expand the same method bodies for each backend's concrete pool type;
//! each backend supplies `write_conn()` (the connection writes go through), `begin_on()` (SQLite:
//! `BEGIN IMMEDIATE`, so a read-then-write cannot deadlock on lock upgrade) and `LOCK_ROW`
//! (PostgreSQL: `FOR UPDATE`; SQLite: nothing, the transaction already holds the write lock).

pub(crate) mod alerts;
pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod billing;
pub(crate) mod identities;
pub(crate) mod prices;
pub(crate) mod quotas;
pub(crate) mod rate_limits;
pub(crate) mod request_log;
pub(crate) mod secrets;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod upstreams;
pub(crate) mod usage;
pub(crate) mod users;

use jiff::Timestamp;
use tollgate_core::money::Money;

use crate::StoreError;

/// Typed column access, implemented for each backend's row type.
pub(crate) trait RowExt {
    fn i64(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_i64(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn string(&self, col: &str) -> Result<String, StoreError>;
    fn opt_string(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn bool(&self, col: &str) -> Result<bool, StoreError>;

    fn money(&self, col: &str) -> Result<Money, StoreError> {
        money(self.i64(col)?, col)
    }
    fn opt_money(&self, col: &str) -> Result<Option<Money>, StoreError> {
        self.opt_i64(col)?.map(|n| money(n, col)).transpose()
    }
    fn time(&self, col: &str) -> Result<Timestamp, StoreError> {
        from_ms(self.i64(col)?)
    }
    fn opt_time(&self, col: &str) -> Result<Option<Timestamp>, StoreError> {
        self.opt_i64(col)?.map(from_ms).transpose()
    }
}

/// Implements [`RowExt`] for a backend row type.
macro_rules! impl_row_ext {
    ($row:ty) => {
        impl $crate::sql::RowExt for $row {
            fn i64(&self, col: &str) -> Result<i64, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn opt_i64(&self, col: &str) -> Result<Option<i64>, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn string(&self, col: &str) -> Result<String, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn opt_string(&self, col: &str) -> Result<Option<String>, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
            fn bool(&self, col: &str) -> Result<bool, $crate::StoreError> {
                Ok(sqlx::Row::try_get(self, col)?)
            }
        }
    };
}
pub(crate) use impl_row_ext;

fn money(n: i64, col: &str) -> Result<Money, StoreError> {
    Money::from_nanos(n).map_err(|_| StoreError::Invalid(format!("negative amount in column {col}")))
}

pub(crate) fn from_ms(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Invalid(format!("bad timestamp {ms}: {e}")))
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn opt_nanos(m: Option<Money>) -> Option<i64> {
    m.map(Money::nanos)
}

/// Implements every repository trait for a backend store type.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty) => {
        $crate::sql::billing::impl_billing_repo!($store, $db);
        $crate::sql::quotas::impl_quota_repo!($store, $db);
        $crate::sql::settings::impl_settings_repo!($store, $db);
        $crate::sql::users::impl_user_repo!($store, $db);
        $crate::sql::api_keys::impl_api_key_repo!($store, $db);
        $crate::sql::upstreams::impl_upstream_repo!($store, $db);
        $crate::sql::prices::impl_price_repo!($store, $db);
        $crate::sql::sessions::impl_session_repo!($store, $db);
        $crate::sql::audit::impl_audit_repo!($store, $db);
        $crate::sql::identities::impl_identity_repo!($store, $db);
        $crate::sql::usage::impl_usage_query!($store, $db);
        $crate::sql::secrets::impl_secret_repo!($store, $db);
        $crate::sql::alerts::impl_alert_repo!($store, $db);
        $crate::sql::rate_limits::impl_rate_limit_repo!($store, $db);
        $crate::sql::request_log::impl_request_log_repo!($store, $db);
    };
}
pub(crate) use impl_sql_store;
