//! Rows and inserts. `NewX` is what an insert takes, `X` is what a read returns.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tollgate_core::money::{Decimal9, Money};
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

/// What `IdentityRepo::promote_to_admin` did to the account it promoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The account after promotion.
    pub user: User,
    /// Console sessions ended (their tokens no longer work).
    pub sessions_ended: u64,
    /// OAuth / OIDC identities unlinked (they can no longer sign in to this account).
    pub identities_unlinked: u64,
    /// Gateway API keys revoked (they were created before the operator took the account over).
    pub keys_revoked: u64,
}

/// Stored secrets to replace, each as (which, old stored text, new stored text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretRewrite {
    /// Upstream id, old `api_key` column text, new text.
    pub upstream_keys: Vec<(i64, String, String)>,
    /// Settings key, old JSON text, new JSON text.
    pub settings: Vec<(String, String, String)>,
}

impl SecretRewrite {
    /// Nothing to rewrite.
    pub fn is_empty(&self) -> bool {
        self.upstream_keys.is_empty() && self.settings.is_empty()
    }
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

/// One settled request, written with its quota increment (SPEC 2.4). Serializable: the gateway's
/// settlement journal keeps it until the database has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Whether a strict-mode hold was taken for this request (settlement drops it).
    pub held: bool,
    /// The part of `cost` that is per-call tool fees (`usage.tool_calls`).
    #[serde(default)]
    pub tool_cost: tollgate_core::money::Money,
    /// Milliseconds from the request to the upstream's first byte (for the request log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfb_ms: Option<i64>,
    /// The client's `x-request-id` (for the request log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
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
    /// The API key the request came with: the hold counts against its rows and lifetime budget too.
    pub api_key_id: Option<i64>,
    pub platform: Platform,
    /// An upper bound of the request's cost.
    pub amount: tollgate_core::money::Money,
    /// After this the hold no longer counts (a crashed request's hold lapses by itself).
    pub expires_at: Timestamp,
}
/// A gateway API key as listed (the secret itself is never stored, only its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters of the secret, shown so users can tell keys apart.
    pub prefix: String,
    /// `None`: every platform. Unknown names found in storage are dropped on read.
    pub platforms: Option<Vec<Platform>>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// The key's budget over its whole life, all platforms (`None`: unlimited).
    pub lifetime_limit: tollgate_core::quota::LimitValue,
    /// Everything charged with the key so far.
    pub lifetime_usage: tollgate_core::money::Money,
}

/// An API key to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    /// Lower-case hex SHA-256 of the secret; unique.
    pub key_hash: String,
    /// `None`: every platform.
    pub platforms: Option<Vec<Platform>>,
    /// The key's own limits per platform (on top of its user's).
    pub limits: Vec<(Platform, tollgate_core::quota::WindowLimits)>,
    pub lifetime_limit: tollgate_core::quota::LimitValue,
}

/// The wire protocol an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamProtocol {
    /// The platform's own API.
    #[default]
    Native,
    /// Google's Cloud Code `v1internal` envelope (antigravity Gemini requests).
    V1Internal,
}

impl UpstreamProtocol {
    pub const fn as_str(self) -> &'static str {
        match self {
            UpstreamProtocol::Native => "native",
            UpstreamProtocol::V1Internal => "v1internal",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "native" => Some(UpstreamProtocol::Native),
            "v1internal" => Some(UpstreamProtocol::V1Internal),
            _ => None,
        }
    }
}

/// A credential: its `Debug` never prints it, so it cannot leak into a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An upstream account the gateway forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub id: i64,
    pub platform: Platform,
    pub name: String,
    pub base_url: String,
    /// The credential sent upstream. Never logged, never returned by the API.
    pub api_key: Secret,
    pub enabled: bool,
    /// Lower is tried first.
    pub priority: i64,
    pub protocol: UpstreamProtocol,
}

/// An upstream to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpstream {
    pub platform: Platform,
    pub name: String,
    pub base_url: String,
    pub api_key: Secret,
    pub enabled: bool,
    pub priority: i64,
    pub protocol: UpstreamProtocol,
}

/// Changes to an upstream; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamPatch {
    pub platform: Option<Platform>,
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub api_key: Option<Secret>,
    pub enabled: Option<bool>,
    pub priority: Option<i64>,
    pub protocol: Option<UpstreamProtocol>,
}

/// A console session to create. The token itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: i64,
    /// Compared with the `X-CSRF-Token` header of cookie-authenticated writes.
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// A live session and its (active) user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// An audit record to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: Timestamp,
    /// The admin who acted; `None` for the system.
    pub actor_id: Option<i64>,
    /// What was done, e.g. `user.quotas.update`, `user.quota.reset`, `settings.update`.
    pub action: String,
    pub target_user_id: Option<i64>,
    pub platform: Option<String>,
    /// JSON text of the state before.
    pub before_json: Option<String>,
    /// JSON text of the state after.
    pub after_json: Option<String>,
}

/// An audit record as read, with the actor's email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_user_id: Option<i64>,
    pub platform: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// A page of audit records, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: i64,
}

/// Spend of one user on one platform on one local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailySpend {
    pub date: jiff::civil::Date,
    pub platform: Platform,
    pub cost: Money,
    pub requests: i64,
}

/// A model called without a price of its own (SPEC 3: priced at the fallback, or refused).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnpricedModel {
    pub model: String,
    pub platform: Platform,
    /// Requests seen for it.
    pub requests: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// A usage record as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageRecord {
    pub request_id: String,
    pub api_key_id: Option<i64>,
    pub platform: Platform,
    pub model: String,
    pub usage: tollgate_core::usage::Usage,
    pub cost: tollgate_core::money::Money,
    /// The part of `cost` that is per-call tool fees.
    pub tool_cost: tollgate_core::money::Money,
    pub status: String,
    pub output_estimated: bool,
    pub created_at: Timestamp,
}

/// A threshold reached in one window of one (user, platform) (table `quota_alerts`, docs/alerts.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub user_id: i64,
    pub platform: Platform,
    pub window: tollgate_core::window::QuotaWindow,
    /// Percent of the cap, 1..=100.
    pub threshold: i64,
    pub window_start: Timestamp,
    pub usage: Money,
    pub limit: Money,
    pub resets_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// One delivery to make for an alert (table `alert_outbox`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// `webhook` or `email`.
    pub channel: String,
    /// The webhook URL or the email address.
    pub recipient: String,
    /// JSON text: what the channel sends (the webhook body; the email's fields).
    pub payload: String,
    pub next_attempt_at: Timestamp,
}

/// A dashboard notice to write for an alert (table `notices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub user_id: i64,
    pub kind: String,
    pub payload: String,
    pub created_at: Timestamp,
}

/// A delivery claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub alert_id: i64,
    pub channel: String,
    pub recipient: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Tried again at `at`.
    Retry {
        at: Timestamp,
        error: String,
    },
    /// Given up (too many attempts, or the channel is no longer configured).
    Dead {
        error: String,
    },
}

/// A dashboard notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// A delivery's state, for admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub dead_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// A recorded alert with its deliveries, for admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSummary {
    pub id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub alert: NewAlert,
    pub deliveries: Vec<DeliveryState>,
}

/// Who an alert's emails go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecipients {
    pub email: String,
    /// `en` or `zh`.
    pub language: String,
    /// Active admins' addresses.
    pub admins: Vec<String>,
}

/// One stored rate limit override (`rate_limits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRow {
    pub subject: tollgate_core::rate::RateSubject,
    pub subject_id: i64,
    pub platform: Platform,
    pub limit: tollgate_core::rate::RateLimit,
}

/// A request to admit against shared rate counters: every limited subject (user first, then key).
#[derive(Debug, Clone)]
pub struct RateAdmission<'a> {
    pub request_id: &'a str,
    pub platform: Platform,
    pub now: Timestamp,
    /// When the request's concurrency leases expire unless renewed.
    pub lease_until: Timestamp,
    pub subjects: &'a [(tollgate_core::rate::RateSubject, i64, tollgate_core::rate::RateLimit)],
}

/// A gateway request that was not charged (refused, failed upstream, or an endpoint that is never
/// billed): its row of the request log. Charged requests are their usage records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbilledRequest {
    pub request_id: String,
    pub client_request_id: Option<String>,
    pub at: jiff::Timestamp,
    pub user_id: Option<i64>,
    pub api_key_id: Option<i64>,
    pub platform: Platform,
    /// The route pattern, e.g. `/v1/messages`.
    pub route: String,
    pub model: Option<String>,
    /// Why it was not charged: the error code sent (`quota_exhausted`, `rate_limited`, …),
    /// `upstream_error` for an upstream's non-2xx, `not_billed` for an endpoint never charged.
    pub outcome: String,
    pub http_status: i64,
    pub latency_ms: i64,
    pub upstream_id: Option<i64>,
}

/// One row of the request log: a usage record or an unbilled request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLogEntry {
    pub request_id: String,
    pub client_request_id: Option<String>,
    pub at: jiff::Timestamp,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    pub api_key_id: Option<i64>,
    pub key_name: Option<String>,
    /// The platform name as stored (a platform this build does not know is shown as is).
    pub platform: String,
    pub route: Option<String>,
    pub model: Option<String>,
    pub outcome: String,
    pub http_status: Option<i64>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub cost: Money,
    pub latency_ms: i64,
    pub ttfb_ms: Option<i64>,
    pub upstream_id: Option<i64>,
    pub upstream_name: Option<String>,
    pub estimated: bool,
    pub charged: bool,
}

/// Which HTTP statuses a request-log read keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// One status, e.g. 429.
    Exact(u16),
    /// A class: 2 for 2xx, 4 for 4xx, 5 for 5xx.
    Class(u8),
}

/// A request-log read: every field narrows it; `before` is the keyset cursor (the last row of the
/// previous page), rows come newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLogFilter {
    pub user_id: Option<i64>,
    pub api_key_id: Option<i64>,
    pub platform: Option<String>,
    pub model: Option<String>,
    pub status: Option<StatusFilter>,
    /// The gateway's or the client's request id.
    pub request_id: Option<String>,
    pub from: Option<jiff::Timestamp>,
    pub to: Option<jiff::Timestamp>,
    pub before: Option<(jiff::Timestamp, String)>,
}

/// Totals of one group of usage records (a day, a model, a key, a user).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub cost: Money,
    /// Requests charged (a stream's follow-up record for late usage is not another request).
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Cache reads and writes.
    pub cache_tokens: i64,
}

/// Usage records since a time, grouped for charts: of one user, or of all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageBreakdown {
    /// Per local date (in the zone asked for), oldest first; dates without usage are absent.
    pub by_day: Vec<(jiff::civil::Date, UsageTotals)>,
    /// Highest cost first.
    pub by_model: Vec<ModelUsage>,
    /// Highest cost first.
    pub by_key: Vec<KeyUsage>,
    /// Highest cost first (empty when grouped for one user).
    pub by_user: Vec<UserUsage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelUsage {
    pub platform: String,
    pub model: String,
    pub totals: UsageTotals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    /// `None`: records without a key.
    pub api_key_id: Option<i64>,
    pub key_name: Option<String>,
    /// The key owner's email.
    pub user_email: Option<String>,
    pub totals: UsageTotals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUsage {
    pub user_id: i64,
    pub email: Option<String>,
    pub totals: UsageTotals,
}
