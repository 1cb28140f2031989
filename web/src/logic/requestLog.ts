// Request log filters (docs/request-log.md): the form's text fields <-> the API query and the page URL.
import type { RequestLogQuery } from '../api/types'
import { intlLocale } from './format'

export const FILTER_FIELDS = ['user_id', 'key_id', 'platform', 'model', 'status', 'request_id', 'from', 'to'] as const
export type FilterField = (typeof FILTER_FIELDS)[number]
/** The filter form: every field is text, blank = any. */
export type LogFilters = Record<FilterField, string>

export const emptyFilters = (): LogFilters =>
  Object.fromEntries(FILTER_FIELDS.map((f) => [f, ''])) as LogFilters

const ID_RE = /^[1-9]\d{0,17}$/
const STATUS_RE = /^(?:[1-5]\d{2}|[1-5]xx)$/
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/

/** i18n keys of the problems per field; empty when the filters can be sent. */
export function validateFilters(f: LogFilters): Partial<Record<FilterField, string>> {
  const errors: Partial<Record<FilterField, string>> = {}
  for (const field of ['user_id', 'key_id'] as const) {
    if (f[field].trim() && !ID_RE.test(f[field].trim())) errors[field] = 'validation.integer'
  }
  if (f.status.trim() && !STATUS_RE.test(f.status.trim().toLowerCase())) errors.status = 'requestLog.statusInvalid'
  for (const field of ['from', 'to'] as const) {
    if (f[field].trim() && !DATE_RE.test(f[field].trim())) errors[field] = 'requestLog.dateInvalid'
  }
  const from = f.from.trim()
  const to = f.to.trim()
  // `to` is inclusive: from = to is one whole day.
  if (!errors.from && !errors.to && from && to && from > to) errors.to = 'requestLog.rangeInvalid'
  return errors
}

/** The API query of the filters: trimmed, blanks dropped; `user_id` only in the admin's log. */
export function filtersToQuery(f: LogFilters, admin: boolean): RequestLogQuery {
  const q: RequestLogQuery = {}
  for (const field of FILTER_FIELDS) {
    if (field === 'user_id' && !admin) continue
    let v = f[field].trim()
    if (field === 'status') v = v.toLowerCase()
    if (v) q[field] = v
  }
  return q
}

/** Filters read back from the page URL (unknown parameters and repeated values are ignored). */
export function filtersFromRoute(query: Record<string, unknown>): LogFilters {
  const f = emptyFilters()
  for (const field of FILTER_FIELDS) {
    const v = query[field]
    if (typeof v === 'string') f[field] = v
  }
  return f
}

/** Badge class of an HTTP status. */
export function statusLevel(status: number | null): 'ok' | 'warn' | 'danger' | '' {
  if (status === null) return ''
  if (status < 400) return 'ok'
  return status < 500 ? 'warn' : 'danger'
}

/** "850 ms", "1.25 s", "—" for none. */
export function formatMs(ms: number | null | undefined, locale: string): string {
  if (ms === null || ms === undefined) return '—'
  const nf = (max: number) => new Intl.NumberFormat(intlLocale(locale), { maximumFractionDigits: max })
  return ms < 1000 ? `${nf(0).format(ms)} ms` : `${nf(2).format(ms / 1000)} s`
}

/** Token count with grouping ("12,345"). */
export function formatCount(n: number, locale: string): string {
  return new Intl.NumberFormat(intlLocale(locale)).format(n)
}

/** A log time, short but to the second ("Dec 5, 14:03:07"), in the viewer's zone. */
export function formatLogTime(iso: string, locale: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return new Intl.DateTimeFormat(intlLocale(locale), {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(d)
}

/** Bounds of `request_log_retention_days` (docs/request-log.md); 0 or empty keeps everything. */
export const RETENTION_MIN_DAYS = 7
export const RETENTION_MAX_DAYS = 3650

/**
 * The retention field's text as the value to PUT: 0 for "keep everything" (a PUT skips null keys),
 * whole days in range, or null when the text is not a valid choice.
 */
export function parseRetention(text: string): number | null {
  const s = text.trim()
  if (s === '' || s === '0') return 0
  if (!/^\d+$/.test(s)) return null
  const d = Number(s)
  return d >= RETENTION_MIN_DAYS && d <= RETENTION_MAX_DAYS ? d : null
}
