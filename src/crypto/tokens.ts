import { calculateJwkThumbprint, errors, importJWK, jwtVerify, SignJWT, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose'
import type { Config, OkpJwk } from '../config'
import { ApiError } from '../errors'
import { sha256 } from './random'

export const ACCESS_TYP = 'at+jwt'
export const REFRESH_TYP = 'rt+jwt'
/** Clock skew tolerated when checking `exp`, `nbf` and `iat`. */
const LEEWAY_SECONDS = 30
/** No honest token of ours comes near this; longer input is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 4096

type Alg = 'HS256' | 'EdDSA'

interface SigningKey {
  kid: string
  alg: Alg
  key: CryptoKey
}

/** The key that signs, and every key (by `kid`) that may verify: current first, then previous. */
interface Keyring {
  alg: Alg
  signer: SigningKey
  verifiers: SigningKey[]
}

const hmacKeys = new Map<string, Promise<SigningKey>>()

/** Imports an HMAC secret once per isolate; its `kid` is a digest that identifies it without revealing it. */
function hmacKey(secret: string): Promise<SigningKey> {
  let entry = hmacKeys.get(secret)
  if (!entry) {
    entry = (async () => {
      const raw = new TextEncoder().encode(secret)
      const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
      return { kid: (await sha256(`kid\u0000${secret}`)).slice(0, 16), alg: 'HS256' as const, key }
    })()
    hmacKeys.set(secret, entry)
  }
  return entry
}

/** The public half of an Ed25519 JWK, as served at /.well-known/jwks.json. */
export function publicJwk(jwk: OkpJwk, kid: string): JWK {
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid, alg: 'EdDSA', use: 'sig' }
}

const edKid = async (jwk: OkpJwk) => jwk.kid ?? (await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x })).slice(0, 16)

async function edKey(jwk: OkpJwk, usage: 'sign' | 'verify'): Promise<SigningKey> {
  const source = usage === 'sign' ? { ...jwk } : { kty: 'OKP', crv: 'Ed25519', x: jwk.x }
  const key = (await importJWK(source, 'EdDSA')) as CryptoKey
  return { kid: await edKid(jwk), alg: 'EdDSA', key }
}

const accessKeyrings = new WeakMap<Config, Promise<Keyring>>()
const refreshKeyrings = new WeakMap<Config, Promise<Keyring>>()

async function hmacKeyring(current: string, previous: string | undefined): Promise<Keyring> {
  const signer = await hmacKey(current)
  const verifiers = previous ? [signer, await hmacKey(previous)] : [signer]
  return { alg: 'HS256', signer, verifiers }
}

/** Access-token keys, built once per config (and so once per isolate). */
function accessKeyring(config: Config): Promise<Keyring> {
  let ring = accessKeyrings.get(config)
  if (!ring) {
    ring = (async () => {
      if (config.accessTokenAlg === 'HS256') return hmacKeyring(config.accessTokenSecret, config.accessTokenSecretPrevious)
      const jwk = config.accessTokenJwk!
      const signer = await edKey(jwk, 'sign')
      const verifiers = [await edKey(jwk, 'verify')]
      if (config.accessTokenJwkPrevious) verifiers.push(await edKey(config.accessTokenJwkPrevious, 'verify'))
      return { alg: 'EdDSA' as const, signer, verifiers }
    })()
    accessKeyrings.set(config, ring)
  }
  return ring
}

function refreshKeyring(config: Config): Promise<Keyring> {
  let ring = refreshKeyrings.get(config)
  if (!ring) {
    ring = hmacKeyring(config.refreshTokenSecret, config.refreshTokenSecretPrevious)
    refreshKeyrings.set(config, ring)
  }
  return ring
}

/** The JWKS with computed `kid`s, when access tokens are signed with Ed25519. */
export async function accessTokenJwkSet(config: Config): Promise<{ keys: JWK[] } | undefined> {
  if (config.accessTokenAlg !== 'EdDSA') return undefined
  const jwks = [config.accessTokenJwk, config.accessTokenJwkPrevious].filter((jwk): jwk is OkpJwk => jwk !== undefined)
  return { keys: await Promise.all(jwks.map(async (jwk) => publicJwk(jwk, await edKid(jwk)))) }
}

/** Resolves the verification key by `kid` in the keyring; a missing or unknown `kid` fails. */
const keyResolver = (ring: Keyring) => async (header: JWTHeaderParameters) => {
  const match = ring.verifiers.find((candidate) => candidate.kid === header.kid)
  if (!match) throw new errors.JWKSNoMatchingKey()
  return match.key
}

export interface AccessClaims {
  sub: string
  sid: string
  role: 'user' | 'admin'
  email: string
  /** The session's assurance (API.md "Sign-in methods and assurance"). */
  aal: 'aal1' | 'aal2'
  amr: string[]
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
  claims: Omit<AccessClaims, 'jti' | 'iat' | 'exp'>,
  config: Config,
  now = Date.now(),
): Promise<string> {
  const { kid, key, alg } = (await accessKeyring(config)).signer
  const iat = Math.floor(now / 1000)
  return new SignJWT({ sid: claims.sid, role: claims.role, email: claims.email, aal: claims.aal, amr: claims.amr })
    .setProtectedHeader({ alg, typ: ACCESS_TYP, kid })
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
  const { kid, key, alg } = (await refreshKeyring(config)).signer
  return new SignJWT({ sid: claims.sid })
    .setProtectedHeader({ alg, typ: REFRESH_TYP, kid })
    .setSubject(claims.sub)
    .setJti(claims.jti)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(key)
}

/**
 * Verifies signature and claims. The algorithm is pinned to the keyring's, so neither
 * `alg: none` nor HMAC-with-a-public-key confusion can pass; `jwk`, `jku` and `x5u` headers
 * are never consulted (keys come only from the keyring), and nothing is fetched.
 */
async function verify(token: string, ring: Keyring, typ: string, extra: { issuer?: string; audience?: string; maxTokenAge: number }) {
  if (token.length > MAX_TOKEN_LENGTH) throw rejected('TOKEN_INVALID', 'length')
  try {
    const { payload } = await jwtVerify(token, keyResolver(ring), {
      algorithms: [ring.alg],
      typ,
      clockTolerance: LEEWAY_SECONDS,
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
      ...extra,
    })
    return payload
  } catch (error) {
    // Past `exp`, or older than the lifetime allows (jose reports the latter as `iat`): both are expiry.
    if (error instanceof errors.JWTExpired) throw rejected('TOKEN_EXPIRED', 'exp')
    throw rejected('TOKEN_INVALID', failedCheck(error))
  }
}

/**
 * Which check a token failed, for the request log (never the token itself): a claim or header
 * name (`iss`, `aud`, `typ`, `exp`, `sub`, ...), `signature`, `kid`, `alg`, `malformed` or `length`.
 */
export class TokenRejected extends Error {
  override readonly name = 'TokenRejected'
  constructor(readonly check: string) {
    super(`token check failed: ${check}`)
  }
}

const rejected = (code: 'TOKEN_INVALID' | 'TOKEN_EXPIRED', check: string) => new ApiError(code, { cause: new TokenRejected(check) })

function failedCheck(error: unknown): string {
  if (error instanceof errors.JWTClaimValidationFailed) return error.claim
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature'
  if (error instanceof errors.JWKSNoMatchingKey) return 'kid'
  if (error instanceof errors.JOSEAlgNotAllowed) return 'alg'
  return 'malformed'
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.length <= 8 && value.every(isString)

function claim<T>(payload: JWTPayload, name: string, check: (value: unknown) => value is T): T {
  const value = payload[name]
  if (!check(value)) throw rejected('TOKEN_INVALID', name)
  return value
}

/** Verifies an access token: algorithm pinned; `typ`, `iss`, `aud`, `exp` required. No I/O. */
export async function verifyAccessToken(token: string, config: Config): Promise<AccessClaims> {
  const payload = await verify(token, await accessKeyring(config), ACCESS_TYP, {
    issuer: config.issuer,
    audience: config.audience,
    // Also makes jose refuse an `iat` in the future.
    maxTokenAge: config.accessTokenTtl + LEEWAY_SECONDS,
  })
  return {
    sub: claim(payload, 'sub', isString),
    sid: claim(payload, 'sid', isString),
    jti: claim(payload, 'jti', isString),
    role: claim(payload, 'role', (value): value is 'user' | 'admin' => value === 'user' || value === 'admin'),
    email: claim(payload, 'email', isString),
    // Tokens minted before sessions recorded their assurance carry neither claim: a password sign-in.
    aal: payload.aal === undefined ? 'aal1' : claim(payload, 'aal', (value): value is 'aal1' | 'aal2' => value === 'aal1' || value === 'aal2'),
    amr: payload.amr === undefined ? ['pwd'] : claim(payload, 'amr', isStringList),
    iat: payload.iat!,
    exp: payload.exp!,
  }
}

/** Verifies a refresh token's signature and shape; whether it is still live is the database's call. */
export async function verifyRefreshToken(token: string, config: Config): Promise<RefreshClaims> {
  const payload = await verify(token, await refreshKeyring(config), REFRESH_TYP, { maxTokenAge: config.refreshTokenTtl + LEEWAY_SECONDS })
  return {
    sub: claim(payload, 'sub', isString),
    sid: claim(payload, 'sid', isString),
    jti: claim(payload, 'jti', isString),
    iat: payload.iat!,
    exp: payload.exp!,
  }
}
