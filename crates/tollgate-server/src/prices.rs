//! The price book in force: the built-in table plus admin overrides, swapped whole on change.

use std::sync::{Arc, RwLock};

use tollgate_core::money::{Decimal9, Money};
use tollgate_core::platform::Platform;
use tollgate_core::pricing::{MatchKind, Price, PriceTable, PricingError, apply_multiplier, cost};
use tollgate_core::usage::Usage;

use crate::gateway::error::GatewayError;

/// Output tokens assumed for the strict-mode estimate when a request sets no cap (above the largest
/// output limit of current models, so the estimate errs high).
pub const DEFAULT_MAX_OUTPUT_TOKENS: u64 = 128_000;
/// Input tokens a provider may add on top of the body (tool-use and system preambles), for the
/// strict-mode estimate.
pub const INPUT_OVERHEAD_TOKENS: u64 = 2_048;

#[derive(Clone)]
pub struct PriceBook {
    current: Arc<RwLock<Arc<PriceTable>>>,
}

impl PriceBook {
    /// The built-in table alone.
    pub fn builtin() -> Result<Self, PricingError> {
        Ok(Self { current: Arc::new(RwLock::new(Arc::new(PriceTable::builtin()?.clone()))) })
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

    /// The price of `model` on `platform` (a platform's fallback for unknown models).
    pub fn price(&self, platform: Platform, model: &str) -> Result<Price, GatewayError> {
        self.table()
            .lookup(platform, model)
            .map(|m| m.price.clone())
            .ok_or_else(|| GatewayError::UnknownModel(model.to_owned()))
    }

    /// Whether the model has a price of its own (not the fallback).
    pub fn is_known(&self, platform: Platform, model: &str) -> bool {
        self.table().lookup(platform, model).is_some_and(|m| m.kind != MatchKind::Fallback)
    }

    /// An upper bound of a request's cost for strict mode: every body byte counted as a token (a
    /// token is at least one byte of text; images and PDFs cost far fewer tokens than their bytes),
    /// plus [`INPUT_OVERHEAD_TOKENS`], at the dearest input rate (1-hour cache write, long-context
    /// tier when the body is that large), plus the output cap at the output rate, times the user's
    /// multiplier.
    pub fn estimate(
        &self,
        platform: Platform,
        model: &str,
        body_bytes: usize,
        max_output_tokens: Option<u64>,
        multiplier: Decimal9,
    ) -> Result<Money, GatewayError> {
        let price = self.price(platform, model)?;
        let usage = Usage {
            cache_write_1h_tokens: (body_bytes as u64).saturating_add(INPUT_OVERHEAD_TOKENS),
            output_tokens: max_output_tokens.unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS),
            ..Default::default()
        };
        cost(&usage, &price)
            .and_then(|c| apply_multiplier(c, multiplier))
            .map_err(|e| GatewayError::bad_request(format!("cannot estimate the cost: {e}")))
    }
}
