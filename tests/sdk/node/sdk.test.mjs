// Tollgate against the providers' official Node SDKs (@anthropic-ai/sdk, openai, @google/genai).
//
// Run with `node --test` in this folder (after `npm ci`). A `tollgate demo` is started on a free port
// with its database in a temp dir; the binary is $TOLLGATE_BIN, by default target/debug/tollgate in
// the repo. Every mock answer is the same text and usage (crates/tollgate-server/src/mock_upstream.rs:
// 100 uncached input, 50 output, 30 cache read, 12 + 8 cache writes), reported in each family's own
// accounting. Quota exhaustion runs against a second demo so it cannot starve the other tests.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ApiError, GoogleGenAI } from '@google/genai';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DEMO_KEY = 'tg-demo-0000000000000000000000000000000000000000';
const WRONG_KEY = 'tg-wrong-000000000000000000000000000000000000000';
const MOCK_TEXT = 'Hello from the Tollgate mock upstream. Quotas are enforced in USD.';

// Cheap models for the functional tests; dear ones to reach the daily cap in few requests.
const CLAUDE = 'claude-haiku-4-5';
const CLAUDE_DEAR = 'claude-opus-4-1';
const GPT = 'gpt-5-mini';
const GPT_DEAR = 'o1-pro';
const GEMINI = 'gemini-2.5-flash';
const GEMINI_DEAR = 'gemini-3-pro';
const MAX_EXHAUST = 4000;
const HELLO = [{ role: 'user', content: 'Hello' }];
const PREFIXES = ['', '/antigravity'];

// ---------------------------------------------------------------------------------------------
// The demo process
// ---------------------------------------------------------------------------------------------

function binary() {
  const raw = process.env.TOLLGATE_BIN || 'target/debug/tollgate';
  const bin = path.isAbsolute(raw) ? raw : path.join(REPO_ROOT, raw);
  if (!existsSync(bin)) throw new Error(`tollgate binary not found at ${bin} (build it or set TOLLGATE_BIN)`);
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Demo {
  constructor(name) {
    this.dir = mkdtempSync(path.join(tmpdir(), `tollgate-sdk-node-${name}-`));
    this.logPath = path.join(this.dir, 'demo.log');
    this.child = null;
    this.base = '';
  }

  async start() {
    const bin = binary();
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const fd = openSync(this.logPath, 'a');
      this.child = spawn(bin, ['demo', '--dir', path.join(this.dir, 'data'), '--listen', `127.0.0.1:${port}`], {
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      this.exited = new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
      this.base = `http://127.0.0.1:${port}`;
      if (await this.waitReady(30_000)) return this;
      await this.stop();
    }
    throw new Error(`tollgate demo did not become ready; log:\n${this.log()}`);
  }

  async waitReady(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return false;
      try {
        const r = await fetch(`${this.base}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return true;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    return false;
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL after 3 s (older builds never exited on SIGTERM: GW-DEMO-SHUTDOWN). */
  async stop() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(3000).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await this.exited;
    }
  }

  async close() {
    await this.stop();
    if (process.env.TOLLGATE_SDK_KEEP) console.log(`# kept ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

// main: the functional tests; quota: the exhaustion tests; scratch: tests whose client drops a
// stream mid-way (on older builds that wedged the gateway's SQLite writes, GW-SQLITE-CANCEL; a
// regression must not spill into unrelated tests).
let main;
let quota;
let scratch;
let base;
let quotaBase;
let scratchBase;

before(async () => {
  [main, quota, scratch] = await Promise.all([
    new Demo('main').start(),
    new Demo('quota').start(),
    new Demo('scratch').start(),
  ]);
  base = main.base;
  quotaBase = quota.base;
  scratchBase = scratch.base;
});

after(async () => {
  await Promise.all([main?.close(), quota?.close(), scratch?.close()]);
});

// ---------------------------------------------------------------------------------------------
// Clients and expectations
// ---------------------------------------------------------------------------------------------

const anthropicClient = (b, prefix = '', apiKey = DEMO_KEY) =>
  new Anthropic({ baseURL: b + prefix, apiKey, maxRetries: 0, timeout: 30_000 });
const openaiClient = (b, apiKey = DEMO_KEY) =>
  new OpenAI({ baseURL: `${b}/v1`, apiKey, maxRetries: 0, timeout: 30_000 });
const genaiClient = (b, prefix = '', apiKey = DEMO_KEY, apiVersion = undefined) =>
  new GoogleGenAI({ apiKey, httpOptions: { baseUrl: b + prefix, timeout: 30_000, ...(apiVersion ? { apiVersion } : {}) } });

function assertAnthropicUsage(u) {
  assert.equal(u.input_tokens, 100);
  assert.equal(u.output_tokens, 50);
  assert.equal(u.cache_read_input_tokens, 30);
  assert.equal(u.cache_creation_input_tokens, 20);
  assert.equal(u.cache_creation.ephemeral_5m_input_tokens, 12);
  assert.equal(u.cache_creation.ephemeral_1h_input_tokens, 8);
}

function assertChatUsage(u) {
  assert.equal(u.prompt_tokens, 130);
  assert.equal(u.completion_tokens, 50);
  assert.equal(u.total_tokens, 180);
  assert.equal(u.prompt_tokens_details.cached_tokens, 30);
  assert.equal(u.completion_tokens_details.reasoning_tokens, 10);
}

function assertResponsesUsage(u) {
  assert.equal(u.input_tokens, 130);
  assert.equal(u.input_tokens_details.cached_tokens, 30);
  assert.equal(u.output_tokens, 50);
  assert.equal(u.output_tokens_details.reasoning_tokens, 10);
  assert.equal(u.total_tokens, 180);
}

function assertGeminiUsage(m) {
  assert.equal(m.promptTokenCount, 130);
  assert.equal(m.cachedContentTokenCount, 30);
  assert.equal(m.candidatesTokenCount, 40);
  assert.equal(m.thoughtsTokenCount, 10);
  assert.equal(m.totalTokenCount, 180);
}

/** Calls `fn` until it throws; returns [error, successful calls before it]. */
async function exhaust(fn) {
  for (let i = 0; i < MAX_EXHAUST; i++) {
    try {
      await fn();
    } catch (e) {
      return [e, i];
    }
  }
  assert.fail(`no error after ${MAX_EXHAUST} requests`);
}

// ---------------------------------------------------------------------------------------------
// Anthropic
// ---------------------------------------------------------------------------------------------

describe('@anthropic-ai/sdk', () => {
  for (const prefix of PREFIXES) {
    const where = prefix || '/';

    test(`messages.create ${where}`, async () => {
      const msg = await anthropicClient(base, prefix).messages.create({ model: CLAUDE, max_tokens: 256, messages: HELLO });
      assert.equal(msg.type, 'message');
      assert.equal(msg.role, 'assistant');
      assert.equal(msg.model, CLAUDE);
      assert.equal(msg.stop_reason, 'end_turn');
      assert.deepEqual(msg.content.map((b) => b.type), ['text']);
      assert.equal(msg.content[0].text, MOCK_TEXT);
      assertAnthropicUsage(msg.usage);
    });

    test(`messages.stream ${where}`, async () => {
      const stream = anthropicClient(base, prefix).messages.stream({ model: CLAUDE, max_tokens: 256, messages: HELLO });
      const pieces = [];
      stream.on('text', (t) => pieces.push(t));
      const final = await stream.finalMessage();
      assert.ok(pieces.length > 1, 'the mock streams the text in several deltas');
      assert.equal(pieces.join(''), MOCK_TEXT);
      assert.equal(final.content[0].text, MOCK_TEXT);
      assert.equal(final.stop_reason, 'end_turn');
      assertAnthropicUsage(final.usage);
    });

    test(`messages.create stream:true ${where}`, async () => {
      const stream = await anthropicClient(base, prefix).messages.create({
        model: CLAUDE, max_tokens: 256, messages: HELLO, stream: true,
      });
      const events = [];
      for await (const e of stream) events.push(e);
      const types = events.map((e) => e.type);
      assert.equal(types[0], 'message_start');
      assert.deepEqual(types.slice(-2), ['message_delta', 'message_stop']);
      const text = events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join('');
      assert.equal(text, MOCK_TEXT);
      assert.equal(events[0].message.usage.input_tokens, 100);
      assert.equal(events.at(-2).usage.output_tokens, 50);
    });

    test(`messages.countTokens ${where}`, async () => {
      const count = await anthropicClient(base, prefix).messages.countTokens({ model: CLAUDE, messages: HELLO });
      assert.equal(count.input_tokens, 100);
    });

    test(`wrong key -> AuthenticationError ${where}`, async () => {
      const client = anthropicClient(base, prefix, WRONG_KEY);
      await assert.rejects(client.messages.create({ model: CLAUDE, max_tokens: 256, messages: HELLO }), (e) => {
        assert.ok(e instanceof Anthropic.AuthenticationError, `got ${e?.constructor?.name}: ${e}`);
        assert.equal(e.status, 401);
        assert.equal(e.error.type, 'error');
        assert.equal(e.error.error.type, 'authentication_error');
        return true;
      });
      await assert.rejects(
        client.messages.stream({ model: CLAUDE, max_tokens: 256, messages: HELLO }).finalMessage(),
        Anthropic.AuthenticationError,
      );
    });

    test(`quota exhausted -> RateLimitError ${where}`, async () => {
      const client = anthropicClient(quotaBase, prefix);
      const [e, ok] = await exhaust(() => client.messages.create({ model: CLAUDE_DEAR, max_tokens: 256, messages: HELLO }));
      assert.ok(e instanceof Anthropic.RateLimitError, `got ${e?.constructor?.name}: ${e}`);
      assert.ok(ok > 0, 'the first request should have been admitted');
      assert.equal(e.status, 429);
      assert.ok(Number(e.headers.get('retry-after')) > 0);
      assert.equal(e.error.error.type, 'rate_limit_error');
      assert.equal(e.error.error.code, 'platform_quota_exhausted');
      await assert.rejects(
        client.messages.stream({ model: CLAUDE, max_tokens: 256, messages: HELLO }).finalMessage(),
        Anthropic.RateLimitError,
      );
    });
  }

  test('Bearer auth (authToken)', async () => {
    const client = new Anthropic({ baseURL: base, apiKey: null, authToken: DEMO_KEY, maxRetries: 0 });
    const msg = await client.messages.create({ model: CLAUDE, max_tokens: 256, messages: HELLO });
    assert.equal(msg.content[0].text, MOCK_TEXT);
  });

  test('quota headers on the raw response', async () => {
    const { data, response } = await anthropicClient(base)
      .messages.create({ model: CLAUDE, max_tokens: 256, messages: HELLO })
      .withResponse();
    assert.equal(data.content[0].text, MOCK_TEXT);
    assert.ok(response.headers.get('x-tollgate-request-id'));
    assert.ok(Number(response.headers.get('x-tollgate-quota-daily-limit-usd')) > 0);
    assert.ok(Number(response.headers.get('x-tollgate-quota-daily-remaining-usd')) >= 0);
  });

  test(
    'models.list speaks Anthropic',
    async () => {
      try {
        for await (const m of anthropicClient(base).models.list()) {
          assert.equal(m.type, 'model');
          assert.ok(m.display_name);
        }
      } catch (e) {
        assert.ok(e instanceof Anthropic.NotFoundError, `got ${e?.constructor?.name}: ${e}`);
      }
    },
  );

  test(
    'unsupported endpoint -> NotFoundError',
    async () => {
      const request = { custom_id: 'a', params: { model: CLAUDE, max_tokens: 16, messages: HELLO } };
      await assert.rejects(anthropicClient(base).messages.batches.create({ requests: [request] }), Anthropic.NotFoundError);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// OpenAI
// ---------------------------------------------------------------------------------------------

describe('openai', () => {
  test('chat.completions.create', async () => {
    const c = await openaiClient(base).chat.completions.create({ model: GPT, messages: HELLO });
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, GPT);
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.equal(c.choices[0].message.content, MOCK_TEXT);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assertChatUsage(c.usage);
  });

  test('chat.completions.create stream:true with usage', async () => {
    const stream = await openaiClient(base).chat.completions.create({
      model: GPT, messages: HELLO, stream: true, stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, MOCK_TEXT);
    const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
    assert.deepEqual(finishes, ['stop']);
    assert.deepEqual(chunks.at(-1).choices, []);
    assertChatUsage(chunks.at(-1).usage);
  });

  test('chat.completions.stream helper', async () => {
    const stream = openaiClient(base).chat.completions.stream({
      model: GPT, messages: HELLO, stream_options: { include_usage: true },
    });
    const pieces = [];
    stream.on('content', (delta) => pieces.push(delta));
    const final = await stream.finalChatCompletion();
    assert.equal(pieces.join(''), MOCK_TEXT);
    assert.equal(final.choices[0].message.content, MOCK_TEXT);
    assertChatUsage(final.usage);
  });

  test('responses.create', async () => {
    const r = await openaiClient(base).responses.create({ model: GPT, input: 'Hello' });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, MOCK_TEXT);
    assert.equal(r.output[0].content[0].text, MOCK_TEXT);
    assertResponsesUsage(r.usage);
  });

  test('responses.create stream:true', async () => {
    const stream = await openaiClient(base).responses.create({ model: GPT, input: 'Hello', stream: true });
    const events = [];
    for await (const e of stream) events.push(e);
    assert.equal(events[0].type, 'response.created');
    assert.equal(events.at(-1).type, 'response.completed');
    const text = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
    assert.equal(text, MOCK_TEXT);
    assertResponsesUsage(events.at(-1).response.usage);
  });

  test(
    'responses.stream helper',
    async () => {
      const stream = openaiClient(scratchBase).responses.stream({ model: GPT, input: 'Hello' });
      const final = await stream.finalResponse();
      assert.equal(final.output_text, MOCK_TEXT);
      assertResponsesUsage(final.usage);
    },
  );

  test('models.list', async () => {
    const ids = [];
    for await (const m of openaiClient(base).models.list()) {
      assert.equal(m.object, 'model');
      ids.push(m.id);
    }
    assert.ok(ids.includes('gpt-5'), `models: ${ids}`);
  });

  test('wrong key -> AuthenticationError', async () => {
    const client = openaiClient(base, WRONG_KEY);
    await assert.rejects(client.chat.completions.create({ model: GPT, messages: HELLO }), (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e?.constructor?.name}: ${e}`);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_api_key');
      return true;
    });
    await assert.rejects(
      (async () => {
        for await (const _ of await client.responses.create({ model: GPT, input: 'Hello', stream: true }));
      })(),
      OpenAI.AuthenticationError,
    );
    await assert.rejects(
      (async () => {
        for await (const _ of client.models.list());
      })(),
      OpenAI.AuthenticationError,
    );
  });

  test('quota exhausted -> RateLimitError', async () => {
    const client = openaiClient(quotaBase);
    const [e, ok] = await exhaust(() => client.chat.completions.create({ model: GPT_DEAR, messages: HELLO }));
    assert.ok(e instanceof OpenAI.RateLimitError, `got ${e?.constructor?.name}: ${e}`);
    assert.ok(ok > 0, 'the first request should have been admitted');
    assert.equal(e.status, 429);
    assert.equal(e.code, 'platform_quota_exhausted');
    assert.ok(Number(e.headers.get('retry-after')) > 0);
    await assert.rejects(
      (async () => {
        for await (const _ of await client.responses.create({ model: GPT, input: 'Hello', stream: true }));
      })(),
      OpenAI.RateLimitError,
    );
  });

  test(
    'unsupported endpoint -> NotFoundError',
    async () => {
      await assert.rejects(
        openaiClient(base).embeddings.create({ model: 'text-embedding-3-small', input: 'Hello' }),
        OpenAI.NotFoundError,
      );
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Google Gen AI (Gemini)
// ---------------------------------------------------------------------------------------------

describe('@google/genai', () => {
  for (const prefix of PREFIXES) {
    const where = prefix || '/';
    for (const version of ['v1beta', 'v1']) {
      test(`models.generateContent ${where} ${version}`, async () => {
        const r = await genaiClient(base, prefix, DEMO_KEY, version).models.generateContent({ model: GEMINI, contents: 'Hello' });
        assert.equal(r.text, MOCK_TEXT);
        assert.equal(r.candidates[0].finishReason, 'STOP');
        assert.equal(r.candidates[0].content.role, 'model');
        assert.equal(r.modelVersion, GEMINI);
        assertGeminiUsage(r.usageMetadata);
      });

      test(`models.generateContentStream ${where} ${version}`, async () => {
        const stream = await genaiClient(base, prefix, DEMO_KEY, version).models.generateContentStream({
          model: GEMINI, contents: 'Hello',
        });
        const chunks = [];
        for await (const c of stream) chunks.push(c);
        assert.ok(chunks.length > 1, 'the mock streams the text in several chunks');
        assert.equal(chunks.map((c) => c.text).join(''), MOCK_TEXT);
        assert.equal(chunks.at(-1).candidates[0].finishReason, 'STOP');
        assertGeminiUsage(chunks.at(-1).usageMetadata);
      });
    }

    test(`models.countTokens ${where}`, async () => {
      const count = await genaiClient(base, prefix).models.countTokens({ model: GEMINI, contents: 'Hello' });
      assert.equal(count.totalTokens, 100);
    });

    test(`wrong key -> ApiError 401 ${where}`, async () => {
      const client = genaiClient(base, prefix, WRONG_KEY);
      await assert.rejects(client.models.generateContent({ model: GEMINI, contents: 'Hello' }), (e) => {
        assert.ok(e instanceof ApiError, `got ${e?.constructor?.name}: ${e}`);
        assert.equal(e.status, 401);
        assert.match(e.message, /UNAUTHENTICATED/);
        return true;
      });
      await assert.rejects(
        (async () => {
          for await (const _ of await client.models.generateContentStream({ model: GEMINI, contents: 'Hello' }));
        })(),
        (e) => e instanceof ApiError && e.status === 401,
      );
    });
  }

  test('quota exhausted -> ApiError 429', async () => {
    const client = genaiClient(quotaBase);
    const [e, ok] = await exhaust(() => client.models.generateContent({ model: GEMINI_DEAR, contents: 'Hello' }));
    assert.ok(e instanceof ApiError, `got ${e?.constructor?.name}: ${e}`);
    assert.ok(ok > 0, 'the first request should have been admitted');
    assert.equal(e.status, 429);
    assert.match(e.message, /RESOURCE_EXHAUSTED/);
    await assert.rejects(
      (async () => {
        for await (const _ of await client.models.generateContentStream({ model: GEMINI, contents: 'Hello' }));
      })(),
      (err) => err instanceof ApiError && err.status === 429,
    );
  });

  test(
    'models.list speaks Gemini',
    async () => {
      try {
        const pager = await genaiClient(base).models.list();
        for await (const m of pager) assert.ok(m.name);
      } catch (e) {
        assert.ok(e instanceof ApiError, `got ${e?.constructor?.name}: ${e}`);
        assert.ok([404, 501].includes(e.status), `status ${e.status}: ${e.message}`);
      }
    },
  );
});
