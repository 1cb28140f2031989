//! Tollgate's storage port and its SQLite and PostgreSQL adapters.
//!
//! The port is a set of traits ([`QuotaRepo`], [`SettingsRepo`], [`UserRepo`], …) gathered in
//! [`Store`]; the server holds an `Arc<dyn Store>`. Both adapters run the same SQL text (written once
//! in `sql/`, with `$N` placeholders that sqlx understands on both backends); what differs — connect
//! options, migrations, how a write transaction begins, row locking — lives in `sqlite.rs` and
//! `postgres.rs`.

mod checkpoint;
mod error;
pub mod models;
mod ports;
mod sql;

pub mod postgres;
pub mod sqlite;
pub mod testing;

use std::sync::Arc;

pub use error::StoreError;
pub use models::*;
pub use ports::*;

/// Opens a store by URL: `sqlite://path` (created if missing) or `postgres://…`, and runs migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Invalid(format!(
            "unsupported database URL (expected sqlite://… or postgres://…): {}",
            redact_url(url)
        )))
    }
}

/// A URL with any password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
