//! Gateway test helpers: mock upstreams for every platform, users with keys and limits, fixed prices.

use jiff::Timestamp;
use tollgate_core::money::Money;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::pricing::Price;
use tollgate_core::quota::WindowLimits;
use tollgate_server::keys;
use tollgate_server::mock_upstream::{MOCK_KEY, MockUpstream};
use tollgate_store::{NewApiKey, NewUpstream, NewUser, UpstreamProtocol};

use super::test_app::TestApp;

/// The model every gateway test calls, priced by [`test_price`].
pub const MODEL: &str = "tollgate-test-model";

/// $3 in, $15 out, $0.30 cache read, $3.75 / $6 cache writes (5 min / 1 h) per million tokens.
pub fn test_price(platform: Platform) -> Price {
    let usd = |s| Some(Money::parse(s).unwrap());
    Price {
        platform,
        input_per_mtok: Money::parse("3").unwrap(),
        output_per_mtok: Money::parse("15").unwrap(),
        cache_read_per_mtok: usd("0.3"),
        cache_write_5m_per_mtok: usd("3.75"),
        cache_write_1h_per_mtok: usd("6"),
        long_context: None,
        tool_fees: Default::default(),
        covers: Vec::new(),
        source_url: None,
        as_of: None,
    }
}

/// Hand-computed cost of one mock answer at [`test_price`], in nano-USD.
/// Anthropic: 100×3 + 50×15 + 30×0.3 + 12×3.75 + 8×6 = 1152 µUSD (per MTok → ×1e-6 USD).
pub const ANTHROPIC_COST_NANOS: i64 = 1_152_000;
/// OpenAI / Gemini: 100 uncached × 3 + 50 × 15 + 30 cached × 0.3 = 1059 µUSD (no cache writes).
pub const OTHER_COST_NANOS: i64 = 1_059_000;

pub struct Caller {
    pub user_id: i64,
    pub secret: String,
}

impl TestApp {
    /// Mock upstreams for every platform (and a Cloud Code account for antigravity when `v1internal`),
    /// plus the test price.
    pub async fn with_mocks(self, v1internal: bool) -> Self {
        let mock = MockUpstream::start(&self.state.tasks, self.state.shutdown.clone(), false).await.unwrap();
        for p in Platform::ALL {
            self.upstream(*p, &mock.base_url(), 10, UpstreamProtocol::Native).await;
        }
        if v1internal {
            self.upstream(Platform::Antigravity, &mock.base_url(), 0, UpstreamProtocol::V1Internal).await;
        }
        self.state.ledger.prices().set_overrides(vec![(MODEL.to_owned(), test_price(Platform::Anthropic))]).unwrap();
        self
    }

    pub async fn upstream(&self, platform: Platform, base_url: &str, priority: i64, protocol: UpstreamProtocol) {
        let new = NewUpstream {
            platform,
            name: format!("mock-{platform}-{priority}@test-project"),
            base_url: base_url.to_owned(),
            api_key: MOCK_KEY.into(),
            enabled: true,
            priority,
            protocol,
        };
        self.state.store.create_upstream(&new, Timestamp::now()).await.unwrap();
        self.state.upstreams.invalidate();
    }

    /// A user with an API key (all platforms) and the given limits.
    pub async fn caller(&self, email: &str, limits: &[(Platform, WindowLimits)]) -> Caller {
        let user = self
            .state
            .store
            .create_user(&NewUser::new(email, AuthSource::Email), limits, Timestamp::now())
            .await
            .unwrap();
        let secret = keys::generate_secret();
        let key = NewApiKey {
            user_id: user.id,
            name: "test".into(),
            prefix: keys::shown_prefix(&secret),
            key_hash: keys::hash_secret(&secret),
            platforms: None,
            limits: Vec::new(),
            lifetime_limit: None,
        };
        self.state.store.create_api_key(&key, Timestamp::now()).await.unwrap();
        Caller { user_id: user.id, secret }
    }

    /// The user's current daily usage on `platform`, in nano-USD.
    pub async fn spent(&self, user_id: i64, platform: Platform) -> i64 {
        self.state.ledger.caught_up().await;
        let rows = self.state.store.list_by_user(user_id).await.unwrap();
        rows.iter().find(|r| r.platform == platform).map_or(0, |r| r.usage[1].usage.nanos())
    }

    /// The user's latest usage record.
    pub async fn last_record(&self, user_id: i64) -> tollgate_store::UsageRecord {
        self.state.ledger.caught_up().await;
        let mut records = self.state.store.recent_usage(user_id, 1).await.unwrap();
        records.pop().expect("the user has a usage record")
    }

    /// Every usage record of the user, newest first.
    pub async fn records(&self, user_id: i64) -> Vec<tollgate_store::UsageRecord> {
        self.state.ledger.caught_up().await;
        self.state.store.recent_usage(user_id, 1_000).await.unwrap()
    }
}

/// Limits for one platform.
pub fn daily(platform: Platform, usd: &str) -> Vec<(Platform, WindowLimits)> {
    vec![(platform, WindowLimits { five_hour: None, daily: Some(Money::parse(usd).unwrap()), ..Default::default() })]
}

/// Opens an Anthropic stream that the mock writes slowly (40 ms between events) and reads it until
/// the first text has arrived; the rest is left unread.
pub async fn slow_stream_past_first_text(
    base: &str,
    secret: &str,
) -> impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> {
    use futures_util::StreamExt;
    let mut stream = open_slow_stream(base, secret).await.bytes_stream();
    let mut seen = String::new();
    while let Some(chunk) = stream.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        if seen.contains("text_delta") {
            break;
        }
    }
    stream
}

/// Opens an Anthropic stream that the mock writes slowly (40 ms between events).
pub async fn open_slow_stream(base: &str, secret: &str) -> reqwest::Response {
    let body = format!(r#"{{"model":"{MODEL}","max_tokens":64,"stream":true,"messages":[]}}"#);
    open_stream(base, "/v1/messages", ("x-api-key", secret), "slow", body).await
}

/// POSTs `body` to `path` on a real socket with the credential header and a mock script, and
/// returns the (200) answer unread.
pub async fn open_stream(base: &str, path: &str, key: (&str, &str), script: &str, body: String) -> reqwest::Response {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header(key.0, key.1)
        .header("user-agent", format!("test mock={script}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp
}

/// An Anthropic request with a prompt of 600 characters: its strict-mode bound (a token per byte)
/// covers the 150 prompt tokens the mock reports, as a real prompt's bound covers its usage.
pub fn anthropic_prompt(stream: bool, max_tokens: u64) -> String {
    let prompt = "Tell me about quotas. ".repeat(28);
    format!(
        r#"{{"model":"{MODEL}","max_tokens":{max_tokens},"stream":{stream},"messages":[{{"role":"user","content":"{prompt}"}}]}}"#
    )
}
