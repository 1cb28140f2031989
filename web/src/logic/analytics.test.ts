import { describe, expect, it } from 'vitest'
import type { AnalyticsDay, AnalyticsModel } from '../api/types'
import { daySeries, formatMetric, metricValue, rankSeries } from './analytics'

const totals = (cost_usd: number, requests: number, tokens = [0, 0, 0]) => ({
  cost_usd,
  requests,
  input_tokens: tokens[0],
  output_tokens: tokens[1],
  cache_tokens: tokens[2],
})

describe('analytics series', () => {
  it('reads each metric, tokens being in + out + cache', () => {
    const t = totals(0.00105, 2, [100, 50, 25])
    expect(metricValue(t, 'cost')).toBe(0.00105)
    expect(metricValue(t, 'requests')).toBe(2)
    expect(metricValue(t, 'tokens')).toBe(175)
  })

  it('keeps one bar per day in order, zero days included, labelled in the UI locale', () => {
    const days: AnalyticsDay[] = [
      { date: '2026-12-04', ...totals(0, 0) },
      { date: '2026-12-05', ...totals(1.5, 3, [10, 5, 0]) },
    ]
    expect(daySeries(days, 'cost', 'en')).toEqual({ labels: ['Dec 4', 'Dec 5'], values: [0, 1.5] })
    expect(daySeries(days, 'tokens', 'zh')).toEqual({ labels: ['12月4日', '12月5日'], values: [0, 15] })
  })

  it('ranks by the chosen metric and leaves out rows without any', () => {
    const models: AnalyticsModel[] = [
      { platform: 'anthropic', model: 'a', ...totals(3, 1) },
      { platform: 'openai', model: 'b', ...totals(1, 5) },
      { platform: 'openai', model: 'c', ...totals(0, 0) },
    ]
    const label = (m: AnalyticsModel) => m.model
    expect(rankSeries(models, 'cost', label)).toEqual({ labels: ['a', 'b'], values: [3, 1] })
    expect(rankSeries(models, 'requests', label)).toEqual({ labels: ['b', 'a'], values: [5, 1] })
    expect(rankSeries(models, 'requests', label, 1)).toEqual({ labels: ['b'], values: [5] })
  })

  it('formats values per metric', () => {
    expect(formatMetric(0.00105, 'cost', 'en')).toBe('$0.0011')
    expect(formatMetric(12.5, 'cost', 'en')).toBe('$12.50')
    expect(formatMetric(1234567, 'tokens', 'en')).toBe('1,234,567')
    expect(formatMetric(1234567, 'tokens', 'en', true)).toBe('1.23M')
    expect(formatMetric(2500, 'cost', 'en', true)).toBe('$2.5K')
  })
})
