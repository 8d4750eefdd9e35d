import { afterEach, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, lastCode, mailedTo, PASSWORD, refreshCookie, register, signIn, startLogin, uniqueEmail, wrongCode } from './helpers'

const USER_KEYS = ['createdAt', 'email', 'emailVerified', 'id', 'mobile', 'name', 'role', 'updatedAt']
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/
const SEVEN_DAYS = 7 * 24 * 3600

/** A six-digit code guaranteed to differ from `code`. */

/** The fullwidth form of an ASCII string (NFKC folds it back). */
const fullwidth = (text: string) => text.replace(/[\x21-\x7e]/g, (char) => String.fromCharCode(char.charCodeAt(0) + 0xfee0))

/** Asserts the public user object: exactly its keys, never the hash or counters. */
function expectUserObject(user: Record<string, unknown>, expected: { email: string; emailVerified: boolean; role?: 'user' | 'admin' }) {
  expect(Object.keys(user).sort()).toEqual(USER_KEYS)
  expect(user).toMatchObject({ email: expected.email, emailVerified: expected.emailVerified, role: expected.role ?? 'user' })
  expect(user.id).toMatch(UUID)
  expect(user.createdAt).toMatch(ISO)
  expect(user.updatedAt).toMatch(ISO)
  expect(JSON.stringify(user)).not.toMatch(/password|pbkdf2/i)
}

/** Asserts the Set-Cookie of a token response is exactly the contract's refresh cookie. */
function expectRefreshCookie(response: Response) {
  const lines = response.headers.getSetCookie()
  expect(lines).toHaveLength(1)
  const [pair, ...attributes] = lines[0]!.split(';').map((part) => part.trim())
  expect(pair).toMatch(/^__Host-refresh_token=[\w-]+\.[\w-]+\.[\w-]+$/)
  const attrs = new Map(
    attributes.map((attribute) => {
      const [name, ...value] = attribute.split('=')
      return [name!.toLowerCase(), value.join('=')] as const
    }),
  )
  expect([...attrs.keys()].sort()).toEqual(['httponly', 'max-age', 'path', 'samesite', 'secure'])
  expect(attrs.get('path')).toBe('/')
  expect(attrs.get('samesite')).toBe('Strict')
  expect(attrs.get('httponly')).toBe('')
  expect(attrs.get('secure')).toBe('')
  expect(attrs.get('max-age')).toMatch(/^\d+$/)
  const maxAge = Number(attrs.get('max-age'))
  expect(maxAge).toBeGreaterThan(0)
  expect(maxAge).toBeLessThanOrEqual(SEVEN_DAYS)
  // The refresh token lives 7 days: the cookie must not expire much sooner either.
  expect(maxAge).toBeGreaterThan(SEVEN_DAYS - 120)
}

/** Asserts the token response body. */
async function expectTokenResponse(response: Response, email: string) {
  expect(response.status).toBe(200)
  const json = await body(response)
  expect(json.success).toBe(true)
  expect(json.data.accessToken).toMatch(JWT)
  expect(json.data.tokenType).toBe('Bearer')
  expect(json.data.expiresIn).toBe(900)
  expectUserObject(json.data.user, { email, emailVerified: json.data.user.emailVerified, role: json.data.user.role })
  return json.data
}

afterEach(() => {
  vi.useRealTimers()
})

describe('POST /api/auth/register', () => {
  it('creates the account and answers 201 with exactly the public user object', async () => {
    const email = uniqueEmail('reg')
    const response = await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'Ada Lovelace' } })
    expect(response.status).toBe(201)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    const json = await body(response)
    expect(json.success).toBe(true)
    expect(Object.keys(json.data)).toEqual(['user'])
    expectUserObject(json.data.user, { email, emailVerified: false })
    expect(json.data.user).toMatchObject({ name: 'Ada Lovelace', mobile: null })
    expect(JSON.stringify(json)).not.toContain('passwordHash')
  })

  it('mails a six-digit verify_email code to the new address', async () => {
    const email = uniqueEmail('reg-mail')
    await register({ email })
    const sent = mailedTo(email)
    expect(sent.map((message) => message.purpose)).toEqual(['verify_email'])
    expect(lastCode(email, 'verify_email')).toMatch(/^\d{6}$/)
  })

  it('stores the email trimmed, NFKC-normalised and lower-cased', async () => {
    const email = uniqueEmail('norm')
    const response = await call('/api/auth/register', {
      json: { email: `  ${fullwidth(email.toUpperCase())}\t`, password: PASSWORD, name: 'Norm' },
    })
    expect(response.status).toBe(201)
    expect((await body(response)).data.user.email).toBe(email)
    // The code goes to the normalised address.
    expect(lastCode(email, 'verify_email')).toMatch(/^\d{6}$/)
  })

  it.each([
    ['upper case', (email: string) => email.toUpperCase()],
    ['surrounding whitespace', (email: string) => `  ${email}  `],
    ['fullwidth characters', (email: string) => fullwidth(email)],
  ])('refuses a %s variant of an existing email with 409 EMAIL_TAKEN', async (_label, variant) => {
    const { email } = await register()
    const response = await call('/api/auth/register', { json: { email: variant(email), password: PASSWORD, name: 'Dup' } })
    await expectError(response, 409, 'EMAIL_TAKEN')
  })

  it.each([
    ['too short', 'Ab1!xyz'],
    ['without a digit', 'Abcdefgh!'],
    ['without a symbol', 'Abcdefgh12'],
    ['without a letter', '12345678!'],
    ['of 129 characters', `Ab1!${'x'.repeat(125)}`],
  ])('refuses a password %s with 400 VALIDATION_ERROR naming password', async (_label, password) => {
    const email = uniqueEmail('weak')
    const response = await call('/api/auth/register', { json: { email, password, name: 'Weak' } })
    const json = await expectError(response, 400, 'VALIDATION_ERROR')
    expect(json.details.map((detail: { path: string }) => detail.path)).toContain('password')
    // Nothing was created: the address is still free.
    await register({ email })
  })

  it('accepts a password of exactly 128 characters', async () => {
    const password = `Ab1!${'x'.repeat(124)}`
    expect(password).toHaveLength(128)
    const { email } = await register({ password })
    const login = await call('/api/auth/login', { json: { email, password } })
    expect(login.status).toBe(200)
  })

  it('keeps leading and trailing spaces of a password exactly', async () => {
    const password = '  Spaced-pass-1  '
    const { email } = await register({ password })
    const trimmed = await call('/api/auth/login', { json: { email, password: password.trim() } })
    await expectError(trimmed, 401, 'INVALID_CREDENTIALS')
    const exact = await call('/api/auth/login', { json: { email, password } })
    expect(exact.status).toBe(200)
    expect((await body(exact)).data.otpRequired).toBe(true)
  })

  it('refuses unknown fields with 400 VALIDATION_ERROR naming them, and creates nothing', async () => {
    const email = uniqueEmail('mass')
    const response = await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'Mass', role: 'admin' } })
    const json = await expectError(response, 400, 'VALIDATION_ERROR')
    expect(json.details.map((detail: { path: string }) => detail.path).join(',')).toContain('role')
    const { user } = await register({ email })
    expect((user as { role?: string }).role).toBe('user')
  })
})

describe('POST /api/auth/verify-email', () => {
  it('verifies the email with the mailed code and answers the user with emailVerified true', async () => {
    const { email } = await register()
    const response = await call('/api/auth/verify-email', { json: { email, otp: lastCode(email, 'verify_email') } })
    expect(response.status).toBe(200)
    const json = await body(response)
    expectUserObject(json.data.user, { email, emailVerified: true })
  })

  it('accepts the email in any case and spacing', async () => {
    const { email } = await register()
    const response = await call('/api/auth/verify-email', {
      json: { email: ` ${email.toUpperCase()} `, otp: lastCode(email, 'verify_email') },
    })
    expect(response.status).toBe(200)
    expect((await body(response)).data.user.emailVerified).toBe(true)
  })

  it('refuses a wrong code with 401 OTP_INVALID and no attempts left in the answer, leaving the email unverified', async () => {
    const { email } = await register()
    const code = lastCode(email, 'verify_email')
    const response = await call('/api/auth/verify-email', { json: { email, otp: wrongCode(code) } })
    const json = await expectError(response, 401, 'OTP_INVALID')
    // attemptsLeft would tell a real account with a pending code from an unknown address.
    expect(json.details).toEqual([{ path: 'otp', message: 'is incorrect' }])
    // The right code still works afterwards: the wrong one only spent a try.
    const right = await call('/api/auth/verify-email', { json: { email, otp: code } })
    expect(right.status).toBe(200)
  })

  it('answers an unknown email exactly like a wrong code: 401 OTP_INVALID', async () => {
    const response = await call('/api/auth/verify-email', { json: { email: uniqueEmail('ghost'), otp: '123456' } })
    const json = await expectError(response, 401, 'OTP_INVALID')
    expect(json.details).toEqual([{ path: 'otp', message: 'is incorrect' }])
  })

  it('refuses unknown fields with 400 VALIDATION_ERROR', async () => {
    const { email } = await register()
    const response = await call('/api/auth/verify-email', {
      json: { email, otp: lastCode(email, 'verify_email'), emailVerified: true },
    })
    await expectError(response, 400, 'VALIDATION_ERROR')
  })
})

describe('POST /api/auth/login', () => {
  it('answers otpRequired with a challenge and mails a login code when LOGIN_OTP is required', async () => {
    const { email } = await register()
    const before = mailedTo(email).length
    const response = await call('/api/auth/login', { json: { email, password: PASSWORD } })
    expect(response.status).toBe(200)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect(response.headers.getSetCookie()).toEqual([])
    const json = await body(response)
    expect(json.success).toBe(true)
    expect(json.data).toEqual({ otpRequired: true, challengeId: expect.stringMatching(UUID), expiresIn: 300, methods: ['email_otp'] })
    const sent = mailedTo(email).slice(before)
    expect(sent.map((message) => message.purpose)).toEqual(['login'])
    expect(lastCode(email, 'login')).toMatch(/^\d{6}$/)
  })

  it('answers the token response with the refresh cookie when LOGIN_OTP is off', async () => {
    const env = { LOGIN_OTP: 'off' }
    const { email } = await register({ env })
    const before = mailedTo(email).length
    const response = await call('/api/auth/login', { json: { email, password: PASSWORD }, env })
    const data = await expectTokenResponse(response, email)
    expect(data.otpRequired).toBeUndefined()
    expect(data.refreshToken).toBeUndefined()
    expectRefreshCookie(response)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    // No login code was needed, so none was sent (the first sign-in's security notice is no code).
    expect(mailedTo(email).slice(before).filter((sent) => sent.purpose !== 'security_notice')).toEqual([])
    const profile = await call('/api/auth/profile', { token: data.accessToken, env })
    expect(profile.status).toBe(200)
    // The password alone: the session says so.
    const sessions = await body(await call('/api/auth/sessions', { token: data.accessToken, env }))
    expect(sessions.data.sessions.map((s: { aal: string; amr: string[] }) => ({ aal: s.aal, amr: s.amr }))).toEqual([{ aal: 'aal1', amr: ['pwd'] }])
  })

  it('answers the token response with the refresh token in the body when LOGIN_OTP is off and tokenTransport is body', async () => {
    const env = { LOGIN_OTP: 'off' }
    const { email } = await register({ env })
    const response = await call('/api/auth/login', { json: { email, password: PASSWORD, tokenTransport: 'body' }, env })
    const data = await expectTokenResponse(response, email)
    expect(response.headers.getSetCookie()).toEqual([])
    expect(data.refreshToken).toMatch(JWT)
  })

  it('gives a wrong password and an unknown email the identical answer', async () => {
    const { email } = await register()
    const wrongPassword = await call('/api/auth/login', { json: { email, password: 'Wrong-pass-1' } })
    const unknownEmail = await call('/api/auth/login', { json: { email: uniqueEmail('nobody'), password: 'Wrong-pass-1' } })

    await expectError(wrongPassword, 401, 'INVALID_CREDENTIALS')
    expect(unknownEmail.status).toBe(wrongPassword.status)
    expect(await unknownEmail.text()).toBe(await wrongPassword.text())
    // Values that differ on every response (request id, date, the D1 bookmark) are compared by presence only.
    const perResponse = new Set(['x-request-id', 'date', 'x-d1-bookmark'])
    const headerSet = (response: Response) =>
      Object.fromEntries([...response.headers].map(([name, value]) => [name, perResponse.has(name) ? '(present)' : value]))
    expect(headerSet(unknownEmail)).toEqual(headerSet(wrongPassword))
  })

  it('blocks an unverified account with 403 EMAIL_NOT_VERIFIED when REQUIRE_EMAIL_VERIFICATION is true, but only after a correct password', async () => {
    const env = { REQUIRE_EMAIL_VERIFICATION: 'true' }
    const { email } = await register({ env })

    const wrong = await call('/api/auth/login', { json: { email, password: 'Wrong-pass-1' }, env })
    await expectError(wrong, 401, 'INVALID_CREDENTIALS')
    const unknown = await call('/api/auth/login', { json: { email: uniqueEmail('nobody'), password: PASSWORD }, env })
    await expectError(unknown, 401, 'INVALID_CREDENTIALS')

    const right = await call('/api/auth/login', { json: { email, password: PASSWORD }, env })
    await expectError(right, 403, 'EMAIL_NOT_VERIFIED')

    // Once verified, the same login goes through.
    const verified = await call('/api/auth/verify-email', { json: { email, otp: lastCode(email, 'verify_email') }, env })
    expect(verified.status).toBe(200)
    const after = await call('/api/auth/login', { json: { email, password: PASSWORD }, env })
    expect(after.status).toBe(200)
    expect((await body(after)).data.otpRequired).toBe(true)
  })

  it('lets an unverified account log in when REQUIRE_EMAIL_VERIFICATION is false', async () => {
    const env = { REQUIRE_EMAIL_VERIFICATION: 'false' }
    const { email } = await register({ env })
    const response = await call('/api/auth/login', { json: { email, password: PASSWORD }, env })
    expect(response.status).toBe(200)
  })

  it('compares the password exactly: no truncation, no Unicode normalisation', async () => {
    const password = `Ab1!${'x'.repeat(124)}`
    const { email } = await register({ password })
    for (const attempt of [`${password.slice(0, -1)}y`, password.slice(0, 72), password.replace('1', '\uff11')]) {
      await expectError(await call('/api/auth/login', { json: { email, password: attempt } }), 401, 'INVALID_CREDENTIALS')
    }
    expect((await call('/api/auth/login', { json: { email, password } })).status).toBe(200)
  })

  it('refuses unknown fields with 400 VALIDATION_ERROR', async () => {
    const { email } = await register()
    const response = await call('/api/auth/login', { json: { email, password: PASSWORD, remember: true } })
    const json = await expectError(response, 400, 'VALIDATION_ERROR')
    expect(json.details.map((detail: { path: string }) => detail.path).join(',')).toContain('remember')
  })
})

describe('POST /api/auth/verify-otp', () => {
  it('answers the token response for the mailed login code and marks the email verified', async () => {
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)
    const response = await call('/api/auth/verify-otp', { json: { challengeId, otp: code } })
    const data = await expectTokenResponse(response, email)
    expectUserObject(data.user, { email, emailVerified: true })
    expect(data.refreshToken).toBeUndefined()

    const profile = await call('/api/user/profile', { token: data.accessToken })
    expect((await body(profile)).data.user.emailVerified).toBe(true)
  })

  it('sets the refresh cookie exactly as the contract states, with Cache-Control no-store', async () => {
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)
    const response = await call('/api/auth/verify-otp', { json: { challengeId, otp: code } })
    expect(response.status).toBe(200)
    expectRefreshCookie(response)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect(refreshCookie(response)).toMatch(JWT)
  })

  it('sets no cookie and returns data.refreshToken when tokenTransport is body', async () => {
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)
    const response = await call('/api/auth/verify-otp', { json: { challengeId, otp: code, tokenTransport: 'body' } })
    const data = await expectTokenResponse(response, email)
    expect(response.headers.getSetCookie()).toEqual([])
    expect(response.headers.get('Set-Cookie')).toBeNull()
    expect(data.refreshToken).toMatch(JWT)
    expect(data.refreshToken).not.toBe(data.accessToken)
  })

  it('grants role admin to an address listed in ADMIN_EMAILS once verify-otp proves it', async () => {
    const email = uniqueEmail('admin')
    const env = { ADMIN_EMAILS: `other@example.com, ${email.toUpperCase()}` }
    const { user } = await register({ email, env })
    expect((user as { role?: string }).role).toBe('user')

    const { challengeId, code } = await startLogin(email, PASSWORD, env)
    const response = await call('/api/auth/verify-otp', { json: { challengeId, otp: code }, env })
    const data = await expectTokenResponse(response, email)
    expectUserObject(data.user, { email, emailVerified: true, role: 'admin' })

    const profile = await call('/api/auth/profile', { token: data.accessToken, env })
    expect((await body(profile)).data.user.role).toBe('admin')
  })

  it('keeps role user for an address not listed in ADMIN_EMAILS', async () => {
    const env = { ADMIN_EMAILS: uniqueEmail('someone-else') }
    const session = await signIn({ env })
    const profile = await call('/api/auth/profile', { token: session.accessToken, env })
    expect((await body(profile)).data.user.role).toBe('user')
  })

  it('refuses a malformed code with 400 VALIDATION_ERROR naming otp', async () => {
    const { email } = await register()
    const { challengeId } = await startLogin(email, PASSWORD)
    const response = await call('/api/auth/verify-otp', { json: { challengeId, otp: '12345' } })
    const json = await expectError(response, 400, 'VALIDATION_ERROR')
    expect(json.details.map((detail: { path: string }) => detail.path)).toContain('otp')
  })
})

describe('POST /api/auth/resend-otp', () => {
  it('sends a fresh code with a new expiry: the old code stops working and the new one works', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email } = await register()
    const { challengeId, code: oldCode } = await startLogin(email, PASSWORD)

    vi.setSystemTime(t0 + 61_000)
    const response = await call('/api/auth/resend-otp', { json: { challengeId } })
    expect(response.status).toBe(200)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    expect((await body(response)).data).toEqual({ challengeId, expiresIn: 300 })
    const newCode = lastCode(email, 'login')
    expect(newCode).toMatch(/^\d{6}$/)
    expect(newCode).not.toBe(oldCode)

    // Past the first code's five minutes, inside the new code's.
    vi.setSystemTime(t0 + 61_000 + 290_000)
    const old = await call('/api/auth/verify-otp', { json: { challengeId, otp: oldCode } })
    expect(old.status).toBe(401)
    expect(['OTP_INVALID', 'OTP_EXPIRED']).toContain((await body(old)).error)

    const fresh = await call('/api/auth/verify-otp', { json: { challengeId, otp: newCode } })
    await expectTokenResponse(fresh, email)
  })

  it('refuses a resend within 60 s of the last code with 429 RATE_LIMITED and Retry-After', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email } = await register()
    const { challengeId, code } = await startLogin(email, PASSWORD)
    const sent = mailedTo(email).length

    vi.setSystemTime(t0 + 30_000)
    const response = await call('/api/auth/resend-otp', { json: { challengeId } })
    await expectError(response, 429, 'RATE_LIMITED')
    const retryAfter = response.headers.get('Retry-After')
    expect(retryAfter).toMatch(/^\d+$/)
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    expect(Number(retryAfter)).toBeLessThanOrEqual(30)
    // Nothing was sent and the first code still works.
    expect(mailedTo(email)).toHaveLength(sent)
    const verify = await call('/api/auth/verify-otp', { json: { challengeId, otp: code } })
    expect(verify.status).toBe(200)
  })

  it('answers an unknown challenge with 401 OTP_EXPIRED', async () => {
    const response = await call('/api/auth/resend-otp', { json: { challengeId: crypto.randomUUID() } })
    await expectError(response, 401, 'OTP_EXPIRED')
  })
})

describe('GET /api/auth/profile', () => {
  it('answers the caller with the access token', async () => {
    const session = await signIn()
    const response = await call('/api/auth/profile', { token: session.accessToken })
    expect(response.status).toBe(200)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    const json = await body(response)
    expect(json.success).toBe(true)
    expectUserObject(json.data.user, { email: session.email, emailVerified: true })
    expect(json.data.user.id).toBe(session.userId)
  })

  it('answers 401 TOKEN_MISSING without a token', async () => {
    await expectError(await call('/api/auth/profile'), 401, 'TOKEN_MISSING')
  })
})

describe('GET /api/user/profile', () => {
  it('answers the caller with the access token', async () => {
    const session = await signIn()
    const response = await call('/api/user/profile', { token: session.accessToken })
    expect(response.status).toBe(200)
    expect(response.headers.get('Cache-Control')).toBe('no-store')
    const json = await body(response)
    expectUserObject(json.data.user, { email: session.email, emailVerified: true })
    expect(json.data.user.id).toBe(session.userId)
  })

  it('answers 401 TOKEN_MISSING without a token', async () => {
    await expectError(await call('/api/user/profile'), 401, 'TOKEN_MISSING')
  })
})
