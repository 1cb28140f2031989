// Translated names for data-driven values (platforms, auth sources, windows) and API errors.
// Unknown names still go through t() so a missing translation is recorded, but render raw, not as a key.
import { useI18n } from 'vue-i18n'
import { isApiError } from '../api/client'

export function useLabels() {
  const { t, te, locale } = useI18n()

  const named = (prefix: string, name: string) => {
    const key = `${prefix}.${name}`
    const s = t(key)
    return s === key ? name : s
  }

  /** Headline for an error: the translated code, else a generic text. */
  const errorTitle = (e: unknown): string => {
    if (isApiError(e)) {
      if (te(`errors.code.${e.code}`)) return t(`errors.code.${e.code}`)
      if (e.status >= 500) return t('errors.server', { status: e.status })
      return t('errors.generic')
    }
    // Plain Errors are raised by the views themselves with an already translated message.
    return e instanceof Error && e.message ? e.message : t('errors.generic')
  }

  /** Server's own message as extra detail (may be English: it is the server's text, not the UI's). */
  const errorDetail = (e: unknown): string => {
    if (isApiError(e)) return e.message && !e.code.startsWith('http_') && e.code !== 'network' ? e.message : ''
    return ''
  }

  return {
    t,
    locale,
    platformLabel: (p: string) => named('platform', p),
    sourceLabel: (s: string) => named('authSource', s),
    windowLabel: (w: string) => named('window', w),
    errorTitle,
    errorDetail,
  }
}
