//! Rows and inserts. `NewX` is what an insert takes, `X` is what a read returns.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tollgate_core::money::Decimal9;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::quota::WindowLimits;

/// A console role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// Whether a user may log in and call the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Disabled,
}

impl UserStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(UserStatus::Active),
            "disabled" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub role: Role,
    pub status: UserStatus,
    pub auth_source: AuthSource,
    pub cost_multiplier: Decimal9,
    pub created_at: Timestamp,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Stored lower-cased; unique.
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub role: Role,
    pub status: UserStatus,
    pub auth_source: AuthSource,
    pub cost_multiplier: Decimal9,
}

impl NewUser {
    /// An active user with role `user` and multiplier 1.
    pub fn new(email: &str, auth_source: AuthSource) -> Self {
        Self {
            email: email.to_owned(),
            display_name: String::new(),
            password_hash: None,
            role: Role::User,
            status: UserStatus::Active,
            auth_source,
            cost_multiplier: Decimal9::ONE,
        }
    }
}

/// Changes to a user; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    pub cost_multiplier: Option<Decimal9>,
}

/// A page of users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<User>,
    pub total: i64,
}

/// Initial limits for one (user, platform), for [`crate::QuotaRepo::bulk_insert_initial`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewQuota {
    pub user_id: i64,
    pub platform: Platform,
    pub limits: WindowLimits,
}

/// One settled request, written with its quota increment (SPEC 2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUsageRecord {
    /// Unique per request: settlement is idempotent on it.
    pub request_id: String,
    pub user_id: i64,
    pub api_key_id: Option<i64>,
    pub platform: Platform,
    pub model: String,
    pub usage: tollgate_core::usage::Usage,
    pub cost: tollgate_core::money::Money,
    /// `ok`, `upstream_error`, `client_disconnected`, `incomplete`.
    pub status: String,
    pub http_status: Option<i64>,
    pub latency_ms: i64,
    pub upstream_id: Option<i64>,
    /// Whether output tokens were estimated from streamed text (the stream was cut before its usage).
    pub output_estimated: bool,
}

/// What [`crate::BillingRepo::settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettleOutcome {
    /// The record and the charge were written.
    Charged,
    /// A record with this request id already exists; nothing was written again.
    AlreadySettled,
}

/// A strict-mode hold on quota for an in-flight request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReservation {
    pub request_id: String,
    pub user_id: i64,
    pub platform: Platform,
    /// An upper bound of the request's cost.
    pub amount: tollgate_core::money::Money,
    /// After this the hold no longer counts (a crashed request's hold lapses by itself).
    pub expires_at: Timestamp,
}
