//! The price book in force: the built-in table plus admin overrides, swapped whole on change, and
//! the record of models called without a price of their own.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use jiff::Timestamp;
use std::collections::BTreeMap;
use tollgate_core::platform::Platform;

use tollgate_core::price_import::{self, PriceChange};
use tollgate_core::pricing::{MatchKind, Price, PriceTable, PricingError};
use tollgate_store::{NewAuditEntry, Store, StoreError};

use crate::gateway::error::GatewayError;

/// Distinct (platform, model) label pairs the unpriced-requests metric takes before it reports
/// further models as `other`: a client choosing model names must not grow the scrape for ever.
const MAX_METRIC_MODELS: usize = 200;

#[derive(Clone)]
pub struct PriceBook {
    current: Arc<RwLock<Arc<PriceTable>>>,
    unpriced: Arc<Mutex<Unpriced>>,
}

/// Unpriced models this process has already reported (metric labels, and a database note per
/// model and minute).
#[derive(Default)]
struct Unpriced {
    labelled: HashSet<(Platform, String)>,
    /// (platform, model) → requests not yet written to the store.
    pending: std::collections::HashMap<(Platform, String), i64>,
}

impl PriceBook {
    /// The built-in table alone.
    pub fn builtin() -> Result<Self, PricingError> {
        Ok(Self { current: Arc::new(RwLock::new(Arc::new(PriceTable::builtin()?.clone()))), unpriced: Arc::default() })
    }

    /// The table in force.
    pub fn table(&self) -> Arc<PriceTable> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the overrides (the built-in table stays underneath).
    pub fn set_overrides(&self, overrides: Vec<(String, Price)>) -> Result<(), PricingError> {
        let table = Arc::new(PriceTable::builtin()?.with_overrides(overrides));
        match self.current.write() {
            Ok(mut g) => *g = table,
            Err(p) => *p.into_inner() = table,
        }
        Ok(())
    }

    /// Re-reads the overrides from the store: after a change through this process's console (the
    /// very next request is priced by it), and periodically for changes made by other processes.
    pub async fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        let overrides = store.list_price_overrides().await?;
        self.set_overrides(overrides).map_err(|e| StoreError::Invalid(format!("price overrides: {e}")))
    }

    /// `f` applied to the price of `model` on `platform` (a platform's fallback for unknown models,
    /// noted as unpriced). Borrowed, not cloned: a price carries its source text, and this runs for
    /// every request.
    pub fn with_price<T>(
        &self,
        platform: Platform,
        model: &str,
        f: impl FnOnce(&Price) -> T,
    ) -> Result<T, GatewayError> {
        self.with_priced_model(platform, model, |price, _| f(price))
    }

    /// [`Self::with_price`], also handing `f` the price table's name of the model (`None`: the
    /// fallback price) — a bounded set of names, fit for a metric label.
    pub fn with_priced_model<T>(
        &self,
        platform: Platform,
        model: &str,
        f: impl FnOnce(&Price, Option<&str>) -> T,
    ) -> Result<T, GatewayError> {
        let table = self.table();
        let found = table.lookup(platform, model).ok_or_else(|| GatewayError::UnknownModel(model.to_owned()))?;
        if found.kind == MatchKind::Fallback {
            self.note_unpriced(platform, model);
        }
        Ok(f(found.price, found.model))
    }

    /// Whether the model has a price of its own (not the fallback). An unknown model is noted.
    pub fn is_known(&self, platform: Platform, model: &str) -> bool {
        let known = self.table().lookup(platform, model).is_some_and(|m| m.kind != MatchKind::Fallback);
        if !known {
            self.note_unpriced(platform, model);
        }
        known
    }

    /// Counts a request for a model without a price of its own: the
    /// `tollgate_unpriced_requests_total{platform,model}` metric now, the console's list at the
    /// next [`Self::flush_unpriced`].
    fn note_unpriced(&self, platform: Platform, model: &str) {
        let Ok(mut u) = self.unpriced.lock() else { return };
        let model: String = model.trim().chars().take(200).collect();
        let key = (platform, model);
        let label = if u.labelled.contains(&key) || u.labelled.len() < MAX_METRIC_MODELS {
            u.labelled.insert(key.clone());
            key.1.clone()
        } else {
            "other".to_owned()
        };
        metrics::counter!("tollgate_unpriced_requests_total", "platform" => platform.as_str(), "model" => label)
            .increment(1);
        *u.pending.entry(key).or_default() += 1;
    }

    /// Writes the unpriced models noted since the last flush (run by the refresher, off the
    /// request path).
    pub async fn flush_unpriced(&self, store: &dyn Store) {
        let pending = match self.unpriced.lock() {
            Ok(mut u) => std::mem::take(&mut u.pending),
            Err(_) => return,
        };
        let now = Timestamp::now();
        for ((platform, model), requests) in pending {
            if let Err(e) = store.note_unpriced_model(&model, platform, requests, now).await {
                tracing::warn!(error = %e, model, "could not note an unpriced model");
            }
        }
    }
}

/// Writes an import's `changes` as overrides: one transaction with its audit entry (`actor_id`
/// `None`: the command line). The caller reloads its [`PriceBook`].
pub async fn apply_import(store: &dyn Store, actor_id: Option<i64>, changes: &[PriceChange]) -> Result<(), StoreError> {
    let prices: Vec<(String, Price)> = changes.iter().map(|c| (c.model.clone(), c.after.clone())).collect();
    let before: BTreeMap<&str, &Option<Price>> = changes.iter().map(|c| (c.model.as_str(), &c.before)).collect();
    let after: BTreeMap<&str, &Price> = changes.iter().map(|c| (c.model.as_str(), &c.after)).collect();
    let entry = NewAuditEntry {
        at: Timestamp::now(),
        actor_id,
        action: "price.import".into(),
        target_user_id: None,
        platform: None,
        before_json: serde_json::to_string(&before).ok(),
        after_json: serde_json::to_string(&after).ok(),
    };
    store.upsert_price_overrides_audited(&prices, Timestamp::now(), Some(&entry)).await
}

/// `tollgate prices import FILE [--apply]`: the diff of a price file against the prices in force
/// (built-in table and the database's overrides), applied when `apply`.
pub async fn import_file(store: &dyn Store, text: &str, apply: bool) -> Result<String, String> {
    let imported = price_import::parse(text).map_err(|e| e.to_string())?;
    let table = PriceTable::builtin()
        .map_err(|e| e.to_string())?
        .with_overrides(store.list_price_overrides().await.map_err(|e| e.to_string())?);
    let changes = price_import::diff(&table, &imported);
    let mut out = format!(
        "{} file: {} models, {} skipped, {} changed\n",
        match imported.format {
            price_import::ImportFormat::Tollgate => "Tollgate",
            price_import::ImportFormat::Litellm => "LiteLLM",
        },
        imported.prices.len(),
        imported.skipped,
        changes.len()
    );
    for c in &changes {
        let show = |p: &Price| format!("in {} / out {} USD per MTok", p.input_per_mtok, p.output_per_mtok);
        match &c.before {
            Some(b) => out.push_str(&format!("  ~ {}: {} -> {}\n", c.model, show(b), show(&c.after))),
            None => out.push_str(&format!("  + {}: {}\n", c.model, show(&c.after))),
        }
    }
    if apply && !changes.is_empty() {
        apply_import(store, None, &changes).await.map_err(|e| e.to_string())?;
        out.push_str("applied (running servers pick it up within --settings-refresh-secs)\n");
    } else if !changes.is_empty() {
        out.push_str("not applied: run again with --apply\n");
    }
    Ok(out)
}
