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
    /// A configuration file (docs/config-file.md) applied before the first request is served;
    /// an invalid file stops the start, naming the offending value.
    #[arg(long, env = "TOLLGATE_CONFIG")]
    pub config: Option<PathBuf>,
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
    /// First retry delay of an alert delivery that failed, in milliseconds; it doubles with each
    /// attempt up to one hour (docs/alerts.md). Tests shorten it.
    #[arg(long, env = "TOLLGATE_ALERT_RETRY_BASE_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    pub alert_retry_base_ms: u64,
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
    /// Seconds a client has to send a whole request head, from its first byte (or from the accept,
    /// for a connection that sends nothing).
    #[arg(long, env = "TOLLGATE_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a whole request body, from the end of its head.
    #[arg(long, env = "TOLLGATE_BODY_READ_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_read_timeout_secs: u64,
    /// Seconds a keep-alive connection may stay silent between requests before it is closed.
    #[arg(long, env = "TOLLGATE_IDLE_TIMEOUT_SECS", default_value_t = 75, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_secs: u64,
    /// Reverse proxies (CIDRs or addresses, comma-separated) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed, for the client address (login throttling) and the cookie's
    /// `Secure` flag. Default: none (the TCP peer is the client; forwarding headers are dropped).
    #[arg(long, env = "TOLLGATE_TRUSTED_PROXIES", value_delimiter = ',', num_args = 1.., value_parser = crate::console::client::parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Bearer token that `GET /metrics` requires (`Authorization: Bearer TOKEN`). Without it and
    /// without `--metrics-listen`, `/metrics` answers only loopback clients that came through no
    /// proxy (404 for everyone else).
    #[arg(long, env = "TOLLGATE_METRICS_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub metrics_token: Option<tollgate_store::Secret>,
    /// Serve `/metrics` on this separate address only (e.g. `127.0.0.1:9090`, or an internal
    /// interface); the main listener then answers 404 there.
    #[arg(long, env = "TOLLGATE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// File holding the key (base64 of 32 bytes) that encrypts upstream API keys and OAuth client
    /// secrets at rest. The key can also be given in `TOLLGATE_SECRET_KEY`. With neither,
    /// `DATA_DIR/secret.key` is used, and generated (mode 0600) on a fresh install.
    #[arg(long, env = "TOLLGATE_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// OpenTelemetry collector (OTLP/HTTP, JSON) to export one span per gateway request to, e.g.
    /// `http://127.0.0.1:4318`; spans go to `ENDPOINT/v1/traces`. Unset: no export
    /// (docs/observability.md).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Headers sent with each export, `key=value,key2=value2` (a collector's API key).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_HEADERS", hide_env_values = true)]
    pub otlp_headers: Option<String>,
    /// `service.name` of the exported spans.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "tollgate")]
    pub otel_service_name: String,
    /// The key itself, from `TOLLGATE_SECRET_KEY` only (a flag would show it in `ps`).
    #[arg(skip)]
    pub secret_key: Option<tollgate_store::Secret>,
    /// Where a key is read or generated when neither of the above is given (`serve`: the data dir).
    #[arg(skip)]
    pub generated_key_file: Option<PathBuf>,
}

fn parse_secret(text: &str) -> Result<tollgate_store::Secret, String> {
    if text.trim().len() < 16 {
        return Err("must have at least 16 characters".to_owned());
    }
    Ok(tollgate_store::Secret::new(text.trim()))
}

/// See [`GatewayConfig::settlement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SettlementMode {
    Journal,
    Direct,
}

impl GatewayConfig {
    /// The secret key in force: `TOLLGATE_SECRET_KEY`, else `--secret-key-file`, else
    /// `DATA_DIR/secret.key` (generated on a fresh install).
    pub fn with_default_secret_key(mut self, db: &DbArgs) -> Self {
        if self.secret_key.is_none() {
            self.secret_key =
                std::env::var("TOLLGATE_SECRET_KEY").ok().filter(|k| !k.trim().is_empty()).map(Into::into);
        }
        if self.secret_key.is_none() && self.secret_key_file.is_none() {
            self.generated_key_file = Some(db.data_dir.join("secret.key"));
        }
        self
    }

    /// The connection timeouts.
    pub fn timeouts(&self) -> crate::connection::Timeouts {
        crate::connection::Timeouts {
            header: std::time::Duration::from_secs(self.header_read_timeout_secs),
            body: std::time::Duration::from_secs(self.body_read_timeout_secs),
            idle: std::time::Duration::from_secs(self.idle_timeout_secs),
        }
    }

    /// Where the secret key comes from.
    pub fn key_source(&self) -> crate::secrets::key::KeySource {
        crate::secrets::key::KeySource {
            env: self.secret_key.clone(),
            file: self.secret_key_file.clone(),
            generated_file: self.generated_key_file.clone(),
        }
    }

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
            alert_retry_base_ms: 5000,
            settlement: SettlementMode::Journal,
            journal_dir: None,
            serve_threads: 0,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            metrics_listen: None,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 60,
            idle_timeout_secs: 75,
            otlp_endpoint: None,
            otlp_headers: None,
            otel_service_name: "tollgate".to_owned(),
            secret_key_file: None,
            secret_key: None,
            generated_key_file: None,
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
