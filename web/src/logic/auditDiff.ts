// Audit entries carry arbitrary JSON before/after snapshots; show them as "path: old → new" lines.

export interface DiffRow {
  path: string
  before: string
  after: string
}

/** Flattens nested objects to dotted paths; arrays and scalars are leaves. */
export function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>)
    if (!entries.length && prefix) out[prefix] = value
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out)
  } else {
    out[prefix] = value
  }
  return out
}

export function displayValue(v: unknown): string {
  if (v === null || v === undefined) return '—'
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

/** Changed leaves only, sorted by path. A leaf missing on one side shows as "—". */
export function auditDiff(before: unknown, after: unknown): DiffRow[] {
  const b = flatten(before)
  const a = flatten(after)
  const paths = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()
  const rows: DiffRow[] = []
  for (const path of paths) {
    const bv = displayValue(b[path])
    const av = displayValue(a[path])
    if (bv !== av) rows.push({ path: path || '·', before: bv, after: av })
  }
  return rows
}
