//! Tollgate's pure domain. No I/O: no tokio, sqlx, axum or reqwest here.

pub mod money;
pub mod platform;
pub mod pricing;
pub mod sse;
pub mod usage;
