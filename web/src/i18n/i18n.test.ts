import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import en from './en.json'
import zh from './zh.json'
import { createAppI18n, detectLocale } from './index'

type Tree = { [k: string]: string | Tree }

function leaves(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>()
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (typeof v === 'string') out.set(key, v)
    else for (const [kk, vv] of leaves(v, key)) out.set(kk, vv)
  }
  return out
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name: string) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return sourceFiles(p)
    return /\.(vue|ts)$/.test(name) && !name.endsWith('.test.ts') ? [p] : []
  })
}

const enKeys = leaves(en as Tree)
const zhKeys = leaves(zh as Tree)

describe('message catalogues', () => {
  it('en and zh have exactly the same keys', () => {
    const onlyEn = [...enKeys.keys()].filter((k) => !zhKeys.has(k))
    const onlyZh = [...zhKeys.keys()].filter((k) => !enKeys.has(k))
    expect({ onlyEn, onlyZh }).toEqual({ onlyEn: [], onlyZh: [] })
  })

  it('has no empty values', () => {
    const empty = [...enKeys, ...zhKeys].filter(([, v]) => v.trim() === '').map(([k]) => k)
    expect(empty).toEqual([])
  })

  it('uses no unescaped vue-i18n special characters (@ and $)', () => {
    const bad = [...enKeys, ...zhKeys].filter(([, v]) => /[@$]/.test(v)).map(([k]) => k)
    expect(bad).toEqual([])
  })

  it('defines every literal key the source code uses', () => {
    const srcDir = fileURLToPath(new URL('..', import.meta.url))
    const used = new Set<string>()
    for (const file of sourceFiles(srcDir)) {
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) used.add(m[1])
      for (const m of text.matchAll(/'((?:nav|validation|login|register|notFound)\.[a-zA-Z0-9_]+)'/g)) used.add(m[1])
    }
    expect(used.size).toBeGreaterThan(100)
    expect([...used].filter((k) => !enKeys.has(k))).toEqual([])
  })

  it('names every platform, window and auth source of the spec', () => {
    const needed = [
      ...['anthropic', 'openai', 'gemini', 'antigravity'].map((p) => `platform.${p}`),
      ...['daily', 'weekly', 'monthly'].flatMap((w) => [`window.${w}`, `quota.abbr.${w}`, `dashboard.period.${w}`]),
      ...['email', 'linuxdo', 'oidc', 'wechat', 'github', 'google', 'dingtalk'].map((s) => `authSource.${s}`),
      ...['invalid_input', 'unauthenticated', 'forbidden', 'not_found', 'conflict', 'too_many_requests', 'unavailable', 'internal'].map(
        (c) => `errors.code.${c}`,
      ),
    ]
    expect(needed.filter((k) => !enKeys.has(k))).toEqual([])
  })
})

describe('locale handling', () => {
  it('prefers the stored choice, then zh* browsers, else en', () => {
    expect(detectLocale('en', 'zh-CN')).toBe('en')
    expect(detectLocale(null, 'zh-TW')).toBe('zh')
    expect(detectLocale(null, 'ZH')).toBe('zh')
    expect(detectLocale(null, 'fr-FR')).toBe('en')
    expect(detectLocale('xx', undefined)).toBe('en')
  })

  it('records a missing key in window.__i18nMissing', () => {
    const g = globalThis as unknown as { window?: { __i18nMissing?: string[] } }
    g.window = {}
    try {
      const i18n = createAppI18n('zh')
      expect(i18n.global.t('common.save')).toBe('保存')
      expect(g.window.__i18nMissing ?? []).toEqual([])
      i18n.global.t('no.such.key')
      expect(g.window.__i18nMissing).toContain('zh:no.such.key')
    } finally {
      delete g.window
    }
  })
})
