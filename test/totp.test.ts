import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  accountWithApp,
  advance,
  body,
  call,
  currentSession,
  expectError,
  lastCode,
  mailedTo,
  mfaChallenge,
  mfaVerify,
  PASSWORD,
  secretOf,
  signIn,
  startLogin,
  stepStart,
  totpCode,
  turnOnApp,
  wrongCode,
} from './helpers'

/** A code that is right for no step near now (tried against the previous, current and next). */
async function codeMatchingNoStep(secret: string): Promise<string> {
  const near = await Promise.all([-1, 0, 1].map((stepOffset) => totpCode(secret, { stepOffset })))
  for (let offset = 1; ; offset++) {
    const candidate = wrongCode(near[1]!, offset)
    if (!near.includes(candidate)) return candidate
  }
}

const notices = (email: string) => mailedTo(email).filter((m) => m.purpose === 'security_notice').map((m) => (m as unknown as { notice: string }).notice)

beforeEach(() => {
  // One second into a step, so "the current step" stays put while a test runs.
  vi.setSystemTime(stepStart() + 1_000)
})
afterEach(() => {
  vi.useRealTimers()
})

describe('POST /api/auth/mfa/totp/enroll', () => {
  it('answers a base32 secret of 20 bytes, the otpauth URI of API.md and a 10-minute lifetime; the row holds it sealed', async () => {
    const s = await signIn()
    const response = await call('/api/auth/mfa/totp/enroll', { token: s.accessToken, json: { password: s.password } })
    expect(response.status).toBe(200)
    const { secret, otpauthUri, expiresIn } = (await body(response)).data
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(expiresIn).toBe(600)
    const email = encodeURIComponent(s.email)
    expect(otpauthUri).toBe(`otpauth://totp/auth.test:${email}?secret=${secret}&issuer=auth.test&algorithm=SHA1&digits=6&period=30`)
    const row = await env.DB.prepare('SELECT secret, activated_at FROM totp_credentials WHERE user_id = ?').bind(s.userId).first<{ secret: string; activated_at: number | null }>()
    expect(row!.activated_at).toBeNull()
    expect(row!.secret).toMatch(/^v1\./)
    expect(row!.secret).not.toContain(secret)
    const status = await call('/api/auth/mfa', { token: s.accessToken })
    expect((await body(status)).data).toEqual({ totp: { enabled: false, createdAt: expect.any(String) }, recoveryCodesLeft: 0, passkeys: 0 })
  })

  it('refuses a wrong password with 401 INVALID_CREDENTIALS, counting it toward the lockout, and writes nothing', async () => {
    const s = await signIn()
    for (let i = 0; i < 5; i++) {
      await expectError(await call('/api/auth/mfa/totp/enroll', { token: s.accessToken, json: { password: 'Wrong-password-1' } }), 401, 'INVALID_CREDENTIALS')
    }
    const row = await env.DB.prepare('SELECT 1 FROM totp_credentials WHERE user_id = ?').bind(s.userId).first()
    expect(row).toBeNull()
    // Five wrong passwords: the sixth attempt is locked out, the right password too.
    await expectError(await call('/api/auth/mfa/totp/enroll', { token: s.accessToken, json: { password: s.password } }), 429, 'RATE_LIMITED')
  })

  it('needs the password, refuses unknown fields, and needs a bearer token', async () => {
    const s = await signIn()
    await expectError(await call('/api/auth/mfa/totp/enroll', { token: s.accessToken, json: {} }), 400, 'VALIDATION_ERROR')
    await expectError(await call('/api/auth/mfa/totp/enroll', { token: s.accessToken, json: { password: s.password, secret: 'AAAA' } }), 400, 'VALIDATION_ERROR')
    await expectError(await call('/api/auth/mfa/totp/enroll', { json: { password: s.password } }), 401, 'TOKEN_MISSING')
    // No body at all is for accounts without a password only.
    await expectError(await call('/api/auth/mfa/totp/enroll', { method: 'POST', token: s.accessToken }), 400, 'VALIDATION_ERROR')
  })

  it('a second enroll replaces the pending one: the first secret no longer activates', async () => {
    const s = await signIn()
    const first = secretOf((await body(await call('/api/auth/mfa/totp/enroll', { token: s.accessToken, json: { password: s.password } }))).data.otpauthUri)
    const second = secretOf((await body(await call('/api/auth/mfa/totp/enroll', { token: s.accessToken, json: { password: s.password } }))).data.otpauthUri)
    expect(second).not.toBe(first)
    await expectError(await call('/api/auth/mfa/totp/activate', { token: s.accessToken, json: { code: await totpCode(first) } }), 401, 'OTP_INVALID')
    expect((await call('/api/auth/mfa/totp/activate', { token: s.accessToken, json: { code: await totpCode(second) } })).status).toBe(200)
  })

  it('a pending enrolment is gone after 10 minutes', async () => {
    const s = await signIn()
    const secret = secretOf((await body(await call('/api/auth/mfa/totp/enroll', { token: s.accessToken, json: { password: s.password } }))).data.otpauthUri)
    advance(601_000)
    await expectError(await call('/api/auth/mfa/totp/activate', { token: s.accessToken, json: { code: await totpCode(secret) } }), 401, 'OTP_EXPIRED')
    expect((await body(await call('/api/auth/mfa', { token: s.accessToken }))).data.totp).toBeNull()
  })

  it('answers 409 MFA_ALREADY_ENABLED while an app is active, and leaves it as it was', async () => {
    const a = await accountWithApp()
    const response = await call('/api/auth/mfa/totp/enroll', { token: a.accessToken, json: { password: a.password } })
    await expectError(response, 409, 'MFA_ALREADY_ENABLED')
    advance(30_000)
    expect((await mfaVerify(await mfaChallenge(a.email), 'totp', await totpCode(a.secret))).status).toBe(200)
  })
})

describe('POST /api/auth/mfa/totp/activate', () => {
  it('refuses a wrong code, then turns the app on with a right one: ten recovery codes, the notice, GET /mfa', async () => {
    const s = await signIn()
    const secret = secretOf((await body(await call('/api/auth/mfa/totp/enroll', { token: s.accessToken, json: { password: s.password } }))).data.otpauthUri)
    await expectError(await call('/api/auth/mfa/totp/activate', { token: s.accessToken, json: { code: await codeMatchingNoStep(secret) } }), 401, 'OTP_INVALID')
    await expectError(await call('/api/auth/mfa/totp/activate', { token: s.accessToken, json: { code: 'abcdef' } }), 400, 'VALIDATION_ERROR')
    const response = await call('/api/auth/mfa/totp/activate', { token: s.accessToken, json: { code: await totpCode(secret) } })
    expect(response.status).toBe(200)
    const codes: string[] = (await body(response)).data.recoveryCodes
    expect(codes).toHaveLength(10)
    expect(new Set(codes).size).toBe(10)
    for (const code of codes) expect(code).toMatch(/^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{5}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{5}$/)
    expect(notices(s.email)).toContain('totp_enabled')
    const status = (await body(await call('/api/auth/mfa', { token: s.accessToken }))).data
    expect(status).toEqual({ totp: { enabled: true, createdAt: expect.any(String) }, recoveryCodesLeft: 10, passkeys: 0 })
    // Only keyed hashes are stored.
    const stored = await env.DB.prepare('SELECT code_hash FROM recovery_codes WHERE user_id = ?').bind(s.userId).all<{ code_hash: string }>()
    expect(stored.results).toHaveLength(10)
    for (const { code_hash } of stored.results) for (const code of codes) expect(code_hash).not.toContain(code.replace('-', ''))
  })

  it('keeps the sessions already open as they were (aal1); new sign-ins need the app', async () => {
    const a = await accountWithApp()
    expect(await currentSession(a.accessToken)).toMatchObject({ aal: 'aal1', amr: ['pwd', 'email_otp'] })
    expect((await call('/api/auth/refresh', { cookie: a.refreshToken, json: {} })).status).toBe(200)
  })
})

describe('login with an authenticator app', () => {
  it('asks for the app, mails no code, and opens an aal2 session with amr [pwd, totp]', async () => {
    const a = await accountWithApp()
    advance(30_000)
    const before = mailedTo(a.email).filter((m) => m.purpose === 'login').length
    const challengeId = await mfaChallenge(a.email)
    expect(mailedTo(a.email).filter((m) => m.purpose === 'login').length).toBe(before)
    const response = await mfaVerify(challengeId, 'totp', await totpCode(a.secret))
    expect(response.status).toBe(200)
    const data = (await body(response)).data
    expect(data.tokenType).toBe('Bearer')
    expect(response.headers.getSetCookie().some((c) => c.startsWith('__Host-refresh_token='))).toBe(true)
    expect(await currentSession(data.accessToken)).toMatchObject({ aal: 'aal2', amr: ['pwd', 'totp'] })
    const claims = JSON.parse(atob(data.accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')))
    expect(claims).toMatchObject({ aal: 'aal2', amr: ['pwd', 'totp'] })
  })

  it('asks for the app whatever LOGIN_OTP says', async () => {
    const a = await accountWithApp()
    const response = await call('/api/auth/login', { json: { email: a.email, password: a.password }, env: { LOGIN_OTP: 'off' } })
    expect((await body(response)).data).toMatchObject({ otpRequired: true, methods: ['totp', 'recovery_code'] })
  })

  it('honours tokenTransport: body', async () => {
    const a = await accountWithApp()
    advance(30_000)
    const response = await mfaVerify(await mfaChallenge(a.email), 'totp', await totpCode(a.secret), { tokenTransport: 'body' })
    expect(response.status).toBe(200)
    expect((await body(response)).data.refreshToken).toEqual(expect.any(String))
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('refuses a step already accepted (replay within its window), also the one activation used', async () => {
    const a = await accountWithApp()
    // The activation accepted the current step: its code does not sign in.
    await expectError(await mfaVerify(await mfaChallenge(a.email), 'totp', await totpCode(a.secret)), 401, 'OTP_INVALID')
    advance(30_000)
    const code = await totpCode(a.secret)
    expect((await mfaVerify(await mfaChallenge(a.email), 'totp', code)).status).toBe(200)
    const replay = await mfaVerify(await mfaChallenge(a.email), 'totp', code)
    const json = await expectError(replay, 401, 'OTP_INVALID')
    expect(json.details).toEqual([expect.objectContaining({ attemptsLeft: 4 })])
    expect(replay.headers.getSetCookie()).toEqual([])
  })

  it('accepts the previous and the next step, but not two steps away; an earlier step after a later one is refused', async () => {
    const a = await accountWithApp()
    advance(90_000)
    expect((await mfaVerify(await mfaChallenge(a.email), 'totp', await totpCode(a.secret, { stepOffset: -1 }))).status).toBe(200)
    expect((await mfaVerify(await mfaChallenge(a.email), 'totp', await totpCode(a.secret, { stepOffset: 1 }))).status).toBe(200)
    // The next step was accepted: the current one is now older than the last accepted.
    await expectError(await mfaVerify(await mfaChallenge(a.email), 'totp', await totpCode(a.secret)), 401, 'OTP_INVALID')
    advance(90_000)
    await expectError(await mfaVerify(await mfaChallenge(a.email), 'totp', await totpCode(a.secret, { stepOffset: 2 })), 401, 'OTP_INVALID')
    await expectError(await mfaVerify(await mfaChallenge(a.email), 'totp', await totpCode(a.secret, { stepOffset: -2 })), 401, 'OTP_INVALID')
  })

  it('burns the challenge after five wrong codes (then OTP_ATTEMPTS_EXCEEDED, even for the right one) and counts them toward the lockout', async () => {
    const a = await accountWithApp()
    advance(30_000)
    const challengeId = await mfaChallenge(a.email)
    const wrong = await codeMatchingNoStep(a.secret)
    for (const attemptsLeft of [4, 3, 2, 1]) {
      const json = await expectError(await mfaVerify(challengeId, 'totp', wrong), 401, 'OTP_INVALID')
      expect(json.details).toEqual([expect.objectContaining({ attemptsLeft })])
    }
    await expectError(await mfaVerify(challengeId, 'totp', wrong), 429, 'OTP_ATTEMPTS_EXCEEDED')
    const right = await mfaVerify(challengeId, 'totp', await totpCode(a.secret))
    await expectError(right, 429, 'OTP_ATTEMPTS_EXCEEDED')
    expect(right.headers.getSetCookie()).toEqual([])
    // Five wrong codes are five failed logins: the right password is locked out now.
    await expectError(await call('/api/auth/login', { json: { email: a.email, password: a.password } }), 429, 'RATE_LIMITED')
  })

  it('a challenge accepts only its own methods: a mailed-code challenge refuses the app, an app challenge refuses mailed codes and resends', async () => {
    const s = await signIn()
    const { challengeId: mailed, code } = await startLogin(s.email, PASSWORD)
    await expectError(await mfaVerify(mailed, 'totp', code), 401, 'OTP_INVALID')
    expect((await call('/api/auth/verify-otp', { json: { challengeId: mailed, otp: code } })).status).toBe(200)

    const { secret } = await turnOnApp(s)
    advance(30_000)
    const app = await mfaChallenge(s.email)
    const viaMail = await call('/api/auth/verify-otp', { json: { challengeId: app, otp: await totpCode(secret) } })
    await expectError(viaMail, 401, 'OTP_INVALID')
    const before = mailedTo(s.email).length
    await expectError(await call('/api/auth/resend-otp', { json: { challengeId: app } }), 401, 'OTP_EXPIRED')
    expect(mailedTo(s.email).length).toBe(before)
    expect((await mfaVerify(app, 'totp', await totpCode(secret))).status).toBe(200)
  })

  it('a challenge works once', async () => {
    const a = await accountWithApp()
    advance(30_000)
    const challengeId = await mfaChallenge(a.email)
    expect((await mfaVerify(challengeId, 'totp', await totpCode(a.secret))).status).toBe(200)
    advance(30_000)
    await expectError(await mfaVerify(challengeId, 'totp', await totpCode(a.secret)), 401, 'OTP_EXPIRED')
  })

  it('refuses bad input with the envelope: another method name, a malformed code, an unknown field, an unknown challenge', async () => {
    const a = await accountWithApp()
    advance(30_000)
    const challengeId = await mfaChallenge(a.email)
    const code = await totpCode(a.secret)
    await expectError(await call('/api/auth/mfa/verify', { json: { challengeId, method: 'email_otp', code } }), 400, 'VALIDATION_ERROR')
    await expectError(await mfaVerify(challengeId, 'totp', '12345'), 400, 'VALIDATION_ERROR')
    await expectError(await mfaVerify(challengeId, 'totp', code, { role: 'admin' }), 400, 'VALIDATION_ERROR')
    await expectError(await mfaVerify(crypto.randomUUID(), 'totp', code), 401, 'OTP_EXPIRED')
    // None of that spent a try or the step.
    expect((await mfaVerify(challengeId, 'totp', code)).status).toBe(200)
  })

  it('retires open app challenges on logout-all', async () => {
    const a = await accountWithApp()
    advance(30_000)
    const challengeId = await mfaChallenge(a.email)
    expect((await call('/api/auth/logout-all', { token: a.accessToken, method: 'POST' })).status).toBe(200)
    await expectError(await mfaVerify(challengeId, 'totp', await totpCode(a.secret)), 401, 'OTP_EXPIRED')
  })
})

describe('recovery codes', () => {
  it('complete a login once each (dashes and case ignored): aal2, amr [pwd, recovery_code]', async () => {
    const a = await accountWithApp()
    const code = a.recoveryCodes[0]!
    const typed = code.replace('-', '').toLowerCase()
    const response = await mfaVerify(await mfaChallenge(a.email), 'recovery_code', typed)
    expect(response.status).toBe(200)
    expect(await currentSession((await body(response)).data.accessToken)).toMatchObject({ aal: 'aal2', amr: ['pwd', 'recovery_code'] })
    await expectError(await mfaVerify(await mfaChallenge(a.email), 'recovery_code', code), 401, 'OTP_INVALID')
    expect((await body(await call('/api/auth/mfa', { token: a.accessToken }))).data.recoveryCodesLeft).toBe(9)
  })

  it('ten parallel uses of one code: exactly one succeeds, no 5xx', async () => {
    const a = await accountWithApp()
    const challenges: string[] = []
    for (let i = 0; i < 10; i++) challenges.push(await mfaChallenge(a.email))
    const responses = await Promise.all(challenges.map((id) => mfaVerify(id, 'recovery_code', a.recoveryCodes[3]!)))
    const statuses = responses.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    for (const r of responses) if (r.status !== 200) expect((await body(r)).error).toBe('OTP_INVALID')
  })

  it('a code of another account does not work', async () => {
    const a = await accountWithApp()
    const b = await accountWithApp()
    await expectError(await mfaVerify(await mfaChallenge(a.email), 'recovery_code', b.recoveryCodes[0]!), 401, 'OTP_INVALID')
  })
})

describe('POST /api/auth/mfa/recovery-codes', () => {
  it('needs a current app code; a new set replaces the old, which stops working', async () => {
    const a = await accountWithApp()
    advance(30_000)
    await expectError(await call('/api/auth/mfa/recovery-codes', { token: a.accessToken, json: { code: await codeMatchingNoStep(a.secret) } }), 401, 'OTP_INVALID')
    await expectError(await call('/api/auth/mfa/recovery-codes', { token: a.accessToken, json: { code: a.recoveryCodes[0] } }), 400, 'VALIDATION_ERROR')
    const response = await call('/api/auth/mfa/recovery-codes', { token: a.accessToken, json: { code: await totpCode(a.secret) } })
    expect(response.status).toBe(200)
    const fresh: string[] = (await body(response)).data.recoveryCodes
    expect(fresh).toHaveLength(10)
    expect(fresh.filter((c) => a.recoveryCodes.includes(c))).toEqual([])
    expect(notices(a.email)).toContain('recovery_codes_regenerated')
    await expectError(await mfaVerify(await mfaChallenge(a.email), 'recovery_code', a.recoveryCodes[1]!), 401, 'OTP_INVALID')
    expect((await mfaVerify(await mfaChallenge(a.email), 'recovery_code', fresh[1]!)).status).toBe(200)
    // The step that regenerated cannot be used again.
    await expectError(await call('/api/auth/mfa/recovery-codes', { token: a.accessToken, json: { code: await totpCode(a.secret) } }), 401, 'OTP_INVALID')
  })
})

describe('DELETE /api/auth/mfa/totp', () => {
  it('needs a valid code: a wrong one changes nothing', async () => {
    const a = await accountWithApp()
    advance(30_000)
    await expectError(await call('/api/auth/mfa/totp', { method: 'DELETE', token: a.accessToken, json: { code: await codeMatchingNoStep(a.secret) } }), 401, 'OTP_INVALID')
    await expectError(await call('/api/auth/mfa/totp', { method: 'DELETE', token: a.accessToken, json: { code: 'ZZZZZ-ZZZZZ' } }), 401, 'OTP_INVALID')
    await expectError(await call('/api/auth/mfa/totp', { method: 'DELETE', token: a.accessToken, json: {} }), 400, 'VALIDATION_ERROR')
    expect((await body(await call('/api/auth/mfa', { token: a.accessToken }))).data.totp.enabled).toBe(true)
    expect(notices(a.email)).not.toContain('totp_removed')
  })

  it('spends a login attempt per wrong code, so a stolen access token cannot guess its way to turning the app off', async () => {
    const a = await accountWithApp()
    advance(30_000)
    const wrong = await codeMatchingNoStep(a.secret)
    for (let i = 0; i < 5; i++) await expectError(await call('/api/auth/mfa/totp', { method: 'DELETE', token: a.accessToken, json: { code: wrong } }), 401, 'OTP_INVALID')
    await expectError(await call('/api/auth/mfa/totp', { method: 'DELETE', token: a.accessToken, json: { code: await totpCode(a.secret) } }), 429, 'RATE_LIMITED')
    expect((await body(await call('/api/auth/mfa', { token: a.accessToken }))).data.totp.enabled).toBe(true)
  })

  it('with a current app code: app and recovery codes gone, the notice sent, login back to the mailed code', async () => {
    const a = await accountWithApp()
    advance(30_000)
    const response = await call('/api/auth/mfa/totp', { method: 'DELETE', token: a.accessToken, json: { code: await totpCode(a.secret) } })
    expect(response.status).toBe(200)
    expect(notices(a.email)).toContain('totp_removed')
    expect((await body(await call('/api/auth/mfa', { token: a.accessToken }))).data).toEqual({ totp: null, recoveryCodesLeft: 0, passkeys: 0 })
    const login = await call('/api/auth/login', { json: { email: a.email, password: a.password } })
    expect((await body(login)).data.methods).toEqual(['email_otp'])
    expect(lastCode(a.email, 'login')).toMatch(/^\d{6}$/)
    const left = await env.DB.prepare('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ?').bind(a.userId).first<{ n: number }>()
    expect(left!.n).toBe(0)
  })

  it('with a recovery code', async () => {
    const a = await accountWithApp()
    expect((await call('/api/auth/mfa/totp', { method: 'DELETE', token: a.accessToken, json: { code: a.recoveryCodes[5] } })).status).toBe(200)
    expect((await body(await call('/api/auth/mfa', { token: a.accessToken }))).data.totp).toBeNull()
    const left = await env.DB.prepare('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ?').bind(a.userId).first<{ n: number }>()
    expect(left!.n).toBe(0)
    await expectError(await call('/api/auth/mfa/totp', { method: 'DELETE', token: a.accessToken, json: { code: a.recoveryCodes[6] } }), 404, 'NOT_FOUND')
  })
})

describe('DELETE /api/admin/users/:id/mfa', () => {
  async function admin() {
    const email = `admin-${crypto.randomUUID()}@example.com`
    const env = { ADMIN_EMAILS: email }
    const response = await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'Admin' }, env })
    expect(response.status).toBe(201)
    const session = await signIn({ email, env })
    return { ...session, env }
  }

  it('is for admins only', async () => {
    const a = await accountWithApp()
    const other = await signIn()
    await expectError(await call(`/api/admin/users/${a.userId}/mfa`, { method: 'DELETE', token: other.accessToken }), 403, 'FORBIDDEN')
    await expectError(await call(`/api/admin/users/${a.userId}/mfa`, { method: 'DELETE', token: a.accessToken }), 403, 'FORBIDDEN')
    expect((await body(await call('/api/auth/mfa', { token: a.accessToken }))).data.totp.enabled).toBe(true)
  })

  it('removes the app and the recovery codes, shows in the admin user object, and is audited with the acting admin', async () => {
    const a = await accountWithApp()
    const boss = await admin()
    const user = await call(`/api/admin/users/${a.userId}`, { token: boss.accessToken, env: boss.env })
    expect((await body(user)).data.user.mfa).toEqual({ totp: true, passkeys: 0, identities: [] })
    const reset = await call(`/api/admin/users/${a.userId}/mfa`, { method: 'DELETE', token: boss.accessToken, env: boss.env })
    expect(reset.status).toBe(200)
    expect((await body(await call(`/api/admin/users/${a.userId}`, { token: boss.accessToken, env: boss.env }))).data.user.mfa.totp).toBe(false)
    expect((await body(await call('/api/auth/login', { json: { email: a.email, password: a.password } }))).data.methods).toEqual(['email_otp'])
    await expectError(await mfaVerify(await startLogin(a.email, a.password).then((l) => l.challengeId), 'recovery_code', a.recoveryCodes[0]!), 401, 'OTP_INVALID')
    const audit = await call(`/api/admin/audit?userId=${a.userId}&type=mfa_reset`, { token: boss.accessToken, env: boss.env })
    const events = (await body(audit)).data.events
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ type: 'mfa_reset', userId: a.userId, actorId: boss.userId })
    expect(notices(a.email)).toContain('totp_removed')
    await expectError(await call(`/api/admin/users/${crypto.randomUUID()}/mfa`, { method: 'DELETE', token: boss.accessToken, env: boss.env }), 404, 'NOT_FOUND')
  })
})

describe('without MFA_ENCRYPTION_KEY', () => {
  it('the mfa routes answer 503 CONFIG_ERROR; everything else works', async () => {
    const off = { MFA_ENCRYPTION_KEY: '' }
    const s = await signIn({ env: off })
    for (const [path, method, json] of [
      ['/api/auth/mfa/totp/enroll', 'POST', { password: s.password }],
      ['/api/auth/mfa/totp/activate', 'POST', { code: '123456' }],
      ['/api/auth/mfa/totp', 'DELETE', { code: '123456' }],
      ['/api/auth/mfa/recovery-codes', 'POST', { code: '123456' }],
      ['/api/auth/mfa/verify', 'POST', { challengeId: crypto.randomUUID(), method: 'totp', code: '123456' }],
    ] as const) {
      const response = await call(path, { method, json, token: s.accessToken, env: off })
      const error = await expectError(response, 503, 'CONFIG_ERROR')
      expect(JSON.stringify(error)).not.toContain('MFA_ENCRYPTION_KEY')
    }
    expect((await body(await call('/api/auth/mfa', { token: s.accessToken, env: off }))).data).toEqual({ totp: null, recoveryCodesLeft: 0, passkeys: 0 })
    expect((await call('/api/auth/profile', { token: s.accessToken, env: off })).status).toBe(200)
    expect((await call('/api/auth/sessions', { token: s.accessToken, env: off })).status).toBe(200)
    expect((await call('/api/auth/login', { json: { email: s.email, password: s.password }, env: off })).status).toBe(200)
  })
})

describe('secrets stay secret', () => {
  it('a sealed secret copied to another account does not open there', async () => {
    const a = await accountWithApp()
    const b = await accountWithApp()
    await env.DB.prepare('UPDATE totp_credentials SET secret = (SELECT secret FROM totp_credentials WHERE user_id = ?) WHERE user_id = ?').bind(a.userId, b.userId).run()
    advance(30_000)
    await expectError(await mfaVerify(await mfaChallenge(b.email), 'totp', await totpCode(a.secret)), 401, 'OTP_INVALID')
  })

  it('never writes the secret, an app code, a recovery code or a challenge id to the log or the audit trail', async () => {
    const lines: string[] = []
    const spies = (['log', 'info', 'warn', 'error'] as const).map((level) => {
      const original = console[level].bind(console)
      return vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '))
        original(...args)
      })
    })
    try {
      const a = await accountWithApp()
      advance(30_000)
      const code = await totpCode(a.secret)
      const challenges = [await mfaChallenge(a.email), await mfaChallenge(a.email)]
      await mfaVerify(challenges[0]!, 'totp', await codeMatchingNoStep(a.secret))
      expect((await mfaVerify(challenges[1]!, 'totp', code)).status).toBe(200)
      expect((await mfaVerify(await mfaChallenge(a.email), 'recovery_code', a.recoveryCodes[0]!)).status).toBe(200)
      const audit = await env.DB.prepare('SELECT detail FROM audit_events WHERE user_id = ?').bind(a.userId).all<{ detail: string | null }>()
      const text = [...lines, ...audit.results.map((r) => r.detail ?? '')].join('\n')
      expect(text).not.toContain(a.secret)
      for (const challengeId of challenges) expect(text).not.toContain(challengeId)
      expect(text).not.toMatch(new RegExp(`"(code|otp)":"${code}"`))
      for (const recovery of a.recoveryCodes) {
        expect(text).not.toContain(recovery)
        expect(text).not.toContain(recovery.replace('-', ''))
      }
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
  })
})

describe('GET /openapi.json', () => {
  it('documents the mfa routes and lists MFA_ALREADY_ENABLED among the error codes', async () => {
    const doc = await body(await call('/openapi.json'))
    for (const path of ['/api/auth/mfa', '/api/auth/mfa/verify', '/api/auth/mfa/totp/enroll', '/api/auth/mfa/totp/activate', '/api/auth/mfa/totp', '/api/auth/mfa/recovery-codes', '/api/admin/users/{id}/mfa']) {
      expect(doc.paths[path], path).toBeDefined()
    }
    expect(doc.components.schemas.Error.properties.error.enum).toContain('MFA_ALREADY_ENABLED')
    expect(doc.paths['/api/auth/mfa/totp/enroll'].post.responses['409']).toBeDefined()
  })
})
