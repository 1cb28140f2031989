//! `GET /admin/pricing`, `PUT/DELETE /admin/pricing/{model}`: the built-in table merged with the
//! admins' overrides. `GET /admin/pricing/unpriced`: models called without a price of their own.
//! `POST /admin/pricing/import`: a price file (Tollgate's format or LiteLLM's), shown as a diff and
//! applied all-or-nothing. Every change is audited and prices the very next request of this
//! process (other processes within `--settings-refresh-secs`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Serialize;
use tollgate_core::platform::Platform;
use tollgate_core::price_import::{self, ImportFormat, PriceChange};
use tollgate_core::pricing::{LongContextPrice, MatchKind, Medium, Price, PriceTable, ToolFees};
use tollgate_store::{NewAuditEntry, StoreError};

use crate::console::body::{JsonObject, Obj};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::Admin;
use crate::console::views::to_json_text;
use crate::state::AppState;

/// Where a model's price comes from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PriceSource {
    Builtin,
    Override,
}

#[derive(Serialize)]
pub struct ModelPrice {
    pub model: String,
    #[serde(flatten)]
    pub price: Price,
    pub source: PriceSource,
}

#[derive(Serialize)]
pub struct PricingOut {
    pub models: Vec<ModelPrice>,
    /// The price of an unknown model, per platform (null: none).
    pub fallback: BTreeMap<Platform, Option<Price>>,
    /// Where the built-in prices come from, and their date.
    pub builtin_source: Vec<String>,
    pub builtin_as_of: String,
}

fn builtin() -> ConsoleResult<&'static PriceTable> {
    PriceTable::builtin().map_err(|e| ConsoleError::Internal(e.to_string()))
}

/// Every priced model: built-in ones, overridden or added ones (`source`), and the fallbacks.
pub async fn get_pricing(State(state): State<AppState>, _admin: Admin) -> ConsoleResult<Json<PricingOut>> {
    let table = builtin()?;
    let mut models: BTreeMap<String, ModelPrice> = table
        .models()
        .map(|(m, p)| {
            (m.to_owned(), ModelPrice { model: m.to_owned(), price: p.clone(), source: PriceSource::Builtin })
        })
        .collect();
    for (model, price) in state.store.list_price_overrides().await? {
        models.insert(model.clone(), ModelPrice { model, price, source: PriceSource::Override });
    }
    let fallback = Platform::ALL.iter().map(|p| (*p, table.fallback(*p).cloned())).collect();
    Ok(Json(PricingOut {
        models: models.into_values().collect(),
        fallback,
        builtin_source: table.source().to_vec(),
        builtin_as_of: table.as_of().to_owned(),
    }))
}

pub(crate) fn model_name(raw: &str) -> ConsoleResult<String> {
    let m = raw.trim();
    if m.is_empty() || m.chars().count() > 200 || m.chars().any(char::is_control) {
        return Err(ConsoleError::invalid("model", "must be 1 to 200 printable characters"));
    }
    Ok(m.to_owned())
}

/// A price from its fields. Writes nothing.
pub(crate) fn parse_price(o: &Obj) -> ConsoleResult<Price> {
    let long_context = match o.raw("long_context") {
        Some(raw) => Some(
            serde_json::from_str::<LongContextPrice>(raw)
                .map_err(|e| ConsoleError::invalid(o.field("long_context"), format!("invalid tier: {e}")))?,
        ),
        None => None,
    };
    let tool_fees = match o.raw("tool_fees") {
        Some(raw) => serde_json::from_str::<ToolFees>(raw)
            .map_err(|e| ConsoleError::invalid(o.field("tool_fees"), format!("invalid tool fees: {e}")))?,
        None => ToolFees::default(),
    };
    let covers = match o.raw("covers") {
        Some(raw) => serde_json::from_str::<Vec<Medium>>(raw).map_err(|e| {
            ConsoleError::invalid(
                o.field("covers"),
                format!("must list audio_input, image_output or audio_output: {e}"),
            )
        })?,
        None => Vec::new(),
    };
    Ok(Price {
        platform: o.name("platform")?,
        input_per_mtok: o.decimal("input_per_mtok")?,
        output_per_mtok: o.decimal("output_per_mtok")?,
        cache_read_per_mtok: o.opt_decimal("cache_read_per_mtok")?,
        cache_write_5m_per_mtok: o.opt_decimal("cache_write_5m_per_mtok")?,
        cache_write_1h_per_mtok: o.opt_decimal("cache_write_1h_per_mtok")?,
        long_context,
        tool_fees,
        covers,
        source_url: o.opt_text("source_url", 500)?,
        as_of: o.opt_text("as_of", 40)?,
    })
}

/// Sets (adds or replaces) the price of `model` (URL-encoded; may contain `/`).
pub async fn put_price(
    State(state): State<AppState>,
    admin: Admin,
    Path(model): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<ModelPrice>> {
    let model = model_name(&model)?;
    let price = parse_price(&body.obj)?;
    write_prices(&state, &[(model.clone(), price.clone())], Some(admin.0.user.id)).await?;
    Ok(Json(ModelPrice { model, price, source: PriceSource::Override }))
}

/// Stores prices as overrides in one transaction with one audit entry (`actor`: the admin;
/// `None`: a configuration file), then reprices this process's next request.
pub(crate) async fn write_prices(
    state: &AppState,
    prices: &[(String, Price)],
    actor: Option<i64>,
) -> ConsoleResult<()> {
    let table = state.ledger.prices().table();
    let entry = match prices {
        [(model, price)] => audit(actor, "price.update", Some(model), table.get(model), Some(price)),
        _ => {
            // Several at once (a configuration file): the models and their prices before and after.
            let before: BTreeMap<&str, Option<&Price>> =
                prices.iter().map(|(m, _)| (m.as_str(), table.get(m))).collect();
            let after: BTreeMap<&str, &Price> = prices.iter().map(|(m, p)| (m.as_str(), p)).collect();
            NewAuditEntry {
                at: Timestamp::now(),
                actor_id: actor,
                action: "price.update".to_owned(),
                target_user_id: None,
                platform: None,
                before_json: to_json_text(&before),
                after_json: to_json_text(&after),
            }
        }
    };
    state.store.upsert_price_overrides_audited(prices, Timestamp::now(), Some(&entry)).await?;
    state.ledger.reload_prices().await?;
    Ok(())
}

/// An audit entry of a price change: the model and its price before and after.
fn audit(
    actor: Option<i64>,
    action: &str,
    model: Option<&str>,
    before: Option<&Price>,
    after: Option<&Price>,
) -> NewAuditEntry {
    #[derive(Serialize)]
    struct Entry<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        model: Option<&'a str>,
        price: Option<&'a Price>,
    }
    NewAuditEntry {
        at: Timestamp::now(),
        actor_id: actor,
        action: action.to_owned(),
        target_user_id: None,
        platform: None,
        before_json: to_json_text(&Entry { model, price: before }),
        after_json: to_json_text(&Entry { model, price: after }),
    }
}

/// A model seen without a price of its own, as listed.
#[derive(Serialize)]
pub struct UnpricedOut {
    pub model: String,
    pub platform: Platform,
    pub requests: i64,
    pub first_seen: String,
    pub last_seen: String,
}

/// Models called without a price of their own that still have none (priced at the fallback or
/// refused), most recent first: the admin prices them with `PUT /admin/pricing/{model}`.
pub async fn list_unpriced(State(state): State<AppState>, _admin: Admin) -> ConsoleResult<Json<Vec<UnpricedOut>>> {
    let table = state.ledger.prices().table();
    let clock = state.settings.clock();
    let time = |t: Timestamp| t.to_zoned(clock.zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    let out = state
        .store
        .list_unpriced_models()
        .await?
        .into_iter()
        .filter(|m| table.lookup(m.platform, &m.model).is_none_or(|p| p.kind == MatchKind::Fallback))
        .map(|m| UnpricedOut {
            first_seen: time(m.first_seen),
            last_seen: time(m.last_seen),
            model: m.model,
            platform: m.platform,
            requests: m.requests,
        })
        .collect();
    Ok(Json(out))
}

/// What an import did (or, with `apply: false`, would do).
#[derive(Serialize)]
pub struct ImportOut {
    pub format: ImportFormat,
    /// Entries of a LiteLLM file not taken (other providers, embeddings, …).
    pub skipped: usize,
    /// Models whose price changes, with the price in force before (`null`: a new model).
    pub changes: Vec<PriceChange>,
    pub applied: bool,
}

/// `POST /admin/pricing/import` `{"file": "<the file's text>", "apply": false}`: parses and validates
/// the whole file (any bad entry: 400 naming it, nothing changed) and returns the diff against the
/// prices in force; with `apply: true` writes every changed price as an override in one
/// transaction, audited.
pub async fn import_prices(
    State(state): State<AppState>,
    admin: Admin,
    body: JsonObject,
) -> ConsoleResult<Json<ImportOut>> {
    let o = &body.obj;
    let text = o.text("file", MAX_IMPORT_BYTES)?;
    let apply = o.opt_bool("apply")?.unwrap_or(false);
    let imported =
        price_import::parse(&text).map_err(|e| ConsoleError::invalid(format!("file.{}", e.field), e.message))?;
    let changes = price_import::diff(&state.ledger.prices().table(), &imported);
    if apply && !changes.is_empty() {
        crate::ledger::prices::apply_import(&*state.store, Some(admin.0.user.id), &changes).await?;
        state.ledger.reload_prices().await?;
    }
    Ok(Json(ImportOut { format: imported.format, skipped: imported.skipped, changes, applied: apply }))
}

/// Largest price file accepted (LiteLLM's whole table is about 1.5 MB).
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// Removes an override (the built-in price, if any, applies again). 204; 404 without an override.
pub async fn delete_price(
    State(state): State<AppState>,
    admin: Admin,
    Path(model): Path<String>,
) -> ConsoleResult<StatusCode> {
    let model = model_name(&model)?;
    let before = state.ledger.prices().table().get(&model).cloned();
    state.store.delete_price_override(&model).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::not_found(format!("{model} has no price override")),
        other => other.into(),
    })?;
    state.ledger.reload_prices().await?;
    let after = state.ledger.prices().table().get(&model).cloned();
    state
        .store
        .append_audit(&audit(Some(admin.0.user.id), "price.delete", Some(&model), before.as_ref(), after.as_ref()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
