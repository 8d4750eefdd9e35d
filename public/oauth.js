// The demo page's social sign-in: a "Sign in with …" button per configured provider, the
// provider's answer on the way back (?error=, ?linked=, ?mfaChallenge=), and the signed-in
// account's linked identities with "Unlink" and "Link …". Shares app.js's client (its memory
// holds the access token); the refresh cookie is set by the service's callback.
import { AuthClientError } from './assets/auth-client.js'
import { auth } from './app.js'

/** @param {string} id */
const $ = (id) => {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing`)
  return element
}

/**
 * @param {string} message
 * @param {'ok' | 'error'} kind
 * @param {string} [code]
 */
function say(message, kind, code) {
  const status = $('status')
  status.textContent = message
  status.className = kind
  if (code) status.dataset.code = code
  else delete status.dataset.code
}

const FAILURES = {
  ACCOUNT_EXISTS: 'An account with this email already exists. Sign in with its password, then link the provider below.',
  ACCOUNT_BANNED: 'This account is banned.',
  VALIDATION_ERROR: 'The provider did not share an email address.',
  TOKEN_INVALID: 'The provider refused the sign-in (or it was cancelled).',
  SERVICE_UNAVAILABLE: 'The provider is not reachable right now. Try again later.',
}

/** The hint app.js reads to resume a session on load: the callback sets the refresh cookie. */
const setSessionHint = () => (document.cookie = 'edge_auth_demo_session=1; Path=/; Max-Age=2592000; SameSite=Strict; Secure')

/** @param {string} label @param {string} id @param {() => Promise<void> | void} action */
function button(label, id, action, className = 'secondary') {
  const element = document.createElement('button')
  element.type = 'button'
  element.id = id
  element.className = className
  element.textContent = label
  element.addEventListener('click', async () => {
    element.setAttribute('disabled', '')
    try {
      await action()
    } catch (error) {
      if (error instanceof AuthClientError) say(error.message, 'error', error.code)
      else say(error instanceof Error ? error.message : String(error), 'error')
    } finally {
      element.removeAttribute('disabled')
    }
  })
  return element
}

const providers = await auth.oauthProviders().catch(() => [])
const returnTo = (/** @type {string} */ what) => `${location.origin}/?oauth=${encodeURIComponent(what)}`

$('oauth-card').hidden = providers.length === 0
$('oauth-buttons').replaceChildren(
  ...providers.map((p) =>
    button(`Sign in with ${p.displayName}`, `oauth-start-${p.name}`, () => {
      setSessionHint()
      location.assign(auth.oauthStartUrl(p.name, returnTo(p.name)))
    }),
  ),
)

async function loadIdentities() {
  if (!auth.isSignedIn || providers.length === 0) {
    $('identities-card').hidden = true
    return
  }
  const identities = await auth.identities()
  $('identities-card').hidden = false
  $('identities-card').dataset.count = String(identities.length)
  $('identities').replaceChildren(
    ...identities.map((identity) => {
      const item = document.createElement('li')
      item.dataset.provider = identity.provider
      const name = providers.find((p) => p.name === identity.provider)?.displayName ?? identity.provider
      item.append(`${name}${identity.email ? ` (${identity.email})` : ''} `)
      item.append(
        button('Unlink', `unlink-${identity.provider}`, async () => {
          await auth.unlinkIdentity(identity.id)
          say(`${name} unlinked.`, 'ok')
          await loadIdentities()
        }, 'danger'),
      )
      return item
    }),
  )
  const linked = new Set(identities.map((identity) => identity.provider))
  $('oauth-link-buttons').replaceChildren(
    ...providers
      .filter((p) => !linked.has(p.name))
      .map((p) => button(`Link ${p.displayName}`, `oauth-link-${p.name}`, async () => location.assign(await auth.linkProvider(p.name, returnTo('linked'))))),
  )
}

// Back from the provider: say how it went, then clean the address bar.
const params = new URLSearchParams(location.search)
if (params.has('oauth')) {
  const error = params.get('error')
  const challenge = params.get('mfaChallenge')
  if (error) say(FAILURES[/** @type {keyof typeof FAILURES} */ (error)] ?? `Sign-in failed (${error}).`, 'error', error)
  else if (challenge) say('This account needs its authenticator app to finish signing in.', 'error', 'MFA_REQUIRED')
  else if (params.get('linked')) say('Provider linked.', 'ok')
  history.replaceState(null, '', location.pathname)
}

let shown = auth.isSignedIn
auth.subscribe(() => {
  if (auth.isSignedIn !== shown) void loadIdentities().catch(() => undefined)
  shown = auth.isSignedIn
})
await loadIdentities().catch(() => undefined)
document.body.dataset.oauthReady = 'true'
