//! Configuration as code (docs/config-file.md): a TOML file of settings, upstreams and price
//! overrides, applied at start (`serve --config`) or by `tollgate config apply`, and written from
//! the current state by `tollgate config export`.
//!
//! Each section goes through the console's own validators and writers, so a file means exactly
//! what the same values sent to the console API mean, and every error names its path in the file.

mod apply;
mod export;
mod parse;

pub use apply::{Report, apply};
pub use export::export;
pub use parse::{ConfigFile, parse};

/// Reads, validates and applies the file at `path` (variables from the process environment).
/// Errors name the file and the path in it.
pub async fn apply_file(
    state: &crate::state::AppState,
    path: &std::path::Path,
    dry_run: bool,
) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let file =
        parse(&text, &|name| std::env::var(name).ok()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    apply(state, &file, dry_run).await.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// A configuration file that cannot be applied: the path of the offending value in the file
/// (`upstreams[1].base_url`; empty for the whole file) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self { path: path.into(), message: message.to_string() }
    }

    /// A console error met while validating or writing the part of the file under `prefix`.
    fn from_console(prefix: &str, e: crate::console::error::ConsoleError) -> Self {
        use crate::console::error::ConsoleError;
        match e {
            ConsoleError::Invalid { field, message } | ConsoleError::Conflict { field, message } => {
                Self::new(join(prefix, field.as_deref().unwrap_or("")), message)
            }
            other => Self::new(prefix.trim_end_matches('.'), other),
        }
    }
}

fn join(prefix: &str, field: &str) -> String {
    match (prefix.trim_end_matches('.'), field) {
        (p, "") => p.to_owned(),
        ("", f) => f.to_owned(),
        (p, f) => format!("{p}.{f}"),
    }
}

/// A key as written in a path: bare when TOML allows it, else quoted (`prices."gpt-4.1"`).
fn key_in_path(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        key.to_owned()
    } else {
        serde_json::Value::String(key.to_owned()).to_string()
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
