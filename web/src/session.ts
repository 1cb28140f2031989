// App-wide session state: the signed-in user and /meta (platform, window and auth-source lists).
import { reactive } from 'vue'
import { ApiError, isApiError } from './api/client'
import { getMe, getMeta, logout as apiLogout } from './api/endpoints'
import type { Meta, User } from './api/types'

export const session = reactive({
  user: null as User | null,
  meta: null as Meta | null,
  ready: false,
  bootError: null as ApiError | null,
})

export const isAdmin = () => session.user?.role === 'admin'

/** Loads /meta and probes the session. A 401 from /me just means "not signed in". */
export async function boot(): Promise<void> {
  session.bootError = null
  try {
    const [meta, me] = await Promise.all([getMeta(), getMe().catch((e) => (isApiError(e) && e.status === 401 ? null : Promise.reject(e)))])
    session.meta = meta
    session.user = me
    session.ready = true
  } catch (e) {
    session.bootError = isApiError(e) ? e : new ApiError(0, 'network', String(e))
  }
}

export function setUser(user: User | null): void {
  session.user = user
}

export async function signOut(): Promise<void> {
  try {
    await apiLogout()
  } finally {
    session.user = null
  }
}

/** Where a freshly signed-in user goes. */
export function homeFor(user: User | null): string {
  return user?.role === 'admin' ? '/admin/users' : '/dashboard'
}
