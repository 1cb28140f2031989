// The request log and the analytics charts (docs/request-log.md): a user and the admin send requests
// through the gateway to a tiny local Anthropic-shaped upstream; the admin sees every row with its
// exact cost, filters by model and exports the CSV; the user sees only their own rows; the
// dashboards draw the charts in English and Chinese.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { after, before, describe, it, test } from 'node:test'
import { ADMIN, launchBrowser, login, missingKeys, newPage, screenshot, sel, startServer, unavailableReason, waitText } from './harness.mjs'

const skip = unavailableReason() ?? (process.env.TOLLGATE_E2E_MOCK === '1' ? 'needs the real gateway' : null)
const USER = { email: `log${Date.now()}@example.com`, password: 'user-pass-12345' }
// $3 / $15 per MTok: 100 in + 50 out = 0.00105 USD; $1 / $5 per MTok: 0.00035 USD.
const MODEL_A = 'e2e-log-alpha'
const MODEL_B = 'e2e-log-beta'
const UPSTREAM = 'e2e-log-upstream'

/** An upstream answering every Anthropic message with 100 input and 50 output tokens. */
async function startUpstream() {
  const srv = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const { model } = JSON.parse(Buffer.concat(chunks).toString() || '{}')
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({
        id: 'msg_e2e', type: 'message', role: 'assistant', model, stop_reason: 'end_turn', stop_sequence: null,
        content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 100, output_tokens: 50 },
      }))
    })
  })
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${srv.address().port}`, stop: () => new Promise((r) => srv.close(r)) }
}

if (skip && process.env.TOLLGATE_E2E_REQUIRED === '1' && process.env.TOLLGATE_E2E_MOCK !== '1') {
  test('Request log (browser)', () => assert.fail(`browser tests cannot run: ${skip}`))
} else if (skip) test('Request log (browser)', { skip }, () => {})
else describe('Request log and analytics', () => {
  let server
  let upstream
  let browser
  let api // (method, path, body) => Response, as the admin
  let userApi

  const signin = async (who) => {
    const r = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who),
    })
    const token = (await r.json()).token
    return (method, path, body) => fetch(`${server.url}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
    })
  }
  const send = (secret, model) => fetch(`${server.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const rows = (page) => page.locator(sel('log-row'))
  async function waitRows(page, n) {
    await waitText(page, sel('log-count'), (t) => t.startsWith(`${n} `) || t.includes(` ${n} `))
    assert.equal(await rows(page).count(), n)
  }

  before(async () => {
    server = await startServer()
    upstream = await startUpstream()
    browser = await launchBrowser()
    api = await signin(ADMIN)
    const up = await api('POST', '/admin/upstreams', { platform: 'anthropic', name: UPSTREAM, base_url: upstream.url, api_key: 'k', enabled: true, priority: 0, protocol: 'native' })
    assert.equal(up.status, 201, await up.text())
    for (const [model, input, output] of [[MODEL_A, 3, 15], [MODEL_B, 1, 5]]) {
      const r = await api('PUT', `/admin/pricing/${model}`, { platform: 'anthropic', input_per_mtok: input, output_per_mtok: output })
      assert.equal(r.status, 200, await r.text())
    }
    const created = await api('POST', '/admin/users', { email: USER.email, password: USER.password, display_name: 'Log User' })
    assert.equal(created.status, 201, await created.text())
    userApi = await signin(USER)
    const userKey = await (await userApi('POST', '/user/api-keys', { name: 'e2e-user-key' })).json()
    const adminKey = await (await api('POST', '/user/api-keys', { name: 'e2e-admin-key' })).json()
    // The user: two of A, one of B; the admin: one of A.
    for (const [secret, model] of [[userKey.secret, MODEL_A], [userKey.secret, MODEL_A], [userKey.secret, MODEL_B], [adminKey.secret, MODEL_A]]) {
      const r = await send(secret, model)
      assert.equal(r.status, 200, await r.text())
    }
    // And one the gateway refuses (no OpenAI upstream): logged, not charged. Its row is written in
    // the background, so wait for it.
    const refused = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userKey.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'e2e-log-refused', messages: [{ role: 'user', content: 'hi' }] }),
    })
    assert.ok(refused.status >= 400, `refused with ${refused.status}`)
    for (let i = 0; i < 50; i++) {
      const log = await (await userApi('GET', '/user/request-log')).json()
      if (log.entries.length === 4) break
      await new Promise((r) => setTimeout(r, 100))
    }
  })
  after(async () => {
    await browser?.close()
    await upstream?.stop()
    await server?.stop()
  })

  it('admin sees every request with its exact cost, filters by model and exports the CSV', async () => {
    const page = await newPage(browser)
    await login(page, server.url, ADMIN)
    await page.click(sel('nav-log'))
    await page.waitForURL((u) => u.pathname === '/admin/request-log')
    await waitRows(page, 5)
    const alpha = rows(page).filter({ has: page.locator(`${sel('log-model')}:text-is("${MODEL_A}")`) })
    assert.equal(await alpha.count(), 3)
    assert.equal((await alpha.first().locator(sel('log-cost')).textContent()).trim(), '$0.00105')
    assert.match(await alpha.first().textContent(), new RegExp(UPSTREAM))
    assert.match(await alpha.first().locator(sel('log-status')).textContent(), /200\s*OK\s*Charged/)
    assert.equal(await rows(page).filter({ hasText: USER.email }).count(), 4)
    const refused = rows(page).filter({ hasText: 'e2e-log-refused' })
    assert.match(await refused.locator(sel('log-status')).textContent(), /Not charged/)
    assert.equal((await refused.locator(sel('log-cost')).textContent()).trim(), '$0.00')
    await screenshot(page, 'en-admin-request-log')

    await page.fill(sel('f-model'), MODEL_B)
    await page.click(sel('f-apply'))
    await page.waitForURL((u) => u.searchParams.get('model') === MODEL_B)
    await waitRows(page, 1)
    assert.equal((await rows(page).first().locator(sel('log-cost')).textContent()).trim(), '$0.00035')
    assert.match(await rows(page).first().textContent(), new RegExp(USER.email))
    await screenshot(page, 'en-admin-request-log-filtered')

    // The export carries the same filter.
    const href = await page.getAttribute(sel('csv-export'), 'href')
    assert.equal(new URL(href, server.url).searchParams.get('model'), MODEL_B)
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(sel('csv-export'))])
    const csv = readFileSync(await download.path(), 'utf8').trim().split('\n')
    assert.equal(csv.length, 2, csv.join('\n'))
    const header = csv[0].split(',')
    const row = Object.fromEntries(csv[1].split(',').map((v, i) => [header[i], v]))
    assert.equal(row.model, MODEL_B)
    assert.equal(row.cost_usd, '0.00035')
    assert.equal(row.user_email, USER.email)
    assert.equal(row.upstream_name, UPSTREAM)

    // A bad status filter is refused in place.
    await page.fill(sel('f-status'), '6xx')
    await page.click(sel('f-apply'))
    await page.waitForSelector(sel('f-status-error'))
    assert.deepEqual(await missingKeys(page), [])
    assert.deepEqual(page.errors, [])
    await page.context().close()
  })

  it('a user sees only their own requests, without the upstream', async () => {
    const res = await userApi('GET', '/user/request-log')
    const body = await res.json()
    assert.equal(body.entries.length, 4)
    assert.ok(body.entries.every((e) => e.user_email === USER.email && !('upstream_name' in e)))

    const page = await newPage(browser)
    await login(page, server.url, USER)
    await page.click(sel('nav-requests'))
    await page.waitForURL((u) => u.pathname === '/request-log')
    await waitRows(page, 4)
    assert.equal(await page.locator(sel('f-user_id')).count(), 0)
    const headers = await page.locator('table.log th').allTextContents()
    assert.ok(!headers.some((h) => /upstream|user/i.test(h)), headers.join('|'))
    assert.doesNotMatch(await page.locator('table.log').textContent(), new RegExp(UPSTREAM))
    assert.equal(await rows(page).filter({ hasText: MODEL_A }).count(), 2)
    // The key filter lists the user's own keys by name.
    await page.selectOption(sel('f-key_id'), { label: 'e2e-user-key' })
    await page.click(sel('f-apply'))
    await page.waitForURL((u) => u.searchParams.has('key_id'))
    await waitRows(page, 4)
    const href = await page.getAttribute(sel('csv-export'), 'href')
    assert.ok(href.startsWith('/api/v1/user/request-log.csv?key_id='), href)
    await screenshot(page, 'en-user-request-log')
    assert.deepEqual(await missingKeys(page), [])
    assert.deepEqual(page.errors, [])
    await page.context().close()
  })

  for (const lang of ['en', 'zh']) {
    it(`the dashboard draws the charts (${lang})`, async () => {
      const page = await newPage(browser, { lang })
      await login(page, server.url, USER)
      await page.goto(`${server.url}/dashboard`)
      for (const id of ['chart-day', 'chart-model', 'chart-key']) await page.waitForSelector(`${sel(id)} canvas`)
      assert.equal(await page.locator(sel('ranking-user')).count(), 0, 'top users are for admins')
      const painted = await page.evaluate(() => {
        const c = document.querySelector('[data-test="chart-model"] canvas')
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
        return px.some((v, i) => i % 4 === 3 && v > 0)
      })
      assert.ok(painted, 'the by-model chart is drawn')
      const total = await (await userApi('GET', '/user/analytics?days=30')).json()
      assert.equal(total.total.requests, 3)
      assert.deepEqual(total.by_model.map((m) => m.model), [MODEL_A, MODEL_B])
      await waitText(page, sel('analytics-user'), (t) => t.includes(lang === 'zh' ? '按模型' : 'By model'))
      await screenshot(page, `${lang}-user-dashboard-charts`)
      // Switching the metric and the range keeps the charts.
      const reload = page.waitForResponse((r) => r.url().includes('/api/v1/user/analytics?days=7'))
      await page.selectOption(sel('analytics-range'), '7')
      assert.equal((await reload).status(), 200)
      await page.click(sel('metric-tokens'))
      await page.waitForSelector(`${sel('chart-model')} canvas`)
      assert.equal(await page.getAttribute(sel('metric-tokens'), 'aria-pressed'), 'true')
      assert.deepEqual(await missingKeys(page), [])
      assert.deepEqual(page.errors, [])
      await page.context().close()
    })
  }

  it('the admin analytics page ranks the top users', async () => {
    const page = await newPage(browser)
    await login(page, server.url, ADMIN)
    await page.click(sel('nav-analytics'))
    await page.waitForURL((u) => u.pathname === '/admin/analytics')
    for (const id of ['chart-day', 'chart-model', 'chart-key', 'chart-user']) await page.waitForSelector(`${sel(id)} canvas`)
    const body = await (await api('GET', '/admin/analytics?days=30')).json()
    assert.equal(body.total.requests, 4)
    assert.equal(body.top_users[0].email, USER.email)
    await screenshot(page, 'en-admin-analytics')
    assert.deepEqual(await missingKeys(page), [])
    assert.deepEqual(page.errors, [])
    await page.context().close()
  })
  it('the admin sets the retention in Settings (7 to 3650 days, 0 or empty keeps everything)', async () => {
    const page = await newPage(browser)
    await login(page, server.url, ADMIN)
    await page.goto(`${server.url}/admin/settings`)
    await page.waitForSelector(sel('retention-days'))
    assert.equal(await page.inputValue(sel('retention-days')), '')
    await page.fill(sel('retention-days'), '5')
    await page.waitForSelector(sel('retention-error'))
    assert.equal(await page.isDisabled(sel('retention-save')), true)
    await page.fill(sel('retention-days'), '30')
    await page.click(sel('retention-save'))
    await page.waitForSelector(sel('retention-saved'))
    assert.equal((await (await api('GET', '/admin/settings')).json()).settings.request_log_retention_days, 30)
    await page.fill(sel('retention-days'), '')
    await page.click(sel('retention-save'))
    await page.waitForSelector(sel('retention-saved'))
    assert.equal((await (await api('GET', '/admin/settings')).json()).settings.request_log_retention_days, null)
    assert.deepEqual(await missingKeys(page), [])
    assert.deepEqual(page.errors, [])
    await page.context().close()
  })
})
