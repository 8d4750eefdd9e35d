/**
 * The benchmark's yardstick: the least a Hono worker on this runtime can do, built and run
 * exactly like the service (same workerd, same Miniflare entry path, same load generator).
 *
 * - `GET /ok`: `{ ok: true }`, the floor of routing plus a JSON response.
 * - `GET /verify`: verifies an HS256 bearer token with jose, key imported once per isolate;
 *   what an access-token check costs before any session lookup.
 * - `GET /ok-headers`: `/ok` plus what every request of the service must do at minimum:
 *   hono/request-id and hono/secure-headers with the options of src/app.ts.
 * - `GET /ok-log`: `/ok-headers` plus one JSON request line (the service's production line), so
 *   the cost of logging once per request is measured rather than guessed.
 * - `GET /d1`: one `SELECT 1` through a local D1 binding; the floor of one D1 round trip in
 *   this harness (a control for the service's routes that read D1 on every request).
 * - `GET /session-check`: the session check's work, bare: `/verify`'s token check, then one D1
 *   point read of the session joined to its account by primary key (the tables are created and
 *   seeded by bench/lib/scenarios.mjs through Miniflare), as the service's check reads it.
 * - `GET /pbkdf2`: one PBKDF2-HMAC-SHA-512 hash at the service's work factor (bench only);
 *   answers its duration as measured inside the worker.
 *
 * Not part of the service: built by bench/run.mjs into bench/.tmp/baseline.
 */
import { Hono, type MiddlewareHandler } from 'hono'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
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

/** The same options as src/app.ts (keep them in step). */
const headers: MiddlewareHandler[] = [
  requestId(),
  secureHeaders({
    strictTransportSecurity: 'max-age=31536000; includeSubDomains',
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    referrerPolicy: 'no-referrer',
    xFrameOptions: 'DENY',
    overwrite: false,
    crossOriginResourcePolicy: 'same-origin',
  }),
]

app.get('/ok-headers', ...headers, (c) => c.json({ ok: true }))

/** `/ok-headers` plus one request line shaped like the service's production line: what the line itself costs. */
app.get('/ok-log', ...headers, async (c, next) => {
  await next()
  console.log(JSON.stringify({ level: 'info', event: 'request', time: new Date().toISOString(), requestId: c.get('requestId') }))
}, (c) => c.json({ ok: true }))

/** The access-token checks the service makes: pinned algorithm, typ, iss, aud, exp. */
async function verifyBearer(header: string | undefined, env: BaselineBindings) {
  const match = /^Bearer +(\S+)$/.exec(header ?? '')
  if (!match?.[1]) return undefined
  try {
    const { payload } = await jwtVerify(match[1], await hmacKey(env.BENCH_JWT_SECRET), {
      algorithms: ['HS256'],
      typ: 'at+jwt',
      issuer: env.BENCH_JWT_ISSUER,
      audience: env.BENCH_JWT_AUDIENCE,
      clockTolerance: 30,
      requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
    })
    return payload
  } catch {
    return undefined
  }
}

app.get('/verify', async (c) => {
  const payload = await verifyBearer(c.req.header('Authorization'), c.env)
  if (!payload) return c.json({ ok: false }, 401)
  return c.json({ ok: true, sub: payload.sub })
})

const SESSION_USER = `SELECT u.id, u.email, u.name, u.role, u.created_at
  FROM sessions s JOIN users u ON u.id = s.user_id
  WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3 AND u.deleted_at IS NULL`

app.get('/session-check', async (c) => {
  const payload = await verifyBearer(c.req.header('Authorization'), c.env)
  if (!payload) return c.json({ ok: false }, 401)
  const user = await c.env.BENCH_DB.prepare(SESSION_USER).bind(payload.sid, payload.sub, Date.now()).first()
  if (!user) return c.json({ ok: false }, 401)
  return c.json({ ok: true, user })
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
