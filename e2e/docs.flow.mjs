// /docs with every host but 127.0.0.1 unreachable: the reference must render from the Worker's
// own assets and list the endpoints.
import assert from 'node:assert/strict'
import { watchProblems } from './lib/browser.mjs'

/** Paths of the first group, which Scalar renders open, and the other groups' names. */
const ENDPOINTS = ['/api/auth/register', '/api/auth/verify-email', '/api/auth/login', '/api/auth/verify-otp', '/api/auth/refresh', '/api/auth/logout']
const GROUPS = ['Sessions', 'Passwords', 'Profile', 'Admin', 'Service']

/**
 * @param {{ context: import('playwright-core').BrowserContext, base: string, step: (message: string) => void }} run
 */
export async function docsFlow({ context, base, step }) {
  const page = await context.newPage()
  /** @type {string[]} */
  const blocked = []
  // The network to outside hosts is cut: any request that leaves 127.0.0.1 is aborted (and noted).
  await page.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => {
      blocked.push(route.request().url())
      return route.abort('internetdisconnected')
    },
  )
  const problems = watchProblems(page)

  step('opening /docs with outside hosts unreachable')
  const response = await page.goto(`${base}/docs`)
  assert.ok(response && response.ok(), `GET /docs answered ${response?.status()}`)
  const csp = (await response.allHeaders())['content-security-policy'] ?? ''
  assert.ok(csp.includes("script-src 'self'") && !/https?:/.test(csp), `the /docs policy names another host: ${csp}`)
  assert.ok(await page.locator('a[href="/openapi.json"]').first().isVisible(), 'no visible link to /openapi.json')

  for (const text of [...ENDPOINTS, ...GROUPS]) {
    await page.getByText(text, { exact: true }).first().waitFor({ state: 'attached', timeout: 30_000 })
  }
  assert.deepEqual(blocked, [], 'the reference tried to reach another host')
  assert.deepEqual(problems, [], '/docs reported errors')
  step(`/docs lists the endpoints (${ENDPOINTS.length} paths and ${GROUPS.length} groups checked)`)
  await page.close()
}
