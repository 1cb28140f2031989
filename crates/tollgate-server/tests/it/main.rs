//! The server's integration tests: one binary, in-process apps on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on purpose

mod console;
mod health;
mod util;
