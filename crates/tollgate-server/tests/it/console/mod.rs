//! Console API tests, one file per route group.

mod access;
mod admin_create;
mod api_keys;
mod audit;
mod auth;
mod hardening;
mod meta;
mod oauth;
mod openapi;
mod pricing;
mod quotas;
mod request_log;
mod secrets;
mod settings;
mod signup;
mod upstreams;
mod user_quotas;
mod users;
