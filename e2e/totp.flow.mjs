// The demo page's authenticator app, in Chromium: sign in (password + mailed code), turn on an
// app from the settings card (the QR code is drawn, the secret shown as text), confirm it with a
// code computed here from that secret (RFC 6238, as an authenticator app would), see the ten
// recovery codes once, sign out, then sign in with the password and the app's code (no code is
// mailed), and turn the app off with a recovery code.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import path from 'node:path'
import { watchProblems } from './lib/browser.mjs'
import { codeFromLog, findCode } from './lib/mail.mjs'
import { sleep } from '../scripts/lib/processes.mjs'

const PASSWORD = 'E2e-totp-pass-1'
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 to bytes. @param {string} text */
function fromBase32(text) {
  /** @type {number[]} */
  const out = []
  let bits = 0
  let value = 0
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | BASE32.indexOf(char)
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

/**
 * RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30 s) `offset` steps from now.
 * @param {string} secret base32
 * @param {number} [offset]
 */
function totp(secret, offset = 0) {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + offset))
  const mac = createHmac('sha1', fromBase32(secret)).update(counter).digest()
  const at = mac[mac.length - 1] & 0xf
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

/**
 * @param {object} run
 * @param {import('playwright-core').BrowserContext} run.context
 * @param {string} run.base
 * @param {string[]} run.logLines
 * @param {string} run.results
 * @param {(message: string) => void} run.step
 * @param {(page: import('playwright-core').Page) => void} run.onPage
 */
export async function totpFlow({ context, base, logLines, results, step, onPage }) {
  const page = await context.newPage()
  onPage(page)
  page.setDefaultTimeout(15_000)
  const problems = watchProblems(page)
  const email = `e2e-totp-${Date.now().toString(36)}@example.com`
  /** @param {string} selector @param {string} expected */
  const waitText = (selector, expected) =>
    page.waitForFunction(([s, e]) => document.querySelector(s)?.textContent?.includes(e) ?? false, /** @type {[string, string]} */ ([selector, expected]))
  const ready = async () => {
    await page.waitForSelector('body[data-ready="true"]')
    await page.waitForSelector('body[data-totp-ready="true"]')
  }

  step(`authenticator app: registering ${email} and signing in with the mailed code`)
  await page.goto(base)
  await ready()
  let mark = logLines.length
  await page.fill('#register-name', 'E2E TOTP')
  await page.fill('#register-email', email)
  await page.fill('#register-password', PASSWORD)
  await page.click('#register-form button[type=submit]')
  await page.waitForSelector('#verify-form:not([hidden])')
  await page.fill('#verify-code', await codeFromLog(logLines, email, 'verify_email', mark))
  await page.click('#verify-form button[type=submit]')
  await waitText('#status', 'Email verified')
  mark = logLines.length
  await page.fill('#login-password', PASSWORD)
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector('#otp-form:not([hidden])')
  await page.fill('#otp-code', await codeFromLog(logLines, email, 'login', mark))
  await page.click('#otp-form button[type=submit]')
  await page.waitForSelector('body[data-state="signed-in"]')
  await page.waitForSelector('#totp-card[data-enabled="false"]')

  step('turning on an app: the QR code and the secret are shown')
  await page.fill('#totp-password', PASSWORD)
  await page.click('#totp-enroll-form button[type=submit]')
  await page.waitForSelector('#totp-setup:not([hidden])')
  assert.equal(await page.locator('#totp-qr svg path').count(), 1, 'no QR code was drawn')
  const secret = ((await page.locator('#totp-secret').textContent()) ?? '').trim()
  assert.match(secret, /^[A-Z2-7]{32}$/, `the page shows no base32 secret: ${secret}`)
  await page.screenshot({ path: path.join(results, 'totp-setup.png'), fullPage: true })

  step('confirming with a code computed from the secret: ten recovery codes, shown once')
  await page.fill('#totp-activate-code', totp(secret))
  await page.click('#totp-activate-form button[type=submit]')
  await page.waitForSelector('#totp-recovery:not([hidden])')
  const recovery = await page.locator('#totp-recovery-codes li').allTextContents()
  assert.equal(recovery.length, 10)
  for (const code of recovery) assert.match(code, /^[2-9A-HJKMNP-TV-Z]{5}-[2-9A-HJKMNP-TV-Z]{5}$/)
  await page.waitForSelector('#totp-card[data-enabled="true"]')
  await page.click('#totp-recovery-done')
  assert.equal(await page.locator('#totp-recovery-codes li').count(), 0, 'the recovery codes stayed on the page')

  step('signing out, then in with the password and the app code (nothing mailed)')
  await page.click('#logout')
  await page.waitForSelector('body[data-state="signed-out"]')
  mark = logLines.length
  await page.fill('#login-email', email)
  await page.fill('#login-password', PASSWORD)
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector('#mfa-form:not([hidden])')
  assert.equal(await page.isHidden('#otp-form'), true)
  // The step the activation used is spent: the next one (accepted too) signs in.
  await page.fill('#mfa-code', totp(secret, 1))
  await page.click('#mfa-form button[type=submit]')
  await page.waitForSelector('body[data-state="signed-in"]')
  await sleep(300)
  assert.equal(findCode(logLines.slice(mark), email, 'login'), undefined, 'a login code was mailed to an account with an app')
  await page.waitForSelector('#totp-card[data-enabled="true"]')
  await page.screenshot({ path: path.join(results, 'totp-signed-in.png'), fullPage: true })

  step('turning the app off with a recovery code')
  await page.fill('#totp-remove-code', recovery[0].toLowerCase())
  await page.click('#totp-remove-form button[type=submit]')
  await page.waitForSelector('#totp-card[data-enabled="false"]')
  await page.click('#logout')
  await page.waitForSelector('body[data-state="signed-out"]')

  const unexpected = problems.filter((problem) => !/Failed to load resource: the server responded with a status of 401/.test(problem))
  assert.deepEqual(unexpected, [], 'the page reported errors')
  await page.close()
}
