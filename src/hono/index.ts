/**
 * Middleware for the other Workers of a stack (resource servers) that need to know who is
 * calling: `authenticate`, `requireRole`, `requireAal`.
 *
 * ```ts
 * import { Hono } from 'hono'
 * import { authenticate, type AuthBinding } from 'edge-auth/hono'
 *
 * const app = new Hono<{ Bindings: { AUTH: AuthBinding } }>()
 * app.use('/api/*', authenticate({ binding: 'AUTH' }))
 * app.get('/api/me', (c) => c.json({ id: c.get('user').id }))
 * export default app
 * ```
 *
 * Refusals answer in the service's error envelope `{success: false, message, error}`.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono'
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type FetchImplementation, type JWTPayload } from 'jose'
import type { AuthBinding, AuthSession, AuthUser, Role } from './types.js'

export type { AuthBinding, AuthSession, AuthUser, Role, VerifyError, VerifyResult } from './types.js'

/** What a stateless (JWKS) check can know of the caller: the access token's own claims. */
export interface TokenUser {
  id: string
  email: string
  role: Role
}

/** The context variables `authenticate` sets: `c.get('user')` and `c.get('session')`. */
export type AuthVariables<U extends TokenUser = AuthUser> = { user: U; session: AuthSession }

/** A Hono `Env` carrying the variables; `new Hono<{ Bindings: ...; Variables: AuthVariables }>()`. */
export type AuthEnv<U extends TokenUser = AuthUser> = { Variables: AuthVariables<U> }

/**
 * Where the `AuthService` binding is: the name of the binding in `c.env` (`'AUTH'`), the
 * binding itself, or a function of the context returning it.
 */
export type BindingSource = string | AuthBinding | ((c: Context) => AuthBinding)

/** Exact mode: every request asks the auth service, so logout and revocation act at once. */
export interface BindingOptions {
  binding: BindingSource
}

/**
 * Stateless mode: EdDSA access tokens verified against the service's `/.well-known/jwks.json`
 * (the service must run with `ACCESS_TOKEN_ALG=EdDSA`). No call per request, but a logged-out
 * or revoked session's token keeps working until it expires (15 minutes by default).
 */
export interface JwksOptions {
  /** `https://auth.example.com/.well-known/jwks.json` */
  jwksUrl: string | URL
  /** The service's `JWT_ISSUER`. */
  issuer: string
  /** The service's `JWT_AUDIENCE` (`api` by default). */
  audience: string
  /** After a fetch, how long an unknown `kid` waits before it may trigger another (ms; default 30 s). */
  cooldownDuration?: number
  /** How long fetched keys are used before they are fetched again (ms; default 10 minutes). */
  cacheMaxAge?: number
  /** The fetch used for the JWKS (a service binding's `fetch`, a test double); the global one by default. */
  fetch?: (url: string, init: RequestInit) => Promise<Response>
}

type ErrorCode = 'TOKEN_MISSING' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_REVOKED' | 'FORBIDDEN' | 'MFA_REQUIRED' | 'SERVICE_UNAVAILABLE' | 'CONFIG_ERROR'

/** The same statuses and messages as the service's own error table. */
const ERRORS: Record<ErrorCode, readonly [401 | 403 | 503, string]> = {
  TOKEN_MISSING: [401, 'Authentication is required.'],
  TOKEN_INVALID: [401, 'The token is invalid.'],
  TOKEN_EXPIRED: [401, 'The token has expired.'],
  TOKEN_REVOKED: [401, 'The session has ended.'],
  FORBIDDEN: [403, 'You are not allowed to do this.'],
  MFA_REQUIRED: [403, 'This needs a session signed in with a second step.'],
  SERVICE_UNAVAILABLE: [503, 'The service is temporarily unavailable.'],
  CONFIG_ERROR: [503, 'The service is not configured correctly.'],
}

/** The error envelope; a 401 also says `WWW-Authenticate: Bearer` (RFC 6750). */
function refuse(c: Context, code: ErrorCode): Response {
  const [status, message] = ERRORS[code]
  if (status === 401) c.header('WWW-Authenticate', code === 'TOKEN_MISSING' ? 'Bearer' : 'Bearer error="invalid_token"')
  c.header('Cache-Control', 'no-store')
  return c.json({ success: false as const, message, error: code }, status)
}

/** Longer than any access token the service issues; refused before it is parsed. */
const MAX_TOKEN_LENGTH = 4096

function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null
  return match?.[1]
}

const AAL_RANK: Record<string, number> = { aal1: 1, aal2: 2, aal3: 3 }

type Verdict<U extends TokenUser> = { ok: true; user: U; session: AuthSession } | { ok: false; error: ErrorCode }

function resolveBinding(c: Context, source: BindingSource): AuthBinding | undefined {
  if (typeof source === 'function') return source(c)
  if (typeof source !== 'string') return source
  const env: unknown = c.env
  const binding = env && typeof env === 'object' ? (env as Record<string, unknown>)[source] : undefined
  return binding && typeof (binding as Partial<AuthBinding>).verify === 'function' ? (binding as AuthBinding) : undefined
}

/** Exact mode: the service's `verify` decides, session check included. */
function viaBinding(source: BindingSource) {
  return async (c: Context, token: string): Promise<Verdict<AuthUser>> => {
    const binding = resolveBinding(c, source)
    if (!binding) {
      console.error(JSON.stringify({ level: 'error', event: 'edge-auth.config', reason: `no AuthService binding ${typeof source === 'string' ? `named ${source}` : 'given'}` }))
      return { ok: false, error: 'CONFIG_ERROR' }
    }
    try {
      const result = await binding.verify(token)
      return result.ok ? { ok: true, user: result.user, session: result.session } : { ok: false, error: result.error }
    } catch (error) {
      // The entrypoint rejects with only a code for failures that are not a verdict on the token.
      const code = error instanceof Error && error.message === 'CONFIG_ERROR' ? 'CONFIG_ERROR' : 'SERVICE_UNAVAILABLE'
      console.error(JSON.stringify({ level: 'error', event: 'edge-auth.verify_failed', error: code, reason: error instanceof Error ? error.message : String(error) }))
      return { ok: false, error: code }
    }
  }
}

/** One key set per JWKS URL and isolate, so every middleware instance shares its cache. */
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>()

const ROLES: ReadonlySet<unknown> = new Set<Role>(['user', 'admin'])

/** Stateless mode: signature and claims checked against the published keys, nothing else. */
function viaJwks(options: JwksOptions) {
  const url = new URL(options.jwksUrl)
  const settings = { cooldownDuration: options.cooldownDuration ?? 30_000, cacheMaxAge: options.cacheMaxAge ?? 600_000, timeoutDuration: 5_000 }
  let own: ReturnType<typeof createRemoteJWKSet> | undefined
  const keySet = () => {
    // A custom fetch gets a key set of its own; the global fetch shares one per URL and settings.
    if (options.fetch) return (own ??= createRemoteJWKSet(url, { ...settings, [customFetch]: options.fetch as FetchImplementation }))
    const key = `${url.href} ${settings.cooldownDuration} ${settings.cacheMaxAge}`
    let set = keySets.get(key)
    if (!set) keySets.set(key, (set = createRemoteJWKSet(url, settings)))
    return set
  }
  return async (_c: Context, token: string): Promise<Verdict<TokenUser>> => {
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, keySet(), {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ['EdDSA'],
        typ: 'at+jwt',
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
        clockTolerance: 30,
      }))
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, error: 'TOKEN_EXPIRED' }
      // The keys could not be had (network, timeout, a non-JSON or non-200 answer): not the token's fault.
      const unreachable =
        !(error instanceof errors.JOSEError) || error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === 'ERR_JOSE_GENERIC'
      if (unreachable) {
        console.error(JSON.stringify({ level: 'error', event: 'edge-auth.jwks_failed', reason: error instanceof Error ? error.message : String(error) }))
        return { ok: false, error: 'SERVICE_UNAVAILABLE' }
      }
      return { ok: false, error: 'TOKEN_INVALID' }
    }
    const { sub, sid, email, role, aal, amr } = payload
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof email !== 'string' || !ROLES.has(role)) return { ok: false, error: 'TOKEN_INVALID' }
    return {
      ok: true,
      user: { id: sub, email, role: role as Role },
      session: {
        id: sid,
        aal: typeof aal === 'string' && aal ? aal : 'aal1',
        amr: Array.isArray(amr) && amr.length > 0 && amr.every((m): m is string => typeof m === 'string') ? amr : ['pwd'],
      },
    }
  }
}

/**
 * Requires a signed-in caller (`Authorization: Bearer <access token>`) and puts it on the
 * context: `c.get('user')` and `c.get('session')` (`{id, aal, amr}`).
 *
 * - `{ binding }`: exact. The auth service's `AuthService.verify` checks the token and that
 *   its session and account are still live, so logout and revocation act at once; the user
 *   is the whole public user object with its current role.
 * - `{ jwksUrl, issuer, audience }`: stateless. EdDSA tokens are checked against the JWKS
 *   (cached per isolate, fetched again once for an unknown `kid`, at most once per cooldown);
 *   the user is what the token says (`{id, email, role}`), and a revoked session shows only
 *   when its token expires.
 *
 * Refusals: `401 TOKEN_MISSING | TOKEN_INVALID | TOKEN_EXPIRED | TOKEN_REVOKED`, `503` when
 * the service or its keys cannot be reached.
 */
export function authenticate(options: BindingOptions): MiddlewareHandler<AuthEnv<AuthUser>>
export function authenticate(options: JwksOptions): MiddlewareHandler<AuthEnv<TokenUser>>
export function authenticate(options: BindingOptions | JwksOptions): MiddlewareHandler<AuthEnv<AuthUser>> | MiddlewareHandler<AuthEnv<TokenUser>> {
  const check: (c: Context, token: string) => Promise<Verdict<TokenUser>> = 'binding' in options ? viaBinding(options.binding) : viaJwks(options)
  const middleware: MiddlewareHandler<AuthEnv<TokenUser>> = async function authenticate(c, next) {
    const token = bearerToken(c.req.header('Authorization'))
    if (!token) return refuse(c, 'TOKEN_MISSING')
    if (token.length > MAX_TOKEN_LENGTH) return refuse(c, 'TOKEN_INVALID')
    const verdict = await check(c, token)
    if (!verdict.ok) return refuse(c, verdict.error)
    c.set('user', verdict.user)
    c.set('session', verdict.session)
    await next()
  }
  return middleware
}

/** Lets through only callers whose role is `role` (else `403 FORBIDDEN`). After `authenticate`. */
export function requireRole(role: Role): MiddlewareHandler<AuthEnv<TokenUser>> {
  return async function requireRole(c, next) {
    const user = c.get('user') as TokenUser | undefined
    if (!user) return refuse(c, 'TOKEN_MISSING')
    if (user.role !== role) return refuse(c, 'FORBIDDEN')
    await next()
  }
}

/**
 * Lets through only sessions of at least the given assurance (`aal2`: signed in with a second
 * step), else `403 MFA_REQUIRED`. After `authenticate`.
 */
export function requireAal(level: 'aal1' | 'aal2' | 'aal3'): MiddlewareHandler<AuthEnv<TokenUser>> {
  const needed = AAL_RANK[level] ?? Number.POSITIVE_INFINITY
  return async function requireAal(c, next) {
    const session = c.get('session') as AuthSession | undefined
    if (!session) return refuse(c, 'TOKEN_MISSING')
    if ((AAL_RANK[session.aal] ?? 0) < needed) return refuse(c, 'MFA_REQUIRED')
    await next()
  }
}
