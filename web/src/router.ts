// History-mode routes; the Rust server falls back to index.html for any non-API path.
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { homeFor, session } from './session'

declare module 'vue-router' {
  interface RouteMeta {
    /** i18n key of the page title */
    title?: string
    /** 'public' pages have no sidebar; 'user' needs a session; 'admin' needs role admin */
    access: 'public' | 'user' | 'admin'
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: () => (session.user ? homeFor(session.user) : '/login'), meta: { access: 'public' } },
  { path: '/login', component: () => import('./views/LoginView.vue'), meta: { access: 'public', title: 'login.title' } },
  {
    path: '/register',
    component: () => import('./views/RegisterView.vue'),
    meta: { access: 'public', title: 'register.title' },
  },
  {
    path: '/dashboard',
    component: () => import('./views/DashboardView.vue'),
    meta: { access: 'user', title: 'nav.dashboard' },
  },
  { path: '/keys', component: () => import('./views/ApiKeysView.vue'), meta: { access: 'user', title: 'nav.apiKeys' } },
  {
    path: '/request-log',
    component: () => import('./views/RequestLogView.vue'),
    meta: { access: 'user', title: 'nav.myRequests' },
  },
  {
    path: '/admin/users',
    component: () => import('./views/admin/UsersView.vue'),
    meta: { access: 'admin', title: 'nav.users' },
  },
  {
    path: '/admin/settings',
    component: () => import('./views/admin/SettingsView.vue'),
    meta: { access: 'admin', title: 'nav.settings' },
  },
  {
    path: '/admin/upstreams',
    component: () => import('./views/admin/UpstreamsView.vue'),
    meta: { access: 'admin', title: 'nav.upstreams' },
  },
  {
    path: '/admin/pricing',
    component: () => import('./views/admin/PricingView.vue'),
    meta: { access: 'admin', title: 'nav.pricing' },
  },
  {
    path: '/admin/request-log',
    component: () => import('./views/RequestLogView.vue'),
    props: { admin: true },
    meta: { access: 'admin', title: 'nav.requestLog' },
  },
  {
    path: '/admin/analytics',
    component: () => import('./views/admin/AnalyticsView.vue'),
    meta: { access: 'admin', title: 'nav.analytics' },
  },
  {
    path: '/admin/audit',
    component: () => import('./views/admin/AuditView.vue'),
    meta: { access: 'admin', title: 'nav.audit' },
  },
  {
    path: '/:pathMatch(.*)*',
    component: () => import('./views/NotFoundView.vue'),
    meta: { access: 'public', title: 'notFound.title' },
  },
]

export const router = createRouter({ history: createWebHistory('/'), routes })

router.beforeEach((to) => {
  const access = to.meta.access ?? 'public'
  if (access !== 'public' && !session.user) {
    return { path: '/login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  }
  if (access === 'admin' && session.user?.role !== 'admin') return '/dashboard'
  if ((to.path === '/login' || to.path === '/register') && session.user) return homeFor(session.user)
  return true
})

/** Only same-app paths are honoured as a post-login target (no open redirect). */
export function safeNext(next: unknown): string | null {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : null
}
