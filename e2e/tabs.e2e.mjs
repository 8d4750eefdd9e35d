// End-to-end: two tabs of one browser refreshing at once do not both spend the same refresh
// cookie. Run from e2e/demo.e2e.mjs (one line at the end of its main), reusing its wrangler dev
// and its Chromium context, whose tabs share one cookie jar as a real browser's do.
//
// Each tab loads the bundled client (/assets/auth-client.js) on a same-origin page that does
// not run the demo app, so the only refreshes are the ones this test starts. With the Web
// Locks API the second tab's refresh starts after the first one's answer, carrying the cookie
// that answer set; without it both would carry the same token (and lean on the 10 s grace).
import assert from 'node:assert/strict'

const PASSWORD = 'E2e-tabs-password-1'

/**
 * @param {{
 *   context: import('playwright-core').BrowserContext,
 *   base: string,
 *   codeFromLog: (to: string, purpose: string, after: number) => Promise<string>,
 *   logLines: string[],
 *   step: (message: string) => void,
 * }} options
 */
export async function runTabs({ context, base, codeFromLog, logLines, step }) {
  const email = `e2e-tabs-${Date.now().toString(36)}@example.com`
  step(`tabs: registering ${email}`)
  const registered = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, name: 'Tab Tester' }),
  })
  assert.equal(registered.status, 201, await registered.text())

  /** Every refresh request the browser sends, with when it started and when its answer ended. */
  const refreshes = /** @type {{ started: number, finished: number, status: number, cookie: string | undefined }[]} */ ([])
  // Only refreshes that started after the last reset count: the 'requestfinished' event of an
  // earlier refresh (the restore() before) can arrive after the reset on a loaded machine.
  let since = 0
  const reset = () => {
    since = Date.now() - 2
    refreshes.length = 0
  }
  const onFinished = async (/** @type {import('playwright-core').Request} */ request) => {
    if (!request.url().endsWith('/api/auth/refresh')) return
    const timing = request.timing()
    if (timing.startTime < since) return
    const response = await request.response()
    const headers = await request.allHeaders().catch(() => ({}))
    const cookie = /** @type {Record<string, string>} */ (headers).cookie?.match(/__Host-refresh_token=([^;]+)/)?.[1]
    refreshes.push({ started: timing.startTime, finished: timing.startTime + timing.responseEnd, status: response?.status() ?? 0, cookie })
  }
  context.on('requestfinished', onFinished)

  const tabs = [await context.newPage(), await context.newPage()]
  try {
    for (const tab of tabs) {
      tab.setDefaultTimeout(15_000)
      // A same-origin static file: its CSP (script-src 'self') lets the page import the client.
      await tab.goto(`${base}/style.css`)
      await tab.evaluate(async () => {
        const { createAuthClient } = await import('/assets/auth-client.js')
        // @ts-expect-error: a test hook on the page
        window.__auth = createAuthClient({ baseUrl: location.origin })
        // @ts-expect-error: the same, without the lock, for the control run
        window.__unlocked = createAuthClient({ baseUrl: location.origin, crossTabLock: false })
      })
    }
    const [tabA, tabB] = tabs
    assert.ok(tabA && tabB)
    assert.equal(await tabA.evaluate(() => typeof navigator.locks?.request), 'function', 'Chromium has no navigator.locks here')

    step('tabs: signing in in the first tab')
    const mark = logLines.length
    // @ts-expect-error: test hook
    const challengeId = await tabA.evaluate(async (input) => (await window.__auth.login(input)).challengeId, { email, password: PASSWORD })
    assert.ok(challengeId, 'the login asked for no code')
    const otp = await codeFromLog(email, 'login', mark)
    // @ts-expect-error: test hook
    await tabA.evaluate(async (input) => void (await window.__auth.verifyOtp(input)), { challengeId, otp })
    step('tabs: the second tab resumes through the shared cookie')
    // @ts-expect-error: test hook
    assert.equal(await tabB.evaluate(async () => (await window.__auth.restore())?.email), email)

    step('tabs: both tabs refresh at once')
    reset()
    await Promise.all(
      tabs.map((tab) =>
        // @ts-expect-error: test hook
        tab.evaluate(async () => (await window.__auth.refresh()).email),
      ),
    )
    await waitFor(() => refreshes.length === 2)
    const [first, second] = [...refreshes].sort((a, b) => a.started - b.started)
    assert.ok(first && second)
    assert.deepEqual([first.status, second.status], [200, 200])
    assert.ok(second.started >= first.finished, `the refreshes overlapped: ${JSON.stringify(refreshes)}`)
    if (first.cookie && second.cookie) assert.notEqual(first.cookie, second.cookie, 'both tabs sent the same refresh token')
    step(`tabs: serialised (second started ${Math.round(second.started - first.finished)} ms after the first answer${first.cookie ? ', with the rotated cookie' : ''})`)

    // Both tabs are still signed in, with working access tokens, and the session lives on.
    for (const tab of tabs) {
      // @ts-expect-error: test hook
      assert.equal(await tab.evaluate(async () => (await window.__auth.profile()).email), email)
    }
    const sessions = await tabA.evaluate(async () => {
      // @ts-expect-error: test hook
      const list = await window.__auth.sessions()
      return list.length
    })
    assert.equal(sessions, 1)

    // Control: without the lock the same two refreshes overlap (logged, not asserted: timing).
    reset()
    await Promise.all(
      tabs.map((tab) =>
        // @ts-expect-error: test hook
        tab.evaluate(async () => (await window.__unlocked.restore())?.email),
      ),
    )
    await waitFor(() => refreshes.length === 2)
    const [a, b] = [...refreshes].sort((x, y) => x.started - y.started)
    step(`tabs: control without the lock: ${a && b && b.started < a.finished ? 'the refreshes overlapped' : 'they happened not to overlap'}${a?.cookie && a.cookie === b?.cookie ? ', one token sent twice' : ''}`)
  } finally {
    context.off('requestfinished', onFinished)
    for (const tab of tabs) await tab.close().catch(() => undefined)
  }
}

/** Polls until `done()` (the request events arrive a little after the calls resolve). */
async function waitFor(/** @type {() => boolean} */ done, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the refresh requests')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
