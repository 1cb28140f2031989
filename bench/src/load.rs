//! The load generator: an open-loop fixed rate for latency (each request timed from when it was
//! due, so a slow server cannot hide its queue), and closed-loop connections for throughput.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Target {
    url: String,
    key: String,
    body: String,
    http: reqwest::Client,
}

impl Target {
    /// Anthropic Messages on `base`, streaming or not.
    pub fn new(base: &str, key: &str, stream: bool) -> Self {
        let body = format!(
            r#"{{"model":"claude-sonnet-4-5","max_tokens":256,"stream":{stream},"messages":[{{"role":"user","content":"Hello, benchmark"}}]}}"#
        );
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { url: format!("{base}/v1/messages"), key: key.to_owned(), body, http }
    }

    /// One request, read to the end. `true` on a 200.
    async fn call(&self) -> bool {
        let sent = self
            .http
            .post(&self.url)
            .header("x-api-key", &self.key)
            .header("content-type", "application/json")
            .body(self.body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
            _ => false,
        }
    }
}

pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// How late requests started after they were due (the load generator's own share).
    pub start_p99_ms: f64,
    pub errors: u64,
}

pub struct Throughput {
    pub rps: f64,
    pub errors: u64,
}

pub async fn warm_up(targets: &[&Target]) -> anyhow::Result<()> {
    for t in targets {
        for _ in 0..200 {
            if !t.call().await {
                anyhow::bail!("warm-up request to {} failed", t.url);
            }
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Samples of one or more fixed-rate runs against one target.
#[derive(Default)]
pub struct Samples {
    /// Due time to the end of the response, of each answered request.
    times: Vec<Duration>,
    /// Due time to the start of the request task, of every request.
    starts: Vec<Duration>,
    errors: u64,
}

impl Samples {
    pub fn latency(mut self) -> Latency {
        self.times.sort_unstable();
        self.starts.sort_unstable();
        Latency {
            p50_ms: percentile(&self.times, 0.50),
            p99_ms: percentile(&self.times, 0.99),
            start_p99_ms: percentile(&self.starts, 0.99),
            errors: self.errors,
        }
    }
}

/// Latency of each target at `rate` requests a second for `duration` each, measured in one-second
/// slices taken in turn (direct, then each proxy, again and again), so that a machine that slows
/// down for a moment slows every target's figures alike instead of one run's.
pub async fn interleaved(targets: &[&Target], rate: u32, duration: Duration) -> anyhow::Result<Vec<Latency>> {
    let slices = duration.as_secs().max(1);
    let mut samples: Vec<Samples> = targets.iter().map(|_| Samples::default()).collect();
    for _ in 0..slices {
        for (t, s) in targets.iter().zip(samples.iter_mut()) {
            fixed_rate(t, rate, Duration::from_secs(1), s).await?;
        }
    }
    Ok(samples.into_iter().map(Samples::latency).collect())
}

/// `rate` requests a second for `duration`, open loop, added to `samples`. The pace is kept by an
/// OS thread sleeping to each due time (tokio's timer has a 1 ms grain, which released requests in
/// bursts and added up to a millisecond to every measurement); each request is still timed from
/// when it was due, so a late start counts against the run, and the starts are reported.
async fn fixed_rate(target: &Target, rate: u32, duration: Duration, samples: &mut Samples) -> anyhow::Result<()> {
    let target = Arc::new(target.clone());
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let total = (duration.as_secs_f64() * f64::from(rate)) as u64;
    let runtime = tokio::runtime::Handle::current();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let pacer = std::thread::spawn(move || {
        let start = Instant::now();
        for i in 0..total {
            let due = start + interval.mul_f64(i as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let (t, tx) = (target.clone(), tx.clone());
            runtime.spawn(async move {
                let started = due.elapsed();
                let ok = t.call().await;
                let _ = tx.send((ok, due.elapsed(), started));
            });
        }
    });
    while let Some((ok, took, started)) = rx.recv().await {
        samples.starts.push(started);
        if ok { samples.times.push(took) } else { samples.errors += 1 }
    }
    pacer.join().map_err(|_| anyhow::anyhow!("the pacing thread panicked"))?;
    Ok(())
}

/// `concurrency` connections sending back to back for `duration`.
pub async fn max_throughput(target: &Target, concurrency: usize, duration: Duration) -> anyhow::Result<Throughput> {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let target = Arc::new(target.clone());
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (t, done, errors) = (target.clone(), done.clone(), errors.clone());
        set.spawn(async move {
            while start.elapsed() < duration {
                if t.call().await {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    let secs = start.elapsed().as_secs_f64();
    Ok(Throughput { rps: done.load(Ordering::Relaxed) as f64 / secs, errors: errors.load(Ordering::Relaxed) })
}

/// Tollgate's `/metrics` text.
pub async fn scrape(gateway: &str) -> Option<String> {
    reqwest::get(format!("{gateway}/metrics")).await.ok()?.text().await.ok()
}

/// The `tollgate_settlement_seconds` histogram of a scrape: (upper bound in seconds, cumulative
/// count) per bucket.
pub fn settlement_histogram(text: &str) -> Vec<(f64, u64)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("tollgate_settlement_seconds_bucket{le=\""))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The value of an unlabelled counter in a scrape (0 when it was never incremented).
pub fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .find_map(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// p50 and p99 (ms, as the upper bound of the bucket holding them) of the settlements between two
/// scrapes of [`settlement_histogram`].
pub fn settlement_quantiles(before: &[(f64, u64)], after: &[(f64, u64)]) -> Option<(f64, f64)> {
    let delta: Vec<(f64, u64)> =
        after.iter().map(|&(le, n)| (le, n - before.iter().find(|b| b.0 == le).map_or(0, |b| b.1.min(n)))).collect();
    let total = delta.last()?.1;
    let at = |q: f64| {
        let want = (total as f64 * q).ceil() as u64;
        delta.iter().find(|(_, n)| *n >= want).map(|(le, _)| le * 1000.0)
    };
    (total > 0).then_some(())?;
    Some((at(0.50)?, at(0.99)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE: &str = "# TYPE tollgate_settlement_writes_total counter\n\
        tollgate_settlement_writes_total 1486\n\
        tollgate_settlements_written_total 10019\n\
        tollgate_settlement_seconds_bucket{le=\"0.00005\"} 90\n\
        tollgate_settlement_seconds_bucket{le=\"0.0001\"} 99\n\
        tollgate_settlement_seconds_bucket{le=\"+Inf\"} 100\n";

    #[test]
    fn counters_are_read_by_exact_name() {
        assert_eq!(counter(SCRAPE, "tollgate_settlement_writes_total"), 1486);
        assert_eq!(counter(SCRAPE, "tollgate_settlements_written_total"), 10019);
        // A name that is a prefix of another is not confused with it, and a missing one is 0.
        assert_eq!(counter(SCRAPE, "tollgate_settlement"), 0);
    }

    #[test]
    fn quantiles_come_from_the_difference_of_two_scrapes() {
        let before = settlement_histogram(SCRAPE);
        assert_eq!(before, vec![(0.00005, 90), (0.0001, 99), (f64::INFINITY, 100)]);
        // 100 more settlements, all of them in the second bucket.
        let after = vec![(0.00005, 90), (0.0001, 199), (f64::INFINITY, 200)];
        assert_eq!(settlement_quantiles(&before, &after), Some((0.1, 0.1)));
        assert_eq!(settlement_quantiles(&before, &before), None);
    }
}
