import { env } from 'cloudflare:workers'
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, refreshCookie, signIn, type CallInit, type Session, b64url } from './helpers'

const ISSUER = 'https://auth.test'
const AUDIENCE = 'api'
const encoder = new TextEncoder()

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

type Overrides = NonNullable<CallInit['env']>

const fromB64url = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))

const profile = (token: string, overrides?: Overrides) => call('/api/user/profile', { token, env: overrides })

async function expect401(response: Response, code = 'TOKEN_INVALID') {
  expect(response.status).toBeLessThan(500)
  await expectError(response, 401, code)
}

/** The claims of a real access token, to build forgeries that differ in one thing only. */
function claimsOf(session: Session): JWTPayload {
  const { iss, aud, sub, sid, role, email, iat, exp, jti } = decodeJwt(session.accessToken)
  return { iss, aud, sub, sid, role, email, iat, exp, jti }
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string

/** Signs with HS256 under `key`, with exactly the header fields given (plus alg). */
const signHs = (payload: JWTPayload, header: Record<string, unknown>, key: Uint8Array | string) =>
  new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', ...header })
    .sign(typeof key === 'string' ? encoder.encode(key) : key)

/** A JWT with an arbitrary header and no signature at all. */
const unsigned = (header: Record<string, unknown>, payload: JWTPayload) =>
  `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.`

/** A fresh Ed25519 key pair, the private half as the JSON JWK the service reads. */
async function ed25519() {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const privateJwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JWK
  const publicJwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JWK
  return { pair, privateJwk, publicJwk, json: JSON.stringify(privateJwk) }
}

/** Replaces one character in the middle of the signature with another (all 6 bits significant there). */
function flipSignatureChar(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  const i = Math.floor(s.length / 2)
  const swapped = s[i] === 'A' ? 'Q' : 'A'
  return `${h}.${p}.${s.slice(0, i)}${swapped}${s.slice(i + 1)}`
}

describe('GET /api/user/profile refuses forged and malformed access tokens (HS256, default)', () => {
  it('accepts a token forged with the real secret and correct claims (control for the forgeries below)', async () => {
    const s = await signIn()
    const token = await signHs({ ...claimsOf(s), jti: crypto.randomUUID() }, { typ: 'at+jwt', kid: kidOf(s.accessToken) }, env.ACCESS_TOKEN_SECRET)
    const response = await profile(token)
    expect(response.status).toBe(200)
    expect((await body(response)).data.user.id).toBe(s.userId)
  })

  it('refuses alg none in every spelling, with an empty signature', async () => {
    const s = await signIn()
    const kid = kidOf(s.accessToken)
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      for (const header of [{ alg, typ: 'at+jwt', kid }, { alg, typ: 'at+jwt' }]) {
        await expect401(await profile(unsigned(header, claimsOf(s))))
      }
    }
  })

  it('refuses the real token re-labelled alg none with its signature stripped', async () => {
    const s = await signIn()
    const [, payload] = s.accessToken.split('.')
    const header = { ...decodeProtectedHeader(s.accessToken), alg: 'none' }
    await expect401(await profile(`${b64url(JSON.stringify(header))}.${payload}.`))
  })

  it('never fetches or trusts keys named by jwk, jku or x5u headers (attacker-signed)', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch')
    const s = await signIn()
    const kid = kidOf(s.accessToken)
    const attackerSecret = 'attacker-chosen-secret-0123456789abcdef-0123'
    const attackerJwk = { kty: 'oct', k: b64url(attackerSecret), alg: 'HS256' }
    const headers: Record<string, unknown>[] = [
      { typ: 'at+jwt', kid, jwk: attackerJwk },
      { typ: 'at+jwt', jwk: attackerJwk },
      { typ: 'at+jwt', kid, jku: 'http://127.0.0.1:9/jwks.json' },
      { typ: 'at+jwt', kid: 'attacker', jku: 'http://127.0.0.1:9/jwks.json' },
      { typ: 'at+jwt', kid, x5u: 'http://127.0.0.1:9/cert.pem' },
      { typ: 'at+jwt', x5u: 'http://127.0.0.1:9/cert.pem' },
    ]
    for (const header of headers) {
      const token = await signHs({ ...claimsOf(s), jti: crypto.randomUUID() }, header, attackerSecret)
      await expect401(await profile(token))
    }
    // Asymmetric attacker keys embedded or referenced in the header.
    const attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const attackerPublic = await exportJWK(attacker.publicKey)
    for (const header of [
      { typ: 'at+jwt', kid, jwk: attackerPublic },
      { typ: 'at+jwt', kid, jku: 'http://127.0.0.1:9/jwks.json' },
      { typ: 'at+jwt', kid, x5u: 'http://127.0.0.1:9/cert.pem' },
    ]) {
      const token = await new SignJWT(claimsOf(s)).setProtectedHeader({ alg: 'EdDSA', ...header }).sign(attacker.privateKey)
      await expect401(await profile(token))
    }
    expect(fetchSpy).not.toHaveBeenCalled()
  })

  it('ignores jwk/jku/x5u headers on an otherwise valid token: the keyring alone decides', async () => {
    // Signed with the real key: the extra headers neither help nor break verification,
    // so the refusals above come from the attacker key, not from the header's mere presence.
    const s = await signIn()
    const kid = kidOf(s.accessToken)
    const fetchSpy = vi.spyOn(globalThis, 'fetch')
    const token = await signHs(
      { ...claimsOf(s), jti: crypto.randomUUID() },
      { typ: 'at+jwt', kid, jku: 'http://127.0.0.1:9/jwks.json', x5u: 'http://127.0.0.1:9/cert.pem' },
      env.ACCESS_TOKEN_SECRET,
    )
    expect((await profile(token)).status).toBe(200)
    expect(fetchSpy).not.toHaveBeenCalled()
  })

  it('answers junk kids (SQL, path traversal, 10 KB) with 401, never 500', async () => {
    const s = await signIn()
    for (const kid of ["' OR 1=1--", '../../etc/passwd', 'k'.repeat(10 * 1024), '', '\u0000', 'null']) {
      const token = await signHs({ ...claimsOf(s), jti: crypto.randomUUID() }, { typ: 'at+jwt', kid }, env.ACCESS_TOKEN_SECRET)
      await expect401(await profile(token))
    }
    // A non-string kid.
    const token = await signHs({ ...claimsOf(s), jti: crypto.randomUUID() }, { typ: 'at+jwt', kid: { $ne: null } }, env.ACCESS_TOKEN_SECRET)
    await expect401(await profile(token))
  })

  it('refuses a token without a kid, even when signed with the real secret', async () => {
    const s = await signIn()
    const token = await signHs({ ...claimsOf(s), jti: crypto.randomUUID() }, { typ: 'at+jwt' }, env.ACCESS_TOKEN_SECRET)
    await expect401(await profile(token))
  })

  it('refuses correctly signed tokens with a missing exp, a future nbf, a wrong iss, aud or typ, or no typ', async () => {
    const s = await signIn()
    const kid = kidOf(s.accessToken)
    const claims = claimsOf(s)
    const now = Math.floor(Date.now() / 1000)
    const { exp: _exp, ...withoutExp } = claims
    const cases: [string, JWTPayload, Record<string, unknown>][] = [
      ['missing exp', withoutExp, { typ: 'at+jwt', kid }],
      ['nbf 1 hour ahead', { ...claims, nbf: now + 3600 }, { typ: 'at+jwt', kid }],
      ['wrong iss', { ...claims, iss: 'https://evil.test' }, { typ: 'at+jwt', kid }],
      ['missing iss', (({ iss: _iss, ...rest }) => rest)(claims), { typ: 'at+jwt', kid }],
      ['wrong aud', { ...claims, aud: 'another-api' }, { typ: 'at+jwt', kid }],
      ['missing aud', (({ aud: _aud, ...rest }) => rest)(claims), { typ: 'at+jwt', kid }],
      ['refresh typ', claims, { typ: 'rt+jwt', kid }],
      ['JWT typ', claims, { typ: 'JWT', kid }],
      ['missing typ', claims, { kid }],
      ['expired beyond leeway', { ...claims, iat: now - 3600, exp: now - 120 }, { typ: 'at+jwt', kid }],
    ]
    for (const [name, payload, header] of cases) {
      const token = await signHs({ ...payload, jti: crypto.randomUUID() }, header, env.ACCESS_TOKEN_SECRET)
      const response = await profile(token)
      expect({ name, status: response.status }).toEqual({ name, status: 401 })
      expect(['TOKEN_INVALID', 'TOKEN_EXPIRED']).toContain((await body(response)).error)
    }
  })

  it('refuses a truncated signature and a signature with one character flipped', async () => {
    const s = await signIn()
    expect((await profile(s.accessToken)).status).toBe(200)
    await expect401(await profile(s.accessToken.slice(0, -1)))
    await expect401(await profile(s.accessToken.slice(0, -10)))
    await expect401(await profile(flipSignatureChar(s.accessToken)))
    await expect401(await profile(`${s.accessToken.split('.').slice(0, 2).join('.')}.`))
  })

  it('never accepts a refresh token as an access token', async () => {
    const s = await signIn()
    await expect401(await profile(s.refreshToken))
  })
})

describe('key rotation', () => {
  const ACCESS_B = 'rotated-access-secret-B-0123456789abcdef-0123'
  const REFRESH_B = 'rotated-refresh-secret-B-0123456789abcdef-012'

  it('every token carries a kid', async () => {
    const s = await signIn()
    expect(kidOf(s.accessToken)).toMatch(/^\S+$/)
    expect(kidOf(s.refreshToken)).toMatch(/^\S+$/)
    expect(decodeProtectedHeader(s.accessToken).typ).toBe('at+jwt')
    expect(decodeProtectedHeader(s.refreshToken).typ).toBe('rt+jwt')
  })

  it('accepts an access token of the previous secret while it is listed, and refuses it once it is gone', async () => {
    const s = await signIn()
    const rotated = { ACCESS_TOKEN_SECRET: ACCESS_B, ACCESS_TOKEN_SECRET_PREVIOUS: env.ACCESS_TOKEN_SECRET }
    const accepted = await profile(s.accessToken, rotated)
    expect(accepted.status).toBe(200)
    expect((await body(accepted)).data.user.id).toBe(s.userId)

    await expect401(await profile(s.accessToken, { ACCESS_TOKEN_SECRET: ACCESS_B }))
  })

  it('signs new access tokens with the new secret under a new kid', async () => {
    const rotated = { ACCESS_TOKEN_SECRET: ACCESS_B, ACCESS_TOKEN_SECRET_PREVIOUS: env.ACCESS_TOKEN_SECRET }
    const old = await signIn()
    const s = await signIn({ env: rotated })
    expect(kidOf(s.accessToken)).not.toBe(kidOf(old.accessToken))
    expect((await profile(s.accessToken, { ACCESS_TOKEN_SECRET: ACCESS_B })).status).toBe(200)
    // Not signed with the old secret: a deployment that only knows A refuses it.
    await expect401(await profile(s.accessToken))
    await expect(
      jwtVerify(s.accessToken, encoder.encode(ACCESS_B), { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' }),
    ).resolves.toBeTruthy()
  })

  it('refreshes with a refresh token of the previous secret, and the new refresh token carries the new kid', async () => {
    const s = await signIn()
    const oldKid = kidOf(s.refreshToken)
    const rotated = { REFRESH_TOKEN_SECRET: REFRESH_B, REFRESH_TOKEN_SECRET_PREVIOUS: env.REFRESH_TOKEN_SECRET }
    const refreshed = await call('/api/auth/refresh', { method: 'POST', cookie: s.refreshToken, env: rotated })
    expect(refreshed.status).toBe(200)
    const next = refreshCookie(refreshed)!
    expect(next).toBeTruthy()
    expect(kidOf(next)).not.toBe(oldKid)
    await expect(jwtVerify(next, encoder.encode(REFRESH_B), { typ: 'rt+jwt' })).resolves.toBeTruthy()

    // The successor needs only the new secret, and a deployment that only knows the old one refuses it.
    const onlyB = { REFRESH_TOKEN_SECRET: REFRESH_B }
    await expect401(await call('/api/auth/refresh', { method: 'POST', cookie: next, env: {} }))
    const again = await call('/api/auth/refresh', { method: 'POST', cookie: next, env: onlyB })
    expect(again.status).toBe(200)
    expect(kidOf(refreshCookie(again)!)).toBe(kidOf(next))
  })

  it('refuses a refresh token of the old secret once the previous secret is dropped', async () => {
    const s = await signIn()
    await expect401(await call('/api/auth/refresh', { method: 'POST', cookie: s.refreshToken, env: { REFRESH_TOKEN_SECRET: REFRESH_B } }))
    // Refused without side effects: with the old secret listed again it still works.
    const rotated = { REFRESH_TOKEN_SECRET: REFRESH_B, REFRESH_TOKEN_SECRET_PREVIOUS: env.REFRESH_TOKEN_SECRET }
    expect((await call('/api/auth/refresh', { method: 'POST', cookie: s.refreshToken, env: rotated })).status).toBe(200)
  })
})

describe('EdDSA access tokens', () => {
  it('signs access tokens with EdDSA, publishes the public key, and the token verifies against the JWKS', async () => {
    const key = await ed25519()
    const edEnv = { ACCESS_TOKEN_ALG: 'EdDSA', ACCESS_TOKEN_JWK: key.json }
    const s = await signIn({ env: edEnv })
    const header = decodeProtectedHeader(s.accessToken)
    expect(header.alg).toBe('EdDSA')
    expect(header.typ).toBe('at+jwt')
    expect(header.kid).toBeTruthy()
    expect((await profile(s.accessToken, edEnv)).status).toBe(200)

    const res = await call('/.well-known/jwks.json', { env: edEnv })
    expect(res.status).toBe(200)
    const jwks = (await res.json()) as { keys: JWK[] }
    expect(jwks.keys).toHaveLength(1)
    const [published] = jwks.keys
    expect(published).toMatchObject({ kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x, kid: header.kid })
    expect(published).not.toHaveProperty('d')
    expect(JSON.stringify(jwks)).not.toContain(key.privateJwk.d!)

    const { payload } = await jwtVerify(s.accessToken, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
    })
    expect(payload.sub).toBe(s.userId)
  })

  it('lists the previous key too, and still accepts its tokens', async () => {
    const current = await ed25519()
    const previous = await ed25519()
    const old = await signIn({ env: { ACCESS_TOKEN_ALG: 'EdDSA', ACCESS_TOKEN_JWK: previous.json } })
    const rotated = { ACCESS_TOKEN_ALG: 'EdDSA', ACCESS_TOKEN_JWK: current.json, ACCESS_TOKEN_JWK_PREVIOUS: previous.json }
    const res = await call('/.well-known/jwks.json', { env: rotated })
    expect(res.status).toBe(200)
    const jwks = (await res.json()) as { keys: JWK[] }
    expect(jwks.keys.map((k) => k.x).sort()).toEqual([current.publicJwk.x, previous.publicJwk.x].sort())
    expect(new Set(jwks.keys.map((k) => k.kid)).size).toBe(2)
    for (const k of jwks.keys) expect(k).not.toHaveProperty('d')

    expect((await profile(old.accessToken, rotated)).status).toBe(200)
    await expect401(await profile(old.accessToken, { ACCESS_TOKEN_ALG: 'EdDSA', ACCESS_TOKEN_JWK: current.json }))
  })

  it('answers /.well-known/jwks.json with 404 NOT_FOUND under HS256 (the default)', async () => {
    await expectError(await call('/.well-known/jwks.json'), 404, 'NOT_FOUND')
  })

  it('answers 503 CONFIG_ERROR when EdDSA is chosen without a key', async () => {
    await expectError(await call('/.well-known/jwks.json', { env: { ACCESS_TOKEN_ALG: 'EdDSA' } }), 503, 'CONFIG_ERROR')
    const s = await signIn()
    await expectError(await profile(s.accessToken, { ACCESS_TOKEN_ALG: 'EdDSA' }), 503, 'CONFIG_ERROR')
    // A public key alone cannot sign.
    const key = await ed25519()
    await expectError(
      await call('/.well-known/jwks.json', { env: { ACCESS_TOKEN_ALG: 'EdDSA', ACCESS_TOKEN_JWK: JSON.stringify(key.publicJwk) } }),
      503,
      'CONFIG_ERROR',
    )
  })

  it('refuses HS256 tokens keyed with the public key (algorithm confusion)', async () => {
    const key = await ed25519()
    const edEnv = { ACCESS_TOKEN_ALG: 'EdDSA', ACCESS_TOKEN_JWK: key.json }
    const s = await signIn({ env: edEnv })
    const kid = kidOf(s.accessToken)
    const jwks = await (await call('/.well-known/jwks.json', { env: edEnv })).text()
    const published = (JSON.parse(jwks) as { keys: JWK[] }).keys[0]!
    const candidates: (Uint8Array | string)[] = [
      fromB64url(key.publicJwk.x!),
      key.publicJwk.x!,
      JSON.stringify(key.publicJwk),
      JSON.stringify(published),
      jwks,
    ]
    for (const hmacKey of candidates) {
      for (const header of [{ typ: 'at+jwt', kid }, { typ: 'at+jwt' }]) {
        const token = await signHs({ ...claimsOf(s), jti: crypto.randomUUID() }, header, hmacKey)
        await expect401(await profile(token, edEnv))
      }
    }
    // And the HS256 secret of the default configuration is no key under EdDSA either.
    const hsToken = await signHs({ ...claimsOf(s), jti: crypto.randomUUID() }, { typ: 'at+jwt', kid }, env.ACCESS_TOKEN_SECRET)
    await expect401(await profile(hsToken, edEnv))
    // Control: the genuine EdDSA token is accepted under the same configuration.
    expect((await profile(s.accessToken, edEnv)).status).toBe(200)
  })

  it('refuses tokens carrying an attacker key in jwk, or pointing at one with jku / x5u, and fetches nothing', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch')
    const key = await ed25519()
    const edEnv = { ACCESS_TOKEN_ALG: 'EdDSA', ACCESS_TOKEN_JWK: key.json }
    const s = await signIn({ env: edEnv })
    const kid = kidOf(s.accessToken)
    const attacker = await ed25519()
    const { d: _d, ...attackerPublic } = attacker.privateJwk
    const headers: Record<string, unknown>[] = [
      { typ: 'at+jwt', kid, jwk: attackerPublic },
      { typ: 'at+jwt', jwk: attackerPublic },
      { typ: 'at+jwt', kid, jku: 'http://127.0.0.1:9/jwks.json' },
      { typ: 'at+jwt', kid: 'attacker', jku: 'http://127.0.0.1:9/jwks.json' },
      { typ: 'at+jwt', kid, x5u: 'http://127.0.0.1:9/cert.pem' },
    ]
    for (const header of headers) {
      const token = await new SignJWT({ ...claimsOf(s), jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: 'EdDSA', ...header })
        .sign(attacker.pair.privateKey)
      await expect401(await profile(token, edEnv))
    }
    for (const alg of ['none', 'NONE']) await expect401(await profile(unsigned({ alg, typ: 'at+jwt', kid }, claimsOf(s)), edEnv))
    expect(fetchSpy).not.toHaveBeenCalled()
    // Control: the genuine token works under the same configuration.
    expect((await profile(s.accessToken, edEnv)).status).toBe(200)
  })
})
