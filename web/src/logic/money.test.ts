import { describe, expect, it } from 'vitest'
import { canonicalDecimal, formatLimit, formatUsd, numberToText, parseMoney } from './money'

describe('parseMoney', () => {
  it('blank is null (unlimited / inherit)', () => {
    expect(parseMoney('')).toEqual({ ok: true, value: null })
    expect(parseMoney('   ')).toEqual({ ok: true, value: null })
  })
  it('0 is 0 (disabled), not null', () => {
    expect(parseMoney('0')).toEqual({ ok: true, value: 0 })
    expect(parseMoney('0.000')).toEqual({ ok: true, value: 0 })
  })
  it('accepts plain decimals exactly', () => {
    expect(parseMoney('10')).toEqual({ ok: true, value: 10 })
    expect(parseMoney('10.1')).toEqual({ ok: true, value: 10.1 })
    expect(parseMoney(' 7.25 ')).toEqual({ ok: true, value: 7.25 })
    expect(parseMoney('0.000000001')).toEqual({ ok: true, value: 1e-9 })
    expect(parseMoney('123.123456789')).toEqual({ ok: true, value: 123.123456789 })
    expect(JSON.stringify({ v: (parseMoney('10.1') as { value: number }).value })).toBe('{"v":10.1}')
  })
  it('rejects negatives', () => {
    expect(parseMoney('-1')).toEqual({ ok: false, error: 'validation.negative' })
    expect(parseMoney('-0.5')).toEqual({ ok: false, error: 'validation.negative' })
  })
  it('rejects text, NaN, Infinity, exponents and other number spellings', () => {
    for (const s of ['abc', 'NaN', 'Infinity', '-Infinity', '1e3', '0x10', '1,5', '.5', '5.', '+5', '1 000', '١٢']) {
      expect(parseMoney(s), s).toEqual({ ok: false, error: 'validation.notNumber' })
    }
  })
  it('rejects more than 9 decimals', () => {
    expect(parseMoney('10.1234567891')).toEqual({ ok: false, error: 'validation.tooManyDecimals' })
    expect(parseMoney('0.0000000001')).toEqual({ ok: false, error: 'validation.tooManyDecimals' })
  })
  it('rejects amounts that are too large or cannot be sent exactly', () => {
    expect(parseMoney('1000000001')).toEqual({ ok: false, error: 'validation.tooLarge' })
    expect(parseMoney('1000000000')).toEqual({ ok: true, value: 1e9 })
    expect(parseMoney('999999999.123456789')).toEqual({ ok: false, error: 'validation.tooPrecise' })
  })
})

describe('numberToText', () => {
  it('never uses exponent notation and round-trips through parseMoney', () => {
    for (const n of [0, 1, 10.1, 1e-7, 1e-9, 0.25, 123456.789]) {
      const s = numberToText(n)
      expect(s).not.toMatch(/e/i)
      expect(parseMoney(s)).toEqual({ ok: true, value: n })
    }
    expect(numberToText(1e-7)).toBe('0.0000001')
    expect(numberToText(null)).toBe('')
  })
  it('canonicalDecimal strips padding zeros', () => {
    expect(canonicalDecimal('010.10')).toBe('10.1')
    expect(canonicalDecimal('0.0')).toBe('0')
    expect(canonicalDecimal('0')).toBe('0')
  })
})

describe('money formatting', () => {
  it('formats spend with cents, and small spend with more digits', () => {
    expect(formatUsd(12.5, 'en')).toBe('$12.50')
    expect(formatUsd(0, 'en')).toBe('$0.00')
    expect(formatUsd(0.0123, 'en')).toBe('$0.0123')
    expect(formatUsd(0.00001, 'en')).toBe('<$0.0001')
    expect(formatUsd(1234.567, 'zh')).toBe('$1,234.57')
  })
  it('formats limits exactly', () => {
    expect(formatLimit(10.1, 'en')).toBe('$10.10')
    expect(formatLimit(0.123456789, 'en')).toBe('$0.123456789')
  })
})
