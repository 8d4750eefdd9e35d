// Cloudflare Turnstile on the demo page, only when a site key is set in index.html's
// <meta name="turnstile-site-key"> (the service then runs with TURNSTILE_SECRET_KEY). Each form
// with a [data-turnstile] container gets a widget; its token goes with the form's request as
// `turnstileToken` and the widget is reset after each use (a token works once).
const SCRIPT = 'https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit'

const siteKey = document.querySelector('meta[name="turnstile-site-key"]')?.getAttribute('content')?.trim() ?? ''

/** form id -> { widget id, latest token } */
const widgets = new Map()

/** The page's CSP requires Trusted Types for script URLs: one policy that allows only Turnstile's. */
const policy =
  siteKey && window.trustedTypes
    ? window.trustedTypes.createPolicy('turnstile', {
        createScriptURL: (url) => {
          if (url !== SCRIPT) throw new TypeError(`refused script URL ${url}`)
          return url
        },
      })
    : undefined

/** Loads Turnstile and renders a widget in every [data-turnstile] container. */
function start() {
  const script = document.createElement('script')
  script.src = /** @type {string} */ (/** @type {unknown} */ (policy ? policy.createScriptURL(SCRIPT) : SCRIPT))
  script.async = true
  script.addEventListener('load', () => {
    for (const container of document.querySelectorAll('[data-turnstile]')) {
      const form = container.getAttribute('data-turnstile') ?? ''
      const entry = { id: '', token: '' }
      entry.id = window.turnstile.render(container, {
        sitekey: siteKey,
        callback: (/** @type {string} */ token) => (entry.token = token),
        'expired-callback': () => (entry.token = ''),
      })
      widgets.set(form, entry)
    }
  })
  document.head.append(script)
}

if (siteKey) start()

/**
 * The fields a form's request adds for Turnstile: `{turnstileToken}` when a widget is on the page,
 * nothing otherwise. The widget is reset so the next submit gets a fresh token.
 * @param {string} form the form's id
 * @returns {{ turnstileToken?: string }}
 */
export function turnstileFields(form) {
  const entry = widgets.get(form)
  if (!entry) return {}
  const turnstileToken = entry.token
  entry.token = ''
  window.turnstile.reset(entry.id)
  return turnstileToken ? { turnstileToken } : {}
}
