//! The server's integration tests: one binary, in-process apps on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on purpose

mod alerts;
mod config_file;
mod console;
mod gateway;
mod health;
mod metrics;
mod otlp;
mod util;
