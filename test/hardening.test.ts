import { env } from 'cloudflare:workers'
import { decodeJwt } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { clientAddress, rateLimitKey } from '../src/http/client-address'
import { OTP_BUDGET } from '../src/services/codes'
import { LOGIN_FAILURE_LIMIT } from '../src/services/login-attempts'
import {
  body,
  call,
  expectError,
  lastCode,
  PASSWORD,
  refreshCookie,
  register,
  signIn,
  startLogin,
  uniqueEmail,
  wrongCode,
  type CallInit,
  type Session,
} from './helpers'

/** The findings of the second attack round (issue "Hardening, round two"), each reproduced. */

afterEach(() => {
  vi.useRealTimers()
})

const NEW_PASSWORD = 'Battery-staple-42!'
const forgot = (email: string) => call('/api/auth/password/forgot', { json: { email } })
const reset = (email: string, otp: string) => call('/api/auth/password/reset', { json: { email, otp, newPassword: NEW_PASSWORD } })
const verifyOtp = (challengeId: string, otp: string) => call('/api/auth/verify-otp', { json: { challengeId, otp } })
const auditOf = async (userId: string, type: string) => {
  const rows = await env.DB.prepare('SELECT type, alert, detail FROM audit_events WHERE user_id = ? AND type = ?').bind(userId, type).all()
  return rows.results
}

describe('finding 1: fresh codes buy no fresh guesses', () => {
  it(`allows ${OTP_BUDGET} wrong reset codes per address in 24 h across codes, then 429 even for a fresh right code`, async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email, user } = await register()
    let code = ''
    for (let round = 0; round < OTP_BUDGET / 5; round++) {
      vi.setSystemTime(t0 + round * 61_000)
      expect((await forgot(email)).status).toBe(200)
      code = lastCode(email, 'reset_password')
      for (let i = 1; i <= 5; i++) await expectError(await reset(email, wrongCode(code, i)), 401, 'OTP_INVALID')
    }
    // A fresh code does not help: the budget is the address's, not the code's.
    vi.setSystemTime(t0 + 10 * 61_000)
    await forgot(email)
    const refused = await reset(email, lastCode(email, 'reset_password'))
    await expectError(refused, 429, 'OTP_ATTEMPTS_EXCEEDED')
    const retryAfter = Number(refused.headers.get('Retry-After'))
    expect(retryAfter).toBeGreaterThan(23 * 3600)
    expect(retryAfter).toBeLessThanOrEqual(24 * 3600)
    const alerts = await auditOf(user.id, 'otp_budget_exhausted')
    expect(alerts).toHaveLength(1)
    expect(alerts[0]!.alert).toBe(1)
    // Once the oldest failure leaves the window, the address may try again.
    vi.setSystemTime(t0 + 24 * 3600_000 + 11 * 61_000)
    await forgot(email)
    expect((await reset(email, lastCode(email, 'reset_password'))).status).toBe(200)
  })

  it('counts wrong codes for an address no account holds, the same way', async () => {
    const ghost = uniqueEmail('ghost')
    for (let i = 0; i < OTP_BUDGET; i++) await expectError(await reset(ghost, '123456'), 401, 'OTP_INVALID')
    // Past the budget: the same 429 a real account gets.
    await expectError(await reset(ghost, '123456'), 429, 'OTP_ATTEMPTS_EXCEEDED')
  })

  it('counts wrong login codes as failed logins: the per-email lockout then refuses the right password', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email, password } = await register()
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) {
      vi.setSystemTime(t0 + i * 1_000)
      const { challengeId, code } = await startLogin(email, password)
      await expectError(await verifyOtp(challengeId, wrongCode(code)), 401, 'OTP_INVALID')
    }
    await expectError(await call('/api/auth/login', { json: { email, password } }), 429, 'RATE_LIMITED')
  })
})

describe('finding 2: the code routes do not tell accounts apart', () => {
  it('answers a wrong reset code for a real account with a pending code exactly as for an unknown address', async () => {
    const { email } = await register()
    await forgot(email)
    const known = await body(await reset(email, wrongCode(lastCode(email, 'reset_password'))))
    const unknown = await body(await reset(uniqueEmail('nobody'), '123456'))
    expect(known).toEqual(unknown)
    expect(known).toEqual({ success: false, error: 'OTP_INVALID', message: expect.any(String), details: [{ path: 'otp', message: 'is incorrect' }] })
  })

  it('answers a burned code on verify-email like any wrong one (no 429 for a real account only)', async () => {
    const { email } = await register()
    const code = lastCode(email, 'verify_email')
    for (let i = 1; i <= 6; i++) await expectError(await call('/api/auth/verify-email', { json: { email, otp: wrongCode(code, i) } }), 401, 'OTP_INVALID')
  })
})

describe('finding 3: login challenges end with a password reset, a password change and logout-all', () => {
  it('refuses a login code mailed before a password reset', async () => {
    const { email, password } = await register()
    const pending = await startLogin(email, password)
    vi.setSystemTime(Date.now() + 61_000)
    await forgot(email)
    expect((await reset(email, lastCode(email, 'reset_password'))).status).toBe(200)
    await expectError(await verifyOtp(pending.challengeId, pending.code), 401, 'OTP_EXPIRED')
  })

  it('refuses a login code mailed before a password change', async () => {
    const s = await signIn()
    const pending = await startLogin(s.email, s.password)
    const changed = await call('/api/auth/password/change', { token: s.accessToken, json: { currentPassword: s.password, newPassword: NEW_PASSWORD } })
    expect(changed.status).toBe(200)
    await expectError(await verifyOtp(pending.challengeId, pending.code), 401, 'OTP_EXPIRED')
  })

  it('refuses a login code mailed before logout-all', async () => {
    const s = await signIn()
    const pending = await startLogin(s.email, s.password)
    expect((await call('/api/auth/logout-all', { method: 'POST', token: s.accessToken })).status).toBe(200)
    await expectError(await verifyOtp(pending.challengeId, pending.code), 401, 'OTP_EXPIRED')
  })
})

describe('finding 4: X-D1-Bookmark only on authenticated responses', () => {
  it('sends none on password/forgot (known or not) and one on an authenticated read', async () => {
    const s = await signIn()
    expect((await forgot(s.email)).headers.get('X-D1-Bookmark')).toBeNull()
    expect((await forgot(uniqueEmail('nobody'))).headers.get('X-D1-Bookmark')).toBeNull()
    expect((await call('/api/auth/login', { json: { email: s.email, password: PASSWORD } })).headers.get('X-D1-Bookmark')).toBeNull()
    expect((await call('/api/user/profile', { token: s.accessToken })).headers.get('X-D1-Bookmark')).toBeTruthy()
  })
})

describe('finding 5: ADMIN_EMAILS is authoritative for the roles it granted', () => {
  it('takes admin back at the next refresh once the address leaves the list, and keeps a role an admin granted', async () => {
    const email = uniqueEmail('listed')
    const listed = { ADMIN_EMAILS: email }
    await register({ email, env: listed })
    const s = await signIn({ email, env: listed })
    expect(decodeJwt(s.accessToken).role).toBe('admin')

    // The list no longer names it: the next refresh demotes.
    const unlisted = { ADMIN_EMAILS: '' }
    const refreshed = await call('/api/auth/refresh', { method: 'POST', cookie: s.refreshToken, env: unlisted })
    expect(refreshed.status).toBe(200)
    const data = (await body(refreshed)).data
    expect(decodeJwt(data.accessToken).role).toBe('user')
    expect(data.user.role).toBe('user')

    // An admin grants it again through the API: that role stays whatever the list says.
    const admin = await signInListedAdmin()
    const granted = await call(`/api/admin/users/${s.userId}`, { method: 'PATCH', token: admin.accessToken, json: { role: 'admin' } })
    expect(granted.status).toBe(200)
    const again = await call('/api/auth/refresh', { method: 'POST', cookie: refreshCookie(refreshed)!, env: unlisted })
    expect(decodeJwt((await body(again)).data.accessToken).role).toBe('admin')
  })
})

async function signInListedAdmin(extra: CallInit['env'] = {}): Promise<Session> {
  const email = uniqueEmail('admin')
  const envs = { ADMIN_EMAILS: email, ...extra }
  await register({ email, env: envs })
  return signIn({ email, env: envs })
}

describe('finding 7: names that display as something else', () => {
  it.each([
    ['a right-to-left override', 'Ann\u202Egnp.exe'],
    ['a zero-width joiner', 'Ad\u200Dmin'],
    ['a line separator', 'Ann\u2028Root'],
    ['a paragraph separator', 'Ann\u2029Root'],
  ])('refuses %s with 400 VALIDATION_ERROR on name', async (_, name) => {
    const response = await call('/api/auth/register', { json: { email: uniqueEmail(), password: PASSWORD, name } })
    const json = await expectError(response, 400, 'VALIDATION_ERROR')
    expect(json.details.map((d: { path: string }) => d.path)).toEqual(['name'])
  })
})

describe('finding 8: forged audit fields', () => {
  it('stores a client address only when it parses as one', async () => {
    const s = await signIn()
    const forged = '<img src=x> 127.0.0.1, 8.8.8.8'
    await call('/api/user/profile', { method: 'PATCH', token: s.accessToken, json: { name: 'Forged' }, headers: { 'CF-Connecting-IP': forged } })
    const rows = await env.DB.prepare("SELECT ip FROM audit_events WHERE user_id = ? AND type = 'profile_updated'").bind(s.userId).all()
    expect(rows.results).toEqual([{ ip: null }])
  })

  it('echoes no request id longer than 64 characters or with markup', async () => {
    for (const id of ['a'.repeat(65), '<script>', 'a b']) {
      const response = await call('/health', { headers: { 'X-Request-Id': id } })
      expect(response.headers.get('X-Request-Id')).not.toBe(id)
    }
  })

  it('parses addresses and keys IPv6 by its /64', () => {
    expect(clientAddress('192.0.2.1')).toBe('192.0.2.1')
    expect(clientAddress('2001:db8::1')).toBe('2001:db8::1')
    expect(clientAddress('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1')
    for (const bad of ['999.1.1.1', '1.2.3', '2001:db8::1::2', 'x', '1.2.3.4, 5.6.7.8']) expect(clientAddress(bad)).toBeNull()
    expect(rateLimitKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(rateLimitKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64')
    expect(rateLimitKey('192.0.2.1')).toBe('192.0.2.1')
    expect(rateLimitKey(null)).toBe('unknown')
  })

  it('counts every address of one IPv6 /64 against one limit', async () => {
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:7`
    const statuses: number[] = []
    // The forgot limit is 5 a minute per address.
    for (let i = 1; i <= 6; i++) statuses.push((await call('/api/auth/password/forgot', { json: { email: uniqueEmail() }, ip: `${prefix}::${i}` })).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429])
  })
})

describe('finding 9: the refresh grace window', () => {
  const refresh = (token: string, userAgent: string) => call('/api/auth/refresh', { method: 'POST', cookie: token, headers: { 'User-Agent': userAgent } })

  it('hands the successor again only to the client that rotated, and audits each hand-out', async () => {
    const s = await signIn()
    const first = await refresh(s.refreshToken, 'Browser A')
    expect(first.status).toBe(200)
    const again = await refresh(s.refreshToken, 'Browser A')
    expect(again.status).toBe(200)
    expect(refreshCookie(again)).toBe(refreshCookie(first))
    expect(await auditOf(s.userId, 'refresh_grace')).toHaveLength(1)
  })

  it('treats a replay from another client within the window as reuse: the session ends', async () => {
    const s = await signIn()
    const first = await refresh(s.refreshToken, 'Browser A')
    await expectError(await refresh(s.refreshToken, 'Thief'), 401, 'TOKEN_REUSED')
    await expectError(await refresh(refreshCookie(first)!, 'Browser A'), 401, 'TOKEN_REVOKED')
  })
})

describe('bans and admin session controls', () => {
  it('bans with a reason: sessions end, the right password answers 403 ACCOUNT_BANNED, a wrong one still 401', async () => {
    const admin = await signInListedAdmin()
    const s = await signIn()
    const banned = await call(`/api/admin/users/${s.userId}/ban`, { token: admin.accessToken, json: { reason: 'spam' } })
    expect(banned.status).toBe(200)
    expect((await body(banned)).data.user.banned).toEqual({ reason: 'spam', until: null })
    await expectError(await call('/api/user/profile', { token: s.accessToken }), 401, 'TOKEN_REVOKED')
    await expectError(await call('/api/auth/refresh', { method: 'POST', cookie: s.refreshToken }), 401, 'TOKEN_REVOKED')
    const json = await expectError(await call('/api/auth/login', { json: { email: s.email, password: s.password } }), 403, 'ACCOUNT_BANNED')
    expect(json.details).toEqual([{ path: 'account', message: 'is banned', until: null }])
    await expectError(await call('/api/auth/login', { json: { email: s.email, password: 'Wrong-pass-1!' } }), 401, 'INVALID_CREDENTIALS')

    expect((await call(`/api/admin/users/${s.userId}/ban`, { method: 'DELETE', token: admin.accessToken })).status).toBe(200)
    expect((await call('/api/auth/login', { json: { email: s.email, password: s.password } })).status).toBe(200)
  })

  it('refuses a login code mailed before the ban', async () => {
    const admin = await signInListedAdmin()
    const { email, password, user } = await register()
    const pending = await startLogin(email, password)
    await call(`/api/admin/users/${user.id}/ban`, { token: admin.accessToken, json: { reason: 'abuse' } })
    await expectError(await verifyOtp(pending.challengeId, pending.code), 403, 'ACCOUNT_BANNED')
  })

  it('lifts a ban by itself once its end has passed', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const admin = await signInListedAdmin()
    const { email, password, user } = await register()
    const until = new Date(t0 + 3600_000).toISOString()
    await call(`/api/admin/users/${user.id}/ban`, { token: admin.accessToken, json: { reason: 'cool-off', until } })
    const json = await expectError(await call('/api/auth/login', { json: { email, password } }), 403, 'ACCOUNT_BANNED')
    expect(json.details[0].until).toBe(until)
    vi.setSystemTime(t0 + 3600_000 + 1_000)
    expect((await call('/api/auth/login', { json: { email, password } })).status).toBe(200)
  })

  it('refuses banning oneself, a past end, and a reason with invisible characters, with 400', async () => {
    const admin = await signInListedAdmin()
    await expectError(await call(`/api/admin/users/${admin.userId}/ban`, { token: admin.accessToken, json: { reason: 'x' } }), 400, 'VALIDATION_ERROR')
    const { user } = await register()
    await expectError(await call(`/api/admin/users/${user.id}/ban`, { token: admin.accessToken, json: { reason: 'x', until: '2000-01-01T00:00:00Z' } }), 400, 'VALIDATION_ERROR')
    await expectError(await call(`/api/admin/users/${user.id}/ban`, { token: admin.accessToken, json: { reason: 'a\u202Eb' } }), 400, 'VALIDATION_ERROR')
  })

  it('ends every session of a user without deleting the account, and only for admins', async () => {
    const admin = await signInListedAdmin()
    const s = await signIn()
    const other = await signIn({ email: s.email })
    await expectError(await call(`/api/admin/users/${admin.userId}/sessions/revoke`, { method: 'POST', token: s.accessToken }), 403, 'FORBIDDEN')
    const revoked = await call(`/api/admin/users/${s.userId}/sessions/revoke`, { method: 'POST', token: admin.accessToken })
    expect((await body(revoked)).data).toEqual({ revoked: 2 })
    await expectError(await call('/api/user/profile', { token: other.accessToken }), 401, 'TOKEN_REVOKED')
    expect((await call('/api/auth/login', { json: { email: s.email, password: s.password } })).status).toBe(200)
    const audit = await env.DB.prepare("SELECT actor_id FROM audit_events WHERE user_id = ? AND type = 'admin_sessions_revoked'").bind(s.userId).first()
    expect(audit).toEqual({ actor_id: admin.userId })
  })
})
