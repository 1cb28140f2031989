//! The console API (`/api/v1`): sessions, settings, users and their quotas, keys, upstreams, pricing.

pub mod accounts;
