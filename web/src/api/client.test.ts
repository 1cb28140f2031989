import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, queryString, readCookie, request, setUnauthorizedHandler, toApiError } from './client'

function mockFetch(status: number, body: unknown) {
  const fn = vi.fn(async () => new Response(body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body), { status }))
  vi.stubGlobal('fetch', fn)
  return fn
}

afterEach(() => {
  vi.unstubAllGlobals()
  setUnauthorizedHandler(null)
})

describe('readCookie', () => {
  it('finds a cookie among others and decodes it', () => {
    expect(readCookie('a=1; tollgate_csrf=abc%3D; b=2', 'tollgate_csrf')).toBe('abc=')
    expect(readCookie('a=1', 'tollgate_csrf')).toBeNull()
    expect(readCookie('', 'tollgate_csrf')).toBeNull()
  })
})

describe('toApiError', () => {
  it('parses the error shape', () => {
    const e = toApiError(400, { error: { code: 'invalid_input', message: 'bad', field: 'default_platform_quotas.openai.weekly' } })
    expect(e).toBeInstanceOf(ApiError)
    expect([e.status, e.code, e.message, e.field]).toEqual([400, 'invalid_input', 'bad', 'default_platform_quotas.openai.weekly'])
  })
  it('copes with bodies that are not the error shape', () => {
    const e = toApiError(502, undefined)
    expect([e.code, e.field]).toEqual(['http_502', null])
  })
})

describe('request', () => {
  it('sends same-origin credentials and the CSRF header on writes only', async () => {
    vi.stubGlobal('document', { cookie: 'tollgate_csrf=tok123' })
    const fetch = mockFetch(200, { ok: true })
    await request('PUT', '/admin/settings', { a: 1 })
    await request('GET', '/me')
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/v1/admin/settings')
    expect(init.credentials).toBe('same-origin')
    expect((init.headers as Record<string, string>)['X-CSRF-Token']).toBe('tok123')
    expect(init.body).toBe('{"a":1}')
    const [, getInit] = fetch.mock.calls[1] as unknown as [string, RequestInit]
    expect((getInit.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined()
  })

  it('builds query strings without empty values', async () => {
    const fetch = mockFetch(200, { users: [] })
    await request('GET', '/admin/users', undefined, { query: { q: '', page: 2, per_page: 20, x: undefined } })
    expect((fetch.mock.calls[0] as unknown as [string])[0]).toBe('/api/v1/admin/users?page=2&per_page=20')
  })

  it('throws a typed ApiError and reports a 401 to the handler', async () => {
    const onAuth = vi.fn()
    setUnauthorizedHandler(onAuth)
    mockFetch(401, { error: { code: 'unauthenticated', message: 'no session' } })
    await expect(request('GET', '/user/api-keys')).rejects.toMatchObject({ status: 401, code: 'unauthenticated' })
    expect(onAuth).toHaveBeenCalledTimes(1)
    await expect(request('GET', '/me', undefined, { redirectOn401: false })).rejects.toBeInstanceOf(ApiError)
    expect(onAuth).toHaveBeenCalledTimes(1)
  })

  it('turns network failures and HTML answers into ApiErrors', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    await expect(request('GET', '/meta')).rejects.toMatchObject({ status: 0, code: 'network' })
    mockFetch(200, '<!doctype html><html></html>')
    await expect(request('GET', '/meta')).rejects.toMatchObject({ code: 'bad_response' })
    mockFetch(500, '<html>oops</html>')
    await expect(request('GET', '/meta')).rejects.toMatchObject({ status: 500, code: 'http_500' })
  })

  it('accepts an empty 204', async () => {
    mockFetch(204, undefined)
    await expect(request('DELETE', '/user/api-keys/1')).resolves.toBeUndefined()
  })
})

describe('queryString', () => {
  it('drops blank values and encodes the rest', () => {
    expect(queryString({ a: '', b: null, c: undefined })).toBe('')
    expect(queryString({ model: 'a b&c', limit: 50 })).toBe('?model=a+b%26c&limit=50')
  })
})
