// Money text <-> number. Amounts travel as JSON numbers, so exactness comes from only ever accepting
// text whose Number() round-trips to the same decimal (at most 9 decimals, at most ~15 significant digits).
import { intlLocale } from './format'

/** i18n keys of the validation messages. */
export type MoneyError =
  | 'validation.negative'
  | 'validation.notNumber'
  | 'validation.tooManyDecimals'
  | 'validation.tooLarge'
  | 'validation.tooPrecise'

export type ParsedMoney = { ok: true; value: number | null } | { ok: false; error: MoneyError }

const MONEY_RE = /^\d+(\.\d{1,9})?$/
/** Largest accepted amount: 1e9 USD keeps nano-USD far inside i64 on the server. */
export const MAX_USD = 1_000_000_000

/** Canonical decimal text: no leading zeros, no trailing fractional zeros ("010.10" -> "10.1"). */
export function canonicalDecimal(text: string): string {
  const [intPart, frac = ''] = text.split('.')
  const i = intPart.replace(/^0+(?=\d)/, '')
  const f = frac.replace(/0+$/, '')
  return f ? `${i}.${f}` : i
}

/** Parses one money input. Blank -> null; anything that is not a plain non-negative decimal is an error. */
export function parseMoney(raw: string): ParsedMoney {
  const text = raw.trim()
  if (text === '') return { ok: true, value: null }
  if (!MONEY_RE.test(text)) {
    const unsigned = text.replace(/^[-−]/, '')
    if (unsigned !== text && /^\d+(\.\d+)?$/.test(unsigned) && Number(unsigned) !== 0) {
      return { ok: false, error: 'validation.negative' }
    }
    if (/^\d+\.\d{10,}$/.test(text)) return { ok: false, error: 'validation.tooManyDecimals' }
    return { ok: false, error: 'validation.notNumber' }
  }
  const value = Number(text)
  if (!Number.isFinite(value)) return { ok: false, error: 'validation.notNumber' }
  if (value > MAX_USD) return { ok: false, error: 'validation.tooLarge' }
  // Number("123456.123456789123") would silently lose digits; refuse rather than send a different amount.
  if (numberToText(value) !== canonicalDecimal(text)) return { ok: false, error: 'validation.tooPrecise' }
  return { ok: true, value }
}

/** Number -> plain decimal text for an input (never exponent notation: String(1e-7) is "1e-7"). */
export function numberToText(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return ''
  const s = String(n)
  if (!/e/i.test(s)) return s
  return canonicalDecimal(n.toFixed(9))
}

/** Money for display. Small non-zero amounts get more digits so "$0.00" never hides real spend. */
export function formatUsd(n: number, locale: string): string {
  const abs = Math.abs(n)
  if (abs > 0 && abs < 0.0001) {
    return '<' + new Intl.NumberFormat(intlLocale(locale), { style: 'currency', currency: 'USD', currencyDisplay: 'narrowSymbol', maximumFractionDigits: 4 }).format(0.0001)
  }
  const max = abs > 0 && abs < 1 ? 4 : 2
  return new Intl.NumberFormat(intlLocale(locale), {
    style: 'currency',
    currency: 'USD',
    currencyDisplay: 'narrowSymbol',
    minimumFractionDigits: 2,
    maximumFractionDigits: max,
  }).format(n)
}

/** A configured limit is shown exactly as stored (up to 9 decimals). */
export function formatLimit(n: number, locale: string): string {
  return new Intl.NumberFormat(intlLocale(locale), {
    style: 'currency',
    currency: 'USD',
    currencyDisplay: 'narrowSymbol',
    minimumFractionDigits: 2,
    maximumFractionDigits: 9,
  }).format(n)
}

/** Compact amount for chips ("10", "0.5", "1.2k"). */
export function formatCompact(n: number, locale: string): string {
  return new Intl.NumberFormat(intlLocale(locale), { notation: 'compact', maximumFractionDigits: 2 }).format(n)
}
