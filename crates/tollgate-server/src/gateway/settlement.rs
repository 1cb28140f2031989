//! Settlement (SPEC 2.4): price the usage, then write the usage record and the quota increment in
//! one idempotent transaction.

use std::time::{Duration, Instant};

use tollgate_core::money::{Decimal9, Money};
use tollgate_core::platform::Platform;
use tollgate_core::pricing::{apply_multiplier, cost};
use tollgate_core::usage::{StreamUsage, Usage, UsageReport};
use tollgate_store::{NewUsageRecord, StoreError};

use super::error::GatewayError;
use crate::state::AppState;

/// Everything settlement needs about one request, gathered before it is forwarded.
#[derive(Debug, Clone)]
pub struct Charge {
    pub request_id: String,
    pub user_id: i64,
    pub api_key_id: Option<i64>,
    pub multiplier: Decimal9,
    pub platform: Platform,
    pub model: String,
    pub started: Instant,
    pub upstream_id: Option<i64>,
    pub http_status: u16,
    /// Size of the request body, for an input estimate when a stream never reported usage.
    pub request_bytes: usize,
    /// Whether a strict-mode reservation is held for this request.
    pub reserved: bool,
}

/// How many times a failed settlement is retried (it is idempotent, so retrying is safe).
const ATTEMPTS: u32 = 5;

/// The usage to charge for what was observed. A cut stream that never reported its input (an
/// OpenAI-compatible upstream ignoring `include_usage`) is charged an input estimate from the
/// request size, so output is never billed without its prompt.
pub fn billable_usage(report: &UsageReport, request_bytes: usize) -> Usage {
    let mut usage = report.billable();
    if !report.final_seen && usage.prompt_tokens() == 0 && usage.output_tokens > 0 {
        usage.input_tokens = (request_bytes as u64).div_ceil(4);
    }
    usage
}

/// Prices and records one request. Returns the charged amount (zero, with nothing written, when
/// the upstream reported no usage: errors before generation are not charged).
pub async fn settle(
    state: &AppState,
    charge: &Charge,
    report: &UsageReport,
    status: &str,
) -> Result<Money, GatewayError> {
    let began = Instant::now();
    let usage = billable_usage(report, charge.request_bytes);
    if usage.is_empty() {
        if charge.reserved {
            state.store.release(&charge.request_id).await?;
        }
        return Ok(Money::ZERO);
    }
    let price = state.prices.price(charge.platform, &charge.model)?;
    let amount = cost(&usage, &price)
        .and_then(|c| apply_multiplier(c, charge.multiplier))
        .map_err(|e| GatewayError::Store(StoreError::Invalid(format!("pricing: {e}"))))?;
    let record = NewUsageRecord {
        request_id: charge.request_id.clone(),
        user_id: charge.user_id,
        api_key_id: charge.api_key_id,
        platform: charge.platform,
        model: charge.model.clone(),
        usage,
        cost: amount,
        status: status.to_owned(),
        http_status: Some(i64::from(charge.http_status)),
        latency_ms: i64::try_from(charge.started.elapsed().as_millis()).unwrap_or(i64::MAX),
        upstream_id: charge.upstream_id,
        output_estimated: !report.final_seen,
        held: charge.reserved,
    };
    let mut delay = Duration::from_millis(50);
    let mut attempt = 1;
    loop {
        match state.settle_queue.settle(record.clone()).await {
            Ok(()) => break,
            Err(e) if attempt < ATTEMPTS && !matches!(e, StoreError::Invalid(_)) => {
                tracing::warn!(request_id = %record.request_id, attempt, error = %e, "settlement failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    metrics::histogram!("tollgate_settlement_seconds").record(began.elapsed().as_secs_f64());
    metrics::counter!("tollgate_charged_nanousd_total", "platform" => charge.platform.as_str())
        .increment(u64::try_from(amount.nanos()).unwrap_or(0));
    Ok(amount)
}

/// Owns a stream's usage meter and settles exactly once: when the stream reaches its final usage,
/// when it ends, or — if the client goes away first — on drop, in a task that shutdown waits for.
pub struct StreamSettler {
    state: AppState,
    charge: Charge,
    pub meter: StreamUsage,
    settled: bool,
}

impl StreamSettler {
    pub fn new(state: AppState, charge: Charge, meter: StreamUsage) -> Self {
        Self { state, charge, meter, settled: false }
    }

    pub fn is_settled(&self) -> bool {
        self.settled
    }

    /// Whether the caller's key and user may still be served (see `KeyCache::is_still_valid`).
    pub fn caller_still_valid(&self) -> bool {
        self.state.keys.is_still_valid(self.charge.api_key_id, self.charge.user_id)
    }

    /// Settles now with what the meter has seen. If that fails (after its own retries), the stream
    /// is cut by the caller and the drop guard tries once more in the background: settlement is
    /// idempotent per request id, so a charge that did commit is never doubled.
    pub async fn settle(&mut self, status: &str) -> Result<Money, GatewayError> {
        let report = self.meter.report();
        let result = settle(&self.state, &self.charge, &report, status).await;
        self.settled = result.is_ok();
        result
    }
}

impl Drop for StreamSettler {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        self.meter.finish();
        let report = self.meter.report();
        let (state, charge) = (self.state.clone(), self.charge.clone());
        self.state.tasks.spawn(async move {
            if let Err(e) = settle(&state, &charge, &report, "client_disconnected").await {
                tracing::error!(request_id = %charge.request_id, error = %e, "settlement after disconnect failed");
            }
        });
    }
}
