// Rate limit forms (docs/rate-limits.md): three whole numbers per platform, each blank = null
// (unlimited, or "inherit" in an auth-source defaults layer).
import type { PlatformRateLimits, RateLimitEntry, RateLimitValues } from '../api/types'

export const RATE_KINDS = ['rpm', 'tpm', 'concurrency'] as const
export type RateKind = (typeof RATE_KINDS)[number]
export const MAX_RATE_LIMIT = 1_000_000_000
export const RATE_SYSTEM_KEY = 'default_rate_limits'
export const rateSourceKey = (source: string) => `auth_source_default_${source}_rate_limits`

/** Text cells of one layer: `<platform>.<kind>` → text ('' = null). */
export type RateCells = Record<string, string>

export const rateCellKey = (platform: string, kind: RateKind) => `${platform}.${kind}`

/** One cell's text: '' → null, else a whole number in 1..=1e9, or an i18n error key. */
export function parseRateCell(text: string): { ok: true; value: number | null } | { ok: false; error: string } {
  const s = text.trim()
  if (s === '') return { ok: true, value: null }
  if (!/^\d+$/.test(s)) return { ok: false, error: 'validation.integer' }
  const n = Number(s)
  if (n < 1) return { ok: false, error: 'rate.atLeastOne' }
  if (n > MAX_RATE_LIMIT) return { ok: false, error: 'validation.tooLarge' }
  return { ok: true, value: n }
}

const text = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v))

/** A settings layer → cells. */
export function layerToCells(layer: PlatformRateLimits | undefined, platforms: string[]): RateCells {
  const cells: RateCells = {}
  for (const p of platforms) for (const k of RATE_KINDS) cells[rateCellKey(p, k)] = text(layer?.[p]?.[k])
  return cells
}

/** Entries (a user's or a key's overrides) → cells. */
export function entriesToCells(entries: RateLimitEntry[], platforms: string[]): RateCells {
  const layer: PlatformRateLimits = {}
  for (const e of entries) layer[e.platform] = { rpm: e.rpm, tpm: e.tpm, concurrency: e.concurrency }
  return layerToCells(layer, platforms)
}

type Built<T> = { ok: true; value: T } | { ok: false; errors: Record<string, string> }

function parsePlatform(cells: RateCells, p: string, errors: Record<string, string>): RateLimitValues | null {
  const out: RateLimitValues = { rpm: null, tpm: null, concurrency: null }
  for (const k of RATE_KINDS) {
    const key = rateCellKey(p, k)
    const r = parseRateCell(cells[key] ?? '')
    if (r.ok) out[k] = r.value
    else errors[key] = r.error
  }
  return out
}

/** Cells → a settings layer: only platforms with a value (an empty layer inherits everything). */
export function cellsToLayer(cells: RateCells, platforms: string[]): Built<PlatformRateLimits> {
  const errors: Record<string, string> = {}
  const layer: PlatformRateLimits = {}
  for (const p of platforms) {
    const v = parsePlatform(cells, p, errors)
    if (v && RATE_KINDS.some((k) => v[k] !== null)) layer[p] = v
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: layer }
}

/**
 * Cells → override entries. `overridden` lists the platforms that get a row (a row whose fields are
 * all blank means "unlimited" for a user override); for a key, pass the platforms with any value.
 */
export function cellsToEntries(cells: RateCells, platforms: string[], overridden: string[]): Built<RateLimitEntry[]> {
  const errors: Record<string, string> = {}
  const entries: RateLimitEntry[] = []
  for (const p of platforms) {
    const v = parsePlatform(cells, p, errors)
    if (v && overridden.includes(p)) entries.push({ platform: p, ...v })
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: entries }
}

/** Platforms with at least one filled cell. */
export const filledPlatforms = (cells: RateCells, platforms: string[]) =>
  platforms.filter((p) => RATE_KINDS.some((k) => (cells[rateCellKey(p, k)] ?? '').trim() !== ''))

/** A server field path (`rate_limits[1].rpm`, `default_rate_limits.openai.tpm`) → a cell key. */
export function fieldToCell(field: string | null | undefined, entries: RateLimitEntry[] = []): string | null {
  if (!field) return null
  const m = /^rate_limits\[(\d+)\]\.(rpm|tpm|concurrency)$/.exec(field)
  if (m) {
    const e = entries[Number(m[1])]
    return e ? rateCellKey(e.platform, m[2] as RateKind) : null
  }
  const s = /^(?:default_rate_limits|auth_source_default_[a-z]+_rate_limits)\.([a-z]+)\.(rpm|tpm|concurrency)$/.exec(field)
  return s ? rateCellKey(s[1], s[2] as RateKind) : null
}
