import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { APP_ORIGIN, body, call as rawCall, expectError, PASSWORD, signIn, uniqueEmail, type CallInit } from './helpers'

const KIB = 1024
const LIMIT = 16 * KIB

/** What must never reach a client: stack frames, SQL engine or D1 internals. */
const LEAKS: [string, RegExp][] = [
  ['stack frame', /\bat [^\s"]+ \([^)"]*:\d+:\d+\)/],
  ['bare stack frame', /\bat [^\s"]*:\d+:\d+/],
  ['stack line', /(\\n|\n)\s*at \S/],
  ['SQLITE', /SQLITE/i],
  ['D1_', /D1_/],
  ['UNIQUE constraint', /UNIQUE constraint/i],
]

async function expectNoLeak(response: Response) {
  const text = await response.clone().text()
  for (const [label, pattern] of LEAKS) {
    expect({ label, leaked: pattern.test(text) }).toEqual({ label, leaked: false })
  }
}

/** Every response in this file goes through the leak check. */
async function call(path: string, init: CallInit = {}) {
  const response = await rawCall(path, init)
  await expectNoLeak(response)
  return response
}

const post = (path: string, init: CallInit = {}) => call(path, { method: 'POST', ...init })

const encoder = new TextEncoder()

/** A JSON body of exactly `bytes` bytes (ASCII), as a login attempt. */
function jsonOfSize(bytes: number): string {
  const shell = JSON.stringify({ email: 'size@example.com', password: '' })
  return JSON.stringify({ email: 'size@example.com', password: 'p'.repeat(bytes - shell.length) })
}

/** A body with no Content-Length: a stream, sent in chunks. */
function streamOf(text: string, chunkSize = 4 * KIB): ReadableStream<Uint8Array> {
  const bytes = encoder.encode(text)
  let offset = 0
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close()
      controller.enqueue(bytes.slice(offset, offset + chunkSize))
      offset += chunkSize
    },
  })
}

const errorEnvelope = (code: string) => ({ success: false, message: expect.any(String), error: code })

describe('the leak check', () => {
  it('recognises what it looks for, so a clean pass means something', () => {
    const samples = [
      '{"error":"TypeError: x\\n    at completeLogin (/work/src/services/accounts.ts:159:9)"}',
      '{"stack":"at /work/node_modules/hono/dist/compose.js:35:11"}',
      '{"message":"D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT"}',
    ]
    for (const sample of samples) expect(LEAKS.some(([, pattern]) => pattern.test(sample))).toBe(true)
    // Ordinary messages are not mistaken for leaks.
    expect(LEAKS.some(([, pattern]) => pattern.test('{"message":"must be at least 8 characters"}'))).toBe(false)
  })
})

describe('the error envelope', () => {
  it('answers an unknown path with 404 NOT_FOUND', async () => {
    for (const [path, init] of [
      ['/nope', {}],
      ['/api/nope', {}],
      ['/api/auth/nope', { json: {} }],
      ['/api/user/profile/extra', {}],
    ] as const) {
      const res = await call(path, init)
      expect({ path, status: res.status }).toEqual({ path, status: 404 })
      expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
      expect(await body(res)).toEqual(errorEnvelope('NOT_FOUND'))
    }
  })

  it('answers a wrong method on a known path with 405 and an Allow header', async () => {
    const allow = (res: Response) => (res.headers.get('Allow') ?? '').split(',').map((m) => m.trim())

    const login = await call('/api/auth/login')
    expect(login.status).toBe(405)
    expect(await body(login)).toEqual(errorEnvelope('METHOD_NOT_ALLOWED'))
    expect(allow(login)).toContain('POST')
    expect(allow(login)).not.toContain('GET')

    const health = await call('/health', { method: 'DELETE' })
    expect(health.status).toBe(405)
    expect(await body(health)).toEqual(errorEnvelope('METHOD_NOT_ALLOWED'))
    expect(allow(health)).toContain('GET')
    expect(allow(health)).not.toContain('DELETE')

    const refresh = await call('/api/auth/refresh', { method: 'PUT' })
    expect(refresh.status).toBe(405)
    expect(allow(refresh)).toEqual(['POST'])
  })

  it('answers a non-JSON body with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const payload = JSON.stringify({ email: uniqueEmail(), password: PASSWORD })
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      const res = await post('/api/auth/login', { body: payload, headers: { 'Content-Type': type } })
      expect({ type, status: res.status, body: await body(res) }).toEqual({ type, status: 415, body: errorEnvelope('UNSUPPORTED_MEDIA_TYPE') })
    }
    // A body without any Content-Type is refused as well.
    const untyped = await post('/api/auth/login', { body: encoder.encode(payload) })
    await expectError(untyped, 415, 'UNSUPPORTED_MEDIA_TYPE')
    // JSON with parameters is JSON.
    const withCharset = await post('/api/auth/login', { body: payload, headers: { 'Content-Type': 'application/json; charset=utf-8' } })
    await expectError(withCharset, 401, 'INVALID_CREDENTIALS')
  })

  it('answers a body over 16 KiB with a Content-Length with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = jsonOfSize(LIMIT + 1)
    expect(encoder.encode(big).length).toBe(LIMIT + 1)
    const probe = new Request('https://auth.test/', { method: 'POST', body: big, headers: { 'Content-Length': String(LIMIT + 1) } })
    expect(probe.headers.get('Content-Length')).toBe(String(LIMIT + 1))
    const res = await post('/api/auth/login', {
      body: big,
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(LIMIT + 1) },
    })
    await expectError(res, 413, 'PAYLOAD_TOO_LARGE')

    const huge = await post('/api/auth/register', { json: { email: uniqueEmail(), password: PASSWORD, name: 'n'.repeat(64 * KIB) } })
    await expectError(huge, 413, 'PAYLOAD_TOO_LARGE')

    // Exactly 16 KiB is within the limit: it reaches validation instead.
    const atLimit = await post('/api/auth/login', {
      body: jsonOfSize(LIMIT),
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(LIMIT) },
    })
    expect(atLimit.status).not.toBe(413)
    expect(atLimit.status).toBeLessThan(500)
  })

  it('answers a chunked body over 16 KiB (no Content-Length) with 413 PAYLOAD_TOO_LARGE', async () => {
    // Precondition: a stream body carries no Content-Length, so the limit must count the bytes.
    const probe = new Request('https://auth.test/', { method: 'POST', body: streamOf('{}'), duplex: 'half' } as RequestInit)
    expect(probe.headers.get('Content-Length')).toBeNull()

    const res = await post('/api/auth/login', {
      body: streamOf(jsonOfSize(LIMIT + 4 * KIB)),
      headers: { 'Content-Type': 'application/json' },
      duplex: 'half',
    } as CallInit)
    await expectError(res, 413, 'PAYLOAD_TOO_LARGE')

    // A small streamed body is read normally.
    const small = await post('/api/auth/login', {
      body: streamOf(JSON.stringify({ email: uniqueEmail(), password: PASSWORD }), 8),
      headers: { 'Content-Type': 'application/json' },
      duplex: 'half',
    } as CallInit)
    await expectError(small, 401, 'INVALID_CREDENTIALS')
  })

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    for (const text of ['{"email":', '{email: "a@example.com"}', "{'a': 1}", '{"a":1,}', 'nul']) {
      const res = await post('/api/auth/login', { body: text, headers: { 'Content-Type': 'application/json' } })
      expect({ text, status: res.status, body: await body(res) }).toEqual({ text, status: 400, body: errorEnvelope('INVALID_JSON') })
    }
  })

  it('answers unknown fields with 400 VALIDATION_ERROR naming each field', async () => {
    const res = await post('/api/auth/register', {
      json: { email: uniqueEmail(), password: PASSWORD, name: 'Mallory', role: 'admin', emailVerified: true },
    })
    const json = await expectError(res, 400, 'VALIDATION_ERROR')
    const named = (json.details as { path: string; message: string }[]).flatMap((d) => d.path.split(/,\s*/))
    expect(named).toContain('role')
    expect(named).toContain('emailVerified')
    for (const detail of json.details) expect(typeof detail.message).toBe('string')

    const login = await post('/api/auth/login', { json: { email: uniqueEmail(), password: PASSWORD, remember: true } })
    const loginJson = await expectError(login, 400, 'VALIDATION_ERROR')
    expect(loginJson.details.map((d: { path: string }) => d.path).join(',')).toContain('remember')

    // A missing required field is named too.
    const missing = await expectError(await post('/api/auth/register', { json: { email: uniqueEmail(), name: 'x' } }), 400, 'VALIDATION_ERROR')
    expect(missing.details.map((d: { path: string }) => d.path)).toContain('password')
  })

  it('refuses a __proto__ key', async () => {
    const email = uniqueEmail()
    const text = `{"email":"${email}","password":"${PASSWORD}","name":"Proto","__proto__":{"role":"admin"}}`
    const res = await post('/api/auth/register', { body: text, headers: { 'Content-Type': 'application/json' } })
    const json = await expectError(res, 400, 'VALIDATION_ERROR')
    expect(JSON.stringify(json.details)).toContain('__proto__')
    // Nothing was created: the email is still free.
    const again = await post('/api/auth/register', { json: { email, password: PASSWORD, name: 'Proto' } })
    expect(again.status).toBe(201)
    expect((await body(again)).data.user.role).toBe('user')

    const nested = await post('/api/auth/login', {
      body: `{"__proto__":{"email":"${email}","password":"${PASSWORD}"}}`,
      headers: { 'Content-Type': 'application/json' },
    })
    await expectError(nested, 400, 'VALIDATION_ERROR')
  })

  it('answers a JSON body that is not an object with 400 VALIDATION_ERROR', async () => {
    for (const text of ['null', '[]', '"text"', '42']) {
      const res = await post('/api/auth/login', { body: text, headers: { 'Content-Type': 'application/json' } })
      expect({ text, status: res.status, error: (await body(res)).error }).toEqual({ text, status: 400, error: 'VALIDATION_ERROR' })
    }
  })
})

describe('X-Request-Id', () => {
  it('echoes a sane request id', async () => {
    for (const id of ['abc-123_XYZ', crypto.randomUUID(), 'a'.repeat(64)]) {
      const res = await call('/health', { headers: { 'X-Request-Id': id } })
      expect(res.headers.get('X-Request-Id')).toBe(id)
    }
    const error = await call('/nope', { headers: { 'X-Request-Id': 'trace-404' } })
    expect(error.headers.get('X-Request-Id')).toBe('trace-404')
  })

  it('replaces an id that is not sane, and generates one when absent', async () => {
    for (const id of ['has spaces in it', 'a'.repeat(300), 'semi;colon', '<script>', 'new\u00e9line']) {
      const res = await call('/health', { headers: { 'X-Request-Id': id } })
      const answered = res.headers.get('X-Request-Id')
      expect(answered).toBeTruthy()
      expect(answered).not.toBe(id)
      expect(answered).toMatch(/^[\w=-]{1,255}$/)
    }
    const a = (await call('/health')).headers.get('X-Request-Id')
    const b = (await call('/health')).headers.get('X-Request-Id')
    expect(a).toBeTruthy()
    expect(b).toBeTruthy()
    expect(a).not.toBe(b)
  })
})

describe('security headers', () => {
  const expectSecurityHeaders = (res: Response) => {
    const h = res.headers
    expect(h.get('Strict-Transport-Security')).toBe('max-age=31536000; includeSubDomains')
    expect(h.get('X-Content-Type-Options')).toBe('nosniff')
    const csp = h.get('Content-Security-Policy') ?? ''
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).toContain("base-uri 'none'")
    expect(csp).toContain("form-action 'none'")
    expect(h.get('X-Frame-Options')).toBe('DENY')
    expect(h.get('Referrer-Policy')).toBe('no-referrer')
    expect(h.get('Content-Type') ?? 'application/json; charset=utf-8').toMatch(/^application\/json; charset=utf-8$/)
    expect(h.get('X-Powered-By')).toBeNull()
  }

  it('are on success, error and not-found responses alike', async () => {
    expectSecurityHeaders(await call('/health'))
    expectSecurityHeaders(await call('/nope'))
    expectSecurityHeaders(await call('/api/user/profile'))
    expectSecurityHeaders(await call('/health', { method: 'DELETE' }))
    expectSecurityHeaders(await post('/api/auth/login', { body: 'x', headers: { 'Content-Type': 'text/plain' } }))
  })

  it('mark every /api/ response Cache-Control: no-store', async () => {
    const email = uniqueEmail()
    const responses = {
      created: await post('/api/auth/register', { json: { email, password: PASSWORD, name: 'Cache' } }),
      challenge: await post('/api/auth/login', { json: { email, password: PASSWORD } }),
      refused: await post('/api/auth/login', { json: { email, password: 'Wrong-pass-1' } }),
      unauthenticated: await call('/api/user/profile'),
      notFound: await call('/api/nope'),
      invalid: await post('/api/auth/login', { body: '{', headers: { 'Content-Type': 'application/json' } }),
    }
    for (const [label, res] of Object.entries(responses)) {
      expect({ label, cacheControl: res.headers.get('Cache-Control') ?? '' }).toEqual({
        label,
        cacheControl: expect.stringContaining('no-store'),
      })
    }
    const s = await signIn()
    const profile = await call('/api/user/profile', { token: s.accessToken })
    expect(profile.status).toBe(200)
    expect(profile.headers.get('Cache-Control')).toContain('no-store')
  })
})

describe('CORS', () => {
  it('echoes an allowed origin exactly, with credentials and Vary: Origin', async () => {
    const res = await call('/health', { headers: { Origin: APP_ORIGIN } })
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(APP_ORIGIN)
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBe('true')
    expect((res.headers.get('Vary') ?? '').split(',').map((v) => v.trim().toLowerCase())).toContain('origin')

    const api = await post('/api/auth/login', { json: { email: uniqueEmail(), password: PASSWORD }, headers: { Origin: APP_ORIGIN } })
    expect(api.headers.get('Access-Control-Allow-Origin')).toBe(APP_ORIGIN)
  })

  it('answers a preflight from an allowed origin, never with *', async () => {
    const res = await call('/api/auth/refresh', {
      method: 'OPTIONS',
      headers: { Origin: APP_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    })
    expect(res.status).toBeLessThan(300)
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(APP_ORIGIN)
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBe('true')
    expect(res.headers.get('Access-Control-Allow-Methods') ?? '').toContain('POST')
    // A preflight is a response like any other: it carries the request id and the security headers.
    expect(res.headers.get('X-Request-Id')).toBeTruthy()
    expect(res.headers.get('Strict-Transport-Security')).toBe('max-age=31536000; includeSubDomains')
  })

  it('gives a foreign origin no Access-Control-Allow-Origin', async () => {
    for (const origin of ['https://evil.test', 'null', `${APP_ORIGIN}.evil.test`, 'http://app.test', 'https://APP.test']) {
      const simple = await call('/health', { headers: { Origin: origin } })
      expect({ origin, allow: simple.headers.get('Access-Control-Allow-Origin') }).toEqual({ origin, allow: null })
      const preflight = await call('/api/auth/login', {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
      })
      expect({ origin, allow: preflight.headers.get('Access-Control-Allow-Origin') }).toEqual({ origin, allow: null })
    }
  })

  it('never answers Access-Control-Allow-Origin: *', async () => {
    const origins = [APP_ORIGIN, 'https://evil.test', undefined]
    for (const origin of origins) {
      const headers: Record<string, string> = origin ? { Origin: origin } : {}
      for (const res of [
        await call('/health', { headers }),
        await call('/nope', { headers }),
        await call('/api/auth/refresh', { method: 'OPTIONS', headers: { ...headers, 'Access-Control-Request-Method': 'POST' } }),
      ]) {
        expect(res.headers.get('Access-Control-Allow-Origin')).not.toBe('*')
      }
    }
  })
})

describe('configuration errors', () => {
  const accessSecret = env.ACCESS_TOKEN_SECRET as string
  const refreshSecret = env.REFRESH_TOKEN_SECRET as string
  const loginBody = () => ({ email: uniqueEmail(), password: PASSWORD })

  async function expectConfigError(overrides: CallInit['env'], secrets: string[]) {
    for (const res of [await post('/api/auth/login', { json: loginBody(), env: overrides }), await call('/api/user/profile', { env: overrides })]) {
      const json = await expectError(res, 503, 'CONFIG_ERROR')
      expect(Object.keys(json).sort()).toEqual(['error', 'message', 'success'])
      const text = await res.clone().text()
      expect(text).not.toMatch(/ACCESS_TOKEN_SECRET|REFRESH_TOKEN_SECRET|EMAIL_DELIVERY|PASSWORD_PEPPER/)
      for (const secret of secrets) if (secret) expect(text).not.toContain(secret)
      expect(res.headers.get('X-Request-Id')).toBeTruthy()
      expect(res.headers.get('Strict-Transport-Security')).toBe('max-age=31536000; includeSubDomains')
      expect(res.headers.get('Cache-Control')).toContain('no-store')
    }
  }

  it('answers 503 CONFIG_ERROR when ACCESS_TOKEN_SECRET is missing', async () => {
    await expectConfigError({ ACCESS_TOKEN_SECRET: undefined }, [refreshSecret])
    await expectConfigError({ ACCESS_TOKEN_SECRET: '' }, [refreshSecret])
  })

  it('answers 503 CONFIG_ERROR when a secret is 31 bytes', async () => {
    const short = 's'.repeat(31)
    await expectConfigError({ ACCESS_TOKEN_SECRET: short }, [short, refreshSecret])
    await expectConfigError({ REFRESH_TOKEN_SECRET: short }, [short, accessSecret])
    // 32 bytes is enough: the same call then gets past configuration.
    const res = await post('/api/auth/login', { json: loginBody(), env: { ACCESS_TOKEN_SECRET: 's'.repeat(32) } })
    await expectError(res, 401, 'INVALID_CREDENTIALS')
  })

  it('answers 503 CONFIG_ERROR when the two secrets are identical', async () => {
    await expectConfigError({ REFRESH_TOKEN_SECRET: accessSecret }, [accessSecret])
  })

  it('answers 503 CONFIG_ERROR for console email delivery in production', async () => {
    await expectConfigError({ ENVIRONMENT: 'production', EMAIL_DELIVERY: 'console' }, [accessSecret, refreshSecret])
    // Console is the default delivery, so leaving it unset in production is refused too.
    await expectConfigError({ ENVIRONMENT: 'production', EMAIL_DELIVERY: undefined }, [accessSecret, refreshSecret])
  })
})

describe('GET /health', () => {
  it('answers ok', async () => {
    const res = await call('/health')
    expect(res.status).toBe(200)
    expect(await body(res)).toEqual({ success: true, data: { status: 'ok' } })
  })

  it('touches D1 and KV with ?deep=1', async () => {
    const res = await call('/health?deep=1')
    expect(res.status).toBe(200)
    const json = await body(res)
    expect(json.success).toBe(true)
    expect(json.data.status).toBe('ok')
    expect(json.data.checks.d1.ok).toBe(true)
    expect(json.data.checks.kv.ok).toBe(true)
  })
})
