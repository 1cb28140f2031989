import { describe, expect, it } from 'vitest'
import { emptyFilters, filtersFromRoute, filtersToQuery, formatCount, formatLogTime, formatMs, parseRetention, statusLevel, validateFilters } from './requestLog'

const f = (patch: Partial<ReturnType<typeof emptyFilters>>) => ({ ...emptyFilters(), ...patch })

describe('request log filters', () => {
  it('sends only filled fields, trimmed, with the status class lower-cased', () => {
    expect(filtersToQuery(emptyFilters(), true)).toEqual({})
    expect(filtersToQuery(f({ model: '  claude-sonnet-4-5 ', status: '4XX', from: '2026-12-01', key_id: '7' }), true)).toEqual({
      model: 'claude-sonnet-4-5',
      status: '4xx',
      from: '2026-12-01',
      key_id: '7',
    })
  })

  it('never sends a user filter from the user view', () => {
    expect(filtersToQuery(f({ user_id: '3', platform: 'openai' }), false)).toEqual({ platform: 'openai' })
    expect(filtersToQuery(f({ user_id: '3' }), true)).toEqual({ user_id: '3' })
  })

  it('reads the filters back from the page URL, ignoring the rest', () => {
    const read = filtersFromRoute({ model: 'gpt-5', status: '429', page: '2', user_id: ['1', '2'] })
    expect(read).toEqual(f({ model: 'gpt-5', status: '429' }))
    expect(filtersToQuery(read, true)).toEqual({ model: 'gpt-5', status: '429' })
  })

  it('validates ids, status, dates and the range', () => {
    expect(validateFilters(emptyFilters())).toEqual({})
    expect(validateFilters(f({ user_id: 'abc', key_id: '0' }))).toEqual({ user_id: 'validation.integer', key_id: 'validation.integer' })
    for (const ok of ['200', '429', '599', '4xx', '5XX']) expect(validateFilters(f({ status: ok })), ok).toEqual({})
    for (const bad of ['42', '600', '6xx', 'x', '4xxx']) expect(validateFilters(f({ status: bad })).status, bad).toBe('requestLog.statusInvalid')
    expect(validateFilters(f({ from: '12/05/2026' })).from).toBe('requestLog.dateInvalid')
    // `to` is inclusive: one day is from = to.
    expect(validateFilters(f({ from: '2026-12-05', to: '2026-12-05' }))).toEqual({})
    expect(validateFilters(f({ from: '2026-12-06', to: '2026-12-05' })).to).toBe('requestLog.rangeInvalid')
  })
})

describe('request log cells', () => {
  it('colours a status by class', () => {
    expect(statusLevel(200)).toBe('ok')
    expect(statusLevel(429)).toBe('warn')
    expect(statusLevel(502)).toBe('danger')
    expect(statusLevel(null)).toBe('')
  })
  it('formats durations and counts', () => {
    expect(formatMs(850, 'en')).toBe('850 ms')
    expect(formatMs(1250, 'en')).toBe('1.25 s')
    expect(formatMs(null, 'en')).toBe('—')
    expect(formatCount(12345, 'en')).toBe('12,345')
  })
  it('shows log times to the second, in 24-hour form', () => {
    expect(formatLogTime('2026-12-05T14:03:07Z', 'en')).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d{2}:03:07$/)
    expect(formatLogTime('2026-12-05T14:03:07Z', 'zh')).toMatch(/^\d{1,2}月\d{1,2}日 \d{2}:03:07$/)
    expect(formatLogTime('garbage', 'en')).toBe('garbage')
  })
})

describe('retention setting', () => {
  it('keeps everything when empty or 0, else takes whole days from 7 to 3650', () => {
    expect(parseRetention('')).toBe(0)
    expect(parseRetention(' 0 ')).toBe(0)
    expect(parseRetention('30')).toBe(30)
    expect(parseRetention('7')).toBe(7)
    expect(parseRetention('3650')).toBe(3650)
    for (const bad of ['6', '3651', '-1', '7.5', '1e3', 'x']) expect(parseRetention(bad)).toBeNull()
  })
})
