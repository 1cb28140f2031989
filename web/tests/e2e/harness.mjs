// Browser-test harness: starts a real `tollgate serve` on a fresh SQLite file (or the in-memory mock
// when TOLLGATE_E2E_MOCK=1), and a headless system Chromium through playwright-core (no browser download).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const WEB_DIR = fileURLToPath(new URL('../../', import.meta.url))
export const SCREENSHOT_DIR = join(WEB_DIR, 'tests/e2e/screenshots')
export const ADMIN = { email: 'admin@example.com', password: 'admin-pass-123' }
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const BIN = resolve(WEB_DIR, process.env.TOLLGATE_BIN ?? '../target/debug/tollgate')
const USE_MOCK = process.env.TOLLGATE_E2E_MOCK === '1'

/** Why the suite cannot run here, or null. The suite skips (with this reason) instead of failing. */
export function unavailableReason() {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`
  if (!USE_MOCK && !existsSync(BIN)) return `no server binary at ${BIN} (cargo build, or set TOLLGATE_BIN)`
  if (USE_MOCK && !existsSync(join(WEB_DIR, 'dist/index.html'))) return 'web/dist is missing (npm run build)'
  return null
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer()
    s.once('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })
}

async function waitReady(url, proc, logs, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`tollgate exited with ${proc.exitCode}:\n${logs.join('')}`)
    try {
      const r = await fetch(`${url}/readyz`)
      if (r.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`tollgate not ready after ${timeoutMs} ms:\n${logs.join('')}`)
}

/** Starts the server with one admin. Returns { url, stop, logs }. */
export async function startServer() {
  if (USE_MOCK) {
    const { startMockServer } = await import('./support/mock-server.mjs')
    const s = await startMockServer({ adminEmail: ADMIN.email, adminPassword: ADMIN.password })
    return { url: s.url, stop: s.stop, logs: [] }
  }
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-'))
  const db = `sqlite://${join(dir, 't.db')}`
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info' }
  const created = spawnSync(BIN, ['admin', 'create', '--email', ADMIN.email, '--password', ADMIN.password, '--database-url', db], {
    env,
    encoding: 'utf8',
  })
  if (created.status !== 0) throw new Error(`admin create failed (${created.status}): ${created.stderr}${created.stdout}`)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const logs = []
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--database-url', db, '--data-dir', dir]
  const proc = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  proc.stdout.on('data', (d) => logs.push(String(d)))
  proc.stderr.on('data', (d) => logs.push(String(d)))
  await waitReady(url, proc, logs)
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  return { url, stop, logs }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** A context in the given UI language; page errors are collected so tests can assert there are none. */
export async function newPage(browser, { lang = 'en', width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale: lang === 'zh' ? 'zh-CN' : 'en-US' })
  await context.addInitScript((l) => localStorage.setItem('tollgate.locale', l), lang)
  const page = await context.newPage()
  page.errors = []
  page.on('pageerror', (e) => page.errors.push(e.message))
  // The server sends a strict Content-Security-Policy; anything the built console needs and the
  // policy blocks is reported on the console, and counted as a page error.
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|apply|execute|connect|frame)/i.test(m.text())) page.errors.push(`CSP: ${m.text()}`)
  })
  return page
}

export const sel = (id) => `[data-test="${id}"]`

export async function login(page, base, { email, password }) {
  await page.goto(`${base}/login`)
  await page.fill(sel('login-email'), email)
  await page.fill(sel('login-password'), password)
  await page.click(sel('login-submit'))
  await page.waitForURL((u) => !u.pathname.startsWith('/login'))
}

export async function missingKeys(page) {
  return page.evaluate(() => window.__i18nMissing ?? ['__i18nMissing not installed'])
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
}

/** Polls until the element's text satisfies `pred` (a CSP-proof alternative to waitForFunction); returns the text. */
export async function waitText(page, selector, pred, timeout = 10_000) {
  const deadline = Date.now() + timeout
  let last = null
  while (Date.now() < deadline) {
    last = await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null)
    if (last !== null && pred(last)) return last
    await page.waitForTimeout(100)
  }
  throw new Error(`timed out waiting for text of ${selector}; last: ${JSON.stringify(last)}`)
}
