// Thin fetch wrapper for the console API: same-origin cookies, CSRF header on writes,
// and one typed error for every failure so views only ever deal with ApiError.
import type { ErrorBody } from './types'

export const API_BASE = '/api/v1'
const CSRF_COOKIE = 'tollgate_csrf'
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export class ApiError extends Error {
  /** Server error code (`invalid_input`, …), or `network` / `http_<status>` when no JSON error came back. */
  readonly code: string
  readonly field: string | null
  /** HTTP status; 0 when the request never got an answer. */
  readonly status: number

  constructor(status: number, code: string, message: string, field: string | null = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError
}

/** Reads one cookie; exported for tests. */
export function readCookie(cookieString: string, name: string): string | null {
  for (const part of cookieString.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim()
      try {
        return decodeURIComponent(raw)
      } catch {
        return raw
      }
    }
  }
  return null
}

/** Turns a non-2xx response body into an ApiError, whatever the body looks like. */
export function toApiError(status: number, body: unknown): ApiError {
  const err = (body as Partial<ErrorBody> | null)?.error
  if (err && typeof err === 'object' && typeof err.code === 'string') {
    return new ApiError(status, err.code, String(err.message ?? ''), err.field ?? null)
  }
  return new ApiError(status, `http_${status}`, `HTTP ${status}`)
}

type UnauthorizedHandler = () => void
let onUnauthorized: UnauthorizedHandler | null = null

/** The app registers this once: any 401 (outside login/boot probes) sends the user to the login page. */
export function setUnauthorizedHandler(fn: UnauthorizedHandler | null): void {
  onUnauthorized = fn
}

export interface RequestOptions {
  /** false for calls where 401 is an expected answer (session probe, login itself). */
  redirectOn401?: boolean
  query?: Record<string, string | number | undefined | null>
  signal?: AbortSignal
}

/** `?a=1&b=2` from a query (null, undefined and blank values dropped); '' when nothing is left. */
export function queryString(query: RequestOptions['query']): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  }
  const qs = params.toString()
  return qs ? `?${qs}` : ''
}

function buildUrl(path: string, query?: RequestOptions['query']): string {
  return API_BASE + path + queryString(query)
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (WRITE_METHODS.has(method)) {
    const csrf = typeof document !== 'undefined' ? readCookie(document.cookie, CSRF_COOKIE) : null
    if (csrf) headers['X-CSRF-Token'] = csrf
  }

  let res: Response
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: opts.signal,
    })
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e
    throw new ApiError(0, 'network', (e as Error)?.message ?? 'network error')
  }

  const text = await res.text()
  let parsed: unknown = undefined
  if (text) {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
  }

  if (!res.ok) {
    const err = toApiError(res.status, parsed)
    if (res.status === 401 && opts.redirectOn401 !== false && onUnauthorized) onUnauthorized()
    throw err
  }
  if (text && parsed === undefined) {
    // A 2xx that is not JSON is almost always the SPA's index.html: the API route does not exist.
    throw new ApiError(res.status, 'bad_response', 'response is not JSON')
  }
  return parsed as T
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, undefined, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, body ?? {}, opts),
  put: <T>(path: string, body: unknown, opts?: RequestOptions) => request<T>('PUT', path, body, opts),
  patch: <T>(path: string, body: unknown, opts?: RequestOptions) => request<T>('PATCH', path, body, opts),
  del: <T = void>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, undefined, opts),
}
