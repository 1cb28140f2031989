//! Applying a file: everything is validated and compared with the stored state first; only then
//! is anything written, and only what differs. Applying the same file again changes nothing.

use std::collections::BTreeMap;
use std::fmt;

use tollgate_core::pricing::Price;
use tollgate_core::settings::Settings;
use tollgate_store::{NewUpstream, Upstream, UpstreamPatch};

use super::{ConfigError, ConfigFile, key_in_path};
use crate::console::admin::pricing::{model_name, parse_price, write_prices};
use crate::console::admin::settings::{prepare_settings, save_settings};
use crate::console::admin::upstreams::{
    all_upstreams, new_upstream, upstream_patch, write_new_upstream, write_upstream_patch,
};
use crate::console::body::Obj;
use crate::state::AppState;

const UPSTREAM_FIELDS: &[&str] = &["name", "platform", "base_url", "api_key", "enabled", "priority", "protocol"];
const PRICE_FIELDS: &[&str] = &[
    "platform",
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_5m_per_mtok",
    "cache_write_1h_per_mtok",
    "long_context",
    "tool_fees",
    "covers",
    "source_url",
    "as_of",
];

/// What an apply changed (or, dry, would change), one line per change.
#[derive(Debug, Default)]
pub struct Report {
    pub changes: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return writeln!(f, "no changes: the database already matches the file");
        }
        for line in &self.changes {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// The writes a file calls for, all validated.
#[derive(Default)]
struct Plan {
    settings: Vec<(String, String)>,
    prices: Vec<(String, Price)>,
    creates: Vec<NewUpstream>,
    patches: Vec<(Upstream, UpstreamPatch)>,
    report: Report,
}

/// Validates the whole file against the current state, then (unless `dry_run`) writes what
/// differs: settings in one transaction, prices in one, then each upstream. An invalid value
/// anywhere writes nothing. Changes are audited with no actor (the file).
pub async fn apply(state: &AppState, file: &ConfigFile, dry_run: bool) -> Result<Report, ConfigError> {
    let mut plan = Plan::default();
    if let Some(raw) = &file.settings {
        plan_settings(state, raw, &mut plan).await?;
    }
    plan_prices(state, &file.prices, &mut plan)?;
    plan_upstreams(state, &file.upstreams, &mut plan).await?;
    if dry_run {
        return Ok(plan.report);
    }
    let console = |prefix: &str| {
        let prefix = prefix.to_owned();
        move |e| ConfigError::from_console(&prefix, e)
    };
    if !plan.settings.is_empty() {
        save_settings(state, &plan.settings, None).await.map_err(console("settings"))?;
    }
    if !plan.prices.is_empty() {
        write_prices(state, &plan.prices, None).await.map_err(console("prices"))?;
    }
    for new in &plan.creates {
        write_new_upstream(state, new, None).await.map_err(console("upstreams"))?;
    }
    for (current, patch) in &plan.patches {
        write_upstream_patch(state, current, patch, None).await.map_err(console("upstreams"))?;
    }
    Ok(plan.report)
}

async fn plan_settings(state: &AppState, raw: &str, plan: &mut Plan) -> Result<(), ConfigError> {
    let values = prepare_settings(state, raw).map_err(|e| ConfigError::from_console("settings", e))?;
    let stored = state.store.load_settings().await.map_err(|e| ConfigError::new("settings", e))?;
    let stored =
        crate::secrets::stored::open_settings(&state.secrets, stored).map_err(|e| ConfigError::new("settings", e))?;
    let in_force = Settings::from_stored(&stored);
    for (key, value) in values {
        // A key not stored holds its default: writing the default is no change.
        let mut changed = stored.clone();
        changed.insert(key.clone(), value.clone());
        if stored.get(&key) != Some(&value) && Settings::from_stored(&changed) != in_force {
            plan.report.changes.push(format!("settings: {key} set"));
            plan.settings.push((key, value));
        }
    }
    Ok(())
}

fn plan_prices(state: &AppState, prices: &[(String, String)], plan: &mut Plan) -> Result<(), ConfigError> {
    let table = state.ledger.prices().table();
    for (model, raw) in prices {
        let prefix = format!("prices.{}.", key_in_path(model));
        let console = |e| ConfigError::from_console("", e);
        let name = model_name(model).map_err(|_| {
            ConfigError::new(prefix.trim_end_matches('.'), "a model name has 1 to 200 printable characters")
        })?;
        let o = Obj::parse(&prefix, raw).map_err(console)?;
        o.reject_unknown(PRICE_FIELDS).map_err(console)?;
        let price = parse_price(&o).map_err(console)?;
        match table.get(&name) {
            Some(p) if *p == price => {}
            before => {
                let sign = if before.is_some() { "~" } else { "+" };
                plan.report.changes.push(format!("prices: {sign} {name}"));
                plan.prices.push((name, price));
            }
        }
    }
    Ok(())
}

async fn plan_upstreams(state: &AppState, upstreams: &[String], plan: &mut Plan) -> Result<(), ConfigError> {
    let console = |e| ConfigError::from_console("", e);
    let stored = all_upstreams(state).await.map_err(|e| ConfigError::from_console("upstreams", e))?;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in upstreams.iter().enumerate() {
        let prefix = format!("upstreams[{i}].");
        let o = Obj::parse(&prefix, raw).map_err(console)?;
        o.reject_unknown(UPSTREAM_FIELDS).map_err(console)?;
        let name = o.text("name", 100).map_err(console)?;
        if let Some(first) = seen.insert(name.clone(), i) {
            return Err(ConfigError::new(
                format!("{prefix}name"),
                format!("{name:?} is also the name of upstreams[{first}]"),
            ));
        }
        let same: Vec<&Upstream> = stored.iter().filter(|u| u.name == name).collect();
        match same.as_slice() {
            [] => {
                plan.creates.push(new_upstream(&o, &state.secrets).map_err(console)?);
                plan.report.changes.push(format!("upstreams: + {name}"));
            }
            [current] => {
                let patch = upstream_patch(&o, &state.secrets, current).map_err(console)?;
                let key = o.opt_text("api_key", 4096).map_err(console)?;
                let patch = only_changes(current, patch, key.as_deref());
                if patch != UpstreamPatch::default() {
                    plan.report.changes.push(format!("upstreams: ~ {name} ({})", changed_fields(&patch).join(", ")));
                    plan.patches.push(((*current).clone(), patch));
                }
            }
            more => {
                return Err(ConfigError::new(
                    format!("{prefix}name"),
                    format!("{} stored upstreams are named {name:?}; rename them in the console first", more.len()),
                ));
            }
        }
    }
    Ok(())
}

/// The patch with the fields that already hold the given value left out (`key`: the credential in
/// clear, compared with the stored one in clear).
fn only_changes(current: &Upstream, patch: UpstreamPatch, key: Option<&str>) -> UpstreamPatch {
    fn differs<T: PartialEq>(new: Option<T>, old: &T) -> Option<T> {
        new.filter(|v| v != old)
    }
    UpstreamPatch {
        platform: differs(patch.platform, &current.platform),
        name: None,
        base_url: differs(patch.base_url, &current.base_url),
        api_key: patch.api_key.filter(|_| key.is_some_and(|k| k != current.api_key.expose())),
        enabled: differs(patch.enabled, &current.enabled),
        priority: differs(patch.priority, &current.priority),
        protocol: differs(patch.protocol, &current.protocol),
    }
}

fn changed_fields(p: &UpstreamPatch) -> Vec<&'static str> {
    [
        ("platform", p.platform.is_some()),
        ("base_url", p.base_url.is_some()),
        ("api_key", p.api_key.is_some()),
        ("enabled", p.enabled.is_some()),
        ("priority", p.priority.is_some()),
        ("protocol", p.protocol.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}
