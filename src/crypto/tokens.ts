import { errors, jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose'
import type { Config } from '../config'
import { ApiError } from '../errors'
import { sha256 } from './random'

const ALG = 'HS256'
export const ACCESS_TYP = 'at+jwt'
export const REFRESH_TYP = 'rt+jwt'
/** Clock skew tolerated when checking `exp`, `nbf` and `iat`. */
const LEEWAY_SECONDS = 30
/** No honest token of ours comes near this; longer input is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 4096

interface SigningKey {
  kid: string
  key: CryptoKey
}

const keys = new Map<string, Promise<SigningKey>>()

/** Imports an HMAC secret once per isolate; its `kid` is a digest that identifies it without revealing it. */
function signingKey(secret: string): Promise<SigningKey> {
  let entry = keys.get(secret)
  if (!entry) {
    entry = (async () => {
      const raw = new TextEncoder().encode(secret)
      const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
      return { kid: (await sha256(`kid\u0000${secret}`)).slice(0, 16), key }
    })()
    keys.set(secret, entry)
  }
  return entry
}

/** Resolves the verification key by `kid` among the accepted secrets; an unknown `kid` fails. */
function keyResolver(secrets: readonly string[]) {
  return async (header: JWTHeaderParameters): Promise<CryptoKey> => {
    for (const secret of secrets) {
      const candidate = await signingKey(secret)
      if (candidate.kid === header.kid) return candidate.key
    }
    throw new errors.JWKSNoMatchingKey()
  }
}

export interface AccessClaims {
  sub: string
  sid: string
  role: 'user' | 'admin'
  email: string
  jti: string
  iat: number
  exp: number
}

export interface RefreshClaims {
  sub: string
  sid: string
  jti: string
  iat: number
  exp: number
}

/** Signs an access token for a session; lifetime from the config. */
export async function signAccessToken(
  claims: { sub: string; sid: string; role: 'user' | 'admin'; email: string },
  config: Config,
  now = Date.now(),
): Promise<string> {
  const { kid, key } = await signingKey(config.accessTokenSecret)
  const iat = Math.floor(now / 1000)
  return new SignJWT({ sid: claims.sid, role: claims.role, email: claims.email })
    .setProtectedHeader({ alg: ALG, typ: ACCESS_TYP, kid })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(claims.sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + config.accessTokenTtl)
    .sign(key)
}

/**
 * Signs a refresh token. Deterministic for the same claims and secret, so the
 * successor of a just-rotated token can be handed out again from its stored record.
 */
export async function signRefreshToken(claims: RefreshClaims, config: Config): Promise<string> {
  const { kid, key } = await signingKey(config.refreshTokenSecret)
  return new SignJWT({ sid: claims.sid })
    .setProtectedHeader({ alg: ALG, typ: REFRESH_TYP, kid })
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(key)
}

async function verify(token: string, secrets: readonly string[], typ: string, extra: { issuer?: string; audience?: string }) {
  if (token.length > MAX_TOKEN_LENGTH) throw new ApiError('TOKEN_INVALID')
  try {
    const { payload } = await jwtVerify(token, keyResolver(secrets), {
      algorithms: [ALG],
      typ,
      clockTolerance: LEEWAY_SECONDS,
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
      ...extra,
    })
    return payload
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new ApiError('TOKEN_EXPIRED')
    throw new ApiError('TOKEN_INVALID')
  }
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0

function claim<T>(payload: JWTPayload, name: string, check: (value: unknown) => value is T): T {
  const value = payload[name]
  if (!check(value)) throw new ApiError('TOKEN_INVALID')
  return value
}

/** Verifies an access token: algorithm pinned; `typ`, `iss`, `aud`, `exp` required. No I/O. */
export async function verifyAccessToken(token: string, config: Config): Promise<AccessClaims> {
  const payload = await verify(token, [config.accessTokenSecret], ACCESS_TYP, {
    issuer: config.issuer,
    audience: config.audience,
  })
  return {
    sub: claim(payload, 'sub', isString),
    sid: claim(payload, 'sid', isString),
    jti: claim(payload, 'jti', isString),
    role: claim(payload, 'role', (value): value is 'user' | 'admin' => value === 'user' || value === 'admin'),
    email: claim(payload, 'email', isString),
    iat: payload.iat!,
    exp: payload.exp!,
  }
}

/** Verifies a refresh token's signature and shape; whether it is still live is the database's call. */
export async function verifyRefreshToken(token: string, config: Config): Promise<RefreshClaims> {
  const payload = await verify(token, [config.refreshTokenSecret], REFRESH_TYP, {})
  return {
    sub: claim(payload, 'sub', isString),
    sid: claim(payload, 'sid', isString),
    jti: claim(payload, 'jti', isString),
    iat: payload.iat!,
    exp: payload.exp!,
  }
}
