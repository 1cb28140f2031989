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
