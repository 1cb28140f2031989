//! The streaming response body: each upstream chunk goes to the client as it arrives, and a copy
//! goes to the usage meter. When the meter sees the final usage, the charge is committed *before*
//! that chunk is released, so a client never holds a whole answer that was not charged (SPEC 2.4).

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::settlement::StreamSettler;
use super::transform::EventTransform;

type Upstream = BoxStream<'static, Result<Bytes, reqwest::Error>>;

struct Tee {
    upstream: Upstream,
    settler: StreamSettler,
    transform: Option<EventTransform>,
    done: bool,
}

/// A body that forwards `upstream`, metering and settling through `settler`.
pub fn metered_body(upstream: Upstream, settler: StreamSettler, transform: Option<EventTransform>) -> Body {
    let tee = Tee { upstream, settler, transform, done: false };
    let stream = futures_util::stream::unfold(tee, |mut tee| async move {
        loop {
            if tee.done {
                return None;
            }
            match tee.upstream.next().await {
                Some(Ok(chunk)) => {
                    tee.settler.meter.feed(&chunk);
                    // Key revoked or user disabled meanwhile: cut here (charging what was produced).
                    if !tee.settler.caller_still_valid() {
                        tee.done = true;
                        return Some((Err(super::revocation::cut(&mut tee.settler).await), tee));
                    }
                    let out = match &mut tee.transform {
                        Some(t) => t.push(&chunk),
                        None => chunk,
                    };
                    if tee.settler.meter.report().final_seen
                        && !tee.settler.is_settled()
                        && let Err(e) = tee.settler.settle("ok").await
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
                    tee.settler.meter.finish();
                    if !tee.settler.is_settled()
                        && let Err(se) = tee.settler.settle("upstream_error").await
                    {
                        tracing::error!(error = %se, "settlement after upstream error failed");
                    }
                    tee.done = true;
                    // Ending the body with an error cuts the client's connection: the answer is
                    // visibly incomplete rather than silently truncated.
                    return Some((Err(std::io::Error::other(e.to_string())), tee));
                }
                None => {
                    tee.settler.meter.finish();
                    tee.done = true;
                    let status = if tee.settler.meter.report().final_seen { "ok" } else { "incomplete" };
                    if !tee.settler.is_settled()
                        && let Err(e) = tee.settler.settle(status).await
                    {
                        return Some((Err(std::io::Error::other(e.to_string())), tee));
                    }
                    let rest = tee.transform.as_mut().map(EventTransform::finish).unwrap_or_default();
                    return if rest.is_empty() { None } else { Some((Ok(rest), tee)) };
                }
            }
        }
    });
    Body::from_stream(stream)
}
