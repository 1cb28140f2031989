// Locale-aware date formatting. Server times carry the quota zone's offset; the viewer sees local time.

/** BCP 47 tag for Intl from the UI locale ("zh" -> "zh-CN"). */
export function intlLocale(locale: string): string {
  return locale === 'zh' ? 'zh-CN' : locale === 'en' ? 'en-US' : locale
}

export function formatDateTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return new Intl.DateTimeFormat(intlLocale(locale), { dateStyle: 'medium', timeStyle: 'short' }).format(d)
}

/** "2026-11-25" (a calendar date in the quota zone) -> short label, without shifting it through UTC. */
export function formatDay(date: string, locale: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!m) return date
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return new Intl.DateTimeFormat(intlLocale(locale), { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(d)
}
