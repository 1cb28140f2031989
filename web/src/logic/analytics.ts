// Dashboard charts (docs/request-log.md, "Analytics"): API totals -> labels and values for Chart.js.
import type { AnalyticsDay, UsageTotals } from '../api/types'
import { formatDay, intlLocale } from './format'
import { formatCompact, formatUsd } from './money'

export type Metric = 'cost' | 'requests' | 'tokens'
export const METRICS: readonly Metric[] = ['cost', 'requests', 'tokens']
export const RANGES: readonly number[] = [7, 30, 90]

/** The value a chart shows for one row: spend in USD, requests, or all tokens (in + out + cache). */
export function metricValue(t: UsageTotals, metric: Metric): number {
  if (metric === 'cost') return t.cost_usd
  if (metric === 'requests') return t.requests
  return t.input_tokens + t.output_tokens + t.cache_tokens
}

export interface Series {
  labels: string[]
  values: number[]
}

/** One bar per date, in the API's order (oldest first, zero days included), dates in the UI locale. */
export function daySeries(days: AnalyticsDay[], metric: Metric, locale: string): Series {
  return { labels: days.map((d) => formatDay(d.date, locale)), values: days.map((d) => metricValue(d, metric)) }
}

/** A ranking (models, keys, users) by the metric, highest first; rows with nothing for it are left out. */
export function rankSeries<R extends UsageTotals>(rows: R[], metric: Metric, label: (r: R) => string, limit = 10): Series {
  const ranked = rows
    .map((r) => ({ label: label(r), value: metricValue(r, metric) }))
    .filter((r) => r.value > 0)
    .sort((a, b) => b.value - a.value)
    .slice(0, limit)
  return { labels: ranked.map((r) => r.label), values: ranked.map((r) => r.value) }
}

/** A value of the metric as text: full precision for tooltips, compact for axis ticks. */
export function formatMetric(v: number, metric: Metric, locale: string, compact = false): string {
  if (metric === 'cost') return compact && v >= 1000 ? `$${formatCompact(v, locale)}` : formatUsd(v, locale)
  return compact ? formatCompact(v, locale) : new Intl.NumberFormat(intlLocale(locale)).format(v)
}
