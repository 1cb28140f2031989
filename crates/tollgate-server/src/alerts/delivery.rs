//! Sends the alert outbox: a worker per process polls for due deliveries about once a second (and
//! at once when this process recorded an alert), claims them with a lease so that no two processes
//! send one row at the same time, sends, and records delivered / retry with exponential backoff /
//! dead (docs/alerts.md).

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tollgate_core::alerts::{AlertEmail, SmtpTls};
use tollgate_store::{Delivery, DeliveryOutcome, Store};

use crate::settings_cache::SettingsCache;

/// How often the outbox is polled (deliveries due for a retry, and alerts other processes recorded).
const POLL: Duration = Duration::from_secs(1);
/// How long a claimed delivery is this worker's: longer than any one send may take.
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// Deliveries claimed at once.
const CLAIM: i64 = 16;
/// Attempts before a delivery is given up (dead, shown to admins).
pub const MAX_ATTEMPTS: i64 = 12;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub const SIGNATURE_HEADER: &str = "x-tollgate-signature";
pub const TIMESTAMP_HEADER: &str = "x-tollgate-timestamp";

/// The wait before attempt `attempts + 1`: `base * 2^(attempts-1)`, at most an hour.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    base.saturating_mul(2u32.saturating_pow(doublings)).min(MAX_BACKOFF)
}

/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

struct Sender {
    store: Arc<dyn Store>,
    settings: SettingsCache,
    http: reqwest::Client,
    retry_base: Duration,
}

/// Starts the delivery worker on `tasks`; it stops on `shutdown` (a delivery being sent then is
/// claimed again once its lease ends).
pub fn start(
    store: Arc<dyn Store>,
    settings: SettingsCache,
    retry_base: Duration,
    wake: Arc<Notify>,
    tasks: &TaskTracker,
    shutdown: CancellationToken,
) {
    let http = reqwest::Client::builder()
        .timeout(WEBHOOK_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default();
    let sender = Sender { store, settings, http, retry_base };
    tasks.spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = wake.notified() => {}
                () = shutdown.cancelled() => return,
            }
            sender.drain(&shutdown).await;
        }
    });
}

impl Sender {
    /// Sends every due delivery.
    async fn drain(&self, shutdown: &CancellationToken) {
        while !shutdown.is_cancelled() {
            let now = Timestamp::now();
            let lease_until = now.checked_add(LEASE).unwrap_or(now);
            let batch = match self.store.claim_deliveries(now, lease_until, CLAIM).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming alert deliveries failed");
                    return;
                }
            };
            if batch.is_empty() {
                return;
            }
            for d in batch {
                // Shutdown does not wait for a slow receiver: the lease runs out and another
                // process (or the next start) sends the row.
                let sent = tokio::select! {
                    r = self.send(&d) => r,
                    () = shutdown.cancelled() => return,
                };
                let outcome = match sent {
                    Ok(()) => DeliveryOutcome::Delivered,
                    Err(Failure::Permanent(error)) => DeliveryOutcome::Dead { error },
                    Err(Failure::Transient(error)) if d.attempts >= MAX_ATTEMPTS => DeliveryOutcome::Dead { error },
                    Err(Failure::Transient(error)) => {
                        let wait = backoff(self.retry_base, d.attempts);
                        let at = Timestamp::now().checked_add(wait).unwrap_or_else(|_| Timestamp::now());
                        DeliveryOutcome::Retry { at, error }
                    }
                };
                let label = match &outcome {
                    DeliveryOutcome::Delivered => "delivered",
                    DeliveryOutcome::Retry { error, .. } => {
                        tracing::warn!(delivery = d.id, channel = %d.channel, attempts = d.attempts, error = %error, "alert delivery failed; retrying");
                        "retry"
                    }
                    DeliveryOutcome::Dead { error } => {
                        tracing::error!(delivery = d.id, channel = %d.channel, attempts = d.attempts, error = %error, "alert delivery given up");
                        "dead"
                    }
                };
                metrics::counter!("tollgate_alerts_total", "channel" => d.channel.clone(), "outcome" => label)
                    .increment(1);
                if let Err(e) = self.store.finish_delivery(d.id, &outcome, Timestamp::now()).await {
                    // The lease runs out and the row is claimed again (a delivered one sent twice
                    // at worst: receivers dedupe by alert_id, docs/alerts.md).
                    tracing::warn!(delivery = d.id, error = %e, "recording an alert delivery failed");
                }
            }
        }
    }

    async fn send(&self, d: &Delivery) -> Result<(), Failure> {
        let settings = self.settings.get();
        let gone = |what: &str| Failure::Permanent(format!("{what} is no longer configured"));
        match d.channel.as_str() {
            "webhook" => {
                let hook = settings.alert_webhook.as_ref().ok_or_else(|| gone("the alert webhook"))?;
                let secret = hook.secret.as_deref().ok_or_else(|| gone("the alert webhook secret"))?;
                self.post(&hook.url, secret, &d.payload).await.map_err(Failure::Transient)
            }
            "email" => {
                let mail = settings.alert_email.as_ref().ok_or_else(|| gone("alert email"))?;
                send_email(mail, &d.recipient, &d.payload).await
            }
            other => Err(Failure::Permanent(format!("unknown channel {other:?}"))),
        }
    }

    async fn post(&self, url: &str, secret: &str, body: &str) -> Result<(), String> {
        let ts = Timestamp::now().as_second();
        let resp = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, signature(secret, ts, body))
            .body(body.to_owned())
            .send()
            .await
            // Without the URL: it may carry a token.
            .map_err(|e| format!("webhook request failed: {}", e.without_url()))?;
        let status = resp.status();
        if status.is_success() { Ok(()) } else { Err(format!("webhook answered {status}")) }
    }
}

/// Why an attempt failed: worth retrying (the receiver or relay may come back) or not (nothing to
/// send it with, or a message that cannot be built).
enum Failure {
    Transient(String),
    Permanent(String),
}

/// One email through the configured SMTP relay.
async fn send_email(cfg: &AlertEmail, to: &str, payload: &str) -> Result<(), Failure> {
    let message = build_email(cfg, to, payload)?;
    let builder = match cfg.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.smtp_host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.smtp_host)
            .map_err(|e| Failure::Permanent(format!("SMTP STARTTLS setup: {e}")))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.smtp_host)
            .map_err(|e| Failure::Permanent(format!("SMTP TLS setup: {e}")))?,
    };
    let mut builder = builder.port(cfg.smtp_port).timeout(Some(SMTP_TIMEOUT));
    if let Some(user) = &cfg.username {
        builder = builder.credentials(Credentials::new(user.clone(), cfg.password.clone().unwrap_or_default()));
    }
    builder.build().send(message).await.map(|_| ()).map_err(|e| Failure::Transient(format!("SMTP: {e}")))
}

/// The message; a bad `from` is transient (the admin can fix the setting), the rest permanent.
fn build_email(cfg: &AlertEmail, to: &str, payload: &str) -> Result<Message, Failure> {
    #[derive(serde::Deserialize)]
    struct Mail {
        subject: String,
        body: String,
    }
    let mail: Mail =
        serde_json::from_str(payload).map_err(|e| Failure::Permanent(format!("bad email payload: {e}")))?;
    let from = cfg.from.parse().map_err(|e| Failure::Transient(format!("bad from address: {e}")))?;
    let to = to.parse().map_err(|e| Failure::Permanent(format!("bad recipient address: {e}")))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body)
        .map_err(|e| Failure::Permanent(format!("cannot build the email: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour() {
        let base = Duration::from_secs(5);
        assert_eq!(backoff(base, 1), Duration::from_secs(5));
        assert_eq!(backoff(base, 2), Duration::from_secs(10));
        assert_eq!(backoff(base, 4), Duration::from_secs(40));
        assert_eq!(backoff(base, 11), MAX_BACKOFF);
        assert_eq!(backoff(base, 1000), MAX_BACKOFF);
    }

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // Against a value computed independently (Python: hmac.new(b"key", b"1.{}", sha256)).
        let sig = signature("key", 1, "{}");
        assert_eq!(sig, "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224");
        assert_ne!(sig, signature("key", 2, "{}"));
        assert_ne!(sig, signature("other", 1, "{}"));
    }
}
