// The demo page: plain DOM over the typed auth client (bundled from src/client by
// scripts/build-client.mjs). The access token lives in the client's memory only; the
// refresh token is the API's HttpOnly cookie, so a reload resumes through restore().
import { AuthClientError, createAuthClient } from './assets/auth-client.js'
import { turnstileFields } from './turnstile.js'

/** @param {string} id */
const $ = (id) => {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing`)
  return element
}
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ ($(id))

const SIGNED_OUT_MESSAGES = {
  logout: 'You are signed out.',
  'session-ended': 'Your session was ended (signed out elsewhere, or revoked). Please sign in again.',
  'refresh-failed': 'Your session expired. Please sign in again.',
}

/**
 * A hint, readable by this page, that a refresh cookie may exist: without it the first visit
 * would try a refresh with no cookie, and the browser logs that 401 as a console error. It holds
 * nothing secret (the refresh token stays in its HttpOnly cookie) and is not web storage.
 */
const HINT = 'edge_auth_demo_session'
const hint = {
  get: () => document.cookie.split('; ').includes(`${HINT}=1`),
  set: () => (document.cookie = `${HINT}=1; Path=/; Max-Age=${30 * 86400}; SameSite=Strict; Secure`),
  clear: () => (document.cookie = `${HINT}=; Path=/; Max-Age=0; SameSite=Strict; Secure`),
}

const auth = createAuthClient({
  baseUrl: location.origin,
  tokenTransport: 'cookie',
  onSignedOut: ({ reason }) => {
    hint.clear()
    resetForms()
    say(SIGNED_OUT_MESSAGES[reason] ?? 'You are signed out.', reason === 'logout' ? 'ok' : 'error')
  },
})

/**
 * Second steps other modules of the page handle (totp.js): the first whose `handles(methods)` is
 * true takes a login challenge instead of the mailed-code form.
 * @type {{ handles: (methods: string[]) => boolean, start: (step: { challengeId: string, expiresIn: number }) => void }[]}
 */
export const loginSteps = []

/** The sign-up and sign-in steps in progress (memory only). */
const pending = { verifyEmail: '', challengeId: '', loginEmail: '' }

/**
 * @param {string} message
 * @param {'ok' | 'error' | ''} [kind]
 */
function say(message, kind = '') {
  const status = $('status')
  status.textContent = message
  status.className = kind
}

/**
 * The error as one sentence: the API's message, then only what it does not already say (the
 * fields of a validation error, the tries left on a wrong code, when to try again).
 * @param {unknown} error
 */
function sayError(error) {
  if (error instanceof AuthClientError) {
    const details = error.details ?? []
    const fields = error.code === 'VALIDATION_ERROR' ? details.map((d) => `${d.path} ${d.message}`).join('; ') : ''
    const left = details.map((d) => d.attemptsLeft).find((n) => typeof n === 'number')
    const parts = [error.message]
    if (fields) parts.push(`(${fields})`)
    if (typeof left === 'number') parts.push(`${left} attempt${left === 1 ? '' : 's'} left.`)
    if (error.retryAfter) parts.push(`Try again in ${error.retryAfter} s.`)
    say(parts.join(' '), 'error')
    $('status').dataset.code = error.code
  } else {
    say(error instanceof Error ? error.message : String(error), 'error')
  }
}

/**
 * Runs a form's or button's action with its controls disabled and errors shown.
 * @param {HTMLElement} element
 * @param {() => Promise<void>} action
 */
async function busy(element, action) {
  const controls = element instanceof HTMLFormElement ? [...element.elements] : [element]
  for (const control of controls) control.setAttribute('disabled', '')
  // A new action: the last one's message no longer applies.
  say('')
  delete $('status').dataset.code
  try {
    await action()
  } catch (error) {
    sayError(error)
  } finally {
    for (const control of controls) control.removeAttribute('disabled')
  }
}

/**
 * @param {string} id
 * @param {(form: HTMLFormElement) => Promise<void>} action
 */
function onSubmit(id, action) {
  const form = /** @type {HTMLFormElement} */ ($(id))
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void busy(form, () => action(form))
  })
}

/**
 * @param {string} id
 * @param {() => Promise<void>} action
 */
function onClick(id, action) {
  const button = $(id)
  button.addEventListener('click', () => void busy(button, action))
}

function resetForms() {
  $('register-form').hidden = false
  $('verify-form').hidden = true
  $('login-form').hidden = false
  $('otp-form').hidden = true
  input('login-password').value = ''
  input('otp-code').value = ''
  pending.challengeId = ''
}

/**
 * A short name for a user agent: "Chrome on Linux", "Safari on iOS", or its first product token.
 * @param {string | null} userAgent
 */
function deviceLabel(userAgent) {
  if (!userAgent) return 'unknown device'
  const browsers = /** @type {const} */ ([
    [/Edg\//, 'Edge'], [/OPR\//, 'Opera'], [/Firefox\//, 'Firefox'], [/Chrom(e|ium)\//, 'Chrome'], [/Safari\//, 'Safari'],
  ])
  const systems = /** @type {const} */ ([
    [/Windows/, 'Windows'], [/iPhone|iPad|iPod/, 'iOS'], [/Android/, 'Android'], [/Mac OS X|Macintosh/, 'macOS'], [/CrOS/, 'ChromeOS'], [/Linux/, 'Linux'],
  ])
  const browser = browsers.find(([pattern]) => pattern.test(userAgent))?.[1]
  const system = systems.find(([pattern]) => pattern.test(userAgent))?.[1]
  if (browser) return system ? `${browser} on ${system}` : browser
  return userAgent.split(/[\s/]/)[0] || 'unknown device'
}

/** @param {string | null | undefined} iso */
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '')

/** Shows the view that matches the client's state. */
function render() {
  const user = auth.user
  $('loading').hidden = true
  $('signed-out').hidden = auth.isSignedIn
  $('signed-in').hidden = !auth.isSignedIn
  document.body.dataset.state = auth.state
  if (!user) return
  $('profile-name').textContent = user.name
  $('profile-email').textContent = user.email
  $('profile-verified').textContent = user.emailVerified ? 'yes' : 'no'
  $('profile-role').textContent = user.role
  $('profile-created').textContent = when(user.createdAt)
}

async function loadSessions() {
  const sessions = await auth.sessions()
  const body = $('sessions')
  body.replaceChildren(
    ...sessions.map((session) => {
      const row = document.createElement('tr')
      row.dataset.sessionId = session.id
      if (session.current) row.dataset.current = 'true'
      const device = document.createElement('td')
      device.className = 'device'
      device.textContent = deviceLabel(session.userAgent)
      if (session.userAgent) device.title = session.userAgent
      if (session.current) {
        const badge = document.createElement('span')
        badge.className = 'badge'
        badge.textContent = 'this device'
        device.append(badge)
      }
      const cells = [session.ip ?? '', when(session.createdAt), when(session.lastUsedAt)].map((text) => {
        const cell = document.createElement('td')
        cell.textContent = text
        return cell
      })
      const action = document.createElement('td')
      const revoke = document.createElement('button')
      revoke.type = 'button'
      revoke.className = 'danger revoke'
      revoke.textContent = session.current ? 'Sign out' : 'Revoke'
      revoke.addEventListener('click', () =>
        busy(revoke, async () => {
          await auth.revokeSession(session.id)
          if (auth.isSignedIn) {
            say('Session revoked.', 'ok')
            await loadSessions()
          }
        }),
      )
      action.append(revoke)
      row.append(device, ...cells, action)
      return row
    }),
  )
  $('sessions-card').dataset.count = String(sessions.length)
}

async function showSignedIn() {
  hint.set()
  render()
  input('name-input').value = auth.user?.name ?? ''
  await loadSessions()
}

onSubmit('register-form', async () => {
  const email = input('register-email').value
  const user = await auth.register({ name: input('register-name').value, email, password: input('register-password').value, ...turnstileFields('register-form') })
  pending.verifyEmail = user.email
  $('verify-email-label').textContent = user.email
  $('register-form').hidden = true
  $('verify-form').hidden = false
  input('verify-code').focus()
  say('Account created. Enter the code we emailed you.', 'ok')
})

onSubmit('verify-form', async () => {
  await auth.verifyEmail({ email: pending.verifyEmail, otp: input('verify-code').value.trim() })
  input('login-email').value = pending.verifyEmail
  input('verify-code').value = ''
  input('register-password').value = ''
  $('verify-form').hidden = true
  $('register-form').hidden = false
  input('login-password').focus()
  say('Email verified. You can sign in now.', 'ok')
})

onClick('verify-resend', async () => {
  // No named call in the client yet: the raw typed client reaches the route.
  const response = await auth.api.api.auth['verify-email'].resend.$post({ json: { email: pending.verifyEmail } })
  if (!response.ok) throw await AuthClientError.fromResponse(response)
  input('verify-code').value = ''
  input('verify-code').focus()
  say('If the code has not been used yet, a new one is on its way; the previous code no longer works.', 'ok')
})

onClick('verify-back', async () => {
  pending.verifyEmail = ''
  input('verify-code').value = ''
  $('verify-form').hidden = true
  $('register-form').hidden = false
  input('register-email').focus()
})

onSubmit('login-form', async () => {
  const email = input('login-email').value
  const step = await auth.login({ email, password: input('login-password').value, ...turnstileFields('login-form') })
  input('login-password').value = ''
  if (!step.otpRequired) {
    say(`Welcome, ${step.user.name}.`, 'ok')
    await showSignedIn()
    return
  }
  const other = loginSteps.find((handler) => handler.handles(step.methods))
  if (other) return other.start(step)
  pending.challengeId = step.challengeId
  pending.loginEmail = email
  $('otp-email-label').textContent = email
  $('login-form').hidden = true
  $('otp-form').hidden = false
  input('otp-code').focus()
  say('Enter the login code we emailed you.', 'ok')
})

onSubmit('otp-form', async () => {
  const user = await auth.verifyOtp({ challengeId: pending.challengeId, otp: input('otp-code').value.trim() })
  resetForms()
  say(`Welcome, ${user.name}.`, 'ok')
  await showSignedIn()
})

onClick('otp-resend', async () => {
  await auth.resendOtp({ challengeId: pending.challengeId })
  say('A new code is on its way.', 'ok')
})

onClick('otp-cancel', async () => {
  resetForms()
  say('')
})

onSubmit('name-form', async () => {
  const user = await auth.updateProfile({ name: input('name-input').value })
  say(`Name changed to ${user.name}.`, 'ok')
})

onClick('sessions-reload', loadSessions)

onClick('logout', async () => {
  await auth.logout()
})

onClick('logout-all', async () => {
  const revoked = await auth.logoutAll()
  say(`Signed out of ${revoked} session${revoked === 1 ? '' : 's'}.`, 'ok')
})

auth.subscribe(render)

// A reload: resume the session through the HttpOnly refresh cookie, if there is one.
try {
  const user = hint.get() ? await auth.restore() : null
  if (user) {
    await showSignedIn()
    say(`Welcome back, ${user.name}.`, 'ok')
  } else {
    hint.clear()
    render()
  }
} catch (error) {
  render()
  sayError(error)
}
document.body.dataset.ready = 'true'

/** The page's one client and its helpers, for the other page modules (oauth.js, totp.js, passkeys.js). */
export { $, auth, busy, input, onClick, onSubmit, resetForms, say, showSignedIn, when }
