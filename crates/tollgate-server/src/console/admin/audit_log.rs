//! Writing audit entries for admin actions that have no transactional variant in the store:
//! upstream changes, user role / status / cost multiplier changes, key revocations. The entry is
//! appended right after the change commits; a failure to append is logged (the change stands).

use jiff::Timestamp;
use serde::Serialize;
use tollgate_store::NewAuditEntry;

use crate::state::AppState;

/// Appends `action` by `actor_id` (`None`: a configuration file) about `target_user_id`, with JSON
/// snapshots before and after.
pub async fn record(
    state: &AppState,
    actor_id: Option<i64>,
    action: &str,
    target_user_id: Option<i64>,
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
) {
    let entry = NewAuditEntry {
        at: Timestamp::now(),
        actor_id,
        action: action.to_owned(),
        target_user_id,
        platform: None,
        before_json: to_text(before),
        after_json: to_text(after),
    };
    if let Err(e) = state.store.append_audit(&entry).await {
        tracing::error!(action, error = %e, "could not write an audit entry");
    }
}

fn to_text(v: Option<&impl Serialize>) -> Option<String> {
    v.and_then(|v| serde_json::to_string(v).ok())
}

/// The part of a user that changes what it may spend or do: audited on change.
#[derive(Serialize, PartialEq, Eq)]
pub struct UserAccess {
    pub role: tollgate_store::Role,
    pub status: tollgate_store::UserStatus,
    pub cost_multiplier: tollgate_core::money::Decimal9,
}

impl From<&tollgate_store::User> for UserAccess {
    fn from(u: &tollgate_store::User) -> Self {
        Self { role: u.role, status: u.status, cost_multiplier: u.cost_multiplier }
    }
}
