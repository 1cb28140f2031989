import { describe, expect, it } from 'vitest'
import { formatDateTime, formatDay, intlLocale } from './format'

describe('date formatting', () => {
  it('maps UI locales to Intl tags', () => {
    expect(intlLocale('zh')).toBe('zh-CN')
    expect(intlLocale('en')).toBe('en-US')
  })
  it('renders an RFC 3339 instant in the viewer zone', () => {
    const iso = '2026-11-26T00:00:00+08:00'
    const expected = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))
    expect(formatDateTime(iso, 'en')).toBe(expected)
    expect(formatDateTime(null, 'en')).toBe('—')
    expect(formatDateTime('garbage', 'en')).toBe('garbage')
  })
  it('keeps calendar dates on their day whatever the viewer zone', () => {
    expect(formatDay('2026-11-25', 'en')).toBe('Nov 25')
    expect(formatDay('2026-01-01', 'zh')).toBe('1月1日')
  })
})
