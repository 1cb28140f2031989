// One function per console route, so the paths of docs/console-api.md live in a single place.
import { API_BASE, api, queryString } from './client'
import type {
  AdminQuotaView,
  AnalyticsResponse,
  ApiKey,
  ApiKeyList,
  AuditList,
  CreateApiKeyRequest,
  CreatedApiKey,
  CreateUserRequest,
  KeyQuotasRequest,
  LoginRequest,
  LoginResponse,
  Language,
  Meta,
  NoticeList,
  ModelPrice,
  ModelPriceInput,
  PriceImportResult,
  PricingResponse,
  PutRateLimitsRequest,
  KeyRateLimits,
  UserRateLimits,
  UnpricedModel,
  PutQuotasRequest,
  QuotaView,
  QuotaViewList,
  RequestLogPage,
  RequestLogQuery,
  RegisterRequest,
  ResetWindowRequest,
  SettingsResponse,
  TopUpRequest,
  Upstream,
  UpstreamInput,
  UpstreamList,
  UpdateUserRequest,
  UsageResponse,
  User,
  UserList,
} from './types'

export const getMeta = () => api.get<Meta>('/meta', { redirectOn401: false })
export const getMe = () => api.get<User>('/me', { redirectOn401: false })
export const login = (body: LoginRequest) => api.post<LoginResponse>('/auth/login', body, { redirectOn401: false })
export const register = (body: RegisterRequest) =>
  api.post<LoginResponse>('/auth/register', body, { redirectOn401: false })
export const logout = () => api.post<Record<string, never>>('/auth/logout', {}, { redirectOn401: false })
export const oauthStartUrl = (source: string) => `/api/v1/auth/oauth/${encodeURIComponent(source)}/start`

export const getSettings = () => api.get<SettingsResponse>('/admin/settings')
export const putSettings = (body: Record<string, unknown>) => api.put<SettingsResponse>('/admin/settings', body)

export const listUsers = (q: string, page: number, perPage: number) =>
  api.get<UserList>('/admin/users', { query: { q, page, per_page: perPage } })
export const createUser = (body: CreateUserRequest) => api.post<User>('/admin/users', body)
export const updateUser = (id: number, body: UpdateUserRequest) => api.patch<User>(`/admin/users/${id}`, body)

export const getUserQuotas = (id: number) =>
  api.get<QuotaViewList<AdminQuotaView>>(`/admin/users/${id}/platform-quotas`)
export const putUserQuotas = (id: number, body: PutQuotasRequest) =>
  api.put<QuotaViewList<AdminQuotaView>>(`/admin/users/${id}/platform-quotas`, body)
export const resetUserWindow = (id: number, body: ResetWindowRequest) =>
  api.post<QuotaViewList<AdminQuotaView>>(`/admin/users/${id}/platform-quotas/reset`, body)

export const listAudit = (page: number, perPage: number, userId?: number | null) =>
  api.get<AuditList>('/admin/audit', { query: { page, per_page: perPage, user_id: userId ?? undefined } })

export const listUpstreams = () => api.get<UpstreamList>('/admin/upstreams')
export const createUpstream = (body: UpstreamInput) => api.post<Upstream>('/admin/upstreams', body)
export const updateUpstream = (id: number, body: Partial<UpstreamInput>) =>
  api.patch<Upstream>(`/admin/upstreams/${id}`, body)
export const deleteUpstream = (id: number) => api.del(`/admin/upstreams/${id}`)

export const getPricing = () => api.get<PricingResponse>('/admin/pricing')
export const putPrice = (model: string, body: ModelPriceInput) =>
  api.put<ModelPrice>(`/admin/pricing/${encodeURIComponent(model)}`, body)
export const listUnpriced = () => api.get<UnpricedModel[]>('/admin/pricing/unpriced')
export const importPrices = (file: string, apply: boolean) =>
  api.post<PriceImportResult>('/admin/pricing/import', { file, apply })

export const getMyQuotas = () => api.get<QuotaViewList<QuotaView>>('/user/platform-quotas')
export const getMyUsage = (days: number) => api.get<UsageResponse>('/user/usage', { query: { days } })
export const listApiKeys = () => api.get<ApiKeyList>('/user/api-keys')
export const createApiKey = (body: CreateApiKeyRequest) => api.post<CreatedApiKey>('/user/api-keys', body)
export const revokeApiKey = (id: number) => api.del(`/user/api-keys/${id}`)
export const putApiKeyQuotas = (id: number, body: KeyQuotasRequest) => api.put<ApiKey>(`/user/api-keys/${id}/quotas`, body)
export const listUserApiKeys = (userId: number) => api.get<ApiKeyList>(`/admin/users/${userId}/api-keys`)
export const putUserApiKeyQuotas = (userId: number, keyId: number, body: KeyQuotasRequest) =>
  api.put<ApiKey>(`/admin/users/${userId}/api-keys/${keyId}/quotas`, body)
export const topUpUserQuota = (userId: number, body: TopUpRequest) =>
  api.post<QuotaViewList<AdminQuotaView>>(`/admin/users/${userId}/platform-quotas/top-up`, body)
export const topUpApiKey = (userId: number, keyId: number, body: TopUpRequest) =>
  api.post<ApiKey>(`/admin/users/${userId}/api-keys/${keyId}/top-up`, body)
export const listNotices = () => api.get<NoticeList>('/user/notices')
export const readNotice = (id: number) => api.post<{ ok: boolean }>(`/user/notices/${id}/read`, {})
export const readAllNotices = () => api.post<{ ok: boolean }>('/user/notices/read-all', {})
export const putMyLanguage = (language: Language) =>
  api.put<{ language: Language }>('/user/language', { language }, { redirectOn401: false })

export const getUserRateLimits = (id: number) => api.get<UserRateLimits>(`/admin/users/${id}/rate-limits`)
export const putUserRateLimits = (id: number, body: PutRateLimitsRequest) =>
  api.put<UserRateLimits>(`/admin/users/${id}/rate-limits`, body)
export const getKeyRateLimits = (id: number) => api.get<KeyRateLimits>(`/user/api-keys/${id}/rate-limits`)
export const putKeyRateLimits = (id: number, body: PutRateLimitsRequest) =>
  api.put<KeyRateLimits>(`/user/api-keys/${id}/rate-limits`, body)

/** Whose data a request-log or analytics call reads: the caller's own, or every user's (admin). */
export type Scope = 'user' | 'admin'
export const listRequestLog = (scope: Scope, q: RequestLogQuery, cursor?: string | null, limit?: number) =>
  api.get<RequestLogPage>(`/${scope}/request-log`, { query: { ...q, cursor, limit } })
/** The CSV export of the same filters; a plain link works (cookie session). */
export const requestLogCsvUrl = (scope: Scope, q: RequestLogQuery) =>
  `${API_BASE}/${scope}/request-log.csv${queryString({ ...q })}`
export const getAnalytics = (scope: Scope, days: number) =>
  api.get<AnalyticsResponse>(`/${scope}/analytics`, { query: { days } })
