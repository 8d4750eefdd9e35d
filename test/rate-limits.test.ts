import { afterEach, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, lastCode, mailedTo, PASSWORD, register, signIn, uniqueEmail, type CallInit } from './helpers'
import { LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW_MS } from '../src/services/login-attempts'

const WRONG_PASSWORD = 'Wrong-password-1'
const NEW_PASSWORD = 'Battery-staple-42!'

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

/**
 * Client addresses no other test file uses: the per-address limiter is shared by the whole
 * test run, and helpers' freshIp() starts at 10.0.0.0 in every file.
 */
const ipPrefix = `2001:db8:${crypto.randomUUID().slice(0, 4)}`
let ipCounter = 0
const uniqueIp = () => `${ipPrefix}:${(ipCounter++).toString(16)}::1`

/**
 * The Workers Rate Limiting binding counts in wall-clock-aligned 60 s windows. A burst that
 * straddles a boundary would be split across two windows, so start it early in a window.
 */
async function roomInWindow(seconds: number) {
  const intoWindow = (Date.now() % 60_000) / 1000
  if (60 - intoWindow < seconds) await new Promise((resolve) => setTimeout(resolve, (60 - intoWindow) * 1000 + 500))
}

/** A burst may first wait up to a minute for a fresh window. */
const BURST_TIMEOUT = 120_000

const login = (email: string, password: string, init: CallInit = {}) =>
  call('/api/auth/login', { json: { email, password }, ...init })

const retryAfter = (response: Response) => Number(response.headers.get('Retry-After'))

async function expectRateLimited(response: Response) {
  await expectError(response, 429, 'RATE_LIMITED')
  const header = response.headers.get('Retry-After')
  expect(header).toMatch(/^\d+$/)
  expect(retryAfter(response)).toBeGreaterThanOrEqual(1)
}

interface Limit {
  name: string
  path: string
  allowed: number
  /** A request body for the n-th call; a fresh value each time so nothing but the address repeats. */
  json: (n: number) => unknown
  /** What a request under the limit answers (never 429). */
  status: number
  /** Time one burst may take, seconds. */
  seconds: number
}

const LIMITS: Limit[] = [
  {
    name: 'register',
    path: '/api/auth/register',
    allowed: 10,
    json: () => ({ email: uniqueEmail('rl-register'), password: PASSWORD, name: 'Rate Limited' }),
    status: 201,
    seconds: 25,
  },
  {
    name: 'password/forgot',
    path: '/api/auth/password/forgot',
    allowed: 5,
    json: () => ({ email: uniqueEmail('rl-forgot') }),
    status: 200,
    seconds: 15,
  },
  {
    name: 'resend-otp',
    path: '/api/auth/resend-otp',
    allowed: 10,
    json: () => ({ challengeId: crypto.randomUUID() }),
    status: 401,
    seconds: 15,
  },
  {
    name: 'verify-otp',
    path: '/api/auth/verify-otp',
    allowed: 30,
    json: () => ({ challengeId: crypto.randomUUID(), otp: '123456' }),
    status: 401,
    seconds: 20,
  },
  {
    name: 'verify-email',
    path: '/api/auth/verify-email',
    allowed: 30,
    json: () => ({ email: uniqueEmail('rl-verify'), otp: '123456' }),
    status: 401,
    seconds: 20,
  },
  {
    name: 'refresh',
    path: '/api/auth/refresh',
    allowed: 60,
    json: (n) => ({ refreshToken: `not-a-refresh-token-${n}` }),
    status: 401,
    seconds: 25,
  },
]

describe('per client address limits (CF-Connecting-IP)', () => {
  it('answers the 21st login in a minute from one address with 429 RATE_LIMITED, and another address is unaffected', async () => {
    await roomInWindow(30)
    const ip = uniqueIp()
    // Unknown, distinct emails: the per-email lockout (5) cannot be what trips.
    for (let i = 0; i < 20; i++) {
      const response = await login(uniqueEmail('rl-login'), WRONG_PASSWORD, { ip })
      await expectError(response, 401, 'INVALID_CREDENTIALS')
    }
    const over = await login(uniqueEmail('rl-login'), WRONG_PASSWORD, { ip })
    await expectRateLimited(over)

    const other = await login(uniqueEmail('rl-login'), WRONG_PASSWORD, { ip: uniqueIp() })
    await expectError(other, 401, 'INVALID_CREDENTIALS')
  }, BURST_TIMEOUT)

  it('lets a limited address log in with the right password nowhere: a real account is refused too once over', async () => {
    await roomInWindow(30)
    const ip = uniqueIp()
    const account = await register()
    for (let i = 0; i < 20; i++) expect((await login(uniqueEmail('rl-login'), WRONG_PASSWORD, { ip })).status).toBe(401)
    const over = await login(account.email, account.password, { ip })
    await expectRateLimited(over)
    expect(mailedTo(account.email).some((sent) => sent.purpose === 'login')).toBe(false)
  }, BURST_TIMEOUT)

  for (const limit of LIMITS) {
    it(`answers request ${limit.allowed + 1} to ${limit.name} in a minute with 429 and Retry-After; another address is unaffected`, async () => {
      await roomInWindow(limit.seconds)
      const ip = uniqueIp()
      for (let n = 0; n < limit.allowed; n++) {
        const response = await call(limit.path, { json: limit.json(n), ip })
        expect({ n, status: response.status }).toEqual({ n, status: limit.status })
      }
      const over = await call(limit.path, { json: limit.json(limit.allowed), ip })
      await expectRateLimited(over)

      const other = await call(limit.path, { json: limit.json(limit.allowed + 1), ip: uniqueIp() })
      expect(other.status).toBe(limit.status)
    }, BURST_TIMEOUT)
  }
})

describe('failed logins per email (exact, in D1)', () => {
  it('after 5 wrong passwords answers the 6th login, even with the right password, with 429 and a Retry-After up to 15 minutes', async () => {
    const { email, password } = await register()
    // Each attempt from a different client address: rotating addresses does not help.
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) {
      await expectError(await login(email, WRONG_PASSWORD, { ip: uniqueIp() }), 401, 'INVALID_CREDENTIALS')
    }
    const sixth = await login(email, password, { ip: uniqueIp() })
    await expectRateLimited(sixth)
    expect(retryAfter(sixth)).toBeLessThanOrEqual(900)
    expect(mailedTo(email).some((sent) => sent.purpose === 'login')).toBe(false)

    // Still locked, from yet another address.
    await expectRateLimited(await login(email, WRONG_PASSWORD, { ip: uniqueIp() }))
  })

  it('counts failures for an email no account holds', async () => {
    const email = uniqueEmail('rl-nobody')
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) {
      await expectError(await login(email, WRONG_PASSWORD, { ip: uniqueIp() }), 401, 'INVALID_CREDENTIALS')
    }
    const sixth = await login(email, WRONG_PASSWORD, { ip: uniqueIp() })
    await expectRateLimited(sixth)
    expect(retryAfter(sixth)).toBeLessThanOrEqual(900)
  })

  it('counts the email as normalised: case and spaces do not give fresh attempts', async () => {
    const { email, password } = await register()
    const variants = [email, email.toUpperCase(), ` ${email} `, email.replace(/^./, (c) => c.toUpperCase()), `${email}\t`]
    for (const variant of variants) {
      await expectError(await login(variant, WRONG_PASSWORD, { ip: uniqueIp() }), 401, 'INVALID_CREDENTIALS')
    }
    await expectRateLimited(await login(email, password, { ip: uniqueIp() }))
  })

  it('holds exactly under concurrency: 20 parallel wrong passwords get 5 INVALID_CREDENTIALS and 15 RATE_LIMITED, no 5xx', async () => {
    const { email, password } = await register()
    const responses = await Promise.all(Array.from({ length: 20 }, () => login(email, WRONG_PASSWORD, { ip: uniqueIp() })))
    const codes = await Promise.all(responses.map(async (response) => `${response.status} ${(await body(response)).error}`))
    expect(codes.filter((code) => code.startsWith('5'))).toEqual([])
    expect(codes.filter((code) => code === '401 INVALID_CREDENTIALS')).toHaveLength(5)
    expect(codes.filter((code) => code === '429 RATE_LIMITED')).toHaveLength(15)
    for (const response of responses.filter((r) => r.status === 429)) {
      expect(retryAfter(response)).toBeGreaterThanOrEqual(1)
      expect(retryAfter(response)).toBeLessThanOrEqual(900)
    }
    await expectRateLimited(await login(email, password, { ip: uniqueIp() }))
  })

  it('allows logins again once the window has passed', async () => {
    const { email, password } = await register()
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) expect((await login(email, WRONG_PASSWORD, { ip: uniqueIp() })).status).toBe(401)
    await expectRateLimited(await login(email, password, { ip: uniqueIp() }))

    vi.setSystemTime(Date.now() + LOGIN_FAILURE_WINDOW_MS - 60_000)
    await expectRateLimited(await login(email, password, { ip: uniqueIp() }))

    vi.setSystemTime(Date.now() + 2 * 60_000)
    const allowed = await login(email, password, { ip: uniqueIp() })
    expect(allowed.status).toBe(200)
    expect((await body(allowed)).data.otpRequired).toBe(true)
  })

  it('gives a successful login its attempt back: only failures count', async () => {
    const { email, password } = await register()
    for (let i = 0; i < 4; i++) expect((await login(email, WRONG_PASSWORD, { ip: uniqueIp() })).status).toBe(401)
    expect((await login(email, password, { ip: uniqueIp() })).status).toBe(200)
    // 4 failures are still counted: one more wrong password is the fifth, and then it locks.
    await expectError(await login(email, WRONG_PASSWORD, { ip: uniqueIp() }), 401, 'INVALID_CREDENTIALS')
    await expectRateLimited(await login(email, password, { ip: uniqueIp() }))
  })

  it('is cleared by a password reset, so the new password logs in at once', async () => {
    const { email, password } = await register()
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) expect((await login(email, WRONG_PASSWORD, { ip: uniqueIp() })).status).toBe(401)
    await expectRateLimited(await login(email, password, { ip: uniqueIp() }))

    expect((await call('/api/auth/password/forgot', { json: { email }, ip: uniqueIp() })).status).toBe(200)
    const otp = lastCode(email, 'reset_password')
    const reset = await call('/api/auth/password/reset', { json: { email, otp, newPassword: NEW_PASSWORD }, ip: uniqueIp() })
    expect(reset.status).toBe(200)

    const allowed = await login(email, NEW_PASSWORD, { ip: uniqueIp() })
    expect(allowed.status).toBe(200)
    expect((await body(allowed)).data.otpRequired).toBe(true)
  })
})

describe('a failing limiter store', () => {
  const down = { limit: () => Promise.reject(new Error('down')) }

  it('answers 503 with Retry-After and never lets the login through', async () => {
    const { email, password } = await register()
    const response = await login(email, password, { ip: uniqueIp(), env: { RL_LOGIN: down as never } })
    expect(response.status).toBe(503)
    const json = await body(response)
    expect(json.success).toBe(false)
    expect(typeof json.error).toBe('string')
    expect(typeof json.message).toBe('string')
    expect(JSON.stringify(json)).not.toContain('down')
    expect(response.headers.get('Retry-After')).toMatch(/^\d+$/)
    expect(retryAfter(response)).toBeGreaterThanOrEqual(1)
    expect(mailedTo(email).some((sent) => sent.purpose === 'login')).toBe(false)
    // Nor was a failure counted against the email: the limiter runs before anything else.
    expect((await login(email, password, { ip: uniqueIp() })).status).toBe(200)
  })

  it('also refuses when the binding throws synchronously, for every limited route', async () => {
    const broken = {
      limit: () => {
        throw new Error('down')
      },
    }
    const routes: [string, keyof Env, unknown][] = [
      ['/api/auth/register', 'RL_REGISTER', { email: uniqueEmail('rl-down'), password: PASSWORD, name: 'Down' }],
      ['/api/auth/password/forgot', 'RL_FORGOT', { email: uniqueEmail('rl-down') }],
      ['/api/auth/verify-otp', 'RL_VERIFY', { challengeId: crypto.randomUUID(), otp: '123456' }],
      ['/api/auth/resend-otp', 'RL_RESEND', { challengeId: crypto.randomUUID() }],
      ['/api/auth/refresh', 'RL_REFRESH', { refreshToken: 'x' }],
    ]
    for (const [path, binding, json] of routes) {
      const response = await call(path, { json, ip: uniqueIp(), env: { [binding]: broken as never } })
      expect({ path, status: response.status }).toEqual({ path, status: 503 })
      expect(response.headers.get('Retry-After')).toMatch(/^\d+$/)
    }
  })
})

describe('the per-email lockout window', () => {
  it('locks for a full window from the failure that reached the limit: no second burst at the window edge', async () => {
    const { email } = await register()
    const start = Date.now()
    vi.setSystemTime(start)
    await expectError(await login(email, WRONG_PASSWORD, { ip: uniqueIp() }), 401, 'INVALID_CREDENTIALS')
    vi.setSystemTime(start + LOGIN_FAILURE_WINDOW_MS - 1_000)
    for (let i = 0; i < 4; i++) await expectError(await login(email, WRONG_PASSWORD, { ip: uniqueIp() }), 401, 'INVALID_CREDENTIALS')
    // Just past the first failure's window: still locked, for a window counted from the fifth failure.
    vi.setSystemTime(start + LOGIN_FAILURE_WINDOW_MS + 1_000)
    const locked = await login(email, PASSWORD, { ip: uniqueIp() })
    await expectError(locked, 429, 'RATE_LIMITED')
    expect(retryAfter(locked)).toBeGreaterThan(800)
    vi.setSystemTime(start + 2 * LOGIN_FAILURE_WINDOW_MS)
    expect((await login(email, PASSWORD, { ip: uniqueIp() })).status).toBe(200)
  })
})

describe('re-entering the password while signed in', () => {
  it('spends the same per-email attempts: a stolen access token cannot guess the password at /password/change', async () => {
    const session = await signIn()
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) {
      const response = await call('/api/auth/password/change', {
        json: { currentPassword: `${WRONG_PASSWORD}${i}`, newPassword: NEW_PASSWORD },
        token: session.accessToken,
      })
      await expectError(response, 401, 'INVALID_CREDENTIALS')
    }
    const sixth = await call('/api/auth/password/change', {
      json: { currentPassword: session.password, newPassword: NEW_PASSWORD },
      token: session.accessToken,
    })
    await expectError(sixth, 429, 'RATE_LIMITED')
    // And the account's own login is locked with it.
    await expectError(await login(session.email, session.password, { ip: uniqueIp() }), 429, 'RATE_LIMITED')
  })

  it('spends them at DELETE /api/user/profile too, and the account survives the guessing', async () => {
    const session = await signIn()
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) {
      const response = await call('/api/user/profile', { method: 'DELETE', json: { password: `${WRONG_PASSWORD}${i}` }, token: session.accessToken })
      await expectError(response, 401, 'INVALID_CREDENTIALS')
    }
    const sixth = await call('/api/user/profile', { method: 'DELETE', json: { password: session.password }, token: session.accessToken })
    await expectError(sixth, 429, 'RATE_LIMITED')
    expect((await call('/api/user/profile', { token: session.accessToken })).status).toBe(200)
  })

  it('gives the attempt back on success: five right confirmations in a row are all accepted', async () => {
    const session = await signIn()
    let password = session.password
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) {
      const next = `${NEW_PASSWORD}${i}`
      const response = await call('/api/auth/password/change', { json: { currentPassword: password, newPassword: next }, token: session.accessToken })
      expect(response.status).toBe(200)
      password = next
    }
  })
})
