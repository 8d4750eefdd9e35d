import { afterEach, describe, expect, it, vi } from 'vitest'
import { SITEVERIFY } from '../src/middleware/turnstile'
import { body, call, expectError, PASSWORD, register, uniqueEmail } from './helpers'

/**
 * Cloudflare Turnstile on the abuse-prone public routes (API.md "Abuse limits"). Siteverify is
 * answered by a double that behaves like Turnstile's documented test secrets: 1x…AA always passes,
 * 2x…AA always fails, 3x…AA says the token was already spent.
 */
const PASSES = '1x0000000000000000000000000000000AA'
const FAILS = '2x0000000000000000000000000000000AA'
const SPENT = '3x0000000000000000000000000000000AA'

afterEach(() => {
  vi.restoreAllMocks()
})

/** The siteverify double; records each form it was sent. */
function siteverify(mode: 'answer' | 'down' | 'error' = 'answer') {
  const seen: Record<string, string>[] = []
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    if (url !== SITEVERIFY) throw new Error(`unexpected outbound fetch to ${url}`)
    if (mode === 'down') throw new TypeError('fetch failed')
    if (mode === 'error') return new Response('oops', { status: 500 })
    const form = Object.fromEntries([...((init?.body as FormData) ?? new FormData()).entries()].map(([k, v]) => [k, String(v)]))
    seen.push(form)
    const answer =
      form.secret === PASSES
        ? { success: true, 'error-codes': [] }
        : form.secret === SPENT
          ? { success: false, 'error-codes': ['timeout-or-duplicate'] }
          : { success: false, 'error-codes': ['invalid-input-response'] }
    return Response.json(answer)
  })
  return { seen, spy }
}

const registerWith = (secret: string, extra: Record<string, unknown>, ip?: string) =>
  call('/api/auth/register', { json: { email: uniqueEmail('ts'), password: PASSWORD, name: 'Turnstile', ...extra }, env: { TURNSTILE_SECRET_KEY: secret }, ...(ip ? { ip } : {}) })

describe('Turnstile on register, login and password/forgot', () => {
  it('accepts a token siteverify passes, sending the secret, the token and the client address', async () => {
    const { seen } = siteverify()
    const response = await registerWith(PASSES, { turnstileToken: 'XXXX.DUMMY.TOKEN' }, '198.51.100.7')
    expect(response.status).toBe(201)
    expect(seen).toEqual([{ secret: PASSES, response: 'XXXX.DUMMY.TOKEN', remoteip: '198.51.100.7' }])
  })

  it('refuses a missing token with 400 on turnstileToken, before asking siteverify or creating anything', async () => {
    const { spy } = siteverify()
    const json = await expectError(await registerWith(PASSES, {}), 400, 'VALIDATION_ERROR')
    expect(json.details).toEqual([{ path: 'turnstileToken', message: 'is required' }])
    expect(spy).not.toHaveBeenCalled()
  })

  it.each([
    ['a refused token', FAILS],
    ['a spent token', SPENT],
  ])('refuses %s with 400 on turnstileToken', async (_, secret) => {
    siteverify()
    const json = await expectError(await registerWith(secret, { turnstileToken: 'XXXX.DUMMY.TOKEN' }), 400, 'VALIDATION_ERROR')
    expect(json.details).toEqual([{ path: 'turnstileToken', message: 'was not accepted' }])
  })

  it.each([['down', 'down'] as const, ['answering 500', 'error'] as const])('answers 503 when siteverify is %s, and creates nothing', async (_, mode) => {
    siteverify(mode)
    const email = uniqueEmail('ts-down')
    const response = await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'X', turnstileToken: 't' }, env: { TURNSTILE_SECRET_KEY: PASSES } })
    await expectError(response, 503, 'SERVICE_UNAVAILABLE')
    vi.restoreAllMocks()
    // Nothing was written: the address is still free.
    expect((await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'X' } })).status).toBe(201)
  })

  it('guards login, password/forgot and passkey login options too', async () => {
    const { email } = await register()
    siteverify()
    const env = { TURNSTILE_SECRET_KEY: PASSES }
    await expectError(await call('/api/auth/login', { json: { email, password: PASSWORD }, env }), 400, 'VALIDATION_ERROR')
    expect((await call('/api/auth/login', { json: { email, password: PASSWORD, turnstileToken: 't' }, env })).status).toBe(200)
    await expectError(await call('/api/auth/password/forgot', { json: { email }, env }), 400, 'VALIDATION_ERROR')
    expect((await call('/api/auth/password/forgot', { json: { email, turnstileToken: 't' }, env })).status).toBe(200)
    await expectError(await call('/api/auth/passkeys/login/options', { json: {}, env }), 400, 'VALIDATION_ERROR')
    expect((await call('/api/auth/passkeys/login/options', { json: { turnstileToken: 't' }, env })).status).toBe(200)
  })

  it('asks for nothing when TURNSTILE_SECRET_KEY is not set', async () => {
    const { spy } = siteverify()
    const response = await call('/api/auth/register', { json: { email: uniqueEmail(), password: PASSWORD, name: 'No widget' } })
    expect(response.status).toBe(201)
    expect((await body(response)).success).toBe(true)
    expect(spy).not.toHaveBeenCalled()
  })
})
