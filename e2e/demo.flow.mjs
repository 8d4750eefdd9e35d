// The demo page (public/), driven like a person would: register, a wrong code (tries left shown),
// ask for a new code, verify, log in with the mailed code, rename, list sessions (device labels),
// reload (the session resumes through the HttpOnly cookie), revoke another session, log out, and
// the verify step's Back button. The first visit must log nothing to the console.
import assert from 'node:assert/strict'
import path from 'node:path'
import { watchProblems } from './lib/browser.mjs'
import { codeFromLog, findCode } from './lib/mail.mjs'
import { sleep } from '../scripts/lib/processes.mjs'

const PASSWORD = 'E2e-password-1'

/**
 * @param {object} run
 * @param {import('playwright-core').BrowserContext} run.context
 * @param {string} run.base
 * @param {string[]} run.logLines wrangler dev's output so far (grows)
 * @param {string} run.results where screenshots go
 * @param {(message: string) => void} run.step
 * @param {(page: import('playwright-core').Page) => void} run.onPage the page under test, for a screenshot on failure
 */
export async function demoFlow({ context, base, logLines, results, step, onPage }) {
  const page = context.pages()[0] ?? (await context.newPage())
  onPage(page)
  page.setDefaultTimeout(15_000)
  const problems = watchProblems(page)

  /**
   * A JSON call to the API from Node (a second device).
   * @param {string} pathname
   * @param {unknown} body
   */
  const api = async (pathname, body) => {
    const response = await fetch(`${base}${pathname}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'e2e-second-device/1.0' },
      body: JSON.stringify(body),
    })
    return { status: response.status, json: /** @type {any} */ (await response.json()) }
  }
  const email = `e2e-${Date.now().toString(36)}@example.com`
  const text = async (/** @type {string} */ selector) => (await page.locator(selector).textContent())?.trim() ?? ''
  /** @param {string} selector @param {string} expected */
  const waitText = (selector, expected) =>
    page.waitForFunction(
      ([s, e]) => document.querySelector(s)?.textContent?.includes(e) ?? false,
      /** @type {[string, string]} */ ([selector, expected]),
    )

  step('opening the page (first visit)')
  const response = await page.goto(base)
  assert.ok(response && response.ok(), `GET / answered ${response?.status()}`)
  const csp = (await response.allHeaders())['content-security-policy'] ?? ''
  for (const directive of ["script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(directive), `the page's CSP lacks ${directive}: ${csp}`)
  }
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `the page's CSP allows inline or eval: ${csp}`)
  await page.waitForSelector('body[data-ready="true"]')
  assert.equal(await page.getAttribute('body', 'data-state'), 'signed-out')
  await sleep(300)
  assert.deepEqual(problems, [], 'the first visit logged errors to the console')

  step(`registering ${email}`)
  let mark = logLines.length
  await page.fill('#register-name', 'E2E Tester')
  await page.fill('#register-email', email)
  await page.fill('#register-password', PASSWORD)
  await page.click('#register-form button[type=submit]')
  await page.waitForSelector('#verify-form:not([hidden])')
  const verifyCode = await codeFromLog(logLines, email, 'verify_email', mark)

  step('a wrong email code says so once (verify-email never tells how many tries are left)')
  await page.fill('#verify-code', verifyCode === '000000' ? '111111' : '000000')
  await page.click('#verify-form button[type=submit]')
  await waitText('#status', 'incorrect')
  assert.equal(await text('#status'), 'The code is incorrect.')
  assert.equal(await page.getAttribute('#status', 'data-code'), 'OTP_INVALID')

  step('asking for a new code clears the banner and answers')
  mark = logLines.length
  await page.click('#verify-resend')
  await waitText('#status', 'a new one is on its way')
  assert.equal(await page.getAttribute('#status', 'class'), 'ok')
  assert.equal(await page.getAttribute('#status', 'data-code'), null)
  // Within a minute of the first code the resend is throttled (silently): the first code still works.
  await sleep(500)
  const fresh = findCode(logLines.slice(mark), email, 'verify_email')

  step('verifying the email')
  await page.fill('#verify-code', fresh ?? verifyCode)
  await page.click('#verify-form button[type=submit]')
  await waitText('#status', 'Email verified')
  assert.equal(await page.inputValue('#login-email'), email)

  step('logging in')
  mark = logLines.length
  await page.fill('#login-password', PASSWORD)
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector('#otp-form:not([hidden])')
  const loginCode = await codeFromLog(logLines, email, 'login', mark)

  step('a wrong login code says how many tries are left, once')
  await page.fill('#otp-code', loginCode === '000000' ? '111111' : '000000')
  await page.click('#otp-form button[type=submit]')
  await waitText('#status', 'attempts left')
  assert.equal(await text('#status'), 'The code is incorrect. 4 attempts left.')

  step('entering the login code')
  await page.fill('#otp-code', loginCode)
  await page.click('#otp-form button[type=submit]')
  await page.waitForSelector('body[data-state="signed-in"]')
  await waitText('#profile-email', email)
  assert.equal(await text('#profile-name'), 'E2E Tester')
  assert.equal(await text('#profile-verified'), 'yes')

  step('changing the name')
  await page.fill('#name-input', 'E2E Renamed')
  await page.click('#name-form button[type=submit]')
  await waitText('#profile-name', 'E2E Renamed')
  await waitText('#status', 'Name changed')

  step('listing sessions: a short device label, the user agent on hover')
  await page.waitForSelector('#sessions tr[data-current="true"]')
  assert.equal(await page.locator('#sessions tr').count(), 1)
  const device = page.locator('#sessions tr[data-current="true"] td.device')
  assert.match((await device.textContent()) ?? '', /^Chrome on Linux/)
  assert.match((await device.getAttribute('title')) ?? '', /Mozilla\/5\.0 .*Chrome\//)

  // A second device signs in from Node (body transport), so there is a session to revoke.
  mark = logLines.length
  const login = await api('/api/auth/login', { email, password: PASSWORD })
  assert.equal(login.status, 200, JSON.stringify(login.json))
  const secondCode = await codeFromLog(logLines, email, 'login', mark)
  const second = await api('/api/auth/verify-otp', { challengeId: login.json.data.challengeId, otp: secondCode, tokenTransport: 'body' })
  assert.equal(second.status, 200, JSON.stringify(second.json))

  step('reloading: the session resumes through the HttpOnly cookie')
  await page.reload()
  await page.waitForSelector('body[data-ready="true"]')
  assert.equal(await page.getAttribute('body', 'data-state'), 'signed-in', 'the reload did not resume the session')
  await waitText('#profile-name', 'E2E Renamed')
  await waitText('#status', 'Welcome back')
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 2)
  assert.equal(await page.locator('#sessions tr:not([data-current]) td.device').textContent(), 'e2e-second-device')

  // The refresh token is never visible to script, and nothing is kept in web storage.
  const documentCookie = await page.evaluate(() => document.cookie)
  assert.ok(!documentCookie.includes('refresh_token'), `document.cookie exposes the refresh token: ${documentCookie}`)
  const storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length }))
  assert.deepEqual(storage, { local: 0, session: 0 }, 'tokens must not be kept in web storage')
  const cookies = await context.cookies(base)
  const refreshCookie = cookies.find((c) => c.name === '__Host-refresh_token')
  assert.ok(refreshCookie, 'the browser holds no refresh cookie')
  assert.equal(refreshCookie.httpOnly, true)
  assert.equal(refreshCookie.secure, true)
  assert.equal(refreshCookie.sameSite, 'Strict')
  assert.equal(refreshCookie.path, '/')

  await page.screenshot({ path: path.join(results, 'demo-signed-in.png'), fullPage: true })
  step('screenshot: e2e/results/demo-signed-in.png')

  step('revoking the other session')
  await page.click('#sessions tr:not([data-current]) button.revoke')
  await waitText('#status', 'Session revoked')
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 1)
  const revoked = await api('/api/auth/refresh', { refreshToken: second.json.data.refreshToken })
  assert.equal(revoked.status, 401)
  assert.equal(revoked.json.error, 'TOKEN_REVOKED')

  step('logging out')
  await page.click('#logout')
  await page.waitForSelector('body[data-state="signed-out"]')
  await waitText('#status', 'You are signed out')
  assert.equal((await context.cookies(base)).some((c) => c.name === '__Host-refresh_token'), false, 'logout left the cookie')
  await page.reload()
  await page.waitForSelector('body[data-ready="true"]')
  assert.equal(await page.getAttribute('body', 'data-state'), 'signed-out', 'signed in again after logout and reload')
  await page.screenshot({ path: path.join(results, 'demo-signed-out.png'), fullPage: true })

  step('the verify step has a way back to the sign-up form')
  await page.fill('#register-name', 'E2E Second')
  await page.fill('#register-email', `back-${email}`)
  await page.fill('#register-password', PASSWORD)
  await page.click('#register-form button[type=submit]')
  await page.waitForSelector('#verify-form:not([hidden])')
  await page.click('#verify-back')
  await page.waitForSelector('#register-form:not([hidden])')
  assert.equal(await page.isHidden('#verify-form'), true)
  assert.equal(await text('#status'), '')

  // Script errors and policy violations fail the run. A wrong code's 401 is a failed load the
  // browser reports as a console error: expected, and the only kind allowed after the first visit.
  const unexpected = problems.filter((problem) => !/Failed to load resource: the server responded with a status of 401/.test(problem))
  assert.deepEqual(unexpected, [], 'the page reported errors')
}
