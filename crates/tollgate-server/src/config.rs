//! Command-line and environment configuration. Every flag can also come from a `TOLLGATE_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the database is.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`. Default: a SQLite file in the data directory.
    #[arg(long, env = "TOLLGATE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for the default SQLite database.
    #[arg(long, env = "TOLLGATE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

impl DbArgs {
    /// The URL in force.
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("tollgate.db").display()),
        }
    }
}

/// `tollgate serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TOLLGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub gateway: GatewayConfig,
}

/// Gateway tuning.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayConfig {
    /// Largest accepted request body, in bytes (image and PDF prompts are large).
    #[arg(long, env = "TOLLGATE_MAX_BODY_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Seconds to wait for an upstream connection.
    #[arg(long, env = "TOLLGATE_CONNECT_TIMEOUT_SECS", default_value_t = 10)]
    pub connect_timeout_secs: u64,
    /// Seconds an upstream may stay silent (between bytes) before the call is abandoned.
    #[arg(long, env = "TOLLGATE_READ_TIMEOUT_SECS", default_value_t = 300)]
    pub read_timeout_secs: u64,
    /// Seconds between reloads of settings written by other gateway processes.
    #[arg(long, env = "TOLLGATE_SETTINGS_REFRESH_SECS", default_value_t = 5)]
    pub settings_refresh_secs: u64,
    /// Milliseconds a soft-mode admission may use this process's copy of a quota row before reading
    /// it again (changes made through other processes are seen within this; 0 reads every time).
    #[arg(long, env = "TOLLGATE_QUOTA_REFRESH_MS", default_value_t = 1000)]
    pub quota_refresh_ms: u64,
    /// How a charge is committed before its answer is released: `journal` appends it to a local
    /// journal that is written to the database a moment later; `direct` waits for the database's
    /// own commit (docs/quotas.md, "Settlement").
    #[arg(long, env = "TOLLGATE_SETTLEMENT", value_enum, default_value_t = SettlementMode::Journal)]
    pub settlement: SettlementMode,
    /// Folder of the settlement journal, one per process. Default: `PATH.journal` next to a SQLite
    /// database file, else `journal` in the data directory.
    #[arg(long, env = "TOLLGATE_JOURNAL_DIR")]
    pub journal_dir: Option<PathBuf>,
    /// Threads serving connections, each with its own event loop and upstream connections, so a
    /// request stays on one thread from accept to answer. 0: one per CPU core.
    #[arg(long, env = "TOLLGATE_SERVE_THREADS", default_value_t = 0)]
    pub serve_threads: usize,
}

/// See [`GatewayConfig::settlement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SettlementMode {
    Journal,
    Direct,
}

impl GatewayConfig {
    /// The journal folder in force: the one given; else, for a SQLite database, `PATH.journal` next
    /// to its file (so each database has its own); else `journal` in the data directory.
    pub fn with_default_journal(mut self, db: &DbArgs) -> Self {
        if self.journal_dir.is_none() {
            let url = db.url();
            let sqlite_file = url.strip_prefix("sqlite://").map(|rest| rest.split('?').next().unwrap_or(rest));
            self.journal_dir = Some(match sqlite_file {
                Some(path) if !path.is_empty() && !path.contains(":memory:") => {
                    PathBuf::from(format!("{path}.journal"))
                }
                _ => db.data_dir.join("journal"),
            });
        }
        self
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 * 1024 * 1024,
            connect_timeout_secs: 10,
            read_timeout_secs: 300,
            settings_refresh_secs: 5,
            quota_refresh_ms: 1000,
            settlement: SettlementMode::Journal,
            journal_dir: None,
            serve_threads: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(url: Option<&str>, given: Option<&str>) -> Option<PathBuf> {
        let db = DbArgs { database_url: url.map(str::to_owned), data_dir: PathBuf::from("var") };
        let config = GatewayConfig { journal_dir: given.map(PathBuf::from), ..GatewayConfig::default() };
        config.with_default_journal(&db).journal_dir
    }

    #[test]
    fn the_journal_sits_beside_its_sqlite_file_else_in_the_data_directory() {
        assert_eq!(journal(None, None), Some(PathBuf::from("var/tollgate.db.journal")));
        assert_eq!(journal(Some("sqlite:///srv/t.db?mode=rwc"), None), Some(PathBuf::from("/srv/t.db.journal")));
        assert_eq!(journal(Some("postgres://u@h/db"), None), Some(PathBuf::from("var/journal")));
        assert_eq!(journal(Some("sqlite://:memory:"), None), Some(PathBuf::from("var/journal")));
        assert_eq!(journal(None, Some("/j")), Some(PathBuf::from("/j")));
    }
}
