//! Threshold alerts (docs/alerts.md).
//!
//! Detection runs off the request path: the settlement worker, once a batch of charges is in the
//! database, hands each charged (user, platform) that may have a capped window to [`AlertSink`]
//! (a set and a wake-up: no I/O, no waiting). The detector task reads each such row and, for every
//! capped window and threshold the stored usage has *reached*, records the alert under the unique
//! key (user, platform, window, threshold, window start). Only the insert that creates the alert
//! writes its deliveries (outbox) and the dashboard notice, in the same transaction; so an alert is
//! sent once whichever process, retry or later charge sees the threshold first. [`delivery`] sends
//! the outbox.

pub mod delivery;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_core::alerts::{alert_text, reached};
use tollgate_core::platform::Platform;
use tollgate_core::quota::{Limit, QuotaRow};
use tollgate_core::settings::Settings;
use tollgate_core::window::{QuotaWindow, WindowClock};
use tollgate_store::{AlertRecipients, NewAlert, NewDelivery, NewNotice, Store, StoreError};

use crate::ledger::QuotaCache;
use crate::settings_cache::SettingsCache;

/// How long the detector lets charged pairs gather after a wake-up: under load a pair charged by
/// every settlement batch is read at most ~10 times a second, not once per batch.
const GATHER: Duration = Duration::from_millis(100);
/// The notice kind of a threshold alert.
pub const NOTICE_KIND: &str = "quota_alert";
/// Alerts recorded by this process (or found recorded), remembered so that later charges in the
/// same window skip the insert; cleared when it grows past this.
const MEMO_MAX: usize = 100_000;

type Pair = (i64, Platform);
type AlertKey = (i64, Platform, QuotaWindow, i64, i64);

/// Where the settlement worker reports charged (user, platform) pairs. Cheap to clone.
#[derive(Clone)]
pub struct AlertSink {
    pending: Arc<Mutex<HashSet<Pair>>>,
    wake: Arc<Notify>,
    /// Woken when an alert was recorded, so the delivery worker sends it at once.
    deliver: Arc<Notify>,
    quotas: QuotaCache,
}

impl AlertSink {
    /// Starts the detector on `tasks`; it stops on `shutdown` (a charge it had not looked at yet is
    /// looked at again with the user's next charge: the check is "reached", not "crossed").
    pub fn start(
        store: Arc<dyn Store>,
        settings: SettingsCache,
        quotas: QuotaCache,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        let sink = Self { pending: Arc::default(), wake: Arc::default(), deliver: Arc::default(), quotas };
        let detector = Detector { store, settings, sink: sink.clone(), memo: HashSet::new() };
        tasks.spawn(detector.run(shutdown));
        sink
    }

    fn lock(&self) -> MutexGuard<'_, HashSet<Pair>> {
        // A set of pairs holds no invariant a panicking holder could break.
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A charge of (user, platform) is in the database. Skipped at once when this process's copy
    /// of the row has no capped window (no alert could fire, no remaining-budget gauge changes).
    pub fn charged(&self, user_id: i64, platform: Platform) {
        if !self.quotas.may_have_cap(user_id, platform) {
            return;
        }
        if self.lock().insert((user_id, platform)) {
            self.wake.notify_one();
        }
    }

    /// What the delivery worker waits on besides its poll interval.
    pub fn delivery_wake(&self) -> Arc<Notify> {
        self.deliver.clone()
    }
}

struct Detector {
    store: Arc<dyn Store>,
    settings: SettingsCache,
    sink: AlertSink,
    memo: HashSet<AlertKey>,
}

impl Detector {
    async fn run(mut self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = self.sink.wake.notified() => {}
                () = shutdown.cancelled() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(GATHER) => {}
                () = shutdown.cancelled() => return,
            }
            let pairs: Vec<Pair> = self.sink.lock().drain().collect();
            for (user_id, platform) in pairs {
                if let Err(e) = self.check(user_id, platform).await {
                    // The next charge of this user looks again.
                    tracing::warn!(user_id, platform = platform.as_str(), error = %e, "alert detection failed");
                }
            }
        }
    }

    /// Sets the row's remaining-budget gauges and records every threshold the stored row has
    /// reached in its current windows.
    async fn check(&mut self, user_id: i64, platform: Platform) -> Result<(), StoreError> {
        let settings = self.settings.get();
        let Some(row) = self.store.get_by_user_platform(user_id, platform).await? else { return Ok(()) };
        let clock = self.settings.clock();
        let now = Timestamp::now();
        remaining_gauges(&row, &clock, now);
        if settings.alert_thresholds.is_empty() {
            return Ok(());
        }
        let mut recipients: Option<AlertRecipients> = None;
        for found in reached_alerts(&row, &settings.alert_thresholds, &clock, now) {
            let key = (user_id, platform, found.window, found.threshold, found.window_start.as_millisecond());
            if self.memo.contains(&key) {
                continue;
            }
            let to = match &recipients {
                Some(r) => r,
                None => recipients.insert(self.store.alert_recipients(user_id).await?),
            };
            let zone = clock.zone.clone();
            let build = |id: i64| outbox(id, &found, to, &settings, &zone, now);
            if self.store.record_alert(&found, &build).await?.is_some() {
                metrics::counter!("tollgate_alerts_total", "channel" => "notice", "outcome" => "created").increment(1);
                tracing::info!(
                    user_id,
                    platform = platform.as_str(),
                    window = found.window.as_str(),
                    threshold = found.threshold,
                    "quota alert recorded"
                );
                self.sink.deliver.notify_one();
            }
            if self.memo.len() >= MEMO_MAX {
                self.memo.clear();
            }
            self.memo.insert(key);
        }
        Ok(())
    }
}

/// `tollgate_quota_remaining_usd{user_id,platform,window}`: what is left of each capped window of a
/// user's row, as of its last charge seen by this process (docs/observability.md).
fn remaining_gauges(row: &QuotaRow, clock: &WindowClock, now: Timestamp) {
    let Ok(v) = tollgate_core::quota::view(row, clock, now) else { return };
    let limits = row.effective_limits();
    for w in QuotaWindow::ALL {
        let Limit::Cap(_) = Limit::of(limits.get(w)) else { continue };
        let Some(left) = v.windows[w.index()].remaining() else { continue };
        // A gauge is a float; nano-USD as f64 keeps 15 significant digits, ample for a graph.
        metrics::gauge!(
            "tollgate_quota_remaining_usd",
            "user_id" => row.user_id.to_string(),
            "platform" => row.platform.as_str(),
            "window" => w.as_str(),
        )
        .set(left.nanos() as f64 / 1e9);
    }
}

/// The alerts `row` has reached: for each capped window whose stored usage is current, each
/// threshold with `usage * 100 >= threshold * cap`.
pub fn reached_alerts(row: &QuotaRow, thresholds: &[i64], clock: &WindowClock, now: Timestamp) -> Vec<NewAlert> {
    let limits = row.effective_limits();
    let mut out = Vec::new();
    for w in QuotaWindow::ALL {
        let Limit::Cap(cap) = Limit::of(limits.get(w)) else { continue };
        let slot = row.usage[w.index()];
        let Some(start) = slot.start else { continue };
        let Ok(roll) = clock.rollover(w, now) else { continue };
        if !roll.is_current(Some(start)) {
            continue;
        }
        let resets_at = clock.current(w, Some(start), now).ok().map(|span| span.end);
        for &threshold in thresholds {
            if reached(slot.usage, cap, threshold) {
                out.push(NewAlert {
                    user_id: row.user_id,
                    platform: row.platform,
                    window: w,
                    threshold,
                    window_start: start,
                    usage: slot.usage,
                    limit: cap,
                    resets_at,
                    created_at: now,
                });
            }
        }
    }
    out
}

fn rfc3339(t: Timestamp, zone: &jiff::tz::TimeZone) -> String {
    crate::console::views::rfc3339(t, zone)
}

/// The alert as JSON: the webhook body and the notice's payload. Amounts are decimal strings.
pub fn alert_json(id: i64, a: &NewAlert, email: &str, zone: &jiff::tz::TimeZone) -> serde_json::Value {
    serde_json::json!({
        "alert_id": id,
        "user_id": a.user_id,
        "user_email": email,
        "platform": a.platform.as_str(),
        "window": a.window.as_str(),
        "threshold": a.threshold,
        "usage_usd": a.usage.to_string(),
        "limit_usd": a.limit.to_string(),
        "window_start": rfc3339(a.window_start, zone),
        "resets_at": a.resets_at.map(|t| rfc3339(t, zone)),
        "created_at": rfc3339(a.created_at, zone),
    })
}

/// The deliveries and the notice of a new alert: a webhook when one is configured, an email to the
/// user (in their language) and, with `notify_admins`, to each admin when SMTP is configured.
fn outbox(
    id: i64,
    a: &NewAlert,
    to: &AlertRecipients,
    settings: &Settings,
    zone: &jiff::tz::TimeZone,
    now: Timestamp,
) -> (Vec<NewDelivery>, Option<NewNotice>) {
    let body = alert_json(id, a, &to.email, zone);
    let mut out = Vec::new();
    if let Some(hook) = &settings.alert_webhook {
        out.push(NewDelivery {
            channel: "webhook".into(),
            recipient: hook.url.clone(),
            payload: body.to_string(),
            next_attempt_at: now,
        });
    }
    if let Some(mail) = &settings.alert_email {
        let resets = a.resets_at.map(|t| rfc3339(t, zone)).unwrap_or_default();
        let text =
            alert_text(&to.language, a.platform.as_str(), a.window.as_str(), a.threshold, a.usage, a.limit, &resets);
        let email = |recipient: &str, subject: String, body: String| NewDelivery {
            channel: "email".into(),
            recipient: recipient.to_owned(),
            payload: serde_json::json!({"subject": subject, "body": body}).to_string(),
            next_attempt_at: now,
        };
        out.push(email(&to.email, text.subject.clone(), text.body.clone()));
        if mail.notify_admins {
            for admin in to.admins.iter().filter(|e| **e != to.email) {
                let subject = format!("{} ({})", text.subject, to.email);
                out.push(email(admin, subject, format!("User: {}\n\n{}", to.email, text.body)));
            }
        }
    }
    let mut notice = body;
    if let Some(obj) = notice.as_object_mut() {
        obj.remove("user_email");
        obj.remove("user_id");
    }
    let notice =
        NewNotice { user_id: a.user_id, kind: NOTICE_KIND.into(), payload: notice.to_string(), created_at: now };
    (out, Some(notice))
}
