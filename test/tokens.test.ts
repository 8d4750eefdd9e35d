import { env } from 'cloudflare:workers'
import { decodeJwt, decodeProtectedHeader, SignJWT, type JWTPayload } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { APP_ORIGIN, body, call, expectError, ORIGIN, refreshCookie, register, signIn, startLogin, type CallInit, advance, b64json, b64url } from './helpers'

const MINUTE = 60_000
const DAY = 86_400_000
const EVIL_ORIGIN = 'https://evil.test'

afterEach(() => {
  vi.useRealTimers()
})


const encoder = new TextEncoder()

/** Signs `payload` with HS256 and exactly the header given (plus alg). */
const signWith = (payload: JWTPayload, header: Record<string, unknown>, secret: string) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header }).sign(encoder.encode(secret))

/** Re-encodes the payload of a real token and keeps its original signature. */
function tamper(token: string, change: (payload: JWTPayload) => JWTPayload): string {
  const [header, , signature] = token.split('.')
  return `${header}.${b64json(change(decodeJwt(token)))}.${signature}`
}

const refresh = (init: CallInit = {}) => call('/api/auth/refresh', { method: 'POST', ...init })
const refreshWithCookie = (cookie: string, init: CallInit = {}) => refresh({ cookie, ...init })
const refreshWithBody = (refreshToken: string, init: CallInit = {}) => refresh({ json: { refreshToken }, ...init })
const profile = (token: string) => call('/api/user/profile', { token })
const logout = (init: CallInit = {}) => call('/api/auth/logout', { method: 'POST', ...init })

/** The whole `Set-Cookie` line of the refresh cookie. */
const refreshCookieLine = (response: Response) =>
  response.headers.getSetCookie().find((line) => line.startsWith('__Host-refresh_token='))

const maxAge = (response: Response) => {
  const line = refreshCookieLine(response)
  const match = line ? /;\s*Max-Age=(\d+)/i.exec(line) : null
  if (!match) throw new Error(`no Max-Age in ${line}`)
  return Number(match[1])
}

async function expectToken401(response: Response, code: string) {
  expect(response.status).toBeLessThan(500)
  await expectError(response, 401, code)
}

describe('POST /api/auth/refresh', () => {
  it('rotates the cookie token: a new cookie, and the new access token works', async () => {
    const s = await signIn()
    const res = await refreshWithCookie(s.refreshToken)
    expect(res.status).toBe(200)
    const json = await body(res)
    expect(json.success).toBe(true)
    expect(json.data.tokenType).toBe('Bearer')
    expect(json.data.expiresIn).toBe(900)
    expect(json.data.user.id).toBe(s.userId)
    expect(json.data.refreshToken).toBeUndefined()
    const next = refreshCookie(res)
    expect(next).toBeTruthy()
    expect(next).not.toBe(s.refreshToken)
    expect(json.data.accessToken).not.toBe(s.accessToken)

    const line = refreshCookieLine(res)!
    expect(line).toMatch(/;\s*Path=\/(;|$)/)
    expect(line).toMatch(/;\s*HttpOnly/i)
    expect(line).toMatch(/;\s*Secure/i)
    expect(line).toMatch(/;\s*SameSite=Strict/i)
    expect(line).not.toMatch(/;\s*Domain=/i)
    expect(res.headers.get('Cache-Control')).toContain('no-store')

    const me = await profile(json.data.accessToken)
    expect(me.status).toBe(200)
    expect((await body(me)).data.user.id).toBe(s.userId)
  })

  it('rotates a body token: answers data.refreshToken and sets no cookie', async () => {
    const s = await signIn({ transport: 'body' })
    const res = await refreshWithBody(s.refreshToken)
    expect(res.status).toBe(200)
    const json = await body(res)
    expect(typeof json.data.refreshToken).toBe('string')
    expect(json.data.refreshToken).not.toBe(s.refreshToken)
    expect(res.headers.getSetCookie()).toEqual([])
    expect((await profile(json.data.accessToken)).status).toBe(200)

    // The successor is itself a working refresh token.
    const again = await refreshWithBody(json.data.refreshToken)
    expect(again.status).toBe(200)
  })

  it('hands back the same successor when the just-rotated token is replayed within 10 s, revoking nothing', async () => {
    const s = await signIn()
    const first = await refreshWithCookie(s.refreshToken)
    expect(first.status).toBe(200)
    const successor = refreshCookie(first)!

    const replay = await refreshWithCookie(s.refreshToken)
    expect(replay.status).toBe(200)
    expect(refreshCookie(replay)).toBe(successor)
    expect((await profile((await body(replay)).data.accessToken)).status).toBe(200)

    // Nothing was revoked: the successor still refreshes and the first access token still works.
    const next = await refreshWithCookie(successor)
    expect(next.status).toBe(200)
    expect(refreshCookie(next)).not.toBe(successor)
    expect((await profile(s.accessToken)).status).toBe(200)
  })

  it('hands back the same successor to a body-token replay within 10 s', async () => {
    const s = await signIn({ transport: 'body' })
    const first = await body(await refreshWithBody(s.refreshToken))
    const replay = await refreshWithBody(s.refreshToken)
    expect(replay.status).toBe(200)
    expect((await body(replay)).data.refreshToken).toBe(first.data.refreshToken)
    expect((await refreshWithBody(first.data.refreshToken)).status).toBe(200)
  })

  it('revokes the whole session when a rotated token is replayed after the 10 s grace window', async () => {
    const s = await signIn()
    const first = await refreshWithCookie(s.refreshToken)
    expect(first.status).toBe(200)
    const successor = refreshCookie(first)!
    const successorAccess = (await body(first)).data.accessToken as string

    advance(11_000)
    const replay = await refreshWithCookie(s.refreshToken)
    await expectToken401(replay, 'TOKEN_REUSED')

    await expectToken401(await refreshWithCookie(successor), 'TOKEN_REVOKED')
    await expectToken401(await profile(successorAccess), 'TOKEN_REVOKED')
    await expectToken401(await profile(s.accessToken), 'TOKEN_REVOKED')
  })

  it('revokes the session when a token two rotations back is replayed, even within 10 s', async () => {
    const s = await signIn()
    const r1 = await refreshWithCookie(s.refreshToken)
    expect(r1.status).toBe(200)
    const t1 = refreshCookie(r1)!
    const r2 = await refreshWithCookie(t1)
    expect(r2.status).toBe(200)
    const t2 = refreshCookie(r2)!
    const access = (await body(r2)).data.accessToken as string

    await expectToken401(await refreshWithCookie(s.refreshToken), 'TOKEN_REUSED')
    await expectToken401(await refreshWithCookie(t2), 'TOKEN_REVOKED')
    await expectToken401(await profile(access), 'TOKEN_REVOKED')
  })

  it('yields one successor to 20 parallel refreshes with one token, and leaves one live token', async () => {
    const s = await signIn()
    const responses = await Promise.all(Array.from({ length: 20 }, () => refreshWithCookie(s.refreshToken)))
    const statuses = responses.map((res) => res.status)
    expect(statuses.filter((status) => status >= 500)).toEqual([])
    expect(statuses).toEqual(Array(20).fill(200))
    const successors = new Set(responses.map(refreshCookie))
    expect(successors.size).toBe(1)
    const [successor] = [...successors]
    expect(successor).toBeTruthy()
    expect(successor).not.toBe(s.refreshToken)

    // The successor is the live token...
    const next = await refreshWithCookie(successor!)
    expect(next.status).toBe(200)
    // ...and the original, once past the grace window, is refused.
    advance(11_000)
    await expectToken401(await refreshWithCookie(s.refreshToken), 'TOKEN_REUSED')
  })

  it('refuses an access token presented as a refresh token', async () => {
    const s = await signIn()
    await expectToken401(await refreshWithCookie(s.accessToken), 'TOKEN_INVALID')
    await expectToken401(await refreshWithBody(s.accessToken), 'TOKEN_INVALID')
    // The refusals burned nothing.
    expect((await refreshWithCookie(s.refreshToken)).status).toBe(200)
  })

  it('refuses forged refresh tokens with 401, never 500', async () => {
    const s = await signIn()
    const real = s.refreshToken
    const header = decodeProtectedHeader(real)
    const claims = decodeJwt(real)
    const secret = env.REFRESH_TOKEN_SECRET as string
    const nowS = Math.floor(Date.now() / 1000)
    const [h, p] = real.split('.')

    const forged: Record<string, [string, string]> = {
      'tampered payload': [tamper(real, (c) => ({ ...c, sub: crypto.randomUUID() })), 'TOKEN_INVALID'],
      'alg none': [`${b64json({ alg: 'none', typ: 'rt+jwt' })}.${p}.`, 'TOKEN_INVALID'],
      'wrong typ': [await signWith(claims, { typ: 'JWT', kid: header.kid }, secret), 'TOKEN_INVALID'],
      'missing typ': [await signWith(claims, { kid: header.kid }, secret), 'TOKEN_INVALID'],
      'access typ': [await signWith(claims, { typ: 'at+jwt', kid: header.kid }, secret), 'TOKEN_INVALID'],
      'wrong secret': [await signWith(claims, { typ: 'rt+jwt', kid: header.kid }, 'another-secret-0123456789abcdef0123456789'), 'TOKEN_INVALID'],
      'missing kid': [await signWith(claims, { typ: 'rt+jwt' }, secret), 'TOKEN_INVALID'],
      'unknown kid': [await signWith(claims, { typ: 'rt+jwt', kid: 'not-a-known-kid' }, secret), 'TOKEN_INVALID'],
      'signed with the access secret': [
        await signWith(claims, { typ: 'rt+jwt', kid: header.kid }, env.ACCESS_TOKEN_SECRET as string),
        'TOKEN_INVALID',
      ],
      expired: [await signWith({ ...claims, iat: nowS - 8 * 86400, exp: nowS - 120 }, { typ: 'rt+jwt', kid: header.kid }, secret), 'TOKEN_EXPIRED'],
      'truncated signature': [real.slice(0, -6), 'TOKEN_INVALID'],
      'no signature': [`${h}.${p}.`, 'TOKEN_INVALID'],
      'two segments': [`${h}.${p}`, 'TOKEN_INVALID'],
      'not a jwt': ['not-a-jwt', 'TOKEN_INVALID'],
    }
    for (const [label, [token, code]] of Object.entries(forged)) {
      for (const [where, res] of [
        ['cookie', await refreshWithCookie(token)],
        ['body', await refreshWithBody(token)],
      ] as const) {
        const json = await body(res)
        expect({ label, where, status: res.status, error: json.error }).toEqual({ label, where, status: 401, error: code })
      }
    }
    // 10 KB of junk in the cookie (the body field has its own 4096-character bound).
    const junk = await refreshWithCookie('x'.repeat(10 * 1024))
    await expectToken401(junk, 'TOKEN_INVALID')
    const junkJwt = await refreshWithCookie(`${'a'.repeat(5000)}.${'b'.repeat(5000)}.${'c'.repeat(300)}`)
    await expectToken401(junkJwt, 'TOKEN_INVALID')

    // None of it touched the real session.
    expect((await refreshWithCookie(real)).status).toBe(200)
  })

  it('refuses a cookie refresh from a foreign Origin with 403 CSRF_REJECTED, whatever the content type', async () => {
    const s = await signIn()
    const headers = { Origin: EVIL_ORIGIN }
    await expectError(await refreshWithCookie(s.refreshToken, { headers, json: {} }), 403, 'CSRF_REJECTED')
    await expectError(
      await refreshWithCookie(s.refreshToken, { headers: { ...headers, 'Content-Type': 'text/plain' }, body: '{}' }),
      403,
      'CSRF_REJECTED',
    )
    await expectError(
      await refreshWithCookie(s.refreshToken, { headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1' }),
      403,
      'CSRF_REJECTED',
    )
    await expectError(await refreshWithCookie(s.refreshToken, { headers }), 403, 'CSRF_REJECTED')
    // A look-alike of the allowed origin is foreign too.
    await expectError(await refreshWithCookie(s.refreshToken, { headers: { Origin: `${APP_ORIGIN}.evil.test` } }), 403, 'CSRF_REJECTED')
    await expectError(await refreshWithCookie(s.refreshToken, { headers: { Origin: 'null' } }), 403, 'CSRF_REJECTED')

    // The refusals did not rotate the token: it still refreshes once, from a trusted origin.
    const ok = await refreshWithCookie(s.refreshToken, { headers: { Origin: APP_ORIGIN } })
    expect(ok.status).toBe(200)
  })

  it('refuses a cookie refresh without an Origin header', async () => {
    const s = await signIn()
    // Not through `cookie:`, which adds the API's own Origin.
    const res = await refresh({ headers: { Cookie: `__Host-refresh_token=${s.refreshToken}` } })
    await expectError(res, 403, 'CSRF_REJECTED')
    const withJson = await refresh({ headers: { Cookie: `__Host-refresh_token=${s.refreshToken}` }, json: {} })
    await expectError(withJson, 403, 'CSRF_REJECTED')
  })

  it('accepts a cookie refresh from the allowed origin and from the API’s own origin', async () => {
    const s = await signIn()
    const fromApp = await refreshWithCookie(s.refreshToken, { headers: { Origin: APP_ORIGIN } })
    expect(fromApp.status).toBe(200)
    const fromSelf = await refreshWithCookie(refreshCookie(fromApp)!, { headers: { Origin: ORIGIN } })
    expect(fromSelf.status).toBe(200)
    expect(refreshCookie(fromSelf)).toBeTruthy()
  })

  it('needs no Origin for a body-token refresh without a cookie', async () => {
    const s = await signIn({ transport: 'body' })
    const res = await refreshWithBody(s.refreshToken)
    expect(res.status).toBe(200)
    expect(typeof (await body(res)).data.refreshToken).toBe('string')
  })

  it('answers 401 TOKEN_MISSING without a token', async () => {
    await expectError(await refresh(), 401, 'TOKEN_MISSING')
    await expectError(await refresh({ json: {} }), 401, 'TOKEN_MISSING')
  })

  it('refuses a refresh after the session’s absolute end (31 days), however often it refreshed', async () => {
    const start = Date.now()
    const s = await signIn()
    let token = s.refreshToken
    let access = s.accessToken
    // Refresh every 6 days: each refresh token lives 7 days, but none past day 30.
    for (const day of [6, 12, 18, 24, 29]) {
      vi.setSystemTime(start + day * DAY)
      const res = await refreshWithCookie(token)
      expect({ day, status: res.status }).toEqual({ day, status: 200 })
      expect(maxAge(res)).toBeLessThanOrEqual(Math.ceil((30 - day) * 86400))
      token = refreshCookie(res)!
      access = (await body(res)).data.accessToken
    }
    vi.setSystemTime(start + 31 * DAY)
    const late = await refreshWithCookie(token)
    await expectToken401(late, 'TOKEN_EXPIRED')
    expect((await profile(access)).status).toBe(401)
  })

  it('refuses a never-refreshed session 31 days on', async () => {
    const s = await signIn({ transport: 'body' })
    advance(31 * DAY)
    const res = await refreshWithBody(s.refreshToken)
    await expectToken401(res, 'TOKEN_EXPIRED')
  })

  it('never sets a cookie Max-Age past the session’s absolute end', async () => {
    const overrides = { SESSION_MAX_AGE: '1h', REFRESH_TOKEN_TTL: '7d' }
    const { email, password } = await register({ env: overrides })
    const { challengeId, code } = await startLogin(email, password, overrides)
    const login = await call('/api/auth/verify-otp', { json: { challengeId, otp: code }, env: overrides })
    expect(login.status).toBe(200)
    expect(maxAge(login)).toBeGreaterThan(0)
    expect(maxAge(login)).toBeLessThanOrEqual(3600)

    const res = await refreshWithCookie(refreshCookie(login)!, { env: overrides })
    expect(res.status).toBe(200)
    expect(maxAge(res)).toBeGreaterThan(0)
    expect(maxAge(res)).toBeLessThanOrEqual(3600)

    advance(30 * MINUTE)
    const later = await refreshWithCookie(refreshCookie(res)!, { env: overrides })
    expect(later.status).toBe(200)
    expect(maxAge(later)).toBeLessThanOrEqual(1800)

    const token = decodeJwt(refreshCookie(later)!)
    expect(token.exp! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(1800)
  })
})

describe('POST /api/auth/logout', () => {
  it('clears the cookie and revokes the session', async () => {
    const s = await signIn()
    const res = await logout({ cookie: s.refreshToken })
    expect(res.status).toBe(200)
    expect((await body(res)).success).toBe(true)
    const line = refreshCookieLine(res)
    expect(line).toBeDefined()
    expect(line).toMatch(/^__Host-refresh_token=;/)
    expect(line).toMatch(/;\s*Max-Age=0(;|$)/i)
    expect(line).toMatch(/;\s*Path=\//)
    expect(line).toMatch(/;\s*Secure/i)

    await expectToken401(await refreshWithCookie(s.refreshToken), 'TOKEN_REVOKED')
    await expectToken401(await profile(s.accessToken), 'TOKEN_REVOKED')
  })

  it('is idempotent: a second logout also answers 200', async () => {
    const s = await signIn()
    expect((await logout({ cookie: s.refreshToken })).status).toBe(200)
    const again = await logout({ cookie: s.refreshToken })
    expect(again.status).toBe(200)
    expect((await body(again)).success).toBe(true)
    expect(maxAge(again)).toBe(0)
  })

  it('works with a body token', async () => {
    const s = await signIn({ transport: 'body' })
    const res = await logout({ json: { refreshToken: s.refreshToken } })
    expect(res.status).toBe(200)
    await expectToken401(await refreshWithBody(s.refreshToken), 'TOKEN_REVOKED')
    await expectToken401(await profile(s.accessToken), 'TOKEN_REVOKED')
    expect((await logout({ json: { refreshToken: s.refreshToken } })).status).toBe(200)
  })

  it('ends only its own session', async () => {
    const a = await signIn()
    // A second login code for the account waits out the 60 s resend spacing.
    advance(61_000)
    const b = await signIn({ email: a.email, password: a.password })
    expect((await logout({ cookie: a.refreshToken })).status).toBe(200)
    expect((await profile(b.accessToken)).status).toBe(200)
    expect((await refreshWithCookie(b.refreshToken)).status).toBe(200)
  })

  it('refuses a cookie logout from a foreign Origin and leaves the session live', async () => {
    const s = await signIn()
    await expectError(await logout({ cookie: s.refreshToken, headers: { Origin: EVIL_ORIGIN } }), 403, 'CSRF_REJECTED')
    expect((await profile(s.accessToken)).status).toBe(200)
  })
})

describe('access tokens', () => {
  it('carries typ at+jwt, a kid, and the documented claims with a 15-minute lifetime', async () => {
    const s = await signIn()
    const header = decodeProtectedHeader(s.accessToken)
    expect(header.typ).toBe('at+jwt')
    expect(header.alg).toBe('HS256')
    expect(typeof header.kid).toBe('string')
    expect((header.kid as string).length).toBeGreaterThan(0)

    const claims = decodeJwt(s.accessToken)
    expect(claims.iss).toBe(env.JWT_ISSUER)
    expect(claims.aud === 'api' || (Array.isArray(claims.aud) && claims.aud.includes('api'))).toBe(true)
    expect(claims.sub).toBe(s.userId)
    expect(typeof claims.sid).toBe('string')
    expect(claims.role).toBe('user')
    expect(claims.email).toBe(s.email)
    // How the session was established: password plus mailed code is still aal1 (NIST SP 800-63B).
    expect({ aal: claims.aal, amr: claims.amr }).toEqual({ aal: 'aal1', amr: ['pwd', 'email_otp'] })
    expect(typeof claims.jti).toBe('string')
    expect(Number.isInteger(claims.iat)).toBe(true)
    expect(claims.exp! - claims.iat!).toBe(900)
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(60)

    // The refresh token is a different kind, signed with a different key.
    const refreshHeader = decodeProtectedHeader(s.refreshToken)
    expect(refreshHeader.typ).toBe('rt+jwt')
    expect(refreshHeader.kid).not.toBe(header.kid)
    const refreshClaims = decodeJwt(s.refreshToken)
    expect(refreshClaims.sid).toBe(claims.sid)
    expect(refreshClaims.sub).toBe(s.userId)
    expect(typeof refreshClaims.jti).toBe('string')
    expect(refreshClaims.exp! - refreshClaims.iat!).toBe(7 * 86400)

    // A refresh keeps the session's assurance.
    const refreshed = await body(await refreshWithCookie(s.refreshToken))
    const after = decodeJwt(refreshed.data.accessToken)
    expect({ aal: after.aal, amr: after.amr }).toEqual({ aal: 'aal1', amr: ['pwd', 'email_otp'] })
  })

  it('answers 401 TOKEN_MISSING without a bearer token', async () => {
    await expectError(await call('/api/user/profile'), 401, 'TOKEN_MISSING')
    await expectError(await call('/api/user/profile', { headers: { Authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'TOKEN_MISSING')
  })

  it('refuses a refresh token as a bearer token', async () => {
    const s = await signIn()
    await expectToken401(await profile(s.refreshToken), 'TOKEN_INVALID')
    await expectToken401(await call('/api/auth/profile', { token: s.refreshToken }), 'TOKEN_INVALID')
  })

  it('refuses forged access tokens with 401, never 500', async () => {
    const s = await signIn()
    const real = s.accessToken
    const header = decodeProtectedHeader(real)
    const claims = decodeJwt(real)
    const secret = env.ACCESS_TOKEN_SECRET as string
    const nowS = Math.floor(Date.now() / 1000)
    const [h, p] = real.split('.')
    const good = { typ: 'at+jwt', kid: header.kid }

    // Each forgery differs from a valid token in one respect only, so each check is exercised.
    expect((await profile(await signWith(claims, good, secret))).status).toBe(200)

    const forged: Record<string, [string, string]> = {
      'tampered payload': [tamper(real, (c) => ({ ...c, role: 'admin' })), 'TOKEN_INVALID'],
      'tampered header': [`${b64json({ ...header, kid: 'x' })}.${p}.${real.split('.')[2]}`, 'TOKEN_INVALID'],
      'alg none': [`${b64json({ alg: 'none', typ: 'at+jwt' })}.${p}.`, 'TOKEN_INVALID'],
      'alg none with kid': [`${b64json({ alg: 'none', typ: 'at+jwt', kid: header.kid })}.${p}.`, 'TOKEN_INVALID'],
      'wrong typ': [await signWith(claims, { ...good, typ: 'JWT' }, secret), 'TOKEN_INVALID'],
      'refresh typ': [await signWith(claims, { ...good, typ: 'rt+jwt' }, secret), 'TOKEN_INVALID'],
      'missing typ': [await signWith(claims, { kid: header.kid }, secret), 'TOKEN_INVALID'],
      'wrong secret': [await signWith(claims, good, 'another-secret-0123456789abcdef0123456789'), 'TOKEN_INVALID'],
      'signed with the refresh secret': [await signWith(claims, good, env.REFRESH_TOKEN_SECRET as string), 'TOKEN_INVALID'],
      'missing kid': [await signWith(claims, { typ: 'at+jwt' }, secret), 'TOKEN_INVALID'],
      'unknown kid': [await signWith(claims, { ...good, kid: 'not-a-known-kid' }, secret), 'TOKEN_INVALID'],
      'embedded jwk': [
        await signWith(claims, { ...good, jwk: { kty: 'oct', k: b64url('another-secret-0123456789abcdef0123456789') } }, 'another-secret-0123456789abcdef0123456789'),
        'TOKEN_INVALID',
      ],
      'wrong iss': [await signWith({ ...claims, iss: 'https://evil.test' }, good, secret), 'TOKEN_INVALID'],
      'missing iss': [await signWith({ ...claims, iss: undefined }, good, secret), 'TOKEN_INVALID'],
      'wrong aud': [await signWith({ ...claims, aud: 'other-api' }, good, secret), 'TOKEN_INVALID'],
      'missing aud': [await signWith({ ...claims, aud: undefined }, good, secret), 'TOKEN_INVALID'],
      'missing exp': [await signWith({ ...claims, exp: undefined }, good, secret), 'TOKEN_INVALID'],
      'missing sid': [await signWith({ ...claims, sid: undefined }, good, secret), 'TOKEN_INVALID'],
      'unknown role': [await signWith({ ...claims, role: 'root' }, good, secret), 'TOKEN_INVALID'],
      // Past the contract's 60 s ceiling on leeway.
      expired: [await signWith({ ...claims, iat: nowS - 20 * 60, exp: nowS - 61 }, good, secret), 'TOKEN_EXPIRED'],
      'truncated signature': [real.slice(0, -6), 'TOKEN_INVALID'],
      'no signature': [`${h}.${p}.`, 'TOKEN_INVALID'],
      'two segments': [`${h}.${p}`, 'TOKEN_INVALID'],
      '10 KB of junk': ['x'.repeat(10 * 1024), 'TOKEN_INVALID'],
      '10 KB jwt-shaped junk': [`${'a'.repeat(5000)}.${'b'.repeat(5000)}.${'c'.repeat(300)}`, 'TOKEN_INVALID'],
    }
    for (const [label, [token, code]] of Object.entries(forged)) {
      const res = await profile(token)
      const json = await body(res)
      expect({ label, status: res.status, error: json.error }).toEqual({ label, status: 401, error: code })
    }
  })

  it('refuses an access token once 16 minutes have passed', async () => {
    const s = await signIn()
    expect((await profile(s.accessToken)).status).toBe(200)
    advance(16 * MINUTE)
    await expectToken401(await profile(s.accessToken), 'TOKEN_EXPIRED')
  })
})
