//! The server's integration tests: one binary, in-process apps on SQLite and PostgreSQL.

mod gateway;
mod health;
mod util;
