//! Admission (SPEC 2.2, 2.3): before any byte goes upstream, check — and in strict mode reserve — the
//! caller's quota on the route's platform: the user's row, then the API key's own row (its windows
//! and lifetime budget). A request must fit both; the refusal names which one.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use jiff::{SignedDuration, Timestamp};
use tollgate_core::estimate::RequestBound;
use tollgate_core::money::Money;
use tollgate_core::pricing::Price;
use tollgate_core::quota::{Admission, QuotaOwner, QuotaRow, admit};
use tollgate_core::settings::Enforcement;
use tollgate_core::window::{QuotaWindow, WindowClock};
use tollgate_store::{NewReservation, StoreError};

use super::auth::Caller;
use super::error::GatewayError;
use super::family::{Inspected, Route};
use crate::ledger::Reservation;
use crate::state::AppState;

/// How long a strict-mode hold lasts if its request never settles (a crashed gateway).
pub const RESERVATION_TTL: SignedDuration = SignedDuration::from_mins(15);

/// A request that may go ahead.
pub struct Admitted {
    /// The user's row as read at admission (for the remaining-quota headers).
    pub row: Option<QuotaRow>,
    /// The key's row as read at admission (headers too, when it has limits).
    pub key_row: Option<QuotaRow>,
    /// The strict-mode hold, if one was taken: released when dropped, unless a settlement takes
    /// it over.
    pub hold: Option<Reservation>,
}

pub async fn admit_request(
    state: &AppState,
    caller: &Caller,
    route: &Route,
    inspected: &Inspected,
    request_id: &str,
) -> Result<Admitted, GatewayError> {
    let clock = state.settings.clock();
    let now = Timestamp::now();
    // Setting `unknown_model_pricing = reject`: a model without a price of its own is refused
    // before anything goes upstream (the default prices it at the platform's fallback).
    if route.endpoint.family().is_some()
        && state.settings.get().reject_unknown_models
        && !state.ledger.prices().is_known(route.platform, &inspected.model)
    {
        return Err(GatewayError::UnknownModel(inspected.model.clone()));
    }
    // Audio in, images or audio out: only where the model's rates cover them (premium.rs).
    if !inspected.media.is_empty() {
        let uncovered = state.ledger.prices().with_price(route.platform, &inspected.model, |price| {
            inspected.media.iter().find(|(medium, _)| !price.covers.contains(medium)).copied()
        })?;
        if let Some((medium, field)) = uncovered {
            return Err(GatewayError::bad_request(format!(
                "{field}: {} is billed above the text rate, and the price of {} does not cover it (docs/pricing.md, \"covers\")",
                medium.as_str(),
                inspected.model
            )));
        }
    }
    // An advisor model is billed at its own rates inside a request charged at its model's.
    for advisor in &inspected.advisors {
        let advisor_price = state.ledger.prices().with_price(route.platform, advisor, Price::clone)?;
        let fits = state
            .ledger
            .prices()
            .with_price(route.platform, &inspected.model, |p| advisor_price.never_dearer_than(p))?;
        if !fits {
            return Err(GatewayError::bad_request(format!(
                "tools: the advisor model {advisor} is billed at rates above {}'s, which this request is charged at; use an advisor priced at most like the request's model",
                inspected.model
            )));
        }
    }
    // Soft mode checks this process's copy of the row (exact for its own charges, at most
    // `quota_refresh_ms` behind other processes); strict mode reads the database, then reserves.
    let strict = state.settings.get().enforcement == Enforcement::Strict;
    let (row, key_row) = if strict {
        (
            state.store.get_by_user_platform(caller.user.id, route.platform).await?,
            state.store.get_key_quota(caller.key.id, route.platform).await?,
        )
    } else {
        (
            state.ledger.quota_row(QuotaOwner::User(caller.user.id), route.platform).await?,
            state.ledger.quota_row(QuotaOwner::Key(caller.key.id), route.platform).await?,
        )
    };
    let window_error = |e: tollgate_core::window::WindowError| GatewayError::Store(StoreError::Invalid(e.to_string()));
    for r in [&row, &key_row] {
        if let Admission::Reject(r) = admit(r.as_ref(), &clock, now, Money::ZERO).map_err(window_error)? {
            return Err(reject(r, &clock));
        }
    }
    let limited = row.as_ref().is_some_and(|r| !r.effective_limits().is_all_unlimited()) || key_limited(&key_row);
    let family = match route.endpoint.family() {
        Some(f) if strict && limited => f,
        _ => return Ok(Admitted { row, key_row, hold: None }),
    };
    // An upper bound of the cost, at the model's own rates (tollgate_core::estimate).
    let bound = RequestBound::read(family, &inspected.upstream_body);
    if bound.unbounded {
        return Err(GatewayError::bad_request(
            "tools: strict quota mode needs an upper bound of the request's cost, and server-side compaction together with server-side tools, or an advisor tool without max_uses, has none",
        ));
    }
    let amount = state
        .ledger
        .prices()
        .with_price(route.platform, &inspected.model, |price| bound.cost(family, price, caller.user.cost_multiplier))?
        .map_err(|e| GatewayError::bad_request(format!("cannot estimate the cost: {e}")))?;
    let hold = NewReservation {
        request_id: request_id.to_owned(),
        user_id: caller.user.id,
        api_key_id: Some(caller.key.id),
        platform: route.platform,
        amount,
        expires_at: now.checked_add(RESERVATION_TTL).map_err(|e| window_error(e.into()))?,
    };
    match state.store.reserve(&hold, now, &clock).await? {
        Admission::Allow => {
            let hold = Reservation::new(request_id, state.store.clone(), state.tasks.clone());
            Ok(Admitted { row, key_row, hold: Some(hold) })
        }
        Admission::Reject(r) => Err(reject(r, &clock)),
    }
}

/// Whether a key's row limits anything (a window or its lifetime budget).
fn key_limited(row: &Option<QuotaRow>) -> bool {
    row.as_ref().is_some_and(|r| !r.effective_limits().is_all_unlimited() || r.lifetime.limit.is_some())
}

fn reject(r: tollgate_core::quota::Rejection, clock: &WindowClock) -> GatewayError {
    metrics::counter!(
        "tollgate_quota_rejections_total",
        "platform" => r.platform.as_str(),
        "window" => r.window_name(),
        "kind" => r.code(),
    )
    .increment(1);
    GatewayError::quota(r, clock)
}

/// The quota header names, by window (`QuotaWindow::index`) then figure (limit, remaining, reset).
const QUOTA_HEADERS: [[HeaderName; 3]; 4] = [
    [
        HeaderName::from_static("x-tollgate-quota-five-hour-limit-usd"),
        HeaderName::from_static("x-tollgate-quota-five-hour-remaining-usd"),
        HeaderName::from_static("x-tollgate-quota-five-hour-reset"),
    ],
    [
        HeaderName::from_static("x-tollgate-quota-daily-limit-usd"),
        HeaderName::from_static("x-tollgate-quota-daily-remaining-usd"),
        HeaderName::from_static("x-tollgate-quota-daily-reset"),
    ],
    [
        HeaderName::from_static("x-tollgate-quota-weekly-limit-usd"),
        HeaderName::from_static("x-tollgate-quota-weekly-remaining-usd"),
        HeaderName::from_static("x-tollgate-quota-weekly-reset"),
    ],
    [
        HeaderName::from_static("x-tollgate-quota-monthly-limit-usd"),
        HeaderName::from_static("x-tollgate-quota-monthly-remaining-usd"),
        HeaderName::from_static("x-tollgate-quota-monthly-reset"),
    ],
];

thread_local! {
    /// Formatted window ends: every request of a window shares its end, and formatting it in the
    /// configured zone was a measurable share of a request's CPU (docs/benchmarks.md).
    static RESETS: std::cell::RefCell<Vec<(Timestamp, jiff::tz::TimeZone, HeaderValue)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `end` as an RFC 3339 local time in `zone` (e.g. `2026-11-26T00:00:00+08:00`).
fn reset_value(end: Timestamp, zone: &jiff::tz::TimeZone) -> Option<HeaderValue> {
    RESETS.with_borrow_mut(|cache| {
        if let Some((_, _, v)) = cache.iter().find(|(t, z, _)| *t == end && z == zone) {
            return Some(v.clone());
        }
        let text = end.to_zoned(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
        let value = HeaderValue::from_str(&text).ok()?;
        if cache.len() >= 16 {
            cache.remove(0);
        }
        cache.push((end, zone.clone(), value.clone()));
        Some(value)
    })
}

/// The same for the API key's own limits (`x-tollgate-key-quota-…`).
const KEY_QUOTA_HEADERS: [[HeaderName; 3]; 4] = [
    [
        HeaderName::from_static("x-tollgate-key-quota-five-hour-limit-usd"),
        HeaderName::from_static("x-tollgate-key-quota-five-hour-remaining-usd"),
        HeaderName::from_static("x-tollgate-key-quota-five-hour-reset"),
    ],
    [
        HeaderName::from_static("x-tollgate-key-quota-daily-limit-usd"),
        HeaderName::from_static("x-tollgate-key-quota-daily-remaining-usd"),
        HeaderName::from_static("x-tollgate-key-quota-daily-reset"),
    ],
    [
        HeaderName::from_static("x-tollgate-key-quota-weekly-limit-usd"),
        HeaderName::from_static("x-tollgate-key-quota-weekly-remaining-usd"),
        HeaderName::from_static("x-tollgate-key-quota-weekly-reset"),
    ],
    [
        HeaderName::from_static("x-tollgate-key-quota-monthly-limit-usd"),
        HeaderName::from_static("x-tollgate-key-quota-monthly-remaining-usd"),
        HeaderName::from_static("x-tollgate-key-quota-monthly-reset"),
    ],
];

/// `x-tollgate-quota-<window>-{limit,remaining}-usd` and `-reset` for each limited window of the
/// user, and `x-tollgate-key-quota-…` for the key's, as of admission (a streamed answer's own cost
/// is not in them yet). The limit shown includes the window's top-up.
pub fn quota_headers(headers: &mut HeaderMap, admitted: &Admitted, clock: &WindowClock) {
    for (row, names) in [(&admitted.row, &QUOTA_HEADERS), (&admitted.key_row, &KEY_QUOTA_HEADERS)] {
        if let Some(row) = row {
            row_headers(headers, row, names, clock);
        }
    }
}

fn row_headers(headers: &mut HeaderMap, row: &QuotaRow, names: &[[HeaderName; 3]; 4], clock: &WindowClock) {
    let now = Timestamp::now();
    let limits = row.effective_limits();
    for w in QuotaWindow::ALL {
        let Some(limit) = limits.get(w) else { continue };
        let Ok(usage) = row.current_usage(clock, w, now) else { continue };
        let Ok(topup) = row.current_topup(clock, w, now) else { continue };
        let Ok(span) = clock.current(w, row.usage[w.index()].start, now) else { continue };
        let limit = if limit.is_zero() { limit } else { limit.saturating_add(topup) };
        let [limit_name, remaining_name, reset_name] = &names[w.index()];
        for (name, value) in [(limit_name, limit), (remaining_name, limit.saturating_sub(usage))] {
            if let Ok(v) = HeaderValue::try_from(value.to_string()) {
                headers.insert(name.clone(), v);
            }
        }
        if let Some(v) = reset_value(span.end, &clock.zone) {
            headers.insert(reset_name.clone(), v);
        }
    }
}
