//! Admin routes (`/admin/…`): every handler takes [`super::session::Admin`], so users get 403.

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod audit_log;
pub mod pricing;
pub mod quotas;
pub mod settings;
pub mod upstreams;
pub mod users;
