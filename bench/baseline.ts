/**
 * The benchmark's yardstick: the least a Hono worker on this runtime can do, built and run
 * exactly like the service (same workerd, same Miniflare entry path, same load generator).
 *
 * - `GET /ok`: `{ ok: true }`, the floor of routing plus a JSON response.
 * - `GET /verify`: verifies an HS256 bearer token with jose, key imported once per isolate;
 *   what an access-token check costs before any session lookup.
 * - `GET /d1`: one `SELECT 1` through a local D1 binding; the floor of one D1 round trip in
 *   this harness (a control for the service's routes that read D1 on every request).
 * - `GET /pbkdf2`: one PBKDF2-HMAC-SHA-512 hash at the service's work factor (bench only);
 *   answers its duration as measured inside the worker.
 *
 * Not part of the service: built by bench/run.mjs into bench/.tmp/baseline.
 */
import { Hono } from 'hono'
import { jwtVerify } from 'jose'
import { PBKDF2_ITERATIONS } from '../src/crypto/password'

interface BaselineBindings {
  /** The HS256 secret bench/run.mjs signs the /verify token with. */
  BENCH_JWT_SECRET: string
  BENCH_JWT_ISSUER: string
  BENCH_JWT_AUDIENCE: string
  BENCH_DB: D1Database
}

const encoder = new TextEncoder()
let verificationKey: Promise<CryptoKey> | undefined

/** Imports the HMAC key on first use; every later request reuses it. */
function hmacKey(secret: string): Promise<CryptoKey> {
  verificationKey ??= crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
  return verificationKey
}

const app = new Hono<{ Bindings: BaselineBindings }>()

app.get('/ok', (c) => c.json({ ok: true }))

app.get('/verify', async (c) => {
  const match = /^Bearer +(\S+)$/.exec(c.req.header('Authorization') ?? '')
  if (!match?.[1]) return c.json({ ok: false }, 401)
  try {
    // The same checks the service makes on an access token: pinned algorithm, typ, iss, aud, exp.
    const { payload } = await jwtVerify(match[1], await hmacKey(c.env.BENCH_JWT_SECRET), {
      algorithms: ['HS256'],
      typ: 'at+jwt',
      issuer: c.env.BENCH_JWT_ISSUER,
      audience: c.env.BENCH_JWT_AUDIENCE,
      clockTolerance: 30,
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
    })
    return c.json({ ok: true, sub: payload.sub })
  } catch {
    return c.json({ ok: false }, 401)
  }
})

app.get('/d1', async (c) => {
  const row = await c.env.BENCH_DB.prepare('SELECT 1 AS one').first<{ one: number }>()
  return c.json({ ok: row?.one === 1 })
})

app.get('/pbkdf2', async (c) => {
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const started = performance.now()
  const key = await crypto.subtle.importKey('raw', encoder.encode('Bench-password-1!'), 'PBKDF2', false, ['deriveBits'])
  await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt, iterations: PBKDF2_ITERATIONS }, key, 512)
  const hashed = performance.now()
  // Workers clocks advance only across I/O; a zero-delay timer lets this one catch up.
  await new Promise((resolve) => setTimeout(resolve, 0))
  return c.json({ iterations: PBKDF2_ITERATIONS, ms: hashed - started, msAfterTick: performance.now() - started })
})

export default app
