//! The streaming response body: each upstream chunk goes to the client as it arrives, and a copy
//! goes to the usage meter. When the meter sees the final usage, the charge is committed *before*
//! that chunk is released, so a client never holds a whole answer that was not charged (SPEC 2.4).
//!
//! A client that hangs up does not end the upstream's answer: the rest is read in the background
//! ([`drain`], bounded by [`DRAIN_TIME`] and [`DRAIN_BYTES`]) for the provider's final usage, which
//! counts hidden reasoning and everything generated after the hang-up.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::settlement::StreamSettler;
use super::transform::EventTransform;

type Upstream = BoxStream<'static, Result<Bytes, reqwest::Error>>;

/// Longest the gateway keeps reading an answer whose client left, for its final usage.
pub const DRAIN_TIME: Duration = Duration::from_secs(120);
/// Most bytes read from an answer whose client left.
pub const DRAIN_BYTES: usize = 16 * 1024 * 1024;

struct Tee {
    /// `None` once handed to the background drain.
    upstream: Option<Upstream>,
    settler: Option<StreamSettler>,
    transform: Option<EventTransform>,
    done: bool,
}

impl Drop for Tee {
    /// The client went away before the stream ended: read the rest for the final usage.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (Some(upstream), Some(settler)) = (self.upstream.take(), self.settler.take()) else { return };
        // Settled or not: what comes after the final usage may still be charged (late usage).
        let tasks = settler.state().tasks.clone();
        tasks.spawn(drain(upstream, settler));
    }
}

/// Reads what is left of `upstream` into the meter, then settles: with the provider's final usage
/// when it came within the bounds, else with the conservative estimate (`settlement.rs`).
/// A stream already settled (its final usage was seen) is read to its end too: usage that comes
/// after (a Gemini candidate finishing later than another) is charged as late usage.
async fn drain(mut upstream: Upstream, mut settler: StreamSettler) {
    let shutdown = settler.state().shutdown.clone();
    let mut read = 0usize;
    let deadline = tokio::time::sleep(DRAIN_TIME);
    tokio::pin!(deadline);
    let settled_before = settler.is_settled();
    while (settled_before || !settler.meter.report().final_seen) && read < DRAIN_BYTES {
        let chunk = tokio::select! {
            c = upstream.next() => c,
            () = &mut deadline => break,
            () = shutdown.cancelled() => break,
        };
        match chunk {
            Some(Ok(bytes)) => {
                read += bytes.len();
                settler.feed(&bytes);
            }
            Some(Err(_)) | None => break,
        }
    }
    settler.meter.finish();
    if !settler.is_settled()
        && let Err(e) = settler.settle("client_disconnected").await
    {
        tracing::error!(error = %e, "settlement after disconnect failed");
    }
    settler.settle_late_usage().await;
}

/// A body that forwards `upstream`, metering and settling through `settler`.
pub fn metered_body(upstream: Upstream, settler: StreamSettler, transform: Option<EventTransform>) -> Body {
    let tee = Tee { upstream: Some(upstream), settler: Some(settler), transform, done: false };
    let stream = futures_util::stream::unfold(tee, |mut tee| async move {
        let (Some(upstream), Some(settler)) = (tee.upstream.as_mut(), tee.settler.as_mut()) else {
            return None;
        };
        loop {
            if tee.done {
                return None;
            }
            match upstream.next().await {
                Some(Ok(chunk)) => {
                    settler.feed(&chunk);
                    // Key revoked or user disabled meanwhile: cut here (charging what was produced).
                    if !settler.caller_still_valid() {
                        tee.done = true;
                        let cut = super::revocation::cut(settler).await;
                        return Some((Err(cut), tee));
                    }
                    let out = match &mut tee.transform {
                        Some(t) => t.push(&chunk),
                        None => chunk,
                    };
                    if settler.meter.report().final_seen
                        && !settler.is_settled()
                        && let Err(e) = settler.settle("ok").await
                    {
                        // The charge could not be committed: withhold the final event.
                        tee.done = true;
                        return Some((Err(std::io::Error::other(e.to_string())), tee));
                    }
                    if !out.is_empty() {
                        return Some((Ok(out), tee));
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "upstream stream failed mid-way");
                    settler.meter.finish();
                    if !settler.is_settled()
                        && let Err(se) = settler.settle("upstream_error").await
                    {
                        tracing::error!(error = %se, "settlement after upstream error failed");
                    }
                    settler.settle_late_usage().await;
                    tee.done = true;
                    // Ending the body with an error cuts the client's connection: the answer is
                    // visibly incomplete rather than silently truncated.
                    return Some((Err(std::io::Error::other(e.to_string())), tee));
                }
                None => {
                    settler.meter.finish();
                    tee.done = true;
                    let status = if settler.meter.report().final_seen { "ok" } else { "incomplete" };
                    if !settler.is_settled()
                        && let Err(e) = settler.settle(status).await
                    {
                        return Some((Err(std::io::Error::other(e.to_string())), tee));
                    }
                    settler.settle_late_usage().await;
                    let rest = tee.transform.as_mut().map(EventTransform::finish).unwrap_or_default();
                    return if rest.is_empty() { None } else { Some((Ok(rest), tee)) };
                }
            }
        }
    });
    Body::from_stream(stream)
}
