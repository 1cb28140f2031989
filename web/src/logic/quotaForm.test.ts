import { describe, expect, it } from 'vitest'
import { WINDOWS, type AdminQuotaView, type Settings } from '../api/types'
import {
  buildQuotasPayload,
  buildSettingsPayload,
  cellKey,
  limitChips,
  mergePlatforms,
  parseCell,
  quotaFieldToCell,
  settingsToForm,
  sourceKey,
  SYSTEM_KEY,
  unlimitedAtSignup,
  usageLevel,
  usagePercent,
  validateTimezone,
  viewsToCells,
} from './quotaForm'

const PLATFORMS = ['anthropic', 'openai', 'gemini', 'antigravity']
const SOURCES = ['email', 'linuxdo', 'oidc', 'wechat', 'github', 'google', 'dingtalk']

function settings(over: Partial<Settings> = {}): Settings {
  return {
    default_platform_quotas: { anthropic: { daily: 10, weekly: 50, monthly: null }, openai: { daily: 0 } },
    auth_source_default_github_platform_quotas: { openai: { weekly: 0 } },
    quota_timezone: 'Asia/Shanghai',
    monthly_window: 'calendar',
    quota_enforcement: 'soft',
    registration_enabled: true,
    ...over,
  }
}

const view = (platform: string, d: number | null, w: number | null, m: number | null): AdminQuotaView => ({
  platform,
  daily_limit_usd: d, daily_usage_usd: 1, daily_resets_at: null, daily_window_start: null,
  weekly_limit_usd: w, weekly_usage_usd: 1, weekly_resets_at: null, weekly_window_start: null,
  monthly_limit_usd: m, monthly_usage_usd: 1, monthly_resets_at: null, monthly_window_start: null,
})

describe('parseCell', () => {
  it('covers blank, 0, numbers and invalid input', () => {
    expect(parseCell('')).toEqual({ ok: true, value: null })
    expect(parseCell('0')).toEqual({ ok: true, value: 0 })
    expect(parseCell('10.1')).toEqual({ ok: true, value: 10.1 })
    expect(parseCell('-3')).toMatchObject({ ok: false, error: 'validation.negative' })
    expect(parseCell('ten')).toMatchObject({ ok: false, error: 'validation.notNumber' })
    expect(parseCell('NaN')).toMatchObject({ ok: false, error: 'validation.notNumber' })
    expect(parseCell('Infinity')).toMatchObject({ ok: false, error: 'validation.notNumber' })
    expect(parseCell('1.0123456789')).toMatchObject({ ok: false, error: 'validation.tooManyDecimals' })
  })
})

describe('settings payload', () => {
  it('round-trips the loaded settings into a full payload with every platform and source', () => {
    const form = settingsToForm(settings(), PLATFORMS, SOURCES)
    expect(form.cells[cellKey(SYSTEM_KEY, 'anthropic', 'daily')]).toBe('10')
    expect(form.cells[cellKey(sourceKey('github'), 'openai', 'weekly')]).toBe('0')
    expect(form.cells[cellKey(sourceKey('github'), 'openai', 'daily')]).toBe('')
    const built = buildSettingsPayload(PLATFORMS, SOURCES, form)
    expect(built.ok).toBe(true)
    if (!built.ok) return
    const p = built.payload
    expect(Object.keys(p).sort()).toEqual(
      [SYSTEM_KEY, ...SOURCES.map(sourceKey), 'quota_timezone', 'monthly_window', 'quota_enforcement', 'registration_enabled'].sort(),
    )
    expect(p[SYSTEM_KEY]).toEqual({
      anthropic: { five_hour: null, daily: 10, weekly: 50, monthly: null },
      openai: { five_hour: null, daily: 0, weekly: null, monthly: null },
      gemini: { five_hour: null, daily: null, weekly: null, monthly: null },
      antigravity: { five_hour: null, daily: null, weekly: null, monthly: null },
    })
    expect(p[sourceKey('github')]).toEqual({
      anthropic: { five_hour: null, daily: null, weekly: null, monthly: null },
      openai: { five_hour: null, daily: null, weekly: 0, monthly: null },
      gemini: { five_hour: null, daily: null, weekly: null, monthly: null },
      antigravity: { five_hour: null, daily: null, weekly: null, monthly: null },
    })
    for (const s of SOURCES) expect(Object.keys(p[sourceKey(s)] as object)).toEqual(PLATFORMS)
    expect(p.quota_timezone).toBe('Asia/Shanghai')
    expect(p.registration_enabled).toBe(true)
  })

  it('sends 10.1 as the JSON number 10.1', () => {
    const form = settingsToForm(settings(), PLATFORMS, SOURCES)
    form.cells[cellKey(SYSTEM_KEY, 'gemini', 'monthly')] = '10.1'
    const built = buildSettingsPayload(PLATFORMS, SOURCES, form)
    expect(built.ok && JSON.stringify(built.payload[SYSTEM_KEY])).toContain('"gemini":{"five_hour":null,"daily":null,"weekly":null,"monthly":10.1}')
  })

  it('blocks the payload and reports every invalid cell by its server field path', () => {
    const form = settingsToForm(settings(), PLATFORMS, SOURCES)
    form.cells[cellKey(SYSTEM_KEY, 'anthropic', 'daily')] = '-1'
    form.cells[cellKey(sourceKey('github'), 'openai', 'weekly')] = 'abc'
    form.quota_timezone = 'Mars/Olympus'
    const built = buildSettingsPayload(PLATFORMS, SOURCES, form)
    expect(built).toEqual({
      ok: false,
      errors: {
        'default_platform_quotas.anthropic.daily': 'validation.negative',
        'auth_source_default_github_platform_quotas.openai.weekly': 'validation.notNumber',
        quota_timezone: 'validation.timezone',
      },
    })
  })

  it('validates time zones', () => {
    expect(validateTimezone('Asia/Shanghai')).toBeNull()
    expect(validateTimezone('UTC')).toBeNull()
    expect(validateTimezone('')).toBe('validation.required')
    expect(validateTimezone('Nowhere/Town')).toBe('validation.timezone')
  })
})

describe('signup warning', () => {
  it('names the platforms where an email signup gets no limit in any window', () => {
    const form = settingsToForm(settings(), PLATFORMS, SOURCES)
    // anthropic has system limits, openai a 0 (disabled): both are limited. gemini and antigravity are not.
    expect(unlimitedAtSignup(form.cells, PLATFORMS)).toEqual(['gemini', 'antigravity'])
    // The email source's own value counts; another source's does not.
    form.cells[cellKey(sourceKey('email'), 'gemini', 'monthly')] = '5'
    form.cells[cellKey(sourceKey('github'), 'antigravity', 'daily')] = '1'
    expect(unlimitedAtSignup(form.cells, PLATFORMS)).toEqual(['antigravity'])
    form.cells[cellKey(SYSTEM_KEY, 'antigravity', 'five_hour')] = ' 2 '
    expect(unlimitedAtSignup(form.cells, PLATFORMS)).toEqual([])
  })
})

describe('user quotas payload', () => {
  it('fills every platform from the view, blank where there is no row', () => {
    const cells = viewsToCells(PLATFORMS, [view('openai', 5, null, 0)])
    expect(Object.keys(cells)).toHaveLength(PLATFORMS.length * WINDOWS.length)
    expect(cells['openai.five_hour']).toBe('')
    expect(cells['openai.daily']).toBe('5')
    expect(cells['openai.weekly']).toBe('')
    expect(cells['openai.monthly']).toBe('0')
    expect(cells['anthropic.daily']).toBe('')
  })

  it('sends only platforms with at least one non-blank window, with explicit nulls', () => {
    const cells = viewsToCells(PLATFORMS, [])
    cells['anthropic.daily'] = '10'
    cells['anthropic.five_hour'] = '4'
    cells['gemini.monthly'] = '0'
    cells['antigravity.weekly'] = '2.5'
    expect(buildQuotasPayload(PLATFORMS, cells)).toEqual({
      ok: true,
      payload: {
        quotas: [
          { platform: 'anthropic', five_hour_limit_usd: 4, daily_limit_usd: 10, weekly_limit_usd: null, monthly_limit_usd: null },
          { platform: 'gemini', five_hour_limit_usd: null, daily_limit_usd: null, weekly_limit_usd: null, monthly_limit_usd: 0 },
          { platform: 'antigravity', five_hour_limit_usd: null, daily_limit_usd: null, weekly_limit_usd: 2.5, monthly_limit_usd: null },
        ],
      },
    })
  })

  it('covers every platform when all are set, and none when all are cleared', () => {
    const cells = viewsToCells(PLATFORMS, PLATFORMS.map((p) => view(p, 1, 2, 3)))
    const full = buildQuotasPayload(PLATFORMS, cells)
    expect(full.ok && full.payload.quotas.map((q) => q.platform)).toEqual(PLATFORMS)
    for (const k of Object.keys(cells)) cells[k] = ''
    expect(buildQuotasPayload(PLATFORMS, cells)).toEqual({ ok: true, payload: { quotas: [] } })
  })

  it('refuses to build with an invalid cell', () => {
    const cells = viewsToCells(PLATFORMS, [])
    cells['openai.weekly'] = '1.1234567890'
    expect(buildQuotasPayload(PLATFORMS, cells)).toEqual({ ok: false, errors: { 'openai.weekly': 'validation.tooManyDecimals' } })
  })

  it('maps a server field path back to the cell', () => {
    const payload = {
      quotas: [
        { platform: 'anthropic', daily_limit_usd: 1, weekly_limit_usd: null, monthly_limit_usd: null },
        { platform: 'gemini', daily_limit_usd: 1, weekly_limit_usd: null, monthly_limit_usd: null },
      ],
    }
    expect(quotaFieldToCell('quotas[1].weekly_limit_usd', payload)).toBe('gemini.weekly')
    expect(quotaFieldToCell('quotas[5].weekly_limit_usd', payload)).toBeNull()
    expect(quotaFieldToCell('quotas[0].platform', payload)).toBeNull()
    expect(quotaFieldToCell(null, payload)).toBeNull()
  })

  it('keeps platforms the server holds even if /meta does not list them', () => {
    expect(mergePlatforms(['anthropic', 'openai'], ['openai', 'mistral'])).toEqual(['anthropic', 'openai', 'mistral'])
  })
})

describe('bars and chips', () => {
  it('colours by threshold', () => {
    expect(usageLevel(0, 10)).toBe('ok')
    expect(usageLevel(7.49, 10)).toBe('ok')
    expect(usageLevel(7.5, 10)).toBe('warn')
    expect(usageLevel(9.49, 10)).toBe('warn')
    expect(usageLevel(9.5, 10)).toBe('danger')
    expect(usageLevel(12, 10)).toBe('danger')
    expect(usageLevel(0, 0)).toBe('disabled')
    expect(usageLevel(3, null)).toBe('unlimited')
  })
  it('clamps the bar width', () => {
    expect(usagePercent(5, 10)).toBe(50)
    expect(usagePercent(50, 10)).toBe(100)
    expect(usagePercent(5, null)).toBe(0)
    expect(usagePercent(5, 0)).toBe(0)
  })
  it('summarises limits compactly', () => {
    expect(
      limitChips([
        { platform: 'anthropic', daily_limit_usd: 10, weekly_limit_usd: 50, monthly_limit_usd: null },
        { platform: 'openai', daily_limit_usd: null, weekly_limit_usd: 0, monthly_limit_usd: 5 },
        { platform: 'gemini', daily_limit_usd: null, weekly_limit_usd: null, monthly_limit_usd: null },
      ]),
    ).toEqual([
      { platform: 'anthropic', parts: [{ window: 'daily', value: 10 }, { window: 'weekly', value: 50 }], off: false },
      { platform: 'openai', parts: [{ window: 'weekly', value: 0 }, { window: 'monthly', value: 5 }], off: true },
    ])
    expect(limitChips(undefined)).toEqual([])
  })
})
