import { describe, expect, it } from 'vitest'
import {
  cellsToEntries,
  cellsToLayer,
  entriesToCells,
  fieldToCell,
  filledPlatforms,
  layerToCells,
  parseRateCell,
  rateSourceKey,
} from './rateLimits'

const P = ['anthropic', 'openai']

describe('rate limit cells', () => {
  it('parses whole numbers, blanks as null, and names the problem', () => {
    expect(parseRateCell(' 60 ')).toEqual({ ok: true, value: 60 })
    expect(parseRateCell('')).toEqual({ ok: true, value: null })
    expect(parseRateCell('0')).toEqual({ ok: false, error: 'rate.atLeastOne' })
    expect(parseRateCell('1.5')).toEqual({ ok: false, error: 'validation.integer' })
    expect(parseRateCell('-3')).toEqual({ ok: false, error: 'validation.integer' })
    expect(parseRateCell('1000000001')).toEqual({ ok: false, error: 'validation.tooLarge' })
  })

  it('round-trips a settings layer, leaving empty platforms out', () => {
    const cells = layerToCells({ anthropic: { rpm: 60, tpm: null, concurrency: 2 } }, P)
    expect(cells['anthropic.rpm']).toBe('60')
    expect(cells['openai.tpm']).toBe('')
    expect(cellsToLayer(cells, P)).toEqual({ ok: true, value: { anthropic: { rpm: 60, tpm: null, concurrency: 2 } } })
    const bad = cellsToLayer({ ...cells, 'openai.tpm': 'x' }, P)
    expect(bad).toEqual({ ok: false, errors: { 'openai.tpm': 'validation.integer' } })
  })

  it('builds override entries for the chosen platforms', () => {
    const cells = entriesToCells([{ platform: 'openai', rpm: 5, tpm: null, concurrency: null }], P)
    expect(filledPlatforms(cells, P)).toEqual(['openai'])
    expect(cellsToEntries(cells, P, ['anthropic', 'openai'])).toEqual({
      ok: true,
      value: [
        { platform: 'anthropic', rpm: null, tpm: null, concurrency: null },
        { platform: 'openai', rpm: 5, tpm: null, concurrency: null },
      ],
    })
  })

  it('maps server field paths to cells', () => {
    const entries = [{ platform: 'openai', rpm: 5, tpm: null, concurrency: null }]
    expect(fieldToCell('rate_limits[0].rpm', entries)).toBe('openai.rpm')
    expect(fieldToCell('default_rate_limits.anthropic.tpm')).toBe('anthropic.tpm')
    expect(fieldToCell(rateSourceKey('github') + '.openai.concurrency')).toBe('openai.concurrency')
    expect(fieldToCell('rate_limits')).toBeNull()
  })
})
