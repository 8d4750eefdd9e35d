// Social sign-in in real Chromium against a real OpenID Connect server: `oidc-provider` on
// 127.0.0.1 (e2e/lib/oidc-server.mjs) configured as the generic provider `local`, and a
// `wrangler dev` of its own with OAUTH_* set. From the demo page's "Sign in with Local" button
// through the provider's login and consent pages and back, ending signed in (a new account
// without a password, its email verified); the linked identity is listed, and unlinking it,
// the account's only way in, is refused. Then a password account links the provider from the
// page's "Link Local" button and unlinks it again.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { startWranglerDev } from '../scripts/lib/processes.mjs'
import { watchProblems } from './lib/browser.mjs'
import { codeFromLog } from './lib/mail.mjs'
import { startOidcServer } from './lib/oidc-server.mjs'

/**
 * @param {object} run
 * @param {import('playwright-core').BrowserContext} run.context
 * @param {string} run.root the repository root
 * @param {string} run.results where logs and screenshots go
 * @param {(message: string) => void} run.step
 * @param {(page: import('playwright-core').Page) => void} run.onPage the page under test, for a screenshot on failure
 */
export async function oauthFlow({ context, root, results, step, onPage }) {
  step('starting the OpenID Connect server (oidc-provider) on 127.0.0.1')
  const oidc = await startOidcServer()
  step(`starting a wrangler dev with OAUTH_PROVIDERS=local, issuer ${oidc.issuer}`)
  const secret = () => randomBytes(48).toString('base64url')
  const server = await startWranglerDev({
    root,
    logFile: path.join(results, 'wrangler-oauth.log'),
    vars: {
      ACCESS_TOKEN_SECRET: secret(),
      REFRESH_TOKEN_SECRET: secret(),
      ENVIRONMENT: 'development',
      EMAIL_DELIVERY: 'console',
      LOGIN_OTP: 'required',
      CORS_ORIGINS: '',
      ADMIN_EMAILS: '',
      OAUTH_PROVIDERS: 'local',
      OAUTH_LOCAL_CLIENT_ID: oidc.clientId,
      OAUTH_LOCAL_CLIENT_SECRET: oidc.clientSecret,
      OAUTH_LOCAL_ISSUER: oidc.issuer,
    },
  })
  oidc.register(`${server.base}/api/auth/oauth/local/callback`)
  step(`wrangler dev (social sign-in) is ready on ${server.base}`)

  const page = await context.newPage()
  onPage(page)
  page.setDefaultTimeout(20_000)
  const problems = watchProblems(page)
  await page.goto(server.base)
  await page.waitForSelector('body[data-oauth-ready="true"]')
  assert.equal(await page.getAttribute('body', 'data-state'), 'signed-out')
  const signInButton = page.locator('#oauth-start-local')
  assert.equal((await signInButton.textContent())?.trim(), 'Sign in with Local')

  assert.deepEqual(problems, [], 'the demo page logged errors to the console')

  step('"Sign in with Local": to the provider’s login page')
  await signInButton.click()
  await page.waitForURL((url) => url.origin === oidc.issuer)
  const login = `e2e-oidc-${Date.now().toString(36)}`
  await page.fill('input[name="login"]', login)
  await page.fill('input[name="password"]', 'any-password')
  await page.click('button[type="submit"]')

  step('the provider’s consent page: Continue')
  await page.waitForSelector('button[type="submit"]:has-text("Continue")')
  await page.click('button[type="submit"]:has-text("Continue")')

  step('back on the demo page, signed in through the refresh cookie')
  await page.waitForURL((url) => url.origin === server.base)
  // The provider's development pages fetch outside fonts and a favicon: only this page's console counts.
  problems.splice(0)
  await page.waitForSelector('body[data-state="signed-in"]')
  assert.ok(!page.url().includes('token'), `a token in the URL: ${page.url()}`)
  assert.equal((await page.locator('#profile-email').textContent())?.trim(), `${login}@example.com`)
  assert.equal((await page.locator('#profile-verified').textContent())?.trim(), 'yes')
  assert.equal((await page.locator('#profile-name').textContent())?.trim(), 'Local Person')

  step('the linked identity is listed; unlinking the only way in is refused')
  await page.waitForSelector('#identities-card[data-count="1"]')
  assert.equal(await page.locator('#identities li[data-provider="local"]').count(), 1)
  await page.click('#unlink-local')
  await page.waitForSelector('#status[data-code="LAST_SIGN_IN_METHOD"]')
  assert.equal(await page.locator('#identities li').count(), 1)

  step('the session was opened by the provider (amr oauth)')
  const amr = await page.evaluate(async () => {
    const module = await import('/app.js')
    return (await module.auth.sessions()).find((/** @type {{current: boolean}} */ s) => s.current)?.amr
  })
  assert.deepEqual(amr, ['oauth'])
  await page.screenshot({ path: path.join(results, 'oauth-signed-in.png'), fullPage: true })
  // The refused unlink is a 400 the page shows; nothing else may be logged.
  const unexpected = problems.filter((problem) => !/status of 400/.test(problem))
  assert.deepEqual(unexpected, [], 'the social sign-in flow logged errors to the console')

  step('a password account (signed up and in on the page) links Local with "Link Local"')
  await page.click('#logout')
  await page.waitForSelector('body[data-state="signed-out"]')
  // A new person at the provider: forget its session (cookies go by host, not port, so by name).
  await context.clearCookies({ name: /^_session/ })
  const email = `e2e-link-${Date.now().toString(36)}@example.com`
  let mark = server.logLines.length
  await page.fill('#register-name', 'Linking Person')
  await page.fill('#register-email', email)
  await page.fill('#register-password', 'E2e-password-1')
  await page.click('#register-form button[type=submit]')
  await page.waitForSelector('#verify-form:not([hidden])')
  await page.fill('#verify-code', await codeFromLog(server.logLines, email, 'verify_email', mark))
  await page.click('#verify-form button[type=submit]')
  // The sign-in form is on the page all along: wait for the verification itself to finish.
  await page.waitForSelector('#verify-form', { state: 'hidden' })
  mark = server.logLines.length
  await page.fill('#login-password', 'E2e-password-1')
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector('#otp-form:not([hidden])')
  await page.fill('#otp-code', await codeFromLog(server.logLines, email, 'login', mark))
  await page.click('#otp-form button[type=submit]')
  await page.waitForSelector('body[data-state="signed-in"]')
  await page.waitForSelector('#identities-card[data-count="0"]')
  await page.click('#oauth-link-local')
  await page.waitForURL((url) => url.origin === oidc.issuer)
  const second = `e2e-oidc-link-${Date.now().toString(36)}`
  await page.fill('input[name="login"]', second)
  await page.fill('input[name="password"]', 'any-password')
  await page.click('button[type="submit"]')
  await page.waitForSelector('button[type="submit"]:has-text("Continue")')
  await page.click('button[type="submit"]:has-text("Continue")')
  await page.waitForURL((url) => url.origin === server.base)
  await page.waitForSelector('#identities-card[data-count="1"]')
  assert.equal((await page.locator('#profile-email').textContent())?.trim(), email)
  assert.match((await page.locator('#identities li[data-provider="local"]').textContent()) ?? '', new RegExp(`${second}@example.com`))
  assert.equal((await page.locator('#status').textContent())?.trim(), 'Provider linked.')

  step('and unlinks it: the password is still a way in')
  await page.click('#unlink-local')
  await page.waitForSelector('#identities-card[data-count="0"]')
  await page.close()
}
