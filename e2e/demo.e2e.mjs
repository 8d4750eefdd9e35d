#!/usr/bin/env node
// End-to-end test of the demo page and /docs in real Chromium against `wrangler dev`.
//
//   npm run test:e2e            (needs /usr/bin/chromium: scripts/ensure-chromium.sh installs it)
//
// Builds the client assets, starts `wrangler dev` on a free port with throwaway secrets and a
// fresh local D1 (scripts/lib/processes.mjs: the developer's .dev.vars is neither read nor
// touched), then runs the flows: /docs with outside hosts unreachable (docs.flow.mjs), and the
// demo page from sign-up to logout (demo.flow.mjs). Screenshots go to e2e/results/. Exits non-zero
// on any failure; always stops wrangler and Chromium; prints its run time.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { onStop, startWranglerDev, stopAll } from '../scripts/lib/processes.mjs'
import { CHROMIUM, launchChromium } from './lib/browser.mjs'
import { demoFlow } from './demo.flow.mjs'
import { docsFlow } from './docs.flow.mjs'
import { oauthFlow } from './oauth.flow.mjs'
import { passkeyFlow } from './passkey.flow.mjs'
import { codeFromLog } from './lib/mail.mjs'
import { runTabs } from './tabs.e2e.mjs'
import { turnstileFlow } from './turnstile.flow.mjs'
import { totpFlow } from './totp.flow.mjs'

const started = performance.now()
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const results = path.join(root, 'e2e/results')
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 180_000)

const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`
/** @param {string} message */
const step = (message) => console.log(`[e2e ${elapsed()}] ${message}`)

/** The page under test, for a screenshot when the run fails. @type {import('playwright-core').Page | undefined} */
let openPage
/** @type {string[]} */
let logLines = []

async function main() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (or set CHROMIUM_PATH)`)
  mkdirSync(results, { recursive: true })
  const tmp = mkdtempSync(path.join(tmpdir(), 'edge-auth-e2e-'))
  onStop('e2e temporary files', async () => rmSync(tmp, { recursive: true, force: true }))

  step('building the client assets')
  const build = spawnSync(process.execPath, ['scripts/build-client.mjs'], { cwd: root, stdio: 'inherit' })
  assert.equal(build.status, 0, 'scripts/build-client.mjs failed')

  step('starting wrangler dev (fresh local D1, throwaway secrets)')
  const secret = () => randomBytes(48).toString('base64url')
  const server = await startWranglerDev({
    root,
    logFile: path.join(results, 'wrangler.log'),
    vars: {
      ACCESS_TOKEN_SECRET: secret(),
      REFRESH_TOKEN_SECRET: secret(),
      ENVIRONMENT: 'development',
      EMAIL_DELIVERY: 'console',
      LOGIN_OTP: 'required',
      REQUIRE_EMAIL_VERIFICATION: 'false',
      CORS_ORIGINS: '',
      ADMIN_EMAILS: '',
      MFA_ENCRYPTION_KEY: secret(),
    },
  })
  logLines = server.logLines
  step(`wrangler dev is ready on ${server.base}`)

  step('launching Chromium')
  const { context, pid, version } = await launchChromium(tmp)
  step(`Chromium ${version} is up${pid ? ` (pid ${pid})` : ''}`)

  await docsFlow({ context, base: server.base, step })
  await demoFlow({ context, base: server.base, logLines, results, step, onPage: (page) => (openPage = page) })
  const fromLog = (/** @type {string} */ to, /** @type {string} */ purpose, /** @type {number} */ after) => codeFromLog(logLines, to, purpose, after)
  await runTabs({ context, base: server.base, codeFromLog: fromLog, logLines, step })
  await turnstileFlow({ context, base: server.base, step })
  await totpFlow({ context, base: server.base, logLines, results, step, onPage: (page) => (openPage = page) })
  await passkeyFlow({ context, base: server.base, logLines, step, onPage: (page) => (openPage = page) })
  await oauthFlow({ context, root, results, step, onPage: (page) => (openPage = page) })
}

const guard = setTimeout(() => {
  console.error(`[e2e] timed out after ${TIMEOUT_MS} ms`)
  void stopAll().finally(() => {
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
  await stopAll()
  clearTimeout(guard)
}
console.log(`[e2e] ${failed ? 'FAILED' : 'passed'} in ${elapsed()}`)
process.exit(failed ? 1 : 0)
