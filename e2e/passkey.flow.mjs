// Passkeys in real Chromium: a virtual authenticator (DevTools protocol WebAuthn domain: ctap2,
// internal transport, resident keys, user verification) stands in for the device's. Signed in
// with password and code, the demo page adds a passkey, renames it, signs out, and signs in again
// with the passkey alone (no email, no password): the session is aal2 with amr ["passkey"].
// Then the passkey is removed. WebAuthn refuses an IP address as RP id, so this flow opens the
// page at http://localhost:<port> (wrangler dev listens on 127.0.0.1).
import assert from 'node:assert/strict'
import { watchProblems } from './lib/browser.mjs'
import { codeFromLog } from './lib/mail.mjs'

const PASSWORD = 'E2e-passkey-1'

/**
 * @param {object} run
 * @param {import('playwright-core').BrowserContext} run.context
 * @param {string} run.base the server's origin, http://127.0.0.1:<port>
 * @param {string[]} run.logLines wrangler dev's output so far (grows)
 * @param {(message: string) => void} run.step
 * @param {(page: import('playwright-core').Page) => void} run.onPage the page under test, for a screenshot on failure
 */
export async function passkeyFlow({ context, base, logLines, step, onPage }) {
  const origin = base.replace('127.0.0.1', 'localhost')
  const page = await context.newPage()
  onPage(page)
  page.setDefaultTimeout(15_000)
  const problems = watchProblems(page)
  /** @param {string} selector @param {string} expected */
  const waitText = (selector, expected) =>
    page.waitForFunction(([s, e]) => document.querySelector(s)?.textContent?.includes(e) ?? false, /** @type {[string, string]} */ ([selector, expected]))

  step('passkeys: a virtual authenticator (ctap2, internal, resident keys, user verification)')
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  })

  const email = `e2e-passkey-${Date.now().toString(36)}@example.com`
  step(`passkeys: an account (${email}) made through the API, signed in on the page with password and code`)
  let mark = logLines.length
  const registered = await fetch(`${origin}/api/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, name: 'Passkey Tester' }),
  })
  assert.equal(registered.status, 201, await registered.text())
  await codeFromLog(logLines, email, 'verify_email', mark)
  await page.goto(origin)
  await page.waitForSelector('body[data-passkeys-ready="true"]')
  mark = logLines.length
  await page.fill('#login-email', email)
  await page.fill('#login-password', PASSWORD)
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector('#otp-form:not([hidden])')
  await page.fill('#otp-code', await codeFromLog(logLines, email, 'login', mark))
  await page.click('#otp-form button[type=submit]')
  await page.waitForSelector('body[data-state="signed-in"]')

  step('passkeys: adding one from the page')
  await page.waitForSelector('#passkeys-card[data-count="0"]')
  await page.fill('#passkey-add-name', 'E2E laptop')
  await page.click('#passkey-add')
  await page.waitForSelector('#passkeys-card[data-count="1"]')
  await waitText('#status', 'added')
  assert.equal(await page.inputValue('#passkeys tr .passkey-name'), 'E2E laptop')
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
  assert.equal(credentials.length, 1, 'the authenticator holds no credential')
  assert.equal(credentials[0]?.isResidentCredential, true, 'the credential is not discoverable')
  assert.equal(credentials[0]?.rpId, 'localhost')

  step('passkeys: renaming it')
  await page.fill('#passkeys tr .passkey-name', 'E2E desk')
  await page.click('#passkeys tr .passkey-rename')
  await waitText('#status', 'renamed to E2E desk')

  step('passkeys: signing out, then in with the passkey alone')
  await page.click('#logout')
  await page.waitForSelector('body[data-state="signed-out"]')
  const verified = page.waitForResponse((response) => response.url().endsWith('/api/auth/passkeys/login/verify'))
  await page.click('#passkey-login')
  const answer = await verified
  assert.equal(answer.status(), 200, await answer.text())
  await page.waitForSelector('body[data-state="signed-in"]')
  await waitText('#profile-email', email)
  const token = /** @type {{data: {accessToken: string}}} */ (await answer.json()).data.accessToken
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
  assert.deepEqual({ aal: claims.aal, amr: claims.amr }, { aal: 'aal2', amr: ['passkey'] })
  await page.waitForSelector('#passkeys-card[data-count="1"]')

  step('passkeys: removing it')
  await page.click('#passkeys tr .passkey-remove')
  await page.waitForSelector('#passkeys-card[data-count="0"]')
  await waitText('#status', 'Passkey removed')

  assert.deepEqual(problems, [], 'the passkey pages logged errors to the console')
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId })
  await page.close()
}
