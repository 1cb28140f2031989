// The console's types. Answers the API document names are aliases of the types generated from it
// (contract.ts); the rest are checked against it in contract-check.ts (docs/console-api.md). Platform,
// window and auth-source names the UI builds are plain strings on purpose: the lists are data served
// by GET /meta, not compiled into the UI.
import type { Schemas } from './contract'

export type Platform = string
export type AuthSource = string
export type QuotaWindow = 'five_hour' | 'daily' | 'weekly' | 'monthly'
/** In the order the API checks and lists them: the rolling 5-hour window first. */
export const WINDOWS: readonly QuotaWindow[] = ['five_hour', 'daily', 'weekly', 'monthly']

/** USD amount: null = unlimited (or "inherit" at an auth-source layer), 0 = disabled, > 0 = cap. */
export type Limit = number | null

export interface ErrorBody {
  error: { code: string; message: string; field?: string | null }
}

export interface Meta {
  platforms: Platform[]
  windows: QuotaWindow[]
  auth_sources: AuthSource[]
  login: { password: boolean; registration: boolean; oauth: AuthSource[] }
  version: string
}

export type Role = 'admin' | 'user'
export type UserStatus = 'active' | 'disabled'

export type User = Schemas['User']

export type LoginResponse = Schemas['Login']

export interface LoginRequest {
  email: string
  password: string
}

export interface RegisterRequest extends LoginRequest {
  display_name: string
}

/** One platform's four limits, as sent in PUT /admin/users/{id}/platform-quotas and listed per user. */
export interface PlatformLimits {
  platform: Platform
  five_hour_limit_usd?: Limit
  daily_limit_usd: Limit
  weekly_limit_usd: Limit
  monthly_limit_usd: Limit
}

export interface AdminUser extends User {
  platform_limits: PlatformLimits[]
}

export interface UserList {
  users: AdminUser[]
  total: number
  page: number
  per_page: number
}

export interface CreateUserRequest {
  email: string
  password: string
  display_name: string
  role: Role
  auth_source: AuthSource
  cost_multiplier: number
  apply_default_quotas: boolean
}

export interface UpdateUserRequest {
  display_name?: string
  role?: Role
  status?: UserStatus
  cost_multiplier?: number
  password?: string
}

/** User view of one platform's quota; a missing window field is treated like null. Each window `W`
 * also has `W_topup_usd` (an admin's extra allowance for the current window) and
 * `W_remaining_usd` (limit + top-up - usage; null when unlimited). */
export interface QuotaView {
  platform: Platform
  five_hour_limit_usd?: Limit
  five_hour_usage_usd?: number
  five_hour_resets_at?: string | null
  five_hour_topup_usd?: number
  five_hour_remaining_usd?: Limit
  daily_topup_usd?: number
  daily_remaining_usd?: Limit
  weekly_topup_usd?: number
  weekly_remaining_usd?: Limit
  monthly_topup_usd?: number
  monthly_remaining_usd?: Limit
  daily_limit_usd: Limit
  daily_usage_usd: number
  daily_resets_at: string | null
  weekly_limit_usd: Limit
  weekly_usage_usd: number
  weekly_resets_at: string | null
  monthly_limit_usd: Limit
  monthly_usage_usd: number
  monthly_resets_at: string | null
}

export interface AdminQuotaView extends QuotaView {
  five_hour_window_start?: string | null
  daily_window_start: string | null
  weekly_window_start: string | null
  monthly_window_start: string | null
}

/** A key's quota row: the admin routes add the window starts, the user's own routes do not. */
export type KeyQuotaView = Schemas['KeyQuotaView']

export interface QuotaViewList<V extends QuotaView = QuotaView> {
  platform_quotas: V[]
}

export interface PutQuotasRequest {
  quotas: PlatformLimits[]
}

export interface ResetWindowRequest {
  platform: Platform
  window: QuotaWindow
}

/** POST /admin/users/{id}/platform-quotas/top-up and /admin/users/{id}/api-keys/{key}/top-up. */
export interface TopUpRequest {
  platform: Platform
  window: QuotaWindow
  amount_usd: number
}

/** Settings layer value: platform -> window -> limit. A missing platform or window means null. */
export type QuotaLimits = Record<Platform, Partial<Record<QuotaWindow, Limit>>>

export type MonthlyWindowMode = 'calendar' | 'rolling_30d'
export type EnforcementMode = 'soft' | 'strict'

export interface Settings {
  default_platform_quotas: QuotaLimits
  quota_timezone: string
  monthly_window: MonthlyWindowMode
  quota_enforcement: EnforcementMode
  registration_enabled: boolean
  /** `auth_source_default_<source>_platform_quotas` for each auth source, plus any future key. */
  [key: string]: unknown
}

export interface SettingsResponse {
  settings: Settings
}

export type AuditEntry = Schemas['AuditEntry']

export interface AuditList {
  entries: AuditEntry[]
  total: number
}

export interface UsagePoint {
  date: string
  cost_usd: number
  requests: number
}

export interface UsageSeries {
  platform: Platform
  points: UsagePoint[]
}

export interface UsageResponse {
  days: number
  timezone: string
  series: UsageSeries[]
}

export type ApiKey = Schemas['ApiKey']

export type CreatedApiKey = Schemas['CreatedApiKey']

export interface ApiKeyList {
  api_keys: ApiKey[]
}

/** PUT /user/api-keys/{id}/quotas (and the admin's): the key's limits replace the old ones. */
export interface KeyQuotasRequest {
  quotas: PlatformLimits[]
  lifetime_limit_usd: Limit
}

export interface CreateApiKeyRequest extends Partial<KeyQuotasRequest> {
  name: string
  platforms?: Platform[]
}

export type UpstreamProtocol = 'native' | 'v1internal'

export type Upstream = Schemas['Upstream']

export interface UpstreamList {
  upstreams: Upstream[]
}

export interface UpstreamInput {
  platform: Platform
  name: string
  base_url: string
  api_key: string
  enabled: boolean
  priority: number
  protocol?: UpstreamProtocol
}

export interface ModelPriceInput {
  platform: Platform
  input_per_mtok: number
  output_per_mtok: number
  cache_read_per_mtok?: number | null
  cache_write_5m_per_mtok?: number | null
  cache_write_1h_per_mtok?: number | null
  /** Per-call fees of server-side tools, USD per 1,000 calls. */
  tool_fees?: ToolFees
  /** Rates for prompts above a threshold (kept as they were when the form edits a price). */
  long_context?: LongContextPrice | null
  /** Media priced above text that these rates cover (audio in, images or audio out). */
  covers?: Medium[]
  source_url?: string | null
  as_of?: string | null
}

export type Medium = NonNullable<Schemas['PriceInput']['covers']>[number]

export type LongContextPrice = NonNullable<Schemas['PriceInput']['long_context']>

export interface ToolFees {
  web_search_per_1k?: number | null
  web_fetch_per_1k?: number | null
  file_search_per_1k?: number | null
  code_execution_per_1k?: number | null
}

/** A model called without a price of its own (charged at the fallback, or refused). */
export interface UnpricedModel {
  model: string
  platform: Platform
  requests: number
  first_seen: string
  last_seen: string
}

export interface PriceChange {
  model: string
  before: ModelPriceInput | null
  after: ModelPriceInput
}

export interface PriceImportResult {
  format: 'tollgate' | 'litellm'
  skipped: number
  changes: PriceChange[]
  applied: boolean
}

export interface ModelPrice extends ModelPriceInput {
  model: string
  source: 'builtin' | 'override'
}

export interface PricingResponse {
  models: ModelPrice[]
  /** Shape of a fallback price is not pinned by the contract; rendered defensively. */
  fallback: Record<Platform, unknown>
}

/** A dashboard notice (GET /user/notices). Amounts are decimal strings of USD. */
export type QuotaAlertPayload = Schemas['Notice']['payload']

export type Notice = Schemas['Notice']

export interface NoticeList {
  notices: Notice[]
  unread: number
}

export type Language = 'en' | 'zh'

/** Setting `alert_webhook` as read: the secret is write-only. `{}` = not configured. */
export interface AlertWebhookSetting {
  url?: string
  secret?: string
  secret_set?: boolean
}

export type SmtpTls = 'none' | 'starttls' | 'tls'

/** Setting `alert_email` as read: the password is write-only. `{}` = not configured. */
export interface AlertEmailSetting {
  smtp_host?: string
  smtp_port?: number
  tls?: SmtpTls
  username?: string
  password?: string
  password_set?: boolean
  from?: string
  notify_admins?: boolean
}

/** Rate limits (docs/rate-limits.md): null = unlimited (in a defaults layer: inherited). */
export interface RateLimitValues {
  rpm: number | null
  tpm: number | null
  concurrency: number | null
}
/** A settings layer: `default_rate_limits`, `auth_source_default_<source>_rate_limits`. */
export type PlatformRateLimits = Record<Platform, Partial<RateLimitValues>>
export interface RateLimitEntry extends RateLimitValues {
  platform: Platform
}
export interface PutRateLimitsRequest {
  rate_limits: RateLimitEntry[]
}
export type UserRateLimits = Schemas['UserRateLimits']
export type KeyRateLimits = Schemas['KeyRateLimits']

/** One row of GET /admin/request-log and /user/request-log (docs/request-log.md). `cost_usd` is sent as
 * a JSON number with its exact decimal text (at most 9 decimals). `upstream_*` only in the admin's view. */
export type RequestLogEntry = Schemas['RequestLogEntry']

export type RequestLogPage = Schemas['RequestLogPage']

/** The filters of the request log; every field optional (blank = any). */
export interface RequestLogQuery {
  user_id?: string
  key_id?: string
  platform?: string
  model?: string
  /** `429` or a class such as `4xx`. */
  status?: string
  request_id?: string
  /** RFC 3339 time or `YYYY-MM-DD` in the quota zone (`to` inclusive). */
  from?: string
  to?: string
}

/** Sums of GET /user/analytics and /admin/analytics. */
export type UsageTotals = Schemas['UsageTotals']

export type AnalyticsDay = Schemas['AnalyticsDay']

export type AnalyticsModel = Schemas['AnalyticsModel']

export type AnalyticsKey = Schemas['AnalyticsKey']

export type AnalyticsUser = Schemas['AnalyticsUser']

export type AnalyticsResponse = Schemas['Analytics'] & Partial<Pick<Schemas['AdminAnalytics'], 'top_users'>>
