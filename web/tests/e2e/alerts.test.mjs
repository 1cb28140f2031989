// Threshold alerts in the console (docs/alerts.md): the admin sets the thresholds in Settings, a user's
// spend crosses 80 % of a daily cap through the gateway (a tiny local Anthropic-shaped upstream), and
// the notice appears on the user's dashboard; switching the language saves it for the user's emails.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, describe, it, test } from 'node:test'
import { ADMIN, launchBrowser, login, missingKeys, newPage, screenshot, sel, startServer, unavailableReason, waitText } from './harness.mjs'

const skip = unavailableReason() ?? (process.env.TOLLGATE_E2E_MOCK === '1' ? 'needs the real gateway' : null)
const USER = { email: `alerts${Date.now()}@example.com`, password: 'user-pass-12345' }
const MODEL = 'e2e-alert-model'

/** An upstream answering every Anthropic message with 100 input and 50 output tokens. */
async function startUpstream() {
  const srv = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({
        id: 'msg_e2e', type: 'message', role: 'assistant', model: MODEL, stop_reason: 'end_turn', stop_sequence: null,
        content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 100, output_tokens: 50 },
      }))
    })
  })
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${srv.address().port}`, stop: () => new Promise((r) => srv.close(r)) }
}

if (skip && process.env.TOLLGATE_E2E_REQUIRED === '1' && process.env.TOLLGATE_E2E_MOCK !== '1') {
  test('Threshold alerts (browser)', () => assert.fail(`browser tests cannot run: ${skip}`))
} else if (skip) test('Threshold alerts (browser)', { skip }, () => {})
else describe('Threshold alerts', () => {
  let server
  let upstream
  let browser
  let api // (method, path, body, token?) => Response, as the admin by default
  let adminToken

  before(async () => {
    server = await startServer()
    upstream = await startUpstream()
    browser = await launchBrowser()
    const call = (token) => (method, path, body) =>
      fetch(`${server.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body && JSON.stringify(body),
      })
    const signin = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN),
    })
    adminToken = (await signin.json()).token
    api = call(adminToken)
    api.as = call
  })
  after(async () => {
    await browser?.close()
    await upstream?.stop()
    await server?.stop()
  })

  it('admin sets the thresholds in Settings', async () => {
    const admin = await newPage(browser)
    await login(admin, server.url, ADMIN)
    await admin.goto(`${server.url}/admin/settings`)
    await admin.waitForSelector(sel('alert-thresholds'))
    assert.equal(await admin.inputValue(sel('alert-thresholds')), '80, 100')
    await admin.fill(sel('alert-thresholds'), '101')
    await admin.waitForSelector(sel('alert-thresholds-error'))
    await admin.fill(sel('alert-thresholds'), '100, 80, 50')
    const put = admin.waitForResponse((r) => r.url().endsWith('/api/v1/admin/settings') && r.request().method() === 'PUT')
    await admin.click(sel('alert-save'))
    const res = await put
    assert.equal(res.status(), 200, await res.text())
    assert.deepEqual(JSON.parse(res.request().postData()).alert_thresholds, [50, 80, 100])
    await admin.waitForSelector(sel('alert-saved'))
    await admin.reload()
    await admin.waitForSelector(sel('alert-thresholds'))
    assert.equal(await admin.inputValue(sel('alert-thresholds')), '50, 80, 100')
    await screenshot(admin, 'en-admin-settings-alerts')
    assert.deepEqual(await missingKeys(admin), [])
    assert.deepEqual(admin.errors, [])
    await admin.context().close()
  })

  it('a user crossing 80 % of a cap sees a notice on the dashboard', async () => {
    // The gateway's side: an upstream, a price ($3 / $15 per MTok: 0.00105 USD per answer), a user
    // with a 0.0025 USD daily cap and a key.
    const up = await api('POST', '/admin/upstreams', { platform: 'anthropic', name: 'e2e-alert-upstream', base_url: upstream.url, api_key: 'k', enabled: true, priority: 0, protocol: 'native' })
    assert.equal(up.status, 201, await up.text())
    const price = await api('PUT', `/admin/pricing/${MODEL}`, { platform: 'anthropic', input_per_mtok: 3, output_per_mtok: 15 })
    assert.equal(price.status, 200, await price.text())
    const created = await api('POST', '/admin/users', { email: USER.email, password: USER.password, display_name: 'Alert User' })
    const createdText = await created.text()
    assert.equal(created.status, 201, createdText)
    const { id } = JSON.parse(createdText)
    const quotas = { quotas: [{ platform: 'anthropic', daily_limit_usd: 0.0025, weekly_limit_usd: null, monthly_limit_usd: null }] }
    assert.equal((await api('PUT', `/admin/users/${id}/platform-quotas`, quotas)).status, 200)
    const userLogin = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(USER),
    })
    const userApi = api.as((await userLogin.json()).token)
    const key = await (await userApi('POST', '/user/api-keys', { name: 'e2e-alerts' })).json()
    // Two answers: 42 %, then 84 % (50 % and 80 % reached).
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${server.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key.secret, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
      })
      assert.equal(r.status, 200, await r.text())
    }

    const page = await newPage(browser)
    await login(page, server.url, USER)
    await page.goto(`${server.url}/dashboard`)
    // The alert is recorded moments after the charge is written.
    for (let i = 0; i < 50 && (await page.locator(sel('notices')).count()) === 0; i++) {
      await page.waitForTimeout(200)
      await page.reload()
    }
    const text = await waitText(page, sel('notices'), (t) => t.includes('80%'))
    assert.match(text, /Anthropic Daily quota: 80% used \(\$0\.0021 of \$0\.0025\)/)
    assert.equal(await page.locator(`${sel('notices')} li`).count(), 2, 'the 50 % and 80 % notices')
    await screenshot(page, 'en-user-dashboard-notice')

    // Switching to Chinese saves the language (for the emails) and shows the notice in Chinese.
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/v1/user/language') && r.request().method() === 'PUT')
    await page.selectOption(sel('lang-switch'), 'zh')
    assert.equal((await saved).status(), 200)
    await waitText(page, sel('notices'), (t) => t.includes('Anthropic 每日额度已使用 80%'))
    const lang = await (await userApi('GET', '/user/language')).json()
    assert.equal(lang.language, 'zh')
    await screenshot(page, 'zh-user-dashboard-notice')

    // Marking all read hides the card.
    await page.click(sel('notices-read-all'))
    await page.waitForSelector(sel('notices'), { state: 'detached' })
    assert.deepEqual(await missingKeys(page), [])
    assert.deepEqual(page.errors, [])
    await page.context().close()
  })
})
