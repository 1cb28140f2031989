// Alert settings helpers (docs/alerts.md).

/** "80, 100" → [80, 100] (sorted, deduplicated); null when any item is not a whole number 1..100.
 * An empty text is [] (alerts off). */
export function parseThresholds(text: string): number[] | null {
  const items = text.split(/[,，\s]+/).filter((s) => s !== '')
  const out: number[] = []
  for (const s of items) {
    if (!/^\d+$/.test(s)) return null
    const n = Number(s)
    if (n < 1 || n > 100) return null
    if (!out.includes(n)) out.push(n)
  }
  if (out.length > 10) return null
  return out.sort((a, b) => a - b)
}
