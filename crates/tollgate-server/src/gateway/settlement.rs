//! Settlement (SPEC 2.4): price the usage, then write the usage record and the quota increment in
//! one idempotent transaction.
//!
//! What is charged when the upstream's final usage is not there (docs/quotas.md, "When usage is
//! missing"): the usage seen so far; input from the request ([`RequestBound`]) when none was
//! reported; output of at least the streamed text's estimate, at most the request's cap. A
//! request the upstream accepted is never charged $0.

use std::time::{Duration, Instant};

use bytes::Bytes;
use jiff::Timestamp;
use tollgate_core::estimate::RequestBound;
use tollgate_core::money::{Decimal9, Money};
use tollgate_core::platform::Platform;
use tollgate_core::pricing::{apply_multiplier, cost, tool_cost};
use tollgate_core::usage::{ApiFamily, StreamUsage, Usage, UsageReport};
use tollgate_store::{NewUsageRecord, StoreError};

use super::admission::RESERVATION_TTL;
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
    /// The usage family of the answer.
    pub family: ApiFamily,
    /// The request body as sent upstream: read again only when usage must be estimated.
    pub request: Bytes,
    /// Whether a strict-mode reservation is held for this request.
    pub reserved: bool,
    /// OpenAI Chat search models: one web search per request (their usage does not count it).
    pub web_search_requested: bool,
    /// Tokens-per-minute buckets this request's tokens fill (docs/rate-limits.md).
    pub tpm: Option<crate::rate_limit::TpmTargets>,
    /// Milliseconds to the upstream's first byte: its answer's head, then (a stream) its first
    /// body chunk.
    pub ttfb_ms: Option<i64>,
    /// The client's `x-request-id`, kept in the request log.
    pub client_request_id: Option<String>,
    /// The request's trace span, exported once its charge is committed (docs/observability.md).
    pub span: Option<crate::otlp::SpanStart>,
}

/// How often a running stream renews its strict-mode hold: a third of the hold's lifetime.
const HOLD_RENEWAL: Duration = Duration::from_secs(RESERVATION_TTL.as_secs().unsigned_abs() / 3);

/// The usage to charge for what was observed, and why it is an estimate (`None`: the upstream's
/// own final figures).
pub fn billable_usage(report: &UsageReport, charge: &Charge) -> (Usage, Option<&'static str>) {
    // Final figures of zero tokens are no usage at all: a billable 2xx is never recorded at $0.
    if report.final_seen && !report.usage.is_empty() {
        return (report.usage, None);
    }
    let mut usage = report.usage;
    let bound = RequestBound::read(charge.family, &charge.request);
    if usage.prompt_tokens() == 0 {
        // The request shows its own prompt; context held upstream (previous_response_id,
        // cachedContent) does not, and is not guessed here.
        usage.input_tokens = bound.input_tokens.saturating_sub(bound.held_tokens);
    }
    let mut estimate = report.billable().output_tokens;
    if let Some(cap) = bound.max_output_tokens {
        estimate = estimate.min(cap.saturating_mul(bound.choices));
    }
    usage.output_tokens = usage.output_tokens.max(estimate);
    let reason = if report.output_chars > 0 || !report.usage.is_empty() { "stream_cut" } else { "no_usage" };
    (usage, Some(reason))
}

/// Prices and records one request. Returns the amount charged.
pub async fn settle(
    state: &AppState,
    charge: &Charge,
    report: &UsageReport,
    status: &str,
) -> Result<Money, GatewayError> {
    settle_charged(state, charge, report, status).await.map(|(amount, _)| amount)
}

/// [`settle`], also returning the usage charged (what a stream's later usage is compared with).
async fn settle_charged(
    state: &AppState,
    charge: &Charge,
    report: &UsageReport,
    status: &str,
) -> Result<(Money, Usage), GatewayError> {
    let (mut usage, estimated) = billable_usage(report, charge);
    if charge.web_search_requested && usage.tool_calls.web_search == 0 {
        usage.tool_calls.web_search = 1;
    }
    if let Some(reason) = estimated {
        metrics::counter!("tollgate_usage_estimated_total", "platform" => charge.platform.as_str(), "reason" => reason)
            .increment(1);
        tracing::warn!(
            request_id = %charge.request_id, model = %charge.model, reason, status,
            "no final usage from the upstream; charging an estimate"
        );
    }
    let priced = price(state, charge, usage, status, estimated.is_some())?;
    // Counted before the client hears back, so its next request sees them.
    if let Some(t) = &charge.tpm {
        t.add(usage.prompt_tokens().saturating_add(usage.output_tokens)).await;
    }
    let span = charge.span.as_ref().zip(state.otlp.as_ref()).map(|(start, otlp)| (start, otlp, span_end(&priced.0)));
    let committed = commit(state, priced).await;
    if let Some((start, otlp, mut end)) = span {
        if let Err(e) = &committed {
            end.error = Some(e.code().to_owned());
        }
        otlp.export(start, end);
    }
    committed.map(|amount| (amount, usage))
}

/// What a charged request's span tells (docs/observability.md, "Traces").
fn span_end(record: &NewUsageRecord) -> crate::otlp::SpanEnd {
    let u = &record.usage;
    crate::otlp::SpanEnd {
        request_id: record.request_id.clone(),
        platform: record.platform,
        model: Some(record.model.clone()),
        http_status: record.http_status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
        error: None,
        user_id: Some(record.user_id),
        api_key_id: record.api_key_id,
        upstream_id: record.upstream_id,
        input_tokens: Some(u.input_tokens),
        output_tokens: Some(u.output_tokens),
        cache_read_tokens: Some(u.cache_read_tokens),
        cost_usd: Some(record.cost.to_string()),
    }
}

/// The usage record of `usage`, priced, and the price table's name of its model.
fn price(
    state: &AppState,
    charge: &Charge,
    usage: Usage,
    status: &str,
    estimated: bool,
) -> Result<(NewUsageRecord, Option<String>), GatewayError> {
    let priced = state.ledger.prices().with_priced_model(charge.platform, &charge.model, |price, name| {
        let amount = cost(&usage, price).and_then(|c| apply_multiplier(c, charge.multiplier))?;
        let tools = tool_cost(&usage, price).and_then(|c| apply_multiplier(c, charge.multiplier))?;
        Ok::<_, tollgate_core::pricing::PricingError>((amount, tools, name.map(str::to_owned)))
    })?;
    let (amount, tools, priced_model) =
        priced.map_err(|e| GatewayError::Store(StoreError::Invalid(format!("pricing: {e}"))))?;
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
        output_estimated: estimated,
        held: charge.reserved,
        tool_cost: tools,
        ttfb_ms: charge.ttfb_ms,
        client_request_id: charge.client_request_id.clone(),
    };
    Ok((record, priced_model))
}

/// `tollgate_tokens_total{platform,model,kind}`: the tokens charged, by kind. The model label is
/// the price table's name for the model (a set the operator controls), `other` for the fallback
/// price, so a client inventing model names cannot grow the label set.
fn count_tokens(platform: Platform, priced_model: Option<String>, usage: &Usage) {
    let model = priced_model.unwrap_or_else(|| "other".to_owned());
    let cache_write = usage.cache_write_5m_tokens.saturating_add(usage.cache_write_1h_tokens);
    for (kind, n) in [
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_read", usage.cache_read_tokens),
        ("cache_write", cache_write),
    ] {
        if n > 0 {
            metrics::counter!("tollgate_tokens_total", "platform" => platform.as_str(), "model" => model.clone(), "kind" => kind)
                .increment(n);
        }
    }
}

/// Commits `record` through the ledger (which retries what can be retried); once committed, its
/// tokens are counted under the price table's name of its model.
async fn commit(
    state: &AppState,
    (record, priced_model): (NewUsageRecord, Option<String>),
) -> Result<Money, GatewayError> {
    let began = Instant::now();
    let (amount, platform, usage) = (record.cost, record.platform, record.usage);
    state.ledger.commit(record).await?;
    count_tokens(platform, priced_model, &usage);
    metrics::histogram!("tollgate_settlement_seconds").record(began.elapsed().as_secs_f64());
    metrics::counter!("tollgate_charged_nanousd_total", "platform" => platform.as_str())
        .increment(u64::try_from(amount.nanos()).unwrap_or(0));
    Ok(amount)
}

/// Owns a stream's usage meter and settles exactly once: when the stream reaches its final usage,
/// when it ends, or — if the client goes away first — on drop, in a task that shutdown waits for.
/// Usage the upstream reports after the charge (a running total that grew) is charged as a
/// follow-up record at the stream's end.
pub struct StreamSettler {
    state: AppState,
    charge: Charge,
    pub meter: StreamUsage,
    /// The usage charged, once settled.
    charged: Option<Usage>,
    /// When the strict-mode hold was last renewed.
    hold_renewed: Instant,
    /// Whether a body chunk has arrived (the first one sets the time to first byte).
    first_byte_seen: bool,
}

impl StreamSettler {
    pub fn new(state: AppState, charge: Charge, meter: StreamUsage) -> Self {
        Self { state, charge, meter, charged: None, hold_renewed: Instant::now(), first_byte_seen: false }
    }

    /// One upstream chunk: metered, the first one timed, and a strict-mode hold kept alive.
    pub fn feed(&mut self, chunk: &[u8]) {
        if !self.first_byte_seen {
            self.first_byte_seen = true;
            self.charge.ttfb_ms = Some(i64::try_from(self.charge.started.elapsed().as_millis()).unwrap_or(i64::MAX));
        }
        self.meter.feed(chunk);
        self.keep_hold();
    }

    pub fn is_settled(&self) -> bool {
        self.charged.is_some()
    }

    pub fn state(&self) -> &AppState {
        &self.state
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
        let (amount, usage) = settle_charged(&self.state, &self.charge, &report, status).await?;
        self.charged = Some(usage);
        Ok(amount)
    }

    /// At the stream's end: usage reported after the charge (a cumulative total that grew past
    /// what was charged) is charged now, as the request's follow-up record.
    pub async fn settle_late_usage(&mut self) {
        let Some(charged) = self.charged else { return };
        let report = self.meter.report();
        if !report.final_seen || report.usage == charged {
            return;
        }
        let more = report.usage.saturating_sub(&charged);
        if more.is_empty() {
            return;
        }
        let follow_up = Charge {
            request_id: format!("{}-late", self.charge.request_id),
            reserved: false,
            web_search_requested: false,
            // The request's span was exported with its first charge.
            span: None,
            ..self.charge.clone()
        };
        if let Some(t) = &follow_up.tpm {
            t.add(more.prompt_tokens().saturating_add(more.output_tokens)).await;
        }
        let result = match price(&self.state, &follow_up, more, "late_usage", false) {
            Ok(priced) => commit(&self.state, priced).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => self.charged = Some(report.usage),
            Err(e) => {
                tracing::error!(request_id = %follow_up.request_id, error = %e, "late usage could not be charged")
            }
        }
    }

    /// Strict mode: a stream still running keeps its hold past the hold's lifetime (renewed a
    /// third of the way through it, off the stream's path).
    fn keep_hold(&mut self) {
        if !self.charge.reserved || self.charged.is_some() || self.hold_renewed.elapsed() < HOLD_RENEWAL {
            return;
        }
        self.hold_renewed = Instant::now();
        let (store, id) = (self.state.store.clone(), self.charge.request_id.clone());
        let Ok(until) = Timestamp::now().checked_add(RESERVATION_TTL) else { return };
        self.state.tasks.spawn(async move {
            if let Err(e) = store.renew_reservation(&id, until).await {
                tracing::warn!(request_id = %id, error = %e, "could not renew a strict-mode hold");
            }
        });
    }
}

impl Drop for StreamSettler {
    fn drop(&mut self) {
        if self.charged.is_some() {
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
