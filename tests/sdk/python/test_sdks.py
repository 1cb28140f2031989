"""Tollgate against the providers' official Python SDKs (anthropic, openai, google-genai).

Each session starts `tollgate demo` (SQLite in a temp dir, built-in mock upstreams, a free port) and
points the SDKs at it. The binary is $TOLLGATE_BIN, by default target/debug/tollgate in the repo.

Every mock answer is the same text with the same usage (crates/tollgate-server/src/mock_upstream.rs,
MOCK_TEXT and MOCK_USAGE: 100 uncached input, 50 output, 30 cache read, 12 + 8 cache writes), which
each family reports in its own accounting; the assertions below are that accounting as the SDK
parsed it.

Quota exhaustion runs against a second demo instance so it cannot starve the other tests. Cheap
models are used everywhere else, because the demo user's daily cap per platform is small.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import anthropic
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_KEY = "tg-demo-0000000000000000000000000000000000000000"
WRONG_KEY = "tg-wrong-000000000000000000000000000000000000000"
MOCK_TEXT = "Hello from the Tollgate mock upstream. Quotas are enforced in USD."

# Cheap models for the functional tests; dear ones to reach the daily cap in few requests.
CLAUDE = "claude-haiku-4-5"
CLAUDE_DEAR = "claude-opus-4-1"
GPT = "gpt-5-mini"
GPT_DEAR = "o1-pro"
GEMINI = "gemini-2.5-flash"
GEMINI_DEAR = "gemini-3-pro"
# Upper bound of requests spent looking for the 429 (a 1 USD cap on gemini-3-pro is ~1250).
MAX_EXHAUST = 4000

# Anthropic-prefixed platforms: native Anthropic and Antigravity (same wire format, own quota).
ANTHROPIC_PREFIXES = ["", "/antigravity"]
GEMINI_PREFIXES = ["", "/antigravity"]
GEMINI_VERSIONS = ["v1beta", "v1"]


# ------------------------------------------------------------------------------------------------
# The demo process
# ------------------------------------------------------------------------------------------------


def _binary() -> Path:
    raw = os.environ.get("TOLLGATE_BIN", "target/debug/tollgate")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file():
        pytest.exit(f"tollgate binary not found at {path} (build it or set TOLLGATE_BIN)", returncode=2)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    def __init__(self, name: str):
        self.tmp = tempfile.TemporaryDirectory(prefix=f"tollgate-sdk-{name}-")
        self.log_path = Path(self.tmp.name) / "demo.log"
        self.proc: subprocess.Popen | None = None
        self.base = ""

    def start(self) -> "Demo":
        binary = _binary()
        for _attempt in range(3):
            port = _free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [str(binary), "demo", "--dir", str(Path(self.tmp.name) / "data"), "--listen", f"127.0.0.1:{port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            log.close()
            self.base = f"http://127.0.0.1:{port}"
            if self._wait_ready(30.0):
                return self
            self.stop()
        raise RuntimeError(f"tollgate demo did not become ready; log:\n{self.log()}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 3 s: a leftover process must not outlive the run, even on a
        build that does not exit on SIGTERM (see test_demo_exits_on_sigterm)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def close(self) -> None:
        self.stop()
        self.tmp.cleanup()


@pytest.fixture(scope="session")
def gateway():
    demo = Demo("main").start()
    yield demo.base
    demo.close()


@pytest.fixture(scope="session")
def quota_gateway():
    """A second demo whose platforms the quota tests exhaust."""
    demo = Demo("quota").start()
    yield demo.base
    demo.close()


@pytest.fixture
def scratch_gateway():
    """A demo of its own, for tests whose client drops a stream mid-way: on older builds that wedged
    the gateway's SQLite writes (GW-SQLITE-CANCEL); a regression must not spill into other tests."""
    demo = Demo("scratch").start()
    yield demo.base
    demo.close()


# ------------------------------------------------------------------------------------------------
# Clients
# ------------------------------------------------------------------------------------------------


def anthropic_client(base: str, prefix: str = "", key: str = DEMO_KEY, **kw) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base + prefix, api_key=key, max_retries=0, timeout=30, **kw)


def openai_client(base: str, key: str = DEMO_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=30)


def genai_client(base: str, prefix: str = "", key: str = DEMO_KEY, version: str | None = None) -> genai.Client:
    opts = genai_types.HttpOptions(base_url=base + prefix, timeout=30_000)
    if version:
        opts.api_version = version
    return genai.Client(api_key=key, http_options=opts)


HELLO = [{"role": "user", "content": "Hello"}]


def assert_anthropic_usage(usage) -> None:
    assert usage.input_tokens == 100
    assert usage.output_tokens == 50
    assert usage.cache_read_input_tokens == 30
    assert usage.cache_creation_input_tokens == 20
    assert usage.cache_creation.ephemeral_5m_input_tokens == 12
    assert usage.cache_creation.ephemeral_1h_input_tokens == 8


def assert_chat_usage(usage) -> None:
    assert usage.prompt_tokens == 130
    assert usage.completion_tokens == 50
    assert usage.total_tokens == 180
    assert usage.prompt_tokens_details.cached_tokens == 30
    assert usage.completion_tokens_details.reasoning_tokens == 10


def assert_responses_usage(usage) -> None:
    assert usage.input_tokens == 130
    assert usage.input_tokens_details.cached_tokens == 30
    assert usage.output_tokens == 50
    assert usage.output_tokens_details.reasoning_tokens == 10
    assert usage.total_tokens == 180


def assert_gemini_usage(meta) -> None:
    assert meta.prompt_token_count == 130
    assert meta.cached_content_token_count == 30
    assert meta.candidates_token_count == 40
    assert meta.thoughts_token_count == 10
    assert meta.total_token_count == 180


# ------------------------------------------------------------------------------------------------
# Anthropic
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ANTHROPIC_PREFIXES)
def test_anthropic_messages_create(gateway, prefix):
    msg = anthropic_client(gateway, prefix).messages.create(model=CLAUDE, max_tokens=256, messages=HELLO)
    assert msg.type == "message"
    assert msg.role == "assistant"
    assert msg.model == CLAUDE
    assert msg.stop_reason == "end_turn"
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == MOCK_TEXT
    assert_anthropic_usage(msg.usage)


@pytest.mark.parametrize("prefix", ANTHROPIC_PREFIXES)
def test_anthropic_messages_stream_helper(gateway, prefix):
    client = anthropic_client(gateway, prefix)
    with client.messages.stream(model=CLAUDE, max_tokens=256, messages=HELLO) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1, "the mock streams the text in several deltas"
    assert "".join(pieces) == MOCK_TEXT
    assert final.content[0].text == MOCK_TEXT
    assert final.stop_reason == "end_turn"
    assert_anthropic_usage(final.usage)


@pytest.mark.parametrize("prefix", ANTHROPIC_PREFIXES)
def test_anthropic_messages_create_stream_events(gateway, prefix):
    events = list(
        anthropic_client(gateway, prefix).messages.create(model=CLAUDE, max_tokens=256, messages=HELLO, stream=True)
    )
    types = [e.type for e in events]
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    assert "content_block_start" in types and "content_block_stop" in types
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == MOCK_TEXT
    start = events[0].message.usage
    assert start.input_tokens == 100 and start.cache_read_input_tokens == 30
    assert events[-2].usage.output_tokens == 50
    assert events[-2].delta.stop_reason == "end_turn"


@pytest.mark.parametrize("prefix", ANTHROPIC_PREFIXES)
def test_anthropic_count_tokens(gateway, prefix):
    count = anthropic_client(gateway, prefix).messages.count_tokens(model=CLAUDE, messages=HELLO)
    assert count.input_tokens == 100


def test_anthropic_bearer_auth(gateway):
    client = anthropic.Anthropic(base_url=gateway, auth_token=DEMO_KEY, api_key=None, max_retries=0, timeout=30)
    msg = client.messages.create(model=CLAUDE, max_tokens=256, messages=HELLO)
    assert msg.content[0].text == MOCK_TEXT


def test_anthropic_raw_response_quota_headers(gateway):
    raw = anthropic_client(gateway).messages.with_raw_response.create(model=CLAUDE, max_tokens=256, messages=HELLO)
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.headers.get("x-tollgate-request-id")
    assert float(raw.headers["x-tollgate-quota-daily-limit-usd"]) > 0
    assert float(raw.headers["x-tollgate-quota-daily-remaining-usd"]) >= 0
    assert raw.parse().content[0].text == MOCK_TEXT


def test_anthropic_async(gateway):
    async def go():
        client = anthropic.AsyncAnthropic(base_url=gateway, api_key=DEMO_KEY, max_retries=0, timeout=30)
        msg = await client.messages.create(model=CLAUDE, max_tokens=256, messages=HELLO)
        async with client.messages.stream(model=CLAUDE, max_tokens=256, messages=HELLO) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
        await client.close()
        return msg, text, final

    msg, text, final = asyncio.run(go())
    assert msg.content[0].text == MOCK_TEXT
    assert text == MOCK_TEXT
    assert_anthropic_usage(final.usage)


@pytest.mark.parametrize("prefix", ANTHROPIC_PREFIXES)
def test_anthropic_wrong_key(gateway, prefix):
    client = anthropic_client(gateway, prefix, key=WRONG_KEY)
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(model=CLAUDE, max_tokens=256, messages=HELLO)
    assert info.value.status_code == 401
    assert info.value.body["type"] == "error"
    assert info.value.body["error"]["type"] == "authentication_error"
    # The streaming helper raises the same type before the first event.
    with pytest.raises(anthropic.AuthenticationError):
        with client.messages.stream(model=CLAUDE, max_tokens=256, messages=HELLO) as stream:
            stream.get_final_message()


@pytest.mark.parametrize("prefix", ANTHROPIC_PREFIXES)
def test_anthropic_quota_exhausted(quota_gateway, prefix):
    client = anthropic_client(quota_gateway, prefix)
    for i in range(MAX_EXHAUST):
        try:
            client.messages.create(model=CLAUDE_DEAR, max_tokens=256, messages=HELLO)
        except anthropic.RateLimitError as e:
            err = e
            break
    else:
        pytest.fail(f"no 429 after {MAX_EXHAUST} requests")
    assert i > 0, "the first request should have been admitted"
    assert err.status_code == 429
    assert int(err.response.headers["retry-after"]) > 0
    assert err.body["type"] == "error"
    assert err.body["error"]["type"] == "rate_limit_error"
    assert err.body["error"]["code"] == "platform_quota_exhausted"
    # Streaming requests are refused the same way, before any event.
    with pytest.raises(anthropic.RateLimitError):
        with client.messages.stream(model=CLAUDE, max_tokens=256, messages=HELLO) as stream:
            stream.get_final_message()


# ------------------------------------------------------------------------------------------------
# OpenAI
# ------------------------------------------------------------------------------------------------


def test_openai_chat_completions(gateway):
    completion = openai_client(gateway).chat.completions.create(model=GPT, messages=HELLO)
    assert completion.object == "chat.completion"
    assert completion.model == GPT
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == MOCK_TEXT
    assert choice.finish_reason == "stop"
    assert_chat_usage(completion.usage)


def test_openai_chat_completions_stream(gateway):
    stream = openai_client(gateway).chat.completions.create(
        model=GPT, messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == MOCK_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == []
    assert_chat_usage(chunks[-1].usage)


def test_openai_chat_completions_stream_without_usage(gateway):
    chunks = list(openai_client(gateway).chat.completions.create(model=GPT, messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == MOCK_TEXT
    assert all(c.usage is None for c in chunks)


def test_openai_chat_completions_stream_helper(gateway):
    with openai_client(gateway).chat.completions.stream(
        model=GPT, messages=HELLO, stream_options={"include_usage": True}
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == MOCK_TEXT
    assert final.choices[0].message.content == MOCK_TEXT
    assert_chat_usage(final.usage)


def test_openai_responses(gateway):
    response = openai_client(gateway).responses.create(model=GPT, input="Hello")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.output_text == MOCK_TEXT
    assert response.output[0].content[0].text == MOCK_TEXT
    assert_responses_usage(response.usage)


def test_openai_responses_stream(gateway):
    events = list(openai_client(gateway).responses.create(model=GPT, input="Hello", stream=True))
    types = [e.type for e in events]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == MOCK_TEXT
    final = events[-1].response
    assert final.output_text == MOCK_TEXT
    assert_responses_usage(final.usage)


def test_openai_responses_stream_helper(scratch_gateway):
    with openai_client(scratch_gateway).responses.stream(model=GPT, input="Hello") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == MOCK_TEXT
    assert final.output_text == MOCK_TEXT
    assert_responses_usage(final.usage)


def test_openai_models_list(gateway):
    models = list(openai_client(gateway).models.list())
    assert models, "the models list is empty"
    assert all(m.object == "model" and m.id for m in models)
    assert "gpt-5" in [m.id for m in models]


def test_openai_async(gateway):
    async def go():
        client = openai.AsyncOpenAI(base_url=gateway + "/v1", api_key=DEMO_KEY, max_retries=0, timeout=30)
        completion = await client.chat.completions.create(model=GPT, messages=HELLO)
        stream = await client.responses.create(model=GPT, input="Hello", stream=True)
        text = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
        await client.close()
        return completion, text

    completion, text = asyncio.run(go())
    assert completion.choices[0].message.content == MOCK_TEXT
    assert text == MOCK_TEXT


def test_openai_wrong_key(gateway):
    client = openai_client(gateway, key=WRONG_KEY)
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model=GPT, messages=HELLO)
    assert info.value.status_code == 401
    assert info.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        list(client.responses.create(model=GPT, input="Hello", stream=True))
    with pytest.raises(openai.AuthenticationError):
        list(client.models.list())


def test_openai_quota_exhausted(quota_gateway):
    client = openai_client(quota_gateway)
    for i in range(MAX_EXHAUST):
        try:
            client.chat.completions.create(model=GPT_DEAR, messages=HELLO)
        except openai.RateLimitError as e:
            err = e
            break
    else:
        pytest.fail(f"no 429 after {MAX_EXHAUST} requests")
    assert i > 0, "the first request should have been admitted"
    assert err.status_code == 429
    assert err.code == "platform_quota_exhausted"
    assert int(err.response.headers["retry-after"]) > 0
    with pytest.raises(openai.RateLimitError):
        list(client.responses.create(model=GPT, input="Hello", stream=True))


# ------------------------------------------------------------------------------------------------
# Google Gen AI (Gemini)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", GEMINI_VERSIONS)
@pytest.mark.parametrize("prefix", GEMINI_PREFIXES)
def test_gemini_generate_content(gateway, prefix, version):
    client = genai_client(gateway, prefix, version=version)
    response = client.models.generate_content(model=GEMINI, contents="Hello")
    assert response.text == MOCK_TEXT
    assert response.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert response.candidates[0].content.role == "model"
    assert response.model_version == GEMINI
    assert_gemini_usage(response.usage_metadata)


@pytest.mark.parametrize("version", GEMINI_VERSIONS)
@pytest.mark.parametrize("prefix", GEMINI_PREFIXES)
def test_gemini_generate_content_stream(gateway, prefix, version):
    client = genai_client(gateway, prefix, version=version)
    chunks = list(client.models.generate_content_stream(model=GEMINI, contents="Hello"))
    assert len(chunks) > 1, "the mock streams the text in several chunks"
    assert "".join(c.text for c in chunks) == MOCK_TEXT
    assert chunks[-1].candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert_gemini_usage(chunks[-1].usage_metadata)


@pytest.mark.parametrize("prefix", GEMINI_PREFIXES)
def test_gemini_count_tokens(gateway, prefix):
    client = genai_client(gateway, prefix)
    count = client.models.count_tokens(model=GEMINI, contents="Hello")
    assert count.total_tokens == 100


def test_gemini_async(gateway):
    async def go():
        client = genai_client(gateway)
        response = await client.aio.models.generate_content(model=GEMINI, contents="Hello")
        text = ""
        async for chunk in await client.aio.models.generate_content_stream(model=GEMINI, contents="Hello"):
            text += chunk.text
        return response, text

    response, text = asyncio.run(go())
    assert response.text == MOCK_TEXT
    assert text == MOCK_TEXT


@pytest.mark.parametrize("prefix", GEMINI_PREFIXES)
def test_gemini_wrong_key(gateway, prefix):
    client = genai_client(gateway, prefix, key=WRONG_KEY)
    with pytest.raises(genai_errors.ClientError) as info:
        client.models.generate_content(model=GEMINI, contents="Hello")
    assert info.value.code == 401
    assert info.value.status == "UNAUTHENTICATED"
    with pytest.raises(genai_errors.ClientError) as info:
        list(client.models.generate_content_stream(model=GEMINI, contents="Hello"))
    assert info.value.code == 401


def test_gemini_quota_exhausted(quota_gateway):
    client = genai_client(quota_gateway)
    for i in range(MAX_EXHAUST):
        try:
            client.models.generate_content(model=GEMINI_DEAR, contents="Hello")
        except genai_errors.ClientError as e:
            err = e
            break
    else:
        pytest.fail(f"no 429 after {MAX_EXHAUST} requests")
    assert i > 0, "the first request should have been admitted"
    assert err.code == 429, err
    assert err.status == "RESOURCE_EXHAUSTED"
    with pytest.raises(genai_errors.ClientError) as info:
        list(client.models.generate_content_stream(model=GEMINI, contents="Hello"))
    assert info.value.code == 429


# ------------------------------------------------------------------------------------------------
# Endpoints Tollgate does not serve: the SDK must get an error it understands, in its own shape.
# ------------------------------------------------------------------------------------------------

def test_openai_unsupported_endpoint_is_an_api_error(gateway):
    with pytest.raises(openai.NotFoundError):
        openai_client(gateway).embeddings.create(model="text-embedding-3-small", input="Hello")


def test_anthropic_unsupported_endpoint_is_an_api_error(gateway):
    request = {"custom_id": "a", "params": {"model": CLAUDE, "max_tokens": 16, "messages": HELLO}}
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client(gateway).messages.batches.create(requests=[request])


def test_gemini_models_list_speaks_gemini(gateway):
    try:
        client = genai_client(gateway)
        models = list(client.models.list())
    except genai_errors.ClientError as e:
        assert e.code in (404, 501), e
        assert e.status in ("NOT_FOUND", "UNIMPLEMENTED"), e
    else:
        assert all(m.name for m in models)


def test_anthropic_models_list_speaks_anthropic(gateway):
    try:
        page = anthropic_client(gateway).models.list()
    except anthropic.NotFoundError:
        return
    assert page.data, "empty model list"
    for model in page.data:
        assert model.type == "model", model
        assert model.display_name, model


def test_openai_models_retrieve(gateway):
    try:
        model = openai_client(gateway).models.retrieve("gpt-5")
    except openai.NotFoundError:
        return
    assert model.id == "gpt-5"


# ------------------------------------------------------------------------------------------------
# Clients that stop reading a stream early (`break` out of the loop, then close the stream)
# ------------------------------------------------------------------------------------------------


# Regression test for GW-SQLITE-CANCEL: on builds that settled inside the request (before the
# settlement queue), a client disconnect while the gateway was settling cancelled the settlement
# future inside BEGIN IMMEDIATE; the pooled sqlx connection kept a non-zero transaction depth and the
# write lock, and every later charged request failed ("attempted to call begin_with at non-zero
# transaction depth" -> 500) or hung on "database is locked". It reproduced in about 2 runs in 3.
def test_streams_closed_early_do_not_wedge_the_gateway(scratch_gateway):
    rng = random.Random(7)

    async def go():
        client = openai.AsyncOpenAI(base_url=scratch_gateway + "/v1", api_key=DEMO_KEY, max_retries=0, timeout=10)

        async def read_some(stop: int):
            stream = await client.responses.create(model="gpt-5-nano", input="Hello", stream=True)
            seen = 0
            async for _event in stream:
                seen += 1
                if seen >= stop:
                    break
            await stream.close()

        try:
            for round_ in range(40):
                await asyncio.gather(*(read_some(rng.randint(1, 12)) for _ in range(20)), return_exceptions=True)
                # A plain charged request must still be answered promptly.
                try:
                    completion = await client.chat.completions.create(model="gpt-5-nano", messages=HELLO, timeout=5)
                except openai.RateLimitError:
                    return  # the demo's daily cap is reached: no wedge within this budget
                except openai.APIError as e:
                    pytest.fail(f"round {round_}: a charged request failed after early-closed streams: {e!r}")
                assert completion.choices[0].message.content == MOCK_TEXT
        finally:
            await client.close()

    asyncio.run(go())


# ------------------------------------------------------------------------------------------------
# The demo process itself
# ------------------------------------------------------------------------------------------------


# Regression test for GW-DEMO-SHUTDOWN: older builds logged "shutting down" on SIGTERM and never
# exited (the mock upstream's serve task on state.tasks never ended, so tasks.wait() hung).
def test_demo_exits_on_sigterm():
    demo = Demo("shutdown").start()
    try:
        demo.proc.send_signal(signal.SIGTERM)
        try:
            code = demo.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            demo.proc.kill()
            demo.proc.wait(timeout=5)
            pytest.fail("tollgate demo still running 5 s after SIGTERM")
        assert code == 0
    finally:
        demo.close()
