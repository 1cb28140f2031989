import { describe, expect, it } from 'vitest'
import { auditDiff, flatten } from './auditDiff'

describe('auditDiff', () => {
  it('lists changed leaves of nested quota objects', () => {
    const before = { anthropic: { daily: 10, weekly: 50 }, openai: { daily: 0 } }
    const after = { anthropic: { daily: 20, weekly: 50 }, gemini: { monthly: 5 } }
    expect(auditDiff(before, after)).toEqual([
      { path: 'anthropic.daily', before: '10', after: '20' },
      { path: 'gemini.monthly', before: '—', after: '5' },
      { path: 'openai.daily', before: '0', after: '—' },
    ])
  })
  it('handles scalars, nulls and arrays', () => {
    expect(auditDiff(null, 'Asia/Shanghai')).toEqual([{ path: '·', before: '—', after: 'Asia/Shanghai' }])
    expect(auditDiff({ p: ['a'] }, { p: ['a', 'b'] })).toEqual([{ path: 'p', before: '["a"]', after: '["a","b"]' }])
    expect(auditDiff({ a: 1 }, { a: 1 })).toEqual([])
  })
  it('ignores empty objects and keys quota row lists by platform', () => {
    expect(auditDiff({ a: {} }, {})).toEqual([])
    const before = [{ platform: 'anthropic', daily_limit_usd: 10, weekly_limit_usd: 50 }]
    const after = [
      { platform: 'anthropic', daily_limit_usd: 20, weekly_limit_usd: 50 },
      { platform: 'openai', daily_limit_usd: 0, weekly_limit_usd: null },
    ]
    expect(auditDiff(before, after)).toEqual([
      { path: 'anthropic.daily_limit_usd', before: '10', after: '20' },
      { path: 'openai.daily_limit_usd', before: '—', after: '0' },
    ])
  })
  it('flattens with dotted paths', () => {
    expect(flatten({ a: { b: { c: 1 } }, d: null })).toEqual({ 'a.b.c': 1, d: null })
  })
})
