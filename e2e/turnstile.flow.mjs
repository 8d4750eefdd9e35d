// The demo page with a Turnstile site key: the widget is rendered in the register form and its
// token goes with the request as `turnstileToken`. Turnstile's own script cannot be reached from
// here, so the test serves a stand-in at its URL that renders a box and hands out a token the way
// the real one does (`turnstile.render(container, {sitekey, callback})`, `turnstile.reset(id)`).
// The service's check of the token against siteverify is covered in test/turnstile.test.ts.
import assert from 'node:assert/strict'
import { watchProblems } from './lib/browser.mjs'

const SITE_KEY = '1x00000000000000000000AA'
const STAND_IN = `
  window.turnstile = {
    render(container, options) {
      const box = document.createElement('div')
      box.className = 'turnstile-stand-in'
      box.dataset.sitekey = options.sitekey
      box.textContent = 'Turnstile (test stand-in)'
      container.append(box)
      setTimeout(() => options.callback('e2e-turnstile-token'), 10)
      return 'widget-' + container.dataset.turnstile
    },
    reset() {},
  }`

/**
 * @param {{ context: import('playwright-core').BrowserContext, base: string, step: (message: string) => void }} run
 */
export async function turnstileFlow({ context, base, step }) {
  const page = await context.newPage()
  const problems = watchProblems(page)
  // The page as deployed with a site key in its meta tag.
  await page.route(`${base}/`, async (route) => {
    const response = await route.fetch()
    const html = (await response.text()).replace('name="turnstile-site-key" content=""', `name="turnstile-site-key" content="${SITE_KEY}"`)
    await route.fulfill({ response, body: html })
  })
  await page.route('https://challenges.cloudflare.com/**', (route) => route.fulfill({ contentType: 'text/javascript', body: STAND_IN }))
  /** @type {unknown[]} */
  const sent = []
  page.on('request', (request) => {
    if (request.url().endsWith('/api/auth/register')) sent.push(JSON.parse(request.postData() ?? '{}'))
  })

  step('turnstile: the register form renders the widget when a site key is set')
  await page.goto(base)
  await page.waitForSelector('body[data-ready="true"]')
  const box = page.locator('[data-turnstile="register-form"] .turnstile-stand-in')
  await box.waitFor()
  assert.equal(await box.getAttribute('data-sitekey'), SITE_KEY)

  await page.fill('#register-name', 'Turnstile Tester')
  await page.fill('#register-email', `e2e-ts-${Date.now().toString(36)}@example.com`)
  await page.fill('#register-password', 'E2e-turnstile-pass-1')
  await page.click('#register-form button[type=submit]')
  await page.waitForSelector('#verify-form:not([hidden])')
  assert.equal(sent.length, 1)
  assert.equal(/** @type {{ turnstileToken?: string }} */ (sent[0]).turnstileToken, 'e2e-turnstile-token')
  assert.deepEqual(problems, [], 'the page reported errors')
  step('turnstile: the widget token went with the register request')
  await page.close()
}
