// Compile-time proof that the console's own types (types.ts) agree with the API document: every
// answer the document promises can be read as the type the UI reads it as, and every body the UI
// sends is one the document accepts. `contract.ts` is generated from openapi.json, and the Rust
// suite checks each console answer against openapi.json, so a change on any side that the others
// do not follow fails `npm run type-check` (part of the build) or `cargo test`.
import type { Operations, Req, Res } from './contract'
import type * as T from './types'

/** Compiles only when `B` can be used where `A` is expected. */
type Fits<A, B extends A> = B

/**
 * Request bodies with string enums widened to `string`: the UI keeps platform, window and
 * auth-source names as plain strings on purpose (they are data served by GET /meta), and the server
 * checks the values; field names, presence and types are still checked.
 */
type Loose<X> = X extends string
  ? string
  : X extends (infer U)[]
    ? Loose<U>[]
    : X extends object
      ? { [K in keyof X]: Loose<X[K]> }
      : X

type Answers = [
  Fits<T.Meta, Res<'GET /meta'>>,
  Fits<T.User, Res<'GET /me'>>,
  Fits<T.LoginResponse, Res<'POST /auth/login'>>,
  Fits<T.LoginResponse, Res<'POST /auth/register'>>,
  Fits<Record<string, never>, Res<'POST /auth/logout'>>,
  Fits<T.SettingsResponse, Res<'GET /admin/settings'>>,
  Fits<T.SettingsResponse, Res<'PUT /admin/settings'>>,
  Fits<T.UserList, Res<'GET /admin/users'>>,
  Fits<T.User, Res<'POST /admin/users'>>,
  Fits<T.User, Res<'PATCH /admin/users/{id}'>>,
  Fits<T.QuotaViewList<T.AdminQuotaView>, Res<'GET /admin/users/{id}/platform-quotas'>>,
  Fits<T.QuotaViewList<T.AdminQuotaView>, Res<'PUT /admin/users/{id}/platform-quotas'>>,
  Fits<T.QuotaViewList<T.AdminQuotaView>, Res<'POST /admin/users/{id}/platform-quotas/reset'>>,
  Fits<T.QuotaViewList<T.AdminQuotaView>, Res<'POST /admin/users/{id}/platform-quotas/top-up'>>,
  Fits<T.AuditList, Res<'GET /admin/audit'>>,
  Fits<T.UpstreamList, Res<'GET /admin/upstreams'>>,
  Fits<T.Upstream, Res<'POST /admin/upstreams'>>,
  Fits<T.Upstream, Res<'PATCH /admin/upstreams/{id}'>>,
  Fits<T.PricingResponse, Res<'GET /admin/pricing'>>,
  Fits<T.ModelPrice, Res<'PUT /admin/pricing/{model}'>>,
  Fits<T.UnpricedModel[], Res<'GET /admin/pricing/unpriced'>>,
  Fits<T.PriceImportResult, Res<'POST /admin/pricing/import'>>,
  Fits<T.QuotaViewList<T.QuotaView>, Res<'GET /user/platform-quotas'>>,
  Fits<T.UsageResponse, Res<'GET /user/usage'>>,
  Fits<T.ApiKeyList, Res<'GET /user/api-keys'>>,
  Fits<T.CreatedApiKey, Res<'POST /user/api-keys'>>,
  Fits<T.ApiKey, Res<'PUT /user/api-keys/{id}/quotas'>>,
  Fits<T.ApiKeyList, Res<'GET /admin/users/{id}/api-keys'>>,
  Fits<T.ApiKey, Res<'PUT /admin/users/{id}/api-keys/{key_id}/quotas'>>,
  Fits<T.ApiKey, Res<'POST /admin/users/{id}/api-keys/{key_id}/top-up'>>,
  Fits<T.NoticeList, Res<'GET /user/notices'>>,
  Fits<{ ok: boolean }, Res<'POST /user/notices/{id}/read'>>,
  Fits<{ ok: boolean }, Res<'POST /user/notices/read-all'>>,
  Fits<{ language: T.Language }, Res<'PUT /user/language'>>,
  Fits<T.UserRateLimits, Res<'GET /admin/users/{id}/rate-limits'>>,
  Fits<T.UserRateLimits, Res<'PUT /admin/users/{id}/rate-limits'>>,
  Fits<T.KeyRateLimits, Res<'GET /user/api-keys/{id}/rate-limits'>>,
  Fits<T.KeyRateLimits, Res<'PUT /user/api-keys/{id}/rate-limits'>>,
  Fits<T.RequestLogPage, Res<'GET /admin/request-log'>>,
  Fits<T.RequestLogPage, Res<'GET /user/request-log'>>,
  Fits<T.AnalyticsResponse, Res<'GET /admin/analytics'>>,
  Fits<T.AnalyticsResponse, Res<'GET /user/analytics'>>,
]

type Bodies = [
  Fits<Loose<Req<'POST /auth/login'>>, T.LoginRequest>,
  Fits<Loose<Req<'POST /auth/register'>>, T.RegisterRequest>,
  Fits<Loose<Req<'POST /admin/users'>>, T.CreateUserRequest>,
  Fits<Loose<Req<'PATCH /admin/users/{id}'>>, T.UpdateUserRequest>,
  Fits<Loose<Req<'PUT /admin/users/{id}/platform-quotas'>>, T.PutQuotasRequest>,
  Fits<Loose<Req<'POST /admin/users/{id}/platform-quotas/reset'>>, T.ResetWindowRequest>,
  Fits<Loose<Req<'POST /admin/users/{id}/platform-quotas/top-up'>>, T.TopUpRequest>,
  Fits<Loose<Req<'POST /admin/upstreams'>>, T.UpstreamInput>,
  Fits<Loose<Req<'PATCH /admin/upstreams/{id}'>>, Partial<T.UpstreamInput>>,
  Fits<Loose<Req<'PUT /admin/pricing/{model}'>>, T.ModelPriceInput>,
  Fits<Loose<Req<'POST /user/api-keys'>>, T.CreateApiKeyRequest>,
  Fits<Loose<Req<'PUT /user/api-keys/{id}/quotas'>>, T.KeyQuotasRequest>,
  Fits<Loose<Req<'POST /admin/users/{id}/api-keys/{key_id}/top-up'>>, T.TopUpRequest>,
  Fits<Loose<Req<'PUT /user/language'>>, { language: T.Language }>,
  Fits<Loose<Req<'PUT /admin/users/{id}/rate-limits'>>, T.PutRateLimitsRequest>,
]

/** Exported so the checks are not unused; nothing reads it. */
export type ContractChecks = [Answers, Bodies, keyof Operations]
