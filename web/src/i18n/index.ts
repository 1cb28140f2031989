// vue-i18n setup. Missing keys are recorded in window.__i18nMissing so browser tests can fail on them.
import { createI18n } from 'vue-i18n'
import en from './en.json'
import zh from './zh.json'

export type Locale = 'en' | 'zh'
export const LOCALES: Locale[] = ['en', 'zh']
const STORAGE_KEY = 'tollgate.locale'

declare global {
  interface Window {
    __i18nMissing?: string[]
  }
}

export function detectLocale(stored: string | null, browser: string | undefined): Locale {
  if (stored === 'en' || stored === 'zh') return stored
  return browser && browser.toLowerCase().startsWith('zh') ? 'zh' : 'en'
}

function storedLocale(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY)
  } catch {
    return null
  }
}

export function recordMissing(locale: string, key: string): void {
  if (typeof window === 'undefined') return
  ;(window.__i18nMissing ??= []).push(`${locale}:${key}`)
}

export function createAppI18n(locale?: Locale) {
  return createI18n({
    legacy: false,
    locale: locale ?? detectLocale(storedLocale(), typeof navigator !== 'undefined' ? navigator.language : undefined),
    fallbackLocale: 'en',
    messages: { en, zh },
    missingWarn: false,
    fallbackWarn: false,
    // Returning nothing keeps vue-i18n's default (falls back to en, then shows the key).
    missing: (loc: string, key: string) => {
      recordMissing(loc, key)
      return undefined
    },
  })
}

export const i18n = createAppI18n()

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  try {
    localStorage.setItem(STORAGE_KEY, locale)
  } catch {
    // private mode: the choice just is not remembered
  }
  document.documentElement.lang = locale === 'zh' ? 'zh-CN' : 'en'
}
