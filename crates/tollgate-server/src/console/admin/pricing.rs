//! `GET /admin/pricing`, `PUT/DELETE /admin/pricing/{model}`: the built-in table merged with the
//! admins' overrides.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Serialize;
use tollgate_core::platform::Platform;
use tollgate_core::pricing::{LongContextPrice, Price, PriceTable};
use tollgate_store::StoreError;

use crate::console::body::JsonObject;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::Admin;
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

fn model_name(raw: &str) -> ConsoleResult<String> {
    let m = raw.trim();
    if m.is_empty() || m.chars().count() > 200 || m.chars().any(char::is_control) {
        return Err(ConsoleError::invalid("model", "must be 1 to 200 printable characters"));
    }
    Ok(m.to_owned())
}

/// Sets (adds or replaces) the price of `model` (URL-encoded; may contain `/`).
pub async fn put_price(
    State(state): State<AppState>,
    _admin: Admin,
    Path(model): Path<String>,
    body: JsonObject,
) -> ConsoleResult<Json<ModelPrice>> {
    let model = model_name(&model)?;
    let o = &body.obj;
    let long_context = match o.raw("long_context") {
        Some(raw) => Some(
            serde_json::from_str::<LongContextPrice>(raw)
                .map_err(|e| ConsoleError::invalid("long_context", format!("invalid tier: {e}")))?,
        ),
        None => None,
    };
    let price = Price {
        platform: o.name("platform")?,
        input_per_mtok: o.decimal("input_per_mtok")?,
        output_per_mtok: o.decimal("output_per_mtok")?,
        cache_read_per_mtok: o.opt_decimal("cache_read_per_mtok")?,
        cache_write_5m_per_mtok: o.opt_decimal("cache_write_5m_per_mtok")?,
        cache_write_1h_per_mtok: o.opt_decimal("cache_write_1h_per_mtok")?,
        long_context,
    };
    state.store.upsert_price_override(&model, &price, Timestamp::now()).await?;
    Ok(Json(ModelPrice { model, price, source: PriceSource::Override }))
}

/// Removes an override (the built-in price, if any, applies again). 204; 404 without an override.
pub async fn delete_price(
    State(state): State<AppState>,
    _admin: Admin,
    Path(model): Path<String>,
) -> ConsoleResult<StatusCode> {
    let model = model_name(&model)?;
    state.store.delete_price_override(&model).await.map_err(|e| match e {
        StoreError::NotFound => ConsoleError::not_found(format!("{model} has no price override")),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}
