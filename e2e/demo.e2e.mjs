#!/usr/bin/env node
// End-to-end test of the demo page in real Chromium against `wrangler dev`.
//
//   npm run test:e2e            (needs /usr/bin/chromium: scripts/ensure-chromium.sh installs it)
//
// Builds the client bundle, applies the migrations to a fresh temporary persistence directory,
// starts `wrangler dev` on a free port with throwaway secrets from a temporary env file (the
// developer's .dev.vars is neither read nor touched), then drives the page with playwright-core:
// register, verify the email with the code from wrangler's log, log in, enter the login code,
// see the profile, change the name, list sessions, reload (the session resumes through the
// HttpOnly cookie), revoke another session, log out. Screenshots go to e2e/results/.
// Exits non-zero on any failure; always stops wrangler and Chromium; prints its run time.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const started = performance.now()
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const results = path.join(root, 'e2e/results')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const PASSWORD = 'E2e-password-1'
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 180_000)
const wranglerBin = path.join(root, 'node_modules/.bin/wrangler')

const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`
/** @param {string} message */
const step = (message) => console.log(`[e2e ${elapsed()}] ${message}`)
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A TCP port nobody listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** @type {import('node:child_process').ChildProcess | undefined} */
let wrangler
/** @type {import('playwright-core').BrowserContext | undefined} */
let context
/** The page under test, for a screenshot when the run fails. */
/** @type {import('playwright-core').Page | undefined} */
let openPage
/** @type {number | undefined} */
let browserPid
let tmp = ''
/** Every line wrangler dev printed. */
const logLines = /** @type {string[]} */ ([])
/** @type {import('node:fs').WriteStream | undefined} */
let wranglerLog

/**
 * The pid of the Chromium we launched: the process whose command line names our own fresh
 * profile directory and is not a child (`--type=renderer`, ...). Linux /proc; undefined elsewhere.
 * @param {string} profile
 */
function chromiumPid(profile) {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      let args
      try {
        args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      } catch {
        continue
      }
      if (args.includes(`--user-data-dir=${profile}`) && !args.some((a) => a.startsWith('--type='))) return Number(entry)
    }
  } catch {
    // no /proc
  }
  return undefined
}

/** Sends a signal to a process group we started; false when it is gone. */
function signalGroup(/** @type {number} */ pid, /** @type {NodeJS.Signals} */ signal) {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}

const alive = (/** @type {number} */ pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

let cleaned = false
/** @type {Promise<void> | undefined} */
let cleaning
/** Stops Chromium and wrangler and removes the temporary files; every caller waits for the same run. */
function cleanup() {
  cleaning ??= stopEverything()
  return cleaning
}

async function stopEverything() {
  cleaned = true
  if (context) {
    await Promise.race([context.close().catch(() => undefined), sleep(5_000)])
  }
  // Chromium is ours (its pid read over CDP at launch): make sure it is gone.
  if (browserPid && alive(browserPid)) {
    console.error(`[e2e] Chromium (pid ${browserPid}) did not close: killing it`)
    if (!signalGroup(browserPid, 'SIGKILL')) {
      try {
        process.kill(browserPid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  if (wrangler?.pid && wrangler.exitCode === null && wrangler.signalCode === null) {
    const pid = wrangler.pid
    const exited = new Promise((resolve) => wrangler?.once('exit', resolve))
    signalGroup(pid, 'SIGTERM')
    await Promise.race([exited, sleep(5_000)])
    // workerd children share the group; anything left gets SIGKILL.
    signalGroup(pid, 'SIGKILL')
  }
  wranglerLog?.end()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
}

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    console.error(`[e2e] ${signal}: stopping`)
    void cleanup().finally(() => process.exit(130))
  })
}

/**
 * The code of the `email.sent` line for `to` and `purpose` that appears after `after` lines.
 * @param {string} to
 * @param {string} purpose
 * @param {number} after
 */
async function codeFromLog(to, purpose, after) {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    for (const line of logLines.slice(after)) {
      if (!line.includes('"email.sent"')) continue
      const json = line.slice(line.indexOf('{'))
      try {
        const sent = JSON.parse(json)
        if (sent.to === to && sent.purpose === purpose && typeof sent.code === 'string') return sent.code
      } catch {
        // not a whole JSON line
      }
    }
    await sleep(100)
  }
  throw new Error(`no ${purpose} code for ${to} in the wrangler dev log`)
}

async function main() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (or set CHROMIUM_PATH)`)
  mkdirSync(results, { recursive: true })
  tmp = mkdtempSync(path.join(tmpdir(), 'edge-auth-e2e-'))
  const persist = path.join(tmp, 'state')
  const envFile = path.join(tmp, 'e2e.vars')
  const profile = path.join(tmp, 'chromium-profile')

  step('building the client bundle')
  const build = spawnSync(process.execPath, ['scripts/build-client.mjs'], { cwd: root, stdio: 'inherit' })
  assert.equal(build.status, 0, 'scripts/build-client.mjs failed')

  // Throwaway secrets (48 random bytes each) and development settings, for this run only.
  const secret = () => randomBytes(48).toString('base64url')
  writeFileSync(
    envFile,
    [
      `ACCESS_TOKEN_SECRET=${secret()}`,
      `REFRESH_TOKEN_SECRET=${secret()}`,
      'ENVIRONMENT=development',
      'EMAIL_DELIVERY=console',
      'LOGIN_OTP=required',
      'REQUIRE_EMAIL_VERIFICATION=false',
      'CORS_ORIGINS=',
      'ADMIN_EMAILS=',
      '',
    ].join('\n'),
    { mode: 0o600 },
  )
  const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' }

  step('applying migrations to a fresh local D1')
  const migrate = spawnSync(wranglerBin, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist], {
    cwd: root,
    env: { ...wranglerEnv, CI: 'true' },
    encoding: 'utf8',
  })
  assert.equal(migrate.status, 0, `migrations failed:\n${migrate.stdout}\n${migrate.stderr}`)

  const port = await freePort()
  const inspectorPort = await freePort()
  const base = `http://127.0.0.1:${port}`
  step(`starting wrangler dev on ${base}`)
  wranglerLog = createWriteStream(path.join(results, 'wrangler.log'))
  wrangler = spawn(
    wranglerBin,
    [
      'dev',
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--inspector-port', String(inspectorPort),
      '--persist-to', persist,
      '--env-file', envFile,
      '--show-interactive-dev-session=false',
    ],
    { cwd: root, env: wranglerEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  )
  let pending = ''
  const collect = (/** @type {Buffer} */ chunk) => {
    wranglerLog?.write(chunk)
    pending += chunk.toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    logLines.push(...lines)
  }
  wrangler.stdout?.on('data', collect)
  wrangler.stderr?.on('data', collect)
  const exited = new Promise((resolve) => wrangler?.once('exit', (code) => resolve(code)))

  // Ready when /health answers.
  const readyBy = Date.now() + 90_000
  for (;;) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited (${wrangler.exitCode}):\n${logLines.slice(-30).join('\n')}`)
    try {
      const health = await fetch(`${base}/health`)
      if (health.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > readyBy) throw new Error(`wrangler dev did not become ready:\n${logLines.slice(-30).join('\n')}`)
    await sleep(250)
  }
  void exited.then((code) => {
    if (!cleaned) console.error(`[e2e] wrangler dev exited early (${code})`)
  })
  step('wrangler dev is ready')

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

  step('launching Chromium')
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 900 },
    timeout: 60_000,
  })
  const page = context.pages()[0] ?? (await context.newPage())
  openPage = page
  browserPid = chromiumPid(profile)
  step(`Chromium ${context.browser()?.version() ?? ''} is up${browserPid ? ` (pid ${browserPid})` : ''}`)
  page.setDefaultTimeout(15_000)

  // Any script error or CSP violation fails the run. (Failed loads, such as the 401 of a
  // restore() with no session, are logged by Chromium as console errors too: those are expected.)
  const problems = /** @type {string[]} */ ([])
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console error: ${message.text()}`)
  })

  const email = `e2e-${Date.now().toString(36)}@example.com`
  const text = async (/** @type {string} */ selector) => (await page.locator(selector).textContent())?.trim() ?? ''
  /** @param {string} selector @param {string} expected */
  const waitText = (selector, expected) =>
    page.waitForFunction(
      ([s, e]) => document.querySelector(s)?.textContent?.includes(e) ?? false,
      /** @type {[string, string]} */ ([selector, expected]),
    )

  step('opening the page')
  const response = await page.goto(base)
  assert.ok(response && response.ok(), `GET / answered ${response?.status()}`)
  const csp = (await response.allHeaders())['content-security-policy'] ?? ''
  for (const directive of ["script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(directive), `the page's CSP lacks ${directive}: ${csp}`)
  }
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `the page's CSP allows inline or eval: ${csp}`)
  await page.waitForSelector('body[data-ready="true"]')
  assert.equal(await page.getAttribute('body', 'data-state'), 'signed-out')

  step(`registering ${email}`)
  let mark = logLines.length
  await page.fill('#register-name', 'E2E Tester')
  await page.fill('#register-email', email)
  await page.fill('#register-password', PASSWORD)
  await page.click('#register-form button[type=submit]')
  await page.waitForSelector('#verify-form:not([hidden])')
  const verifyCode = await codeFromLog(email, 'verify_email', mark)

  step('verifying the email')
  await page.fill('#verify-code', verifyCode)
  await page.click('#verify-form button[type=submit]')
  await waitText('#status', 'Email verified')
  assert.equal(await page.inputValue('#login-email'), email)

  step('logging in')
  mark = logLines.length
  await page.fill('#login-password', PASSWORD)
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector('#otp-form:not([hidden])')
  const loginCode = await codeFromLog(email, 'login', mark)

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

  step('listing sessions')
  await page.waitForSelector('#sessions tr[data-current="true"]')
  assert.equal(await page.locator('#sessions tr').count(), 1)

  // A second device signs in from Node (body transport), so there is a session to revoke.
  mark = logLines.length
  const login = await api('/api/auth/login', { email, password: PASSWORD })
  assert.equal(login.status, 200, JSON.stringify(login.json))
  const secondCode = await codeFromLog(email, 'login', mark)
  const second = await api('/api/auth/verify-otp', { challengeId: login.json.data.challengeId, otp: secondCode, tokenTransport: 'body' })
  assert.equal(second.status, 200, JSON.stringify(second.json))

  step('reloading: the session resumes through the HttpOnly cookie')
  await page.reload()
  await page.waitForSelector('body[data-ready="true"]')
  assert.equal(await page.getAttribute('body', 'data-state'), 'signed-in', 'the reload did not resume the session')
  await waitText('#profile-name', 'E2E Renamed')
  await waitText('#status', 'Welcome back')
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 2)

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

  assert.deepEqual(problems, [], 'the page reported errors')
  await (await import('./tabs.e2e.mjs')).runTabs({ context, base, codeFromLog, logLines, step })
}

const guard = setTimeout(() => {
  console.error(`[e2e] timed out after ${TIMEOUT_MS} ms`)
  void cleanup().finally(() => {
    console.log(`[e2e] FAILED (timeout) in ${elapsed()}`)
    process.exit(1)
  })
}, TIMEOUT_MS)
guard.unref()

let failed = false
try {
  await main()
} catch (error) {
  failed = true
  console.error('[e2e] FAILED:', error instanceof Error ? (error.stack ?? error.message) : error)
  await openPage?.screenshot({ path: path.join(results, 'failure.png'), fullPage: true }).then(
    () => console.error('[e2e] screenshot of the failure: e2e/results/failure.png'),
    () => undefined,
  )
  if (logLines.length) console.error(`[e2e] last wrangler dev lines:\n${logLines.slice(-20).join('\n')}`)
} finally {
  await cleanup()
  clearTimeout(guard)
}
console.log(`[e2e] ${failed ? 'FAILED' : 'passed'} in ${elapsed()}`)
process.exit(failed ? 1 : 0)
