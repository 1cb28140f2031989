import { createApp } from 'vue'
import App from './App.vue'
import { setUnauthorizedHandler } from './api/client'
import { i18n, setLocale } from './i18n'
import { router } from './router'
import { boot, session } from './session'
import './styles/main.css'

window.__i18nMissing ??= []
setLocale(i18n.global.locale.value as 'en' | 'zh')

// A 401 anywhere means the session ended: forget the user and go to the login page.
setUnauthorizedHandler(() => {
  session.user = null
  const current = router.currentRoute.value
  if (current.meta.access !== 'public') {
    void router.push({ path: '/login', query: { next: current.fullPath } })
  }
})

// Boot before the router starts so its guards know who is signed in.
void boot().then(() => {
  createApp(App).use(i18n).use(router).mount('#app')
})
