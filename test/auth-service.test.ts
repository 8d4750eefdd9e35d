import { createExecutionContext } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { decodeJwt, decodeProtectedHeader, SignJWT, type JWTPayload } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loadConfig } from '../src/config'
import { signAccessToken } from '../src/crypto/tokens'
import { AuthService } from '../src/index'
import { authenticate } from '../src/services/authenticate'
import { body, call, expectError, ORIGIN, register, signIn, uniqueEmail, type Session } from './helpers'

afterEach(() => {
  vi.restoreAllMocks()
})

const PUBLIC_USER_KEYS = ['createdAt', 'email', 'emailVerified', 'id', 'mobile', 'name', 'role', 'updatedAt']

/** An access token of `s`'s session with extra claims, signed with the test key (as the service would). */
async function withClaims(s: Session, extra: JWTPayload): Promise<string> {
  const { kid } = decodeProtectedHeader(s.accessToken)
  return new SignJWT({ ...decodeJwt(s.accessToken), ...extra })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: kid as string })
    .sign(new TextEncoder().encode(env.ACCESS_TOKEN_SECRET))
}

describe('AuthService.verify (RPC)', () => {
  it('answers the caller: the public user object and the session with its assurance', async () => {
    const s = await signIn()
    const result = await exports.AuthService.verify(s.accessToken)
    if (!result.ok) throw new Error(`refused: ${result.error}`)
    expect(result.user.id).toBe(s.userId)
    expect(Object.keys(result.user).sort()).toEqual(PUBLIC_USER_KEYS)
    expect(result.session).toEqual({ id: decodeJwt(s.accessToken).sid, aal: 'aal1', amr: ['pwd', 'email_otp'] })
    expect(JSON.stringify(result)).not.toMatch(/pbkdf2|password|hash|deleted/i)
  })

  it("reports the session's recorded assurance, not what a token claims", async () => {
    const s = await signIn()
    // Even a validly signed token that claims more gets the session's own record.
    const result = await exports.AuthService.verify(await withClaims(s, { aal: 'aal2', amr: ['pwd', 'totp'] }))
    expect(result).toMatchObject({ ok: true, session: { aal: 'aal1', amr: ['pwd', 'email_otp'] } })
    // Malformed assurance claims are refused with the token.
    expect(await exports.AuthService.verify(await withClaims(s, { aal: 7, amr: ['pwd', 3] }))).toEqual({ ok: false, error: 'TOKEN_INVALID' })
  })

  it('refuses missing, garbled and forged tokens', async () => {
    expect(await exports.AuthService.verify('')).toEqual({ ok: false, error: 'TOKEN_MISSING' })
    expect(await exports.AuthService.verify('not.a.jwt')).toEqual({ ok: false, error: 'TOKEN_INVALID' })
    const s = await signIn()
    const forged = await new SignJWT(decodeJwt(s.accessToken))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: decodeProtectedHeader(s.accessToken).kid as string })
      .sign(new TextEncoder().encode('some-other-secret-0123456789abcdef0123'))
    expect(await exports.AuthService.verify(forged)).toEqual({ ok: false, error: 'TOKEN_INVALID' })
  })

  it('refuses an expired token as TOKEN_EXPIRED', async () => {
    const s = await signIn()
    const { sub, sid, role, email } = decodeJwt(s.accessToken) as { sub: string; sid: string; role: 'user'; email: string }
    const assurance = { aal: 'aal1', amr: ['pwd'] } as const
    const config = loadConfig(env, ORIGIN)
    const old = await signAccessToken({ sub, sid, role, email, aal: assurance.aal, amr: [...assurance.amr] }, config, Date.now() - (config.accessTokenTtl + 60) * 1000)
    expect(await exports.AuthService.verify(old)).toEqual({ ok: false, error: 'TOKEN_EXPIRED' })
  })

  it('refuses the token at once after logout, and after the account is deleted', async () => {
    const s = await signIn()
    expect((await exports.AuthService.verify(s.accessToken)).ok).toBe(true)
    expect((await call('/api/auth/logout', { json: {}, cookie: s.refreshToken })).status).toBe(200)
    expect(await exports.AuthService.verify(s.accessToken)).toEqual({ ok: false, error: 'TOKEN_REVOKED' })

    const t = await signIn()
    const deleted = await call('/api/user/profile', { method: 'DELETE', json: { password: t.password }, token: t.accessToken })
    expect(deleted.status).toBe(200)
    expect(await exports.AuthService.verify(t.accessToken)).toEqual({ ok: false, error: 'TOKEN_REVOKED' })
  })

  it('answers the current role: a promotion and a demotion show at once, with the same token', async () => {
    const email = uniqueEmail('admin')
    await register({ email, env: { ADMIN_EMAILS: email } })
    const admin = await signIn({ email, env: { ADMIN_EMAILS: email } })
    const s = await signIn()
    const setRole = (role: 'user' | 'admin') => call(`/api/admin/users/${s.userId}`, { method: 'PATCH', json: { role }, token: admin.accessToken })
    expect((await setRole('admin')).status).toBe(200)
    expect(await exports.AuthService.verify(s.accessToken)).toMatchObject({ ok: true, user: { role: 'admin' } })
    expect((await setRole('user')).status).toBe(200)
    expect(await exports.AuthService.verify(s.accessToken)).toMatchObject({ ok: true, user: { role: 'user' } })
  })

  it('answers the same verdict as the HTTP API for the same token', async () => {
    const s = await signIn()
    const http = await body(await call('/api/user/profile', { token: s.accessToken }))
    const rpc = await exports.AuthService.verify(s.accessToken)
    expect(rpc).toMatchObject({ ok: true, user: http.data.user })
  })

  it('refuses every token and logs a config error when JWT_ISSUER is unset', async () => {
    const s = await signIn()
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const service = new AuthService(createExecutionContext(), { ...env, JWT_ISSUER: '' })
    expect(await service.verify(s.accessToken)).toEqual({ ok: false, error: 'TOKEN_INVALID' })
    expect(errors.mock.calls.map(([line]) => String(line)).join('\n')).toMatch(/"config\.invalid".*JWT_ISSUER/)
  })

  it('rejects with only a code, no detail, when D1 fails', async () => {
    const s = await signIn()
    vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const broken = { ...env, DB: { withSession: () => ({ prepare: () => ({ bind: () => ({ first: () => Promise.reject(new Error('D1_ERROR: secret detail')) }) }) }) } }
    const service = new AuthService(createExecutionContext(), broken as unknown as Env)
    await expect(service.verify(s.accessToken)).rejects.toThrow(/^SERVICE_UNAVAILABLE$/)
  })
})

describe('AuthService.user (RPC)', () => {
  it('answers the public user object of a live account, and null for unknown or deleted ones', async () => {
    const s = await signIn()
    const user = await exports.AuthService.user(s.userId)
    expect(user?.id).toBe(s.userId)
    expect(Object.keys(user ?? {}).sort()).toEqual(PUBLIC_USER_KEYS)
    expect(await exports.AuthService.user(crypto.randomUUID())).toBeNull()
    expect(await exports.AuthService.user('x'.repeat(500))).toBeNull()
    await call('/api/user/profile', { method: 'DELETE', json: { password: s.password }, token: s.accessToken })
    expect(await exports.AuthService.user(s.userId)).toBeNull()
  })
})

describe('authenticate (the one rule behind requireAuth and AuthService)', () => {
  it('puts aal and amr on the HTTP auth context and decides like the middleware', async () => {
    const s = await signIn()
    const d1 = env.DB.withSession('first-primary')
    const caller = await authenticate(s.accessToken, { config: loadConfig(env, ORIGIN), d1 })
    expect(caller).toMatchObject({ userId: s.userId, aal: 'aal1', amr: ['pwd', 'email_otp'], role: 'user' })
    await expect(authenticate(undefined, { config: loadConfig(env, ORIGIN), d1 })).rejects.toMatchObject({ code: 'TOKEN_MISSING' })
    await expectError(await call('/api/user/profile'), 401, 'TOKEN_MISSING')
  })
})
