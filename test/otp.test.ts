import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, lastCode, mailedTo, PASSWORD, register, startLogin, wrongCode } from './helpers'

/** A six-digit code guaranteed to differ from `code`; `offset` picks among the 999,999 others. */

const verifyOtp = (challengeId: string, otp: string) => call('/api/auth/verify-otp', { json: { challengeId, otp } })

/** Asserts a `Retry-After` of whole seconds, at least one. */
function expectRetryAfter(response: Response, max: number) {
  const header = response.headers.get('Retry-After')
  expect(header).toMatch(/^\d+$/)
  expect(Number(header)).toBeGreaterThanOrEqual(1)
  expect(Number(header)).toBeLessThanOrEqual(max)
  return Number(header)
}

/** Status and error code of every response, counted. */
async function tally(responses: Response[]) {
  const counts: Record<string, number> = {}
  for (const response of responses) {
    const key = `${response.status} ${(await body(response)).error ?? 'OK'}`
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}

afterEach(() => {
  vi.useRealTimers()
})

describe('one-time codes: wrong tries', () => {
  it('burns a login code after five wrong tries: attemptsLeft 4..1, then 429 OTP_ATTEMPTS_EXCEEDED even for the right code', async () => {
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)

    for (const attemptsLeft of [4, 3, 2, 1]) {
      const response = await verifyOtp(challengeId, wrongCode(code, attemptsLeft))
      const json = await expectError(response, 401, 'OTP_INVALID')
      expect(json.details).toEqual([expect.objectContaining({ path: 'otp', attemptsLeft })])
    }

    const fifth = await verifyOtp(challengeId, wrongCode(code, 5))
    await expectError(fifth, 429, 'OTP_ATTEMPTS_EXCEEDED')
    expectRetryAfter(fifth, 60)

    const right = await verifyOtp(challengeId, code)
    await expectError(right, 429, 'OTP_ATTEMPTS_EXCEEDED')
    expect(right.headers.getSetCookie()).toEqual([])
    expect((await body(right)).data).toBeUndefined()
  })
})

describe('one-time codes: single use', () => {
  it('accepts a login code once; the second use answers 401 OTP_EXPIRED', async () => {
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)
    const first = await verifyOtp(challengeId, code)
    expect(first.status).toBe(200)
    const second = await verifyOtp(challengeId, code)
    await expectError(second, 401, 'OTP_EXPIRED')
    expect(second.headers.getSetCookie()).toEqual([])
  })

  it('accepts a verify_email code once; the second use answers 401 OTP_INVALID, as every failed verify-email does', async () => {
    const { email } = await register()
    const code = lastCode(email, 'verify_email')
    const first = await call('/api/auth/verify-email', { json: { email, otp: code } })
    expect(first.status).toBe(200)
    const second = await call('/api/auth/verify-email', { json: { email, otp: code } })
    await expectError(second, 401, 'OTP_INVALID')
  })
})

describe('one-time codes: purpose binding', () => {
  it('refuses a verify_email code at verify-otp', async () => {
    const { email } = await register()
    const verifyEmailCode = lastCode(email, 'verify_email')
    const { challengeId, code: loginCode } = await startLogin(email, PASSWORD)
    // Two independent draws collide one time in a million; the test would then prove nothing.
    expect(verifyEmailCode).not.toBe(loginCode)

    const response = await verifyOtp(challengeId, verifyEmailCode)
    expect(response.status).toBe(401)
    expect(['OTP_INVALID', 'OTP_EXPIRED']).toContain((await body(response)).error)
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('refuses a login code at verify-email and leaves the email unverified', async () => {
    const { email } = await register()
    const verifyEmailCode = lastCode(email, 'verify_email')
    const { code: loginCode } = await startLogin(email, PASSWORD)
    expect(loginCode).not.toBe(verifyEmailCode)

    const response = await call('/api/auth/verify-email', { json: { email, otp: loginCode } })
    expect(response.status).toBe(401)
    expect(['OTP_INVALID', 'OTP_EXPIRED']).toContain((await body(response)).error)

    // Still unverified (a password-only login proves nothing about the inbox)…
    const passwordOnly = await call('/api/auth/login', {
      json: { email, password: PASSWORD, tokenTransport: 'body' },
      env: { LOGIN_OTP: 'off' },
    })
    expect(passwordOnly.status).toBe(200)
    expect((await body(passwordOnly)).data.user.emailVerified).toBe(false)
    // …until its own code verifies it.
    const right = await call('/api/auth/verify-email', { json: { email, otp: verifyEmailCode } })
    expect(right.status).toBe(200)
    expect((await body(right)).data.user.emailVerified).toBe(true)
  })
})

describe('one-time codes: expiry', () => {
  it('accepts a login code just before OTP_TTL (5 min) has passed', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)
    vi.setSystemTime(t0 + 295_000)
    const response = await verifyOtp(challengeId, code)
    expect(response.status).toBe(200)
  })

  it('refuses a login code once OTP_TTL (5 min) has passed with 401 OTP_EXPIRED', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)
    vi.setSystemTime(t0 + 301_000)
    const response = await verifyOtp(challengeId, code)
    await expectError(response, 401, 'OTP_EXPIRED')
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('refuses a verify_email code once OTP_TTL (5 min) has passed with 401 OTP_INVALID (no different answer for expiry)', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email } = await register()
    const code = lastCode(email, 'verify_email')
    vi.setSystemTime(t0 + 301_000)
    const response = await call('/api/auth/verify-email', { json: { email, otp: code } })
    await expectError(response, 401, 'OTP_INVALID')
  })
})

describe('one-time codes: concurrency', () => {
  it('gives 200 parallel wrong guesses exactly five tries: 4 OTP_INVALID, the rest OTP_ATTEMPTS_EXCEEDED, no 5xx', async () => {
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)

    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => verifyOtp(challengeId, wrongCode(code, i + 1))))
    const counts = await tally(responses)
    expect(counts).toEqual({ '401 OTP_INVALID': 4, '429 OTP_ATTEMPTS_EXCEEDED': 196 })

    const invalid = await Promise.all(
      responses.filter((response) => response.status === 401).map(async (response) => (await body(response)).details[0].attemptsLeft),
    )
    expect(invalid.sort()).toEqual([1, 2, 3, 4])

    const right = await verifyOtp(challengeId, code)
    await expectError(right, 429, 'OTP_ATTEMPTS_EXCEEDED')
  })

  it('lets exactly one of 10 parallel right answers succeed', async () => {
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)

    const responses = await Promise.all(Array.from({ length: 10 }, () => verifyOtp(challengeId, code)))
    const counts = await tally(responses)
    expect(counts['200 OK']).toBe(1)
    expect(responses.filter((response) => response.status >= 500)).toEqual([])
    expect(counts['401 OTP_EXPIRED']).toBe(9)
    expect(responses.flatMap((response) => response.headers.getSetCookie())).toHaveLength(1)
  })

  it('lets exactly one of 10 parallel right verify_email answers succeed', async () => {
    const { email } = await register()
    const code = lastCode(email, 'verify_email')
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => call('/api/auth/verify-email', { json: { email, otp: code } })),
    )
    const counts = await tally(responses)
    expect(counts).toEqual({ '200 OK': 1, '401 OTP_INVALID': 9 })
  })
})

describe('one-time codes: storage and shape', () => {
  it('keeps only a hash of the code in KV under challenge:<challengeId>', async () => {
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)
    const raw = await env.OTP_KV.get(`challenge:${challengeId}`)
    expect(raw).toBeTypeOf('string')

    // Not as a value of its own (string or number) anywhere in the record…
    const values: unknown[] = []
    JSON.parse(raw!, (_key, value) => {
      values.push(value)
      return value
    })
    expect(values).not.toContain(code)
    expect(values).not.toContain(Number(code))
    // …nor as a standalone run of digits in the raw text (timestamps may contain it as a substring).
    expect(raw).not.toMatch(new RegExp(`(^|[^\\w-])${code}([^\\w-]|$)`))
    expect(raw).not.toMatch(/"(code|otp)"\s*:/)
    const stored = JSON.parse(raw!) as Record<string, unknown>
    const strings = Object.values(stored).filter((value): value is string => typeof value === 'string')
    // Some field carries a digest: at least 32 characters of base64url or hex.
    expect(strings.some((value) => /^[\w+/=-]{32,}$/.test(value) && !/^[0-9a-f-]{36}$/i.test(value))).toBe(true)
  })

  it('sends codes of exactly six digits for every purpose', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email } = await register()
    const { challengeId } = await startLogin(email, PASSWORD)
    vi.setSystemTime(t0 + 61_000)
    expect((await call('/api/auth/resend-otp', { json: { challengeId } })).status).toBe(200)
    const sent = mailedTo(email)
    expect(sent.map((message) => message.purpose)).toEqual(['verify_email', 'login', 'login'])
    for (const message of sent) expect(message.code).toMatch(/^\d{6}$/)
  })
})

describe('one-time codes: send limits', () => {
  it('sends at most 10 codes an hour per account and purpose; the 11th within the hour is 429', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email } = await register()
    const { challengeId } = await startLogin(email, PASSWORD) // code 1

    for (let i = 1; i <= 9; i++) {
      vi.setSystemTime(t0 + i * 61_000)
      const response = await call('/api/auth/resend-otp', { json: { challengeId } })
      expect(response.status, `resend ${i}`).toBe(200)
    }
    const codes = mailedTo(email).filter((message) => message.purpose === 'login')
    expect(codes).toHaveLength(10)
    const tenth = lastCode(email, 'login')

    vi.setSystemTime(t0 + 10 * 61_000)
    const eleventh = await call('/api/auth/resend-otp', { json: { challengeId } })
    await expectError(eleventh, 429, 'RATE_LIMITED')
    // The wait runs until the first code leaves the hour, not just the one-minute gap.
    const retryAfter = expectRetryAfter(eleventh, 3600)
    expect(retryAfter).toBeGreaterThan(60)
    expect(retryAfter).toBeLessThanOrEqual(3600 - 10 * 61 + 1)
    expect(mailedTo(email).filter((message) => message.purpose === 'login')).toHaveLength(10)

    // Per account, not per challenge: a fresh password login cannot mint an 11th code either.
    const relogin = await call('/api/auth/login', { json: { email, password: PASSWORD } })
    await expectError(relogin, 429, 'RATE_LIMITED')
    expect(mailedTo(email).filter((message) => message.purpose === 'login')).toHaveLength(10)

    // The refused resend did not replace the tenth code, which still works.
    const verify = await verifyOtp(challengeId, tenth)
    expect(verify.status).toBe(200)
  })
})

describe('one-time codes: separate login challenges', () => {
  it('gives a second login within a minute its own code, and both challenges stay usable (two devices)', async () => {
    const { email, password } = await register()
    const first = await startLogin(email, password)
    const second = await startLogin(email, password)
    expect(second.challengeId).not.toBe(first.challengeId)
    // Each challenge takes only its own code.
    await expectError(await call('/api/auth/verify-otp', { json: { challengeId: first.challengeId, otp: second.code } }), 401, 'OTP_INVALID')
    expect((await call('/api/auth/verify-otp', { json: { challengeId: first.challengeId, otp: first.code } })).status).toBe(200)
    expect((await call('/api/auth/verify-otp', { json: { challengeId: second.challengeId, otp: second.code } })).status).toBe(200)
  })

  it('retires only the resent challenge code, not another device’s', async () => {
    const { email, password } = await register()
    const first = await startLogin(email, password)
    const second = await startLogin(email, password)
    vi.setSystemTime(Date.now() + 61_000)
    expect((await call('/api/auth/resend-otp', { json: { challengeId: second.challengeId } })).status).toBe(200)
    const resent = lastCode(email, 'login')
    // The challenge now holds only the new code: the old one is simply wrong there.
    await expectError(await call('/api/auth/verify-otp', { json: { challengeId: second.challengeId, otp: second.code } }), 401, 'OTP_INVALID')
    expect((await call('/api/auth/verify-otp', { json: { challengeId: second.challengeId, otp: resent } })).status).toBe(200)
    expect((await call('/api/auth/verify-otp', { json: { challengeId: first.challengeId, otp: first.code } })).status).toBe(200)
  })
})
