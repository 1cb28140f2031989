import { describe, expect, it } from 'vitest'
import { parseThresholds } from './alerts'

describe('parseThresholds', () => {
  it('reads whole percentages', () => {
    expect(parseThresholds('100, 80, 80')).toEqual([80, 100])
    expect(parseThresholds('50，90')).toEqual([50, 90])
    expect(parseThresholds('')).toEqual([])
  })
  it('refuses anything else', () => {
    for (const bad of ['0', '101', '80.5', 'abc', '-5']) expect(parseThresholds(bad)).toBeNull()
  })
})
