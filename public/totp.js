// The demo page's authenticator-app part: turn an app on (QR code of the otpauth URI, drawn here
// as SVG from the pinned npm `uqr` bundled into assets/qr.js, and the secret as text), confirm
// it with a code, show the ten recovery codes once, make a new set, turn it off; and at sign-in,
// when the challenge's `methods` include `totp`, ask for the app's code or a recovery code
// instead of a mailed one. The rest of the page (app.js) owns the client and the layout.
import { encode } from './assets/qr.js'
import { $, auth, busy, input, loginSteps, onClick, onSubmit, resetForms, say, showSignedIn } from './app.js'

const SVG = 'http://www.w3.org/2000/svg'

/**
 * The QR code of `text` as an SVG element built with DOM calls (the page's Trusted Types policy
 * forbids HTML strings): one path of unit squares.
 * @param {string} text
 */
function qrSvg(text) {
  const { data, size } = encode(text, { border: 2, ecc: 'M' })
  let d = ''
  data.forEach((row, y) => row.forEach((dark, x) => { if (dark) d += `M${x},${y}h1v1h-1z` }))
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`)
  svg.setAttribute('width', '200')
  svg.setAttribute('height', '200')
  svg.setAttribute('role', 'img')
  svg.setAttribute('aria-label', 'QR code for your authenticator app')
  const background = document.createElementNS(SVG, 'rect')
  background.setAttribute('width', String(size))
  background.setAttribute('height', String(size))
  background.setAttribute('fill', '#fff')
  const path = document.createElementNS(SVG, 'path')
  path.setAttribute('d', d)
  path.setAttribute('fill', '#000')
  svg.append(background, path)
  return svg
}

/** @param {string[]} codes */
function showRecoveryCodes(codes) {
  $('totp-recovery-codes').replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement('li')
      item.textContent = code
      return item
    }),
  )
  $('totp-recovery').hidden = false
}

/** Shows the card's part that matches the account's app: off, being set up, or on. */
async function renderCard() {
  if (!auth.isSignedIn) return
  const status = await auth.mfaStatus()
  const on = status.totp?.enabled === true
  const card = $('totp-card')
  card.dataset.enabled = String(on)
  $('totp-state').textContent = on
    ? `On since ${new Date(status.totp?.createdAt ?? '').toLocaleString()}. Recovery codes left: ${status.recoveryCodesLeft}.`
    : 'Off. Sign-ins ask for a code from your inbox.'
  $('totp-enroll-form').hidden = on || !$('totp-setup').hidden
  $('totp-manage').hidden = !on
}

// --- Settings (signed in) ---

onSubmit('totp-enroll-form', async () => {
  const enrolment = await auth.enrollTotp({ password: input('totp-password').value })
  input('totp-password').value = ''
  $('totp-qr').replaceChildren(qrSvg(enrolment.otpauthUri))
  $('totp-secret').textContent = enrolment.secret
  $('totp-enroll-form').hidden = true
  $('totp-setup').hidden = false
  input('totp-activate-code').focus()
  say('Scan the QR code (or type the secret) in your authenticator app, then enter the code it shows.', 'ok')
})

onSubmit('totp-activate-form', async () => {
  const codes = await auth.activateTotp({ code: input('totp-activate-code').value.trim() })
  input('totp-activate-code').value = ''
  $('totp-setup').hidden = true
  $('totp-qr').replaceChildren()
  $('totp-secret').textContent = ''
  showRecoveryCodes(codes)
  say('Authenticator app turned on. Keep the recovery codes somewhere safe: they are shown only now.', 'ok')
  await renderCard()
})

onClick('totp-setup-cancel', async () => {
  $('totp-setup').hidden = true
  $('totp-qr').replaceChildren()
  $('totp-secret').textContent = ''
  await renderCard()
})

onClick('totp-recovery-done', async () => {
  $('totp-recovery-codes').replaceChildren()
  $('totp-recovery').hidden = true
})

onSubmit('totp-regenerate-form', async () => {
  const codes = await auth.regenerateRecoveryCodes({ code: input('totp-regenerate-code').value.trim() })
  input('totp-regenerate-code').value = ''
  showRecoveryCodes(codes)
  say('New recovery codes made; the old ones no longer work.', 'ok')
  await renderCard()
})

onSubmit('totp-remove-form', async () => {
  await auth.removeTotp({ code: input('totp-remove-code').value.trim() })
  input('totp-remove-code').value = ''
  $('totp-recovery').hidden = true
  say('Authenticator app turned off.', 'ok')
  await renderCard()
})

// --- Sign-in: the app's code instead of a mailed one ---

const challenge = { id: '' }

loginSteps.push({
  /** @param {string[]} methods */
  handles: (methods) => methods.includes('totp'),
  /** @param {{ challengeId: string }} step */
  start(step) {
    challenge.id = step.challengeId
    $('login-form').hidden = true
    $('mfa-form').hidden = false
    input('mfa-code').focus()
    say('Enter the code from your authenticator app (or a recovery code).', 'ok')
  },
})

onSubmit('mfa-form', async () => {
  const code = input('mfa-code').value.trim()
  // Six digits are the app's; anything else is a recovery code.
  const method = /^\d{6}$/.test(code) ? 'totp' : 'recovery_code'
  const user = await auth.verifyMfa({ challengeId: challenge.id, method, code })
  input('mfa-code').value = ''
  $('mfa-form').hidden = true
  challenge.id = ''
  resetForms()
  say(`Welcome, ${user.name}.`, 'ok')
  await showSignedIn()
})

onClick('mfa-cancel', async () => {
  challenge.id = ''
  input('mfa-code').value = ''
  $('mfa-form').hidden = true
  resetForms()
  say('')
})

// Whenever the session starts or ends: the card follows, the sign-in step is put away.
auth.subscribe((state) => {
  if (state === 'signed-out') {
    $('mfa-form').hidden = true
    $('totp-setup').hidden = true
    $('totp-recovery').hidden = true
    $('totp-recovery-codes').replaceChildren()
  } else {
    void renderCard().catch(() => undefined)
  }
})
await renderCard().catch(() => undefined)
document.body.dataset.totpReady = 'true'
