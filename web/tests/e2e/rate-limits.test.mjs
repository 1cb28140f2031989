// Rate limits in the console (docs/rate-limits.md): an admin sets a default RPM in the settings page
// and one user's override in the users page; both are saved and read back after a reload.
import assert from 'node:assert/strict'
import { after, before, describe, it, test } from 'node:test'
import { ADMIN, launchBrowser, login, missingKeys, newPage, screenshot, sel, startServer, unavailableReason } from './harness.mjs'

const skip = unavailableReason()

if (skip && process.env.TOLLGATE_E2E_REQUIRED === '1') {
  test('Tollgate rate limits (browser)', () => assert.fail(`browser tests cannot run: ${skip}`))
} else if (skip) test('Tollgate rate limits (browser)', { skip }, () => {})
else describe('Tollgate rate limits', () => {
  let server
  let browser

  before(async () => {
    server = await startServer()
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('admin sets a default RPM and a user override, and sees them saved', async () => {
    const admin = await newPage(browser)
    await login(admin, server.url, ADMIN)

    // Default: 60 requests per minute on Anthropic; a bad value is refused in place first.
    await admin.goto(`${server.url}/admin/settings`)
    await admin.waitForSelector(sel('rate-default-anthropic-rpm'))
    await admin.fill(sel('rate-default-anthropic-rpm'), '0')
    await admin.waitForSelector(sel('rate-default-err-anthropic-rpm'))
    await admin.fill(sel('rate-default-anthropic-rpm'), '60')
    await admin.click(`${sel('rate-source-github')} summary`)
    await admin.fill(sel('rate-github-openai-concurrency'), '2')
    const put = admin.waitForResponse((r) => r.url().endsWith('/api/v1/admin/settings') && r.request().method() === 'PUT')
    await admin.click(sel('rate-defaults-save'))
    const res = await put
    assert.equal(res.status(), 200, await res.text())
    const body = JSON.parse(res.request().postData())
    assert.deepEqual(body.default_rate_limits, { anthropic: { rpm: 60, tpm: null, concurrency: null } })
    assert.deepEqual(body.auth_source_default_github_rate_limits, { openai: { rpm: null, tpm: null, concurrency: 2 } })
    assert.deepEqual(Object.keys(body).sort(), ['auth_source_default_dingtalk_rate_limits', 'auth_source_default_email_rate_limits',
      'auth_source_default_github_rate_limits', 'auth_source_default_google_rate_limits', 'auth_source_default_linuxdo_rate_limits',
      'auth_source_default_oidc_rate_limits', 'auth_source_default_wechat_rate_limits', 'default_rate_limits'])
    await admin.waitForSelector(sel('rate-defaults-saved'))
    await admin.reload()
    await admin.waitForSelector(sel('rate-default-anthropic-rpm'))
    assert.equal(await admin.inputValue(sel('rate-default-anthropic-rpm')), '60')
    assert.equal(await admin.inputValue(sel('rate-github-openai-concurrency')), '2')
    await screenshot(admin, 'en-admin-rate-limit-defaults')

    // Override for the admin's own account: Anthropic 5 rpm (the default shows as a placeholder).
    await admin.goto(`${server.url}/admin/users`)
    await admin.click(`${sel(`user-row-${ADMIN.email}`)} ${sel('user-rate-limits')}`)
    await admin.waitForSelector(sel('user-rate-anthropic-rpm'))
    assert.match(await admin.getAttribute(sel('user-rate-anthropic-rpm'), 'placeholder'), /60/)
    await admin.check(sel('user-rate-anthropic-override'))
    await admin.fill(sel('user-rate-anthropic-rpm'), '5')
    const putUser = admin.waitForResponse((r) => /\/api\/v1\/admin\/users\/\d+\/rate-limits$/.test(r.url()) && r.request().method() === 'PUT')
    await admin.click(sel('user-rate-save'))
    const resUser = await putUser
    assert.equal(resUser.status(), 200, await resUser.text())
    assert.deepEqual(JSON.parse(resUser.request().postData()), { rate_limits: [{ platform: 'anthropic', rpm: 5, tpm: null, concurrency: null }] })
    const saved = await resUser.json()
    assert.equal(saved.effective.find((e) => e.platform === 'anthropic').rpm, 5)
    await admin.waitForSelector(sel('user-rate-saved'))
    await screenshot(admin, 'en-admin-user-rate-limits')

    await admin.reload()
    await admin.click(`${sel(`user-row-${ADMIN.email}`)} ${sel('user-rate-limits')}`)
    await admin.waitForSelector(sel('user-rate-anthropic-rpm'))
    assert.equal(await admin.inputValue(sel('user-rate-anthropic-rpm')), '5')
    assert.deepEqual(await missingKeys(admin), [])
    await admin.context().close()
  })

  it('shows the rate limit pages in Chinese without missing keys', async () => {
    const page = await newPage(browser, { lang: 'zh' })
    await login(page, server.url, ADMIN)
    await page.goto(`${server.url}/admin/settings`)
    await page.waitForSelector(sel('rate-default-anthropic-rpm'))
    await screenshot(page, 'zh-admin-rate-limit-defaults')
    assert.deepEqual(await missingKeys(page), [])
    await page.goto(`${server.url}/keys`)
    await page.waitForSelector(sel('key-create'))
    assert.deepEqual(await missingKeys(page), [])
    await page.context().close()
  })
})
