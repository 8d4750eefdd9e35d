import { env, exports } from 'cloudflare:workers'
import { Hono, type MiddlewareHandler } from 'hono'
import { decodeJwt, type JWK } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loadConfig } from '../src/config'
import { signAccessToken } from '../src/crypto/tokens'
import { authenticate, requireAal, requireRole, type AuthBinding, type AuthEnv, type AuthVariables, type JwksOptions, type TokenUser } from '../src/hono'
import { body, call, expectError, ORIGIN, register, signIn, uniqueEmail } from './helpers'

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

/** A resource server's app: who is calling, an admin route and an aal2 route. */
function resourceServer<U extends TokenUser>(auth: MiddlewareHandler<AuthEnv<U>>) {
  return new Hono<{ Variables: AuthVariables<U> }>()
    .use('/api/*', auth)
    .get('/api/me', (c) => c.json({ user: c.get('user'), session: c.get('session') }))
    .get('/api/admin', requireRole('admin'), (c) => c.json({ ok: true }))
    .get('/api/sensitive', requireAal('aal2'), (c) => c.json({ ok: true }))
}

const get = (app: { request: (input: string, init?: RequestInit) => Response | Promise<Response> }, path: string, token?: string) =>
  app.request(`https://resource.test${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} })

describe('edge-auth/hono authenticate({ binding })', () => {
  const app = resourceServer(authenticate({ binding: exports.AuthService as unknown as AuthBinding }))

  it('puts the public user and the session on the context', async () => {
    const s = await signIn()
    const response = await get(app, '/api/me', s.accessToken)
    expect(response.status).toBe(200)
    const json = await body(response)
    expect(json.user).toMatchObject({ id: s.userId, email: s.email, role: 'user', emailVerified: true })
    expect(json.session).toEqual({ id: decodeJwt(s.accessToken).sid, aal: 'aal1', amr: ['pwd', 'email_otp'] })
  })

  it('answers in the service envelope: missing, invalid, revoked', async () => {
    const missing = await get(app, '/api/me')
    await expectError(missing, 401, 'TOKEN_MISSING')
    expect(missing.headers.get('WWW-Authenticate')).toBe('Bearer')
    await expectError(await get(app, '/api/me', 'x.y.z'), 401, 'TOKEN_INVALID')
    const s = await signIn()
    await call('/api/auth/logout-all', { method: 'POST', token: s.accessToken })
    await expectError(await get(app, '/api/me', s.accessToken), 401, 'TOKEN_REVOKED')
  })

  it('refuses a user on requireRole("admin") and a password-only session on requireAal("aal2")', async () => {
    const s = await signIn()
    await expectError(await get(app, '/api/admin', s.accessToken), 403, 'FORBIDDEN')
    await expectError(await get(app, '/api/sensitive', s.accessToken), 403, 'MFA_REQUIRED')
  })

  it('finds the binding by name in c.env, and answers 503 CONFIG_ERROR when it is missing', async () => {
    const s = await signIn()
    const named = resourceServer(authenticate({ binding: 'AUTH' }))
    const ok = await named.request('https://resource.test/api/me', { headers: { Authorization: `Bearer ${s.accessToken}` } }, { AUTH: exports.AuthService })
    expect(ok.status).toBe(200)
    vi.spyOn(console, 'error').mockImplementation(() => undefined)
    await expectError(await named.request('https://resource.test/api/me', { headers: { Authorization: `Bearer ${s.accessToken}` } }, {}), 503, 'CONFIG_ERROR')
  })

  it('answers 503 when the service fails, with nothing of the failure in the response', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const failing: AuthBinding = { verify: () => Promise.reject(new Error('SERVICE_UNAVAILABLE')), user: () => Promise.resolve(null) }
    await expectError(await get(resourceServer(authenticate({ binding: failing })), '/api/me', 'a.b.c'), 503, 'SERVICE_UNAVAILABLE')
  })
})

/** A fresh Ed25519 private JWK, as the service reads it from ACCESS_TOKEN_JWK. */
async function ed25519Jwk(): Promise<string> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
  return JSON.stringify((await crypto.subtle.exportKey('jwk', pair.privateKey)) as JWK)
}

describe('edge-auth/hono authenticate({ jwksUrl, issuer, audience })', () => {
  /** The service with EdDSA access tokens; its JWKS is fetched from the service itself. */
  async function setup(options: Partial<JwksOptions> = {}) {
    const keys = { current: await ed25519Jwk(), previous: '' }
    const edEnv = () => ({ ACCESS_TOKEN_ALG: 'EdDSA', ACCESS_TOKEN_JWK: keys.current, ACCESS_TOKEN_JWK_PREVIOUS: keys.previous })
    const fetched: string[] = []
    const app = resourceServer(
      authenticate({
        jwksUrl: `${ORIGIN}/.well-known/jwks.json`,
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        fetch: async (url) => {
          fetched.push(url)
          return call(url, { env: edEnv() })
        },
        ...options,
      }),
    )
    return { keys, edEnv, fetched, app }
  }

  it('verifies EdDSA tokens against the JWKS, fetched once and then cached', async () => {
    const { edEnv, fetched, app } = await setup()
    const s = await signIn({ env: edEnv() })
    const first = await get(app, '/api/me', s.accessToken)
    expect(first.status).toBe(200)
    expect(await body(first)).toEqual({
      user: { id: s.userId, email: s.email, role: 'user' },
      session: { id: decodeJwt(s.accessToken).sid, aal: 'aal1', amr: ['pwd', 'email_otp'] },
    })
    expect((await get(app, '/api/me', s.accessToken)).status).toBe(200)
    expect(fetched).toHaveLength(1)
  })

  it('fetches the keys again once for an unknown kid, at most once per cooldown', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { keys, edEnv, fetched, app } = await setup()
    const before = await signIn({ env: edEnv() })
    expect((await get(app, '/api/me', before.accessToken)).status).toBe(200)
    // The service rotates its key: tokens of the new key carry a kid the cache has never seen.
    keys.previous = keys.current
    keys.current = await ed25519Jwk()
    const after = await signIn({ env: edEnv() })
    // Within the cooldown (30 s after the last fetch) an unknown kid cannot make it fetch.
    await expectError(await get(app, '/api/me', after.accessToken), 401, 'TOKEN_INVALID')
    expect(fetched).toHaveLength(1)
    vi.setSystemTime(Date.now() + 31_000)
    expect((await get(app, '/api/me', after.accessToken)).status).toBe(200)
    expect((await get(app, '/api/me', before.accessToken)).status).toBe(200)
    expect(fetched).toHaveLength(2)
    // A kid no key set has: refused, and it cannot make the middleware fetch again right away.
    const stranger = await signIn({ env: { ACCESS_TOKEN_ALG: 'EdDSA', ACCESS_TOKEN_JWK: await ed25519Jwk() } })
    await expectError(await get(app, '/api/me', stranger.accessToken), 401, 'TOKEN_INVALID')
    await expectError(await get(app, '/api/me', stranger.accessToken), 401, 'TOKEN_INVALID')
    expect(fetched).toHaveLength(2)
  })

  it('refuses HS256 tokens, expired tokens, and tokens for another audience', async () => {
    const { edEnv, app } = await setup()
    const hs = await signIn()
    await expectError(await get(app, '/api/me', hs.accessToken), 401, 'TOKEN_INVALID')
    const s = await signIn({ env: edEnv() })
    const { sub, sid, email } = decodeJwt(s.accessToken) as { sub: string; sid: string; email: string }
    const config = loadConfig({ ...env, ...edEnv() } as Env, ORIGIN)
    const old = await signAccessToken({ sub, sid, role: 'user', email, aal: 'aal1', amr: ['pwd'] }, config, Date.now() - (config.accessTokenTtl + 60) * 1000)
    await expectError(await get(app, '/api/me', old), 401, 'TOKEN_EXPIRED')
    const other = await signIn({ env: { ...edEnv(), JWT_AUDIENCE: 'another-api' } })
    await expectError(await get(app, '/api/me', other.accessToken), 401, 'TOKEN_INVALID')
  })

  it('is stateless: a logged-out session keeps working until its token expires (use the binding for exact)', async () => {
    const { edEnv, app } = await setup()
    const s = await signIn({ env: edEnv() })
    await call('/api/auth/logout', { json: {}, cookie: s.refreshToken, env: edEnv() })
    expect((await get(app, '/api/me', s.accessToken)).status).toBe(200)
  })

  it('checks the role the token carries and the session assurance', async () => {
    const { edEnv, app } = await setup()
    const s = await signIn({ env: edEnv() })
    await expectError(await get(app, '/api/admin', s.accessToken), 403, 'FORBIDDEN')
    await expectError(await get(app, '/api/sensitive', s.accessToken), 403, 'MFA_REQUIRED')
    const email = uniqueEmail('admin')
    const adminEnv = { ...edEnv(), ADMIN_EMAILS: email }
    await register({ email, env: adminEnv })
    const admin = await signIn({ email, env: adminEnv })
    expect((await get(app, '/api/admin', admin.accessToken)).status).toBe(200)
  })

  it('answers 503 when the keys cannot be fetched', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const { edEnv } = await setup()
    const s = await signIn({ env: edEnv() })
    const down = resourceServer(
      authenticate({ jwksUrl: `${ORIGIN}/.well-known/jwks.json`, issuer: env.JWT_ISSUER, audience: 'api', fetch: async () => new Response('oops', { status: 502 }) }),
    )
    await expectError(await get(down, '/api/me', s.accessToken), 503, 'SERVICE_UNAVAILABLE')
    const offline = resourceServer(
      authenticate({ jwksUrl: `${ORIGIN}/.well-known/jwks.json`, issuer: env.JWT_ISSUER, audience: 'api', fetch: () => Promise.reject(new TypeError('fetch failed')) }),
    )
    await expectError(await get(offline, '/api/me', s.accessToken), 503, 'SERVICE_UNAVAILABLE')
  })
})
