// Headless Chromium for the e2e test: launched with a fresh profile, its own pid found so it can
// be killed if it does not close, stopped with everything else (scripts/lib/processes.mjs).
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { alive, onStop, signalGroup, sleep } from '../../scripts/lib/processes.mjs'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
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

/**
 * Launches Chromium with a profile under `dir`; it is closed (or killed) by `stopAll()`.
 * @param {string} dir
 */
export async function launchChromium(dir) {
  const profile = path.join(dir, 'chromium-profile')
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 900 },
    timeout: 60_000,
  })
  const pid = chromiumPid(profile)
  onStop('Chromium', async () => {
    await Promise.race([context.close().catch(() => undefined), sleep(5_000)])
    if (pid && alive(pid)) {
      console.error(`[e2e] Chromium (pid ${pid}) did not close: killing it`)
      if (!signalGroup(pid, 'SIGKILL')) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
  })
  return { context, pid, version: context.browser()?.version() ?? '' }
}

/**
 * Records a page's script errors and console errors, for the test to assert there are none.
 * @param {import('playwright-core').Page} page
 */
export function watchProblems(page) {
  /** @type {string[]} */
  const problems = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`)
  })
  return problems
}
