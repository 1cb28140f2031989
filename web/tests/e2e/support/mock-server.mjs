// In-memory stand-in for the console API of docs/console-api.md, serving web/dist like the real binary.
// It exists so the UI and the browser tests can be exercised before (or without) the Rust server:
// `TOLLGATE_E2E_MOCK=1 npm run test:e2e`, or `node tests/e2e/support/mock-server.mjs 8080` for a demo.
// It is not the reference: where it and the server differ, the server and the contract win.
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'

const PLATFORMS = ['anthropic', 'openai', 'gemini', 'antigravity']
const WINDOWS = ['daily', 'weekly', 'monthly']
const SOURCES = ['email', 'linuxdo', 'oidc', 'wechat', 'github', 'google', 'dingtalk']
const DIST = fileURLToPath(new URL('../../../dist/', import.meta.url))
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' }

class HttpError extends Error {
  constructor(status, code, message, field) {
    super(message)
    Object.assign(this, { status, code, field })
  }
}
const bad = (field, message = 'invalid value') => new HttpError(400, 'invalid_input', message, field)

function validLimit(v, field) {
  if (v === null || v === undefined) return null
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(field, 'must be null or a non-negative number')
  if (!/^\d+(\.\d{1,9})?$/.test(String(v))) throw bad(field, 'at most 9 decimals')
  return v
}

function validLimits(obj, key) {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw bad(key, 'must be an object')
  const out = {}
  for (const [p, w] of Object.entries(obj)) {
    if (!PLATFORMS.includes(p)) throw bad(`${key}.${p}`, 'unknown platform')
    out[p] = {}
    for (const [win, v] of Object.entries(w ?? {})) {
      if (!WINDOWS.includes(win)) throw bad(`${key}.${p}.${win}`, 'unknown window')
      out[p][win] = validLimit(v, `${key}.${p}.${win}`)
    }
  }
  return out
}

function windowBounds(now = new Date()) {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
  const dow = (day.getUTCDay() + 6) % 7
  const week = new Date(day.getTime() - dow * 86400e3)
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
  const end = {
    daily: new Date(day.getTime() + 86400e3),
    weekly: new Date(week.getTime() + 7 * 86400e3),
    monthly: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
  }
  return { start: { daily: day, weekly: week, monthly: month }, end }
}
const iso = (d) => d.toISOString().replace('.000Z', '+00:00')

export function createState() {
  const settings = {
    default_platform_quotas: {},
    quota_timezone: 'UTC',
    monthly_window: 'calendar',
    quota_enforcement: 'soft',
    registration_enabled: false,
    alert_thresholds: [80, 100],
    alert_webhook: {},
    alert_email: {},
  }
  for (const s of SOURCES) settings[`auth_source_default_${s}_platform_quotas`] = {}
  settings.default_rate_limits = {}
  for (const s of SOURCES) settings[`auth_source_default_${s}_rate_limits`] = {}
  return { settings, rateLimits: new Map(), users: [], quotas: new Map(), sessions: new Map(), keys: [], upstreams: [], prices: [], audit: [], seq: 1 }
}

function snapshotDefaults(st, source) {
  const sys = st.settings.default_platform_quotas
  const over = st.settings[`auth_source_default_${source}_platform_quotas`] ?? {}
  const rows = new Map()
  for (const p of PLATFORMS) {
    const limits = {}
    for (const w of WINDOWS) {
      const o = over[p]?.[w]
      limits[w] = o !== null && o !== undefined ? o : (sys[p]?.[w] ?? null)
    }
    if (WINDOWS.some((w) => limits[w] !== null)) rows.set(p, { limits, usage: { daily: 0, weekly: 0, monthly: 0 } })
  }
  return rows
}

function addUser(st, { email, password, display_name = '', role = 'user', auth_source = 'email', cost_multiplier = 1 }, applyDefaults) {
  if (!/^[^\s@]+@[^\s@]+$/.test(email ?? '')) throw bad('email', 'invalid email')
  if (!password || password.length < 8) throw bad('password', 'at least 8 characters')
  if (st.users.some((u) => u.email === email)) throw new HttpError(409, 'conflict', 'email already registered', 'email')
  const user = { id: st.seq++, email, display_name, role, status: 'active', auth_source, cost_multiplier, created_at: iso(new Date()), password }
  st.users.push(user)
  st.quotas.set(user.id, applyDefaults ? snapshotDefaults(st, auth_source) : new Map())
  return user
}

const publicUser = ({ password: _p, ...u }) => u

function adminView(st, userId) {
  const { start, end } = windowBounds()
  return [...(st.quotas.get(userId) ?? new Map())].map(([platform, row]) => {
    const v = { platform }
    for (const w of WINDOWS) {
      v[`${w}_limit_usd`] = row.limits[w]
      v[`${w}_usage_usd`] = row.usage[w]
      v[`${w}_resets_at`] = row.limits[w] === null && !row.usage[w] ? null : iso(end[w])
      v[`${w}_window_start`] = row.usage[w] ? iso(start[w]) : null
    }
    return v
  })
}
const userView = (st, id) => adminView(st, id).map((v) => Object.fromEntries(Object.entries(v).filter(([k]) => !k.endsWith('_window_start'))))

function limitsList(st, id) {
  return [...(st.quotas.get(id) ?? new Map())]
    .filter(([, r]) => WINDOWS.some((w) => r.limits[w] !== null))
    .map(([platform, r]) => ({ platform, daily_limit_usd: r.limits.daily, weekly_limit_usd: r.limits.weekly, monthly_limit_usd: r.limits.monthly }))
}

function parseCookies(h = '') {
  return Object.fromEntries(h.split(';').map((p) => p.trim().split('=')).filter((p) => p[0]).map(([k, ...v]) => [k, v.join('=')]))
}

async function body(req) {
  const chunks = []
  for await (const c of req) chunks.push(c)
  if (!chunks.length) return {}
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw bad(null, 'body is not JSON')
  }
}

function audit(st, actor, action, target, platform, before, after) {
  st.audit.unshift({ id: st.seq++, at: iso(new Date()), actor_id: actor?.id ?? null, actor_email: actor?.email ?? null, action, target_user_id: target, platform, before, after })
}

// Rate limits (docs/rate-limits.md): whole numbers >= 1 or null.
function validRate(v, field) {
  if (v === null || v === undefined) return null
  if (!Number.isInteger(v) || v < 1 || v > 1e9) throw bad(field, 'must be a whole number from 1 to 1000000000, or null')
  return v
}
const RATE_KINDS = ['rpm', 'tpm', 'concurrency']
function validRateLayer(v, key) {
  const out = {}
  for (const [p, l] of Object.entries(v ?? {})) {
    if (!PLATFORMS.includes(p)) throw bad(`${key}.${p}`, 'unknown platform')
    out[p] = Object.fromEntries(RATE_KINDS.map((k) => [k, validRate(l?.[k], `${key}.${p}.${k}`)]))
  }
  return out
}
function validRateEntries(data) {
  if (!Array.isArray(data?.rate_limits)) throw bad('rate_limits', 'is required')
  return data.rate_limits.map((e, i) => {
    if (!PLATFORMS.includes(e?.platform)) throw bad(`rate_limits[${i}].platform`, 'unknown platform')
    return { platform: e.platform, ...Object.fromEntries(RATE_KINDS.map((k) => [k, validRate(e[k], `rate_limits[${i}].${k}`)])) }
  })
}
function userRateView(st, user) {
  const overrides = st.rateLimits.get(`user:${user.id}`) ?? []
  const sys = st.settings.default_rate_limits ?? {}
  const src = st.settings[`auth_source_default_${user.auth_source}_rate_limits`] ?? {}
  const defaults = PLATFORMS.map((p) => ({ platform: p, ...Object.fromEntries(RATE_KINDS.map((k) => [k, src[p]?.[k] ?? sys[p]?.[k] ?? null])) }))
  const effective = defaults.map((d) => overrides.find((o) => o.platform === d.platform) ?? d)
  return { user_id: user.id, overrides, defaults, effective }
}

function route(st, method, path, ctx) {
  const { me, data, query, setSession, clearSession } = ctx
  const need = (role) => {
    if (!me) throw new HttpError(401, 'unauthenticated', 'sign in first')
    if (role === 'admin' && me.role !== 'admin') throw new HttpError(403, 'forbidden', 'admins only')
  }
  const findUser = (id) => st.users.find((u) => u.id === Number(id)) ?? (() => { throw new HttpError(404, 'not_found', 'no such user') })()
  let m
  if (method === 'GET' && path === '/meta') {
    return { platforms: PLATFORMS, windows: WINDOWS, auth_sources: SOURCES, login: { password: true, registration: st.settings.registration_enabled, oauth: ['github'] }, version: 'mock' }
  }
  if (method === 'POST' && path === '/auth/login') {
    const u = st.users.find((x) => x.email === data.email && x.password === data.password && x.status === 'active')
    if (!u) throw new HttpError(401, 'unauthenticated', 'wrong email or password')
    return { token: setSession(u), user: publicUser(u) }
  }
  if (method === 'POST' && path === '/auth/register') {
    if (!st.settings.registration_enabled) throw new HttpError(403, 'forbidden', 'registration is closed')
    const u = addUser(st, data, true)
    return { token: setSession(u), user: publicUser(u) }
  }
  if (method === 'POST' && path === '/auth/logout') return clearSession(), {}
  if (method === 'GET' && path === '/me') return need('user'), publicUser(me)

  if (path.startsWith('/admin/')) need('admin')
  if (path === '/admin/settings' && method === 'GET') return { settings: st.settings }
  if (path === '/admin/settings' && method === 'PUT') {
    const next = { ...st.settings }
    for (const [k, v] of Object.entries(data)) {
      if (v === null) continue
      if (k.endsWith('rate_limits')) {
        if (!(k in st.settings)) throw bad(k, 'unknown key')
        next[k] = validRateLayer(v, k)
      } else if (k.endsWith('platform_quotas')) {
        if (!(k in st.settings)) throw bad(k, 'unknown key')
        next[k] = validLimits(v, k)
      } else if (k === 'quota_timezone') {
        try { new Intl.DateTimeFormat('en', { timeZone: v }) } catch { throw bad(k, 'unknown time zone') }
        next[k] = v
      } else if (k === 'monthly_window' && ['calendar', 'rolling_30d'].includes(v)) next[k] = v
      else if (k === 'quota_enforcement' && ['soft', 'strict'].includes(v)) next[k] = v
      else if (k === 'registration_enabled' && typeof v === 'boolean') next[k] = v
      else if (k === 'alert_thresholds' && Array.isArray(v) && v.every((n) => Number.isInteger(n) && n >= 1 && n <= 100)) next[k] = [...new Set(v)].sort((a, b) => a - b)
      else if (k === 'alert_webhook' && typeof v === 'object') {
        // The secret is write-only: reads show secret_set.
        const { secret, ...rest } = v
        next[k] = v.url ? { ...rest, secret_set: !!secret || !!st.settings.alert_webhook?.secret_set } : {}
      } else if (k === 'alert_email' && typeof v === 'object') {
        const { password, ...rest } = v
        next[k] = v.smtp_host ? { ...rest, password_set: !!password || !!st.settings.alert_email?.password_set } : {}
      } else throw bad(k)
    }
    audit(st, me, 'settings.update', null, null, st.settings, next)
    st.settings = next
    return { settings: st.settings }
  }
  if (path === '/admin/users' && method === 'GET') {
    const q = (query.get('q') ?? '').toLowerCase()
    const page = Number(query.get('page') ?? 1)
    const per = Number(query.get('per_page') ?? 20)
    const all = st.users.filter((u) => !q || u.email.toLowerCase().includes(q) || u.display_name.toLowerCase().includes(q))
    const users = all.slice((page - 1) * per, page * per).map((u) => ({ ...publicUser(u), platform_limits: limitsList(st, u.id) }))
    return { users, total: all.length, page, per_page: per }
  }
  if (path === '/admin/users' && method === 'POST') {
    return [201, publicUser(addUser(st, data, data.apply_default_quotas !== false))]
  }
  if ((m = /^\/admin\/users\/(\d+)$/.exec(path))) {
    const u = findUser(m[1])
    if (method === 'PATCH') {
      for (const k of ['display_name', 'role', 'status', 'cost_multiplier', 'password']) if (k in data) u[k] = data[k]
    }
    return publicUser(u)
  }
  if ((m = /^\/admin\/users\/(\d+)\/platform-quotas$/.exec(path))) {
    const u = findUser(m[1])
    if (method === 'PUT') {
      const rows = st.quotas.get(u.id) ?? new Map()
      const seen = new Set()
      ;(data.quotas ?? []).forEach((q, i) => {
        if (!PLATFORMS.includes(q.platform) || seen.has(q.platform)) throw bad(`quotas[${i}].platform`, 'unknown or duplicate platform')
        seen.add(q.platform)
        for (const w of WINDOWS) validLimit(q[`${w}_limit_usd`], `quotas[${i}].${w}_limit_usd`)
      })
      const before = limitsList(st, u.id)
      for (const [p, r] of rows) if (!seen.has(p)) r.limits = { daily: null, weekly: null, monthly: null }
      for (const q of data.quotas ?? []) {
        const r = rows.get(q.platform) ?? { usage: { daily: 0, weekly: 0, monthly: 0 } }
        r.limits = { daily: q.daily_limit_usd ?? null, weekly: q.weekly_limit_usd ?? null, monthly: q.monthly_limit_usd ?? null }
        rows.set(q.platform, r)
      }
      st.quotas.set(u.id, rows)
      audit(st, me, 'user.quotas.update', u.id, null, before, limitsList(st, u.id))
    }
    return { platform_quotas: adminView(st, u.id) }
  }
  if ((m = /^\/admin\/users\/(\d+)\/platform-quotas\/reset$/.exec(path)) && method === 'POST') {
    const u = findUser(m[1])
    const row = st.quotas.get(u.id)?.get(data.platform)
    if (!WINDOWS.includes(data.window)) throw bad('window')
    if (!row) throw new HttpError(404, 'not_found', 'no quota row for this platform')
    audit(st, me, 'user.quota.reset', u.id, data.platform, { [data.window]: row.usage[data.window] }, { [data.window]: 0 })
    row.usage[data.window] = 0
    return { platform_quotas: adminView(st, u.id) }
  }
  if (path === '/admin/audit' && method === 'GET') {
    const page = Number(query.get('page') ?? 1)
    const per = Number(query.get('per_page') ?? 20)
    const uid = query.get('user_id')
    const all = st.audit.filter((e) => !uid || e.target_user_id === Number(uid))
    return { entries: all.slice((page - 1) * per, page * per), total: all.length }
  }
  if (path === '/admin/upstreams' && method === 'GET') return { upstreams: st.upstreams.map(maskUpstream) }
  if (path === '/admin/upstreams' && method === 'POST') {
    const u = { id: st.seq++, protocol: 'native', enabled: true, priority: 0, ...data }
    st.upstreams.push(u)
    return [201, maskUpstream(u)]
  }
  if ((m = /^\/admin\/upstreams\/(\d+)$/.exec(path))) {
    const i = st.upstreams.findIndex((u) => u.id === Number(m[1]))
    if (i < 0) throw new HttpError(404, 'not_found', 'no such upstream')
    if (method === 'DELETE') return st.upstreams.splice(i, 1), [204, null]
    Object.assign(st.upstreams[i], data)
    return maskUpstream(st.upstreams[i])
  }
  if (path === '/admin/pricing' && method === 'GET') {
    return { models: st.prices, fallback: { anthropic: { input_per_mtok: 3, output_per_mtok: 15 }, openai: null, gemini: { input_per_mtok: 1.25, output_per_mtok: 10 }, antigravity: null } }
  }
  if (path === '/admin/pricing/unpriced' && method === 'GET') {
    return (st.unpriced ?? []).filter((u) => !st.prices.some((p) => p.model === u.model))
  }
  if (path === '/admin/pricing/import' && method === 'POST') {
    let file
    try {
      file = JSON.parse(data.file ?? '')
    } catch {
      throw new HttpError(400, 'invalid_input', 'must be a JSON object', 'file.(file)')
    }
    const models = file.models ?? {}
    const changes = Object.entries(models).map(([model, after]) => ({ model, before: st.prices.find((p) => p.model === model) ?? null, after }))
    if (data.apply) for (const c of changes) st.prices = [...st.prices.filter((p) => p.model !== c.model), { model: c.model, ...c.after, source: 'override' }]
    return { format: 'tollgate', skipped: 0, changes, applied: !!data.apply }
  }
  if ((m = /^\/admin\/pricing\/(.+)$/.exec(path)) && method === 'PUT') {
    const model = decodeURIComponent(m[1])
    const row = { model, ...data, source: 'override' }
    st.prices = [...st.prices.filter((p) => p.model !== model), row]
    return row
  }

  need('user')
  if (path === '/user/platform-quotas') return { platform_quotas: userView(st, me.id) }
  if (path === '/user/notices' && method === 'GET') return { notices: [], unread: 0 }
  if ((/^\/user\/notices\/(\d+)\/read$/.test(path) || path === '/user/notices/read-all') && method === 'POST') return { ok: true }
  if (path === '/user/language' && method === 'PUT') {
    if (!['en', 'zh'].includes(data.language)) throw bad('language', 'must be "en" or "zh"')
    return { language: data.language }
  }
  if (path === '/user/usage') {
    const days = Math.min(90, Math.max(1, Number(query.get('days') ?? 30)))
    const today = windowBounds().start.daily
    const series = [...(st.quotas.get(me.id)?.keys() ?? [])].map((platform) => ({
      platform,
      points: Array.from({ length: days }, (_, i) => ({ date: new Date(today.getTime() - (days - 1 - i) * 86400e3).toISOString().slice(0, 10), cost_usd: 0, requests: 0 })),
    }))
    return { days, timezone: st.settings.quota_timezone, series }
  }
  // The mock has no gateway: the request log is empty and the analytics are all zeros.
  if (/^\/(user|admin)\/request-log$/.test(path) && method === 'GET') return { entries: [], next_cursor: null }
  if ((m = /^\/(user|admin)\/analytics$/.exec(path)) && method === 'GET') {
    const days = Math.min(366, Math.max(1, Number(query.get('days') ?? 30)))
    const today = windowBounds().start.daily
    const zero = { cost_usd: 0, requests: 0, input_tokens: 0, output_tokens: 0, cache_tokens: 0 }
    const by_day = Array.from({ length: days }, (_, i) => ({ date: new Date(today.getTime() - (days - 1 - i) * 86400e3).toISOString().slice(0, 10), ...zero }))
    return { days, timezone: st.settings.quota_timezone, total: zero, by_day, by_model: [], by_key: [], ...(m[1] === 'admin' ? { top_users: [] } : {}) }
  }
  if ((m = /^\/admin\/users\/(\d+)\/rate-limits$/.exec(path))) {
    const user = st.users.find((u) => u.id === Number(m[1]))
    if (!user) throw new HttpError(404, 'not_found', 'no such user')
    if (method === 'PUT') st.rateLimits.set(`user:${user.id}`, validRateEntries(data))
    return userRateView(st, user)
  }
  if ((m = /^\/user\/api-keys\/(\d+)\/rate-limits$/.exec(path))) {
    const key = st.keys.find((k) => k.id === Number(m[1]) && (k.user_id === me.id || me.role === 'admin'))
    if (!key) throw new HttpError(404, 'not_found', 'no such key')
    if (method === 'PUT') st.rateLimits.set(`key:${key.id}`, validRateEntries(data))
    return { api_key_id: key.id, rate_limits: st.rateLimits.get(`key:${key.id}`) ?? [] }
  }
  if (path === '/user/api-keys' && method === 'GET') {
    return { api_keys: st.keys.filter((k) => k.user_id === me.id).map(({ user_id: _u, secret: _s, ...k }) => k) }
  }
  if (path === '/user/api-keys' && method === 'POST') {
    if (!data.name) throw bad('name', 'required')
    const secret = 'tg_' + randomBytes(18).toString('hex')
    const k = { id: st.seq++, user_id: me.id, name: data.name, prefix: secret.slice(0, 10), platforms: data.platforms ?? null, created_at: iso(new Date()), last_used_at: null, secret }
    st.keys.push(k)
    const { user_id: _u, ...out } = k
    return [201, out]
  }
  if ((m = /^\/user\/api-keys\/(\d+)$/.exec(path)) && method === 'DELETE') {
    st.keys = st.keys.filter((k) => !(k.id === Number(m[1]) && k.user_id === me.id))
    return [204, null]
  }
  throw new HttpError(404, 'not_found', 'no such route')
}

function maskUpstream({ api_key, ...u }) {
  return { ...u, api_key_masked: api_key ? `${api_key.slice(0, 3)}…${api_key.slice(-4)}` : '' }
}

async function serveStatic(res, urlPath) {
  const rel = normalize(decodeURIComponent(urlPath)).replace(/^(\.\.[/\\])+/, '')
  let file = join(DIST, rel)
  const isFile = await stat(file).then((s) => s.isFile(), () => false)
  // History-mode SPA: every non-asset path gets index.html, as the real server does.
  if (!isFile) file = join(DIST, 'index.html')
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
  res.end(await readFile(file))
}

export function startMockServer({ port = 0, host = '127.0.0.1', adminEmail = 'admin@example.com', adminPassword = 'admin-pass-123' } = {}) {
  const st = createState()
  addUser(st, { email: adminEmail, password: adminPassword, display_name: 'Admin', role: 'admin' }, false)
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x')
    if (url.pathname === '/readyz' || url.pathname === '/healthz') return res.end('ok')
    if (!url.pathname.startsWith('/api/v1/')) return serveStatic(res, url.pathname).catch(() => (res.writeHead(500), res.end()))
    const cookies = parseCookies(req.headers.cookie)
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const token = bearer ?? cookies.tollgate_session
    const me = token ? st.users.find((u) => u.id === st.sessions.get(token)) : null
    const headers = { 'content-type': 'application/json' }
    const ctx = {
      me,
      query: url.searchParams,
      setSession: (u) => {
        const t = randomBytes(16).toString('hex')
        st.sessions.set(t, u.id)
        headers['set-cookie'] = [`tollgate_session=${t}; Path=/; HttpOnly; SameSite=Lax`, `tollgate_csrf=${randomBytes(8).toString('hex')}; Path=/; SameSite=Lax`]
        return t
      },
      clearSession: () => {
        if (token) st.sessions.delete(token)
        headers['set-cookie'] = ['tollgate_session=; Path=/; Max-Age=0', 'tollgate_csrf=; Path=/; Max-Age=0']
      },
    }
    try {
      if (!bearer && me && req.method !== 'GET' && req.headers['x-csrf-token'] !== cookies.tollgate_csrf) {
        throw new HttpError(403, 'csrf_failed', 'missing or wrong X-CSRF-Token')
      }
      ctx.data = await body(req)
      const out = route(st, req.method, url.pathname.slice('/api/v1'.length), ctx)
      const [status, payload] = Array.isArray(out) && typeof out[0] === 'number' ? out : [200, out]
      res.writeHead(status, headers)
      res.end(payload === null ? undefined : JSON.stringify(payload))
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500
      res.writeHead(status, headers)
      res.end(JSON.stringify({ error: { code: e.code ?? 'internal', message: e.message, ...(e.field ? { field: e.field } : {}) } }))
    }
  })
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const { port: p } = server.address()
      resolve({ url: `http://${host}:${p}`, state: st, stop: () => new Promise((r) => server.close(r)) })
    })
  })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const s = await startMockServer({ port: Number(process.argv[2] ?? 8080) })
  console.log(`mock console API on ${s.url} (admin@example.com / admin-pass-123)`)
}
