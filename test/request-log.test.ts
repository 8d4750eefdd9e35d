import { env } from 'cloudflare:workers'
import { decodeProtectedHeader, SignJWT, decodeJwt } from 'jose'
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest'
import { call, signIn, uniqueEmail, PASSWORD, type CallInit } from './helpers'

let spies: MockInstance[] = []
beforeEach(() => {
  // Spies that still call through: the helpers read mailed codes from console.log.
  spies = (['log', 'warn', 'error'] as const).map((method) => vi.spyOn(console, method))
})
afterEach(() => {
  for (const spy of spies) spy.mockRestore()
  vi.useRealTimers()
})

/** Every line logged since the spies were last cleared. */
const logged = () => spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(' ')))

/** The `request` lines logged while `work` ran. */
async function requestLines(work: () => Promise<unknown>) {
  for (const spy of spies) spy.mockClear()
  await work()
  return logged()
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.event === 'request')
}

const profile = (token: string, init: CallInit = {}) => call('/api/user/profile', { token, ...init })

describe('the request log line', () => {
  it('is one line per request, with method, path, status, duration and user, and no error on success', async () => {
    const session = await signIn()
    const [line, ...more] = await requestLines(() => profile(session.accessToken))
    expect(more).toEqual([])
    expect(line).toMatchObject({ level: 'info', method: 'GET', path: '/api/user/profile', status: 200, userId: session.userId })
    expect(typeof line!.durationMs).toBe('number')
    expect(typeof line!.requestId).toBe('string')
    expect(line).not.toHaveProperty('error')
  })

  it('in production carries only what Workers Logs lacks: the request id, the user and the error code, and nothing for an anonymous success', async () => {
    const production = { ENVIRONMENT: 'production', EMAIL_DELIVERY: 'resend', RESEND_API_KEY: 're_test', EMAIL_FROM: 'Acme <auth@acme.test>' }
    const session = await signIn()
    const [ok, ...more] = await requestLines(() => profile(session.accessToken, { env: production }))
    expect(more).toEqual([])
    expect(Object.keys(ok!).sort()).toEqual(['event', 'level', 'requestId', 'time', 'userId'])
    expect(ok).toMatchObject({ level: 'info', userId: session.userId })
    const [refused] = await requestLines(() => profile('not.a.jwt', { env: production }))
    expect(refused).toMatchObject({ level: 'warn', error: 'TOKEN_INVALID', reason: 'malformed' })
    expect(refused).not.toHaveProperty('path')
    // An anonymous success: its invocation log already says all the line would.
    expect(await requestLines(() => call('/health', { env: production }))).toEqual([])
    const [missing] = await requestLines(() => call('/nope', { env: production }))
    expect(Object.keys(missing!).sort()).toEqual(['error', 'event', 'level', 'requestId', 'time'])
  })

  it('carries the error code of the answer', async () => {
    const [missing] = await requestLines(() => call('/api/user/profile'))
    expect(missing).toMatchObject({ level: 'warn', status: 401, error: 'TOKEN_MISSING' })
    const [wrong] = await requestLines(() => call('/api/auth/login', { json: { email: uniqueEmail(), password: PASSWORD } }))
    expect(wrong).toMatchObject({ status: 401, error: 'INVALID_CREDENTIALS' })
    const [notFound] = await requestLines(() => call('/nope'))
    expect(notFound).toMatchObject({ status: 404, error: 'NOT_FOUND' })
    const [invalid] = await requestLines(() => call('/api/auth/login', { json: { email: 'x' } }))
    expect(invalid).toMatchObject({ status: 400, error: 'VALIDATION_ERROR' })
  })

  it('says which check a refused token failed, and never carries the token', async () => {
    const session = await signIn()
    const token = session.accessToken
    const { kid } = decodeProtectedHeader(token)
    const claims = decodeJwt(token)
    const wrongTyp = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: kid! })
      .sign(new TextEncoder().encode(env.ACCESS_TOKEN_SECRET as string))
    const [head, payload, signature] = token.split('.')
    const badSignature = `${head}.${payload}.${signature!.slice(0, -4)}AAAA`

    const cases: [string, () => Promise<Response>][] = [
      // A token minted for one host name sent to another: the issuer differs.
      ['iss', () => profile(token, { env: { JWT_ISSUER: 'http://127.0.0.1:8787' } })],
      ['aud', () => profile(token, { env: { JWT_AUDIENCE: 'another-api' } })],
      ['signature', () => profile(badSignature)],
      ['typ', () => profile(wrongTyp)],
      ['kid', () => profile(session.refreshToken)],
      ['malformed', () => profile('not.a.jwt')],
    ]
    const seen: string[] = []
    for (const [reason, request] of cases) {
      const [line] = await requestLines(request)
      expect({ reason, line }).toMatchObject({ reason, line: { status: 401, error: 'TOKEN_INVALID', reason } })
      seen.push(...logged())
    }

    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 3_600_000)
    const [expired] = await requestLines(() => profile(token))
    expect(expired).toMatchObject({ status: 401, error: 'TOKEN_EXPIRED', reason: 'exp' })
    seen.push(...logged())

    for (const text of seen) {
      for (const secret of [token, signature!, payload!, session.refreshToken, badSignature, wrongTyp]) expect(text).not.toContain(secret)
    }
  })

  it('in development goes through console.log whatever its level, so wrangler dev does not wrap it', async () => {
    const [warnSpy, errorSpy] = [spies[1]!, spies[2]!]
    const [line] = await requestLines(() => call('/api/user/profile', { env: { ENVIRONMENT: 'development' } }))
    expect(line).toMatchObject({ level: 'warn', error: 'TOKEN_MISSING' })
    expect([...warnSpy.mock.calls, ...errorSpy.mock.calls]).toEqual([])
    // Elsewhere the level picks the console method (Workers Logs reads it from there).
    const [test] = await requestLines(() => call('/api/user/profile'))
    expect(test).toMatchObject({ level: 'warn' })
    expect(warnSpy.mock.calls.length).toBe(1)
  })
})
