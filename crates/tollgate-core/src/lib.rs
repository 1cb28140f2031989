//! Tollgate's pure domain. No I/O: no tokio, sqlx, axum or reqwest here.

pub mod alerts;
pub mod audio_scan;
pub mod defaults;
pub mod error;
pub mod estimate;
pub mod money;
pub mod oauth;
pub mod platform;
pub mod price_import;
pub mod pricing;
pub mod quota;
pub mod rate;
pub mod settings;
pub mod sse;
pub mod unique_keys;
pub mod usage;
pub mod window;
