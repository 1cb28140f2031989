// Audit entries carry arbitrary JSON before/after snapshots; show them as "path: old → new" lines.

export interface DiffRow {
  path: string
  before: string
  after: string
}

/** Stable key for an array item: snapshots of quota rows are lists keyed by platform. */
function itemKey(item: unknown, index: number): string {
  if (item && typeof item === 'object') {
    const o = item as Record<string, unknown>
    for (const k of ['platform', 'id', 'name']) {
      if (typeof o[k] === 'string' || typeof o[k] === 'number') return String(o[k])
    }
  }
  return String(index)
}

/**
 * Flattens nested objects to dotted paths. Empty objects have no leaves ({} and a missing value are
 * the same "nothing set"); arrays of objects are keyed by their platform/id/name.
 */
export function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  const join = (k: string) => (prefix ? `${prefix}.${k}` : k)
  if (Array.isArray(value) && value.some((v) => v !== null && typeof v === 'object')) {
    value.forEach((v, i) => {
      const key = itemKey(v, i)
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        // The key field itself would only repeat the path.
        const { platform: _p, ...rest } = v as Record<string, unknown>
        flatten(key === _p ? rest : v, join(key), out)
      } else flatten(v, join(key), out)
    })
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, join(k), out)
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
