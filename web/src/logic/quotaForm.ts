// Pure form logic for the quota matrices (settings page and the per-user modal). Cells are keyed by the
// same dotted path the server uses in `error.field`, so a 400 lands under the right input unchanged.
import type {
  EnforcementMode,
  Limit,
  MonthlyWindowMode,
  Platform,
  PlatformLimits,
  PutQuotasRequest,
  QuotaLimits,
  QuotaView,
  QuotaWindow,
  Settings,
} from '../api/types'
import { WINDOWS } from '../api/types'
import { numberToText, parseMoney } from './money'

export { parseMoney as parseCell } from './money'

/** raw input text per cell key */
export type CellMap = Record<string, string>
/** message (an i18n key, or a server message) per cell key */
export type ErrorMap = Record<string, string>

export const SYSTEM_KEY = 'default_platform_quotas'
export const sourceKey = (source: string) => `auth_source_default_${source}_platform_quotas`

export function cellKey(prefix: string | null, platform: Platform, window: QuotaWindow): string {
  return prefix ? `${prefix}.${platform}.${window}` : `${platform}.${window}`
}

/** Platforms to edit: the meta list first, then any extra the server already holds, so a save never drops one. */
export function mergePlatforms(metaPlatforms: Platform[], extra: Iterable<Platform>): Platform[] {
  const out = [...metaPlatforms]
  for (const p of extra) if (!out.includes(p)) out.push(p)
  return out
}

export function limitsToCells(prefix: string, platforms: Platform[], limits: QuotaLimits | null | undefined): CellMap {
  const cells: CellMap = {}
  for (const p of platforms) {
    for (const w of WINDOWS) cells[cellKey(prefix, p, w)] = numberToText(limits?.[p]?.[w] ?? null)
  }
  return cells
}

export function validateCells(cells: CellMap): ErrorMap {
  const errors: ErrorMap = {}
  for (const [key, text] of Object.entries(cells)) {
    const r = parseMoney(text)
    if (!r.ok) errors[key] = r.error
  }
  return errors
}

function cellValue(cells: CellMap, key: string): Limit {
  const r = parseMoney(cells[key] ?? '')
  if (!r.ok) throw new Error(`invalid cell ${key}`)
  return r.value
}

/** A settings quota value with every platform and window written out (null where blank). */
export function cellsToLimits(prefix: string, platforms: Platform[], cells: CellMap): QuotaLimits {
  const out: QuotaLimits = {}
  for (const p of platforms) {
    out[p] = Object.fromEntries(WINDOWS.map((w) => [w, cellValue(cells, cellKey(prefix, p, w))]))
  }
  return out
}

/**
 * Platforms on which a user who signs up by email would get no limit at all: every window blank in
 * the email source's overrides and in the system default (a source value, 0 included, overrides the
 * system one window by window). Shown as a warning while signup is on.
 */
export function unlimitedAtSignup(cells: CellMap, platforms: Platform[]): Platform[] {
  const blank = (key: string) => (cells[key] ?? '').trim() === ''
  return platforms.filter((p) =>
    WINDOWS.every((w) => blank(cellKey(sourceKey('email'), p, w)) && blank(cellKey(SYSTEM_KEY, p, w))),
  )
}

export interface SettingsForm {
  cells: CellMap
  quota_timezone: string
  monthly_window: MonthlyWindowMode
  quota_enforcement: EnforcementMode
  registration_enabled: boolean
}

export function settingsToForm(settings: Settings, platforms: Platform[], sources: string[]): SettingsForm {
  let cells = limitsToCells(SYSTEM_KEY, platforms, settings.default_platform_quotas)
  for (const s of sources) {
    cells = { ...cells, ...limitsToCells(sourceKey(s), platforms, settings[sourceKey(s)] as QuotaLimits | undefined) }
  }
  return {
    cells,
    quota_timezone: settings.quota_timezone ?? '',
    monthly_window: settings.monthly_window ?? 'calendar',
    quota_enforcement: settings.quota_enforcement ?? 'soft',
    registration_enabled: !!settings.registration_enabled,
  }
}

/** Time zone check: the browser's IANA list when it has one, else (or for aliases like "UTC") the formatter. */
export function validateTimezone(tz: string): string | null {
  const name = tz.trim()
  if (!name) return 'validation.required'
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] }
  if (intl.supportedValuesOf && intl.supportedValuesOf('timeZone').includes(name)) return null
  try {
    new Intl.DateTimeFormat('en', { timeZone: name })
    return null
  } catch {
    return 'validation.timezone'
  }
}

export type BuildResult<T> = { ok: true; payload: T } | { ok: false; errors: ErrorMap }

/** The whole PUT /admin/settings body: every quota key with every platform, plus the scalar settings. */
export function buildSettingsPayload(
  platforms: Platform[],
  sources: string[],
  form: SettingsForm,
): BuildResult<Record<string, unknown>> {
  const errors = validateCells(form.cells)
  const tzError = validateTimezone(form.quota_timezone)
  if (tzError) errors.quota_timezone = tzError
  if (Object.keys(errors).length) return { ok: false, errors }
  const payload: Record<string, unknown> = {
    [SYSTEM_KEY]: cellsToLimits(SYSTEM_KEY, platforms, form.cells),
  }
  for (const s of sources) payload[sourceKey(s)] = cellsToLimits(sourceKey(s), platforms, form.cells)
  payload.quota_timezone = form.quota_timezone.trim()
  payload.monthly_window = form.monthly_window
  payload.quota_enforcement = form.quota_enforcement
  payload.registration_enabled = form.registration_enabled
  return { ok: true, payload }
}

/** Modal inputs from a quota view (user or key); platforms without a row start blank. */
export function viewsToCells(platforms: Platform[], views: QuotaView[]): CellMap {
  const cells: CellMap = {}
  for (const p of platforms) {
    const v = views.find((x) => x.platform === p)
    for (const w of WINDOWS) cells[cellKey(null, p, w)] = numberToText(v ? v[`${w}_limit_usd`] : null)
  }
  return cells
}

/** One platform's limits, every window named (null = unlimited). */
export function limitsRow(platform: Platform, value: (w: QuotaWindow) => Limit): PlatformLimits {
  const row = { platform } as PlatformLimits
  for (const w of WINDOWS) row[`${w}_limit_usd`] = value(w)
  return row
}

/** Full-replacement body: only platforms with at least one non-blank window (others lose their limits). */
export function buildQuotasPayload(platforms: Platform[], cells: CellMap): BuildResult<PutQuotasRequest> {
  const errors = validateCells(cells)
  if (Object.keys(errors).length) return { ok: false, errors }
  const quotas: PlatformLimits[] = []
  for (const p of platforms) {
    const row = limitsRow(p, (w) => cellValue(cells, cellKey(null, p, w)))
    if (WINDOWS.some((w) => row[`${w}_limit_usd`] !== null)) quotas.push(row)
  }
  return { ok: true, payload: { quotas } }
}

/** Maps a server field path of the quotas PUT (`quotas[2].weekly_limit_usd`) to the modal cell key. */
export function quotaFieldToCell(field: string | null | undefined, payload: PutQuotasRequest): string | null {
  const m = field ? /^quotas\[(\d+)\]\.(five_hour|daily|weekly|monthly)_limit_usd$/.exec(field) : null
  if (!m) return null
  const row = payload.quotas[Number(m[1])]
  return row ? cellKey(null, row.platform, m[2] as QuotaWindow) : null
}

export type UsageLevel = 'ok' | 'warn' | 'danger' | 'disabled' | 'unlimited'

/** Bar colour: green below 75 %, amber from 75 %, red from 95 %. */
export function usageLevel(usage: number, limit: Limit): UsageLevel {
  if (limit === null || limit === undefined) return 'unlimited'
  if (limit === 0) return 'disabled'
  const ratio = usage / limit
  if (ratio >= 0.95) return 'danger'
  if (ratio >= 0.75) return 'warn'
  return 'ok'
}

/** Bar width in percent, clamped to 0..100. */
export function usagePercent(usage: number, limit: Limit): number {
  if (!limit || limit <= 0) return 0
  return Math.max(0, Math.min(100, (usage / limit) * 100))
}

export interface LimitChip {
  platform: Platform
  /** windows with a limit, in daily/weekly/monthly order */
  parts: { window: QuotaWindow; value: number }[]
  /** some window is 0: the platform is rejected outright, whatever the other windows say */
  off: boolean
}

/** Compact summary for the users table; platforms without any limit are left out. */
export function limitChips(limits: PlatformLimits[] | null | undefined): LimitChip[] {
  const chips: LimitChip[] = []
  for (const l of limits ?? []) {
    const parts = WINDOWS.flatMap((w) => {
      const v = l[`${w}_limit_usd`]
      return v === null || v === undefined ? [] : [{ window: w, value: v }]
    })
    if (!parts.length) continue
    chips.push({ platform: l.platform, parts, off: parts.some((p) => p.value === 0) })
  }
  return chips
}
