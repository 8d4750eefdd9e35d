import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { AuthClientError, createAuthClient, type AuthClient, type FetchLike, type SignedOutEvent, type TokenTransport } from '../src/client'
import worker from '../src/index'
import { freshIp, lastCode, ORIGIN, PASSWORD, uniqueEmail } from './helpers'

const COOKIE = '__Host-refresh_token'
const SIXTEEN_MINUTES = 16 * 60 * 1000

afterEach(() => {
  vi.useRealTimers()
})

interface Sent {
  method: string
  path: string
  status: number
  credentials: string | undefined
  authorization: string | null
  cookie: string | null
  body: string | null
}

/**
 * A browser-like fetch into the worker: one client address, the API's own Origin, and a
 * cookie jar that (like a browser on another origin) only stores and sends cookies for
 * requests made with `credentials: 'include'`. Every request is recorded.
 */
function browser() {
  const ip = freshIp()
  const jar = new Map<string, string>()
  const sent: Sent[] = []
  const fetch: FetchLike = async (input, init = {}) => {
    // `credentials` decides what the jar does, as a browser's would on a cross-origin call.
    const { credentials, ...rest } = init as RequestInit & { credentials?: string }
    const headers = new Headers(rest.headers)
    headers.set('CF-Connecting-IP', ip)
    headers.set('Origin', ORIGIN)
    headers.set('User-Agent', 'client.test')
    const include = credentials === 'include'
    if (include && jar.size > 0) headers.set('Cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '))
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const request = new Request(url, { ...rest, headers })
    const body = typeof rest.body === 'string' ? rest.body : null
    const ctx = createExecutionContext()
    const response = await worker.fetch(request, env, ctx)
    await waitOnExecutionContext(ctx)
    sent.push({
      method: request.method,
      path: new URL(url).pathname,
      status: response.status,
      credentials,
      authorization: headers.get('Authorization'),
      cookie: headers.get('Cookie'),
      body,
    })
    if (include) {
      for (const line of response.headers.getSetCookie()) {
        const [pair, ...attributes] = line.split(';')
        const at = pair!.indexOf('=')
        const name = pair!.slice(0, at).trim()
        const value = pair!.slice(at + 1).trim()
        const maxAge = attributes.map((a) => /^\s*max-age=(-?\d+)/i.exec(a)?.[1]).find((v) => v !== undefined)
        const expires = attributes.map((a) => /^\s*expires=(.*)$/i.exec(a)?.[1]).find((v) => v !== undefined)
        const gone = (maxAge !== undefined && Number(maxAge) <= 0) || (expires !== undefined && Date.parse(expires) <= Date.now()) || value === ''
        if (gone) jar.delete(name)
        else jar.set(name, value)
      }
    }
    return response
  }
  const count = (path: string) => sent.filter((s) => s.path === path).length
  return { fetch, jar, sent, count, ip }
}

type Browser = ReturnType<typeof browser>

function clientFor(b: Browser, tokenTransport: TokenTransport = 'cookie') {
  const signedOut: SignedOutEvent[] = []
  const client = createAuthClient({ baseUrl: ORIGIN, fetch: b.fetch, tokenTransport, onSignedOut: (event) => signedOut.push(event) })
  return { client, signedOut }
}

/** The AuthClientError a promise rejects with (fails the test if it resolves or throws anything else). */
async function failure(promise: Promise<unknown>): Promise<AuthClientError> {
  const error = await promise.then(
    () => expect.unreachable('expected the call to fail'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AuthClientError)
  return error as AuthClientError
}

/** Registers, verifies the email and signs in through the client. */
async function signUpAndIn(client: AuthClient, email = uniqueEmail('client')) {
  await client.register({ email, password: PASSWORD, name: 'Client User' })
  await client.verifyEmail({ email, otp: lastCode(email, 'verify_email') })
  const step = await client.login({ email, password: PASSWORD })
  if (!step.otpRequired) throw new Error('the OTP step should be on')
  const user = await client.verifyOtp({ challengeId: step.challengeId, otp: lastCode(email, 'login') })
  return { email, user }
}

describe('auth client: sign-up and sign-in', () => {
  it('cookie transport: register, verify, login, code, profile, sessions, refresh, logout', async () => {
    const b = browser()
    const { client, signedOut } = clientFor(b)
    const email = uniqueEmail('cookie')
    expect(client.state).toBe('signed-out')

    const registered = await client.register({ email, password: PASSWORD, name: 'Ann Cookie' })
    expect(registered).toMatchObject({ email, name: 'Ann Cookie', emailVerified: false, role: 'user' })
    const verified = await client.verifyEmail({ email, otp: lastCode(email, 'verify_email') })
    expect(verified.emailVerified).toBe(true)
    expect(client.state).toBe('signed-out')

    const step = await client.login({ email, password: PASSWORD })
    expect(step).toMatchObject({ otpRequired: true, expiresIn: expect.any(Number) })
    if (!step.otpRequired) throw new Error('unreachable')
    const user = await client.verifyOtp({ challengeId: step.challengeId, otp: lastCode(email, 'login') })
    expect(user.email).toBe(email)
    expect(client.state).toBe('signed-in')
    expect(client.isSignedIn).toBe(true)
    expect(client.user?.id).toBe(user.id)

    // The refresh token is in the cookie jar only; the client never sees it.
    const first = b.jar.get(COOKIE)
    expect(first).toBeTruthy()
    expect(client.getRefreshToken()).toBeNull()
    expect(client.getAccessToken()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    // The login request had no token in its body.
    expect(JSON.parse(b.sent.find((s) => s.path === '/api/auth/verify-otp')!.body!)).not.toHaveProperty('tokenTransport')

    const profile = await client.profile()
    expect(profile).toEqual(user)
    const profileCall = b.sent.findLast((s) => s.path === '/api/user/profile')!
    expect(profileCall.authorization).toBe(`Bearer ${client.getAccessToken()}`)
    expect(await client.getProfile()).toEqual(user)

    const renamed = await client.updateProfile({ name: 'Ann Renamed' })
    expect(renamed.name).toBe('Ann Renamed')
    expect(client.user?.name).toBe('Ann Renamed')

    const sessions = await client.sessions()
    expect(sessions).toHaveLength(1)
    expect(sessions[0]).toMatchObject({ id: client.sessionId, current: true, ip: b.ip, userAgent: 'client.test' })

    // The raw typed client carries the same bearer.
    const raw = await client.api.api.auth.profile.$get()
    expect(raw.status).toBe(200)
    if (raw.ok) expect((await raw.json()).data.user.name).toBe('Ann Renamed')

    // An explicit refresh rotates the cookie and the access token; credentials included, no body token.
    const before = client.getAccessToken()
    vi.setSystemTime(Date.now() + 2_000)
    expect((await client.refresh()).id).toBe(user.id)
    expect(client.getAccessToken()).not.toBe(before)
    expect(b.jar.get(COOKIE)).toBeTruthy()
    expect(b.jar.get(COOKIE)).not.toBe(first)
    const refreshCall = b.sent.findLast((s) => s.path === '/api/auth/refresh')!
    expect(refreshCall).toMatchObject({ status: 200, credentials: 'include', authorization: null })
    expect(refreshCall.cookie).toContain(`${COOKIE}=`)
    expect(JSON.parse(refreshCall.body ?? '{}')).toEqual({})

    await client.changePassword({ currentPassword: PASSWORD, newPassword: 'Another-pass-2' })
    expect(client.state).toBe('signed-in')

    // A page reload: a new client with the same cookie jar resumes the session.
    const reloaded = clientFor(b).client
    expect(reloaded.state).toBe('signed-out')
    const resumed = await reloaded.restore()
    expect(resumed?.id).toBe(user.id)
    expect(reloaded.state).toBe('signed-in')

    await reloaded.logout()
    expect(reloaded.state).toBe('signed-out')
    expect(b.jar.has(COOKIE)).toBe(false)
    const logoutCall = b.sent.findLast((s) => s.path === '/api/auth/logout')!
    expect(logoutCall).toMatchObject({ status: 200, credentials: 'include' })
    expect(JSON.parse(logoutCall.body ?? '{}')).toEqual({})

    // The first client's access token belongs to the same session: now refused, signed out.
    const ended = await failure(client.profile())
    expect(ended).toMatchObject({ status: 401, code: 'TOKEN_REVOKED' })
    expect(client.state).toBe('signed-out')
    expect(signedOut).toEqual([{ reason: 'session-ended', error: ended }])

    // Nothing left to resume.
    const again = clientFor(b)
    expect(await again.client.restore()).toBeNull()
    expect(again.client.state).toBe('signed-out')
    expect(again.signedOut).toEqual([])
  })

  it('body transport: the refresh token stays in memory and travels as {refreshToken}', async () => {
    const b = browser()
    const { client, signedOut } = clientFor(b, 'body')
    const { email, user } = await signUpAndIn(client)
    expect(user.emailVerified).toBe(true)
    expect(client.state).toBe('signed-in')

    const verifyOtp = b.sent.find((s) => s.path === '/api/auth/verify-otp')!
    expect(JSON.parse(verifyOtp.body!)).toMatchObject({ tokenTransport: 'body' })
    expect(verifyOtp.credentials).toBeUndefined()
    expect(b.jar.size).toBe(0)
    const first = client.getRefreshToken()
    expect(first).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)

    expect((await client.profile()).email).toBe(email)
    expect((await client.updateProfile({ name: 'Body Name', mobile: '+44 20 7946 0000' })).mobile).toBe('+44 20 7946 0000')

    vi.setSystemTime(Date.now() + 2_000)
    await client.refresh()
    const refreshCall = b.sent.findLast((s) => s.path === '/api/auth/refresh')!
    expect(refreshCall.status).toBe(200)
    expect(refreshCall.cookie).toBeNull()
    expect(JSON.parse(refreshCall.body!)).toEqual({ refreshToken: first })
    const second = client.getRefreshToken()
    expect(second).toBeTruthy()
    expect(second).not.toBe(first)

    // An app restart: a native app hands its stored refresh token to a new client.
    const restarted = clientFor(b, 'body').client
    expect(await restarted.restore()).toBeNull() // nothing held, nothing sent
    expect((await restarted.restore(second!))?.id).toBe(user.id)
    expect(restarted.getRefreshToken()).not.toBe(second)
    expect(restarted.state).toBe('signed-in')

    const held = restarted.getRefreshToken()
    await restarted.logout()
    expect(JSON.parse(b.sent.findLast((s) => s.path === '/api/auth/logout')!.body!)).toEqual({ refreshToken: held })
    expect(restarted.state).toBe('signed-out')
    expect(restarted.getRefreshToken()).toBeNull()
    expect(signedOut).toEqual([])
  })

  it('resendOtp, revokeSession, logoutAll, password reset, LOGIN_OTP=off and deleteAccount', async () => {
    const b = browser()
    const first = clientFor(b).client
    const { email, user } = await signUpAndIn(first)

    // A second device: a resend within the minute is refused with Retry-After, then allowed.
    const second = clientFor(browser(), 'body')
    const step = await second.client.login({ email, password: PASSWORD })
    if (!step.otpRequired) throw new Error('unreachable')
    const tooSoon = await failure(second.client.resendOtp({ challengeId: step.challengeId }))
    expect(tooSoon).toMatchObject({ status: 429, code: 'RATE_LIMITED' })
    expect(tooSoon.retryAfter).toBeGreaterThan(0)
    const oldCode = lastCode(email, 'login')
    vi.setSystemTime(Date.now() + 61_000)
    const resent = await second.client.resendOtp({ challengeId: step.challengeId })
    expect(resent).toEqual({ challengeId: step.challengeId, expiresIn: expect.any(Number) })
    const newCode = lastCode(email, 'login')
    if (newCode !== oldCode) {
      expect((await failure(second.client.verifyOtp({ challengeId: step.challengeId, otp: oldCode }))).code).toMatch(/^OTP_/)
    }
    await second.client.verifyOtp({ challengeId: step.challengeId, otp: newCode })
    expect(second.client.state).toBe('signed-in')

    // Revoking one's own session signs this client out.
    const listed = await second.client.sessions()
    expect(listed).toHaveLength(2)
    const own = listed.find((s) => s.current)!
    expect(own.id).toBe(second.client.sessionId)
    await second.client.revokeSession(own.id)
    expect(second.client.state).toBe('signed-out')
    expect(second.signedOut).toEqual([{ reason: 'logout' }])
    expect(await first.sessions()).toHaveLength(1)

    expect(await first.logoutAll()).toBeGreaterThanOrEqual(1)
    expect(first.state).toBe('signed-out')

    await first.forgotPassword({ email })
    await first.resetPassword({ email, otp: lastCode(email, 'reset_password'), newPassword: 'Reset-pass-3' })
    const retry = await failure(first.login({ email, password: PASSWORD }))
    expect(retry).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' })

    // With the OTP step off, login signs in at once.
    const direct = createAuthClient({
      baseUrl: ORIGIN,
      fetch: (input, init) => {
        const request = new Request(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, init)
        request.headers.set('CF-Connecting-IP', b.ip)
        const ctx = createExecutionContext()
        return Promise.resolve(worker.fetch(request, { ...env, LOGIN_OTP: 'off' }, ctx)).finally(() => waitOnExecutionContext(ctx))
      },
      tokenTransport: 'body',
    })
    const result = await direct.login({ email, password: 'Reset-pass-3' })
    expect(result).toEqual({ otpRequired: false, user: expect.objectContaining({ id: user.id }) })
    expect(direct.state).toBe('signed-in')
    await direct.deleteAccount({ password: 'Reset-pass-3' })
    expect(direct.state).toBe('signed-out')
    expect((await failure(direct.login({ email, password: 'Reset-pass-3' }))).code).toBe('INVALID_CREDENTIALS')
  })
})

describe.each(['cookie', 'body'] as const)('auth client (%s transport): expired access token', (transport) => {
  it('ten concurrent calls over an expired token cause exactly one refresh, and all succeed', async () => {
    const b = browser()
    const { client, signedOut } = clientFor(b, transport)
    const { user } = await signUpAndIn(client)
    const stale = client.getAccessToken()

    vi.setSystemTime(Date.now() + SIXTEEN_MINUTES)
    const results = await Promise.all(Array.from({ length: 10 }, () => client.profile()))

    expect(results.map((r) => r.id)).toEqual(Array(10).fill(user.id))
    expect(b.count('/api/auth/refresh')).toBe(1)
    const profileCalls = b.sent.filter((s) => s.path === '/api/user/profile')
    expect(profileCalls.filter((s) => s.status === 401)).toHaveLength(10)
    expect(profileCalls.filter((s) => s.status === 200)).toHaveLength(10)
    expect(client.getAccessToken()).not.toBe(stale)
    expect(profileCalls.filter((s) => s.status === 200).every((s) => s.authorization === `Bearer ${client.getAccessToken()}`)).toBe(true)
    expect(client.state).toBe('signed-in')
    expect(signedOut).toEqual([])

    // The next call goes straight through with the new token.
    await client.sessions()
    expect(b.count('/api/auth/refresh')).toBe(1)
  })

  it('a replayed refresh token (TOKEN_REUSED) during the automatic refresh signs out once; every call fails with it', async () => {
    const b = browser()
    const { client, signedOut } = clientFor(b, transport)
    await signUpAndIn(client)
    // Keep the current refresh token, let the client rotate it, then put the old one back
    // (a stale tab, a stolen copy): its next use is a replay.
    const old = transport === 'cookie' ? b.jar.get(COOKIE)! : client.getRefreshToken()!
    vi.setSystemTime(Date.now() + 1_000)
    await client.refresh()
    const replay = createAuthClient({ baseUrl: ORIGIN, fetch: b.fetch, tokenTransport: transport })
    if (transport === 'cookie') b.jar.set(COOKIE, old)

    vi.setSystemTime(Date.now() + SIXTEEN_MINUTES)
    if (transport === 'body') {
      // The replay comes from elsewhere; the client's own token is then dead with the session.
      expect(await replay.restore(old)).toBeNull()
    }
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => client.profile()))
    const codes = outcomes.map((o) => (o.status === 'rejected' && o.reason instanceof AuthClientError ? o.reason.code : o.status))
    const expected = transport === 'cookie' ? 'TOKEN_REUSED' : 'TOKEN_REVOKED'
    expect(codes).toEqual(Array(5).fill(expected))
    expect(client.state).toBe('signed-out')
    expect(client.getAccessToken()).toBeNull()
    expect(client.getRefreshToken()).toBeNull()
    expect(signedOut).toHaveLength(1)
    expect(signedOut[0]).toMatchObject({ reason: 'session-ended', error: { code: expected, status: 401 } })
    expect(b.count('/api/auth/refresh')).toBe(transport === 'cookie' ? 2 : 3)

    // Signed out stays signed out: later calls fail without a refresh or another event.
    expect((await failure(client.profile())).code).toBe('TOKEN_MISSING')
    expect(signedOut).toHaveLength(1)
  })
})

describe('auth client: signed-out state', () => {
  it('an explicit refresh answered TOKEN_REUSED signs out and calls onSignedOut once', async () => {
    const b = browser()
    const { client, signedOut } = clientFor(b)
    await signUpAndIn(client)
    const old = b.jar.get(COOKIE)!
    await client.refresh()
    b.jar.set(COOKIE, old)
    vi.setSystemTime(Date.now() + 11_000) // past the 10 s grace for a just-rotated token

    const [a, c] = await Promise.all([failure(client.refresh()), failure(client.refresh())])
    expect(a).toBe(c) // one request, one answer
    expect(a).toMatchObject({ status: 401, code: 'TOKEN_REUSED' })
    expect(client.state).toBe('signed-out')
    expect(signedOut).toEqual([{ reason: 'session-ended', error: a }])
    expect(b.count('/api/auth/refresh')).toBe(2)
    // The server cleared the dead cookie; a restore finds nothing.
    expect(b.jar.has(COOKIE)).toBe(false)
    expect(await client.restore()).toBeNull()
    expect(signedOut).toHaveLength(1)
  })

  it('a session revoked from another device (TOKEN_REVOKED) signs out on the next call', async () => {
    const b = browser()
    const { client, signedOut } = clientFor(b)
    const { email } = await signUpAndIn(client)
    const other = clientFor(browser(), 'body').client
    const step = await other.login({ email, password: PASSWORD })
    if (!step.otpRequired) throw new Error('unreachable')
    await other.verifyOtp({ challengeId: step.challengeId, otp: lastCode(email, 'login') })
    await other.revokeSession(client.sessionId!)

    const outcomes = await Promise.allSettled([client.profile(), client.sessions(), client.updateProfile({ name: 'X' })])
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as AuthClientError).code : 'ok'))).toEqual([
      'TOKEN_REVOKED',
      'TOKEN_REVOKED',
      'TOKEN_REVOKED',
    ])
    expect(client.state).toBe('signed-out')
    expect(signedOut).toHaveLength(1)
    expect(signedOut[0]).toMatchObject({ reason: 'session-ended', error: { code: 'TOKEN_REVOKED' } })
    expect(b.count('/api/auth/refresh')).toBe(0)
    expect(other.state).toBe('signed-in')
  })

  it('a refused refresh (cookie gone) during the automatic refresh is refresh-failed', async () => {
    const b = browser()
    const { client, signedOut } = clientFor(b)
    await signUpAndIn(client)
    b.jar.clear()
    vi.setSystemTime(Date.now() + SIXTEEN_MINUTES)
    const error = await failure(client.profile())
    expect(error).toMatchObject({ status: 401, code: 'TOKEN_MISSING' })
    expect(client.state).toBe('signed-out')
    expect(signedOut).toEqual([{ reason: 'refresh-failed', error }])
  })
})

describe('auth client: errors', () => {
  it('surface as AuthClientError with status, code, details and request id', async () => {
    const b = browser()
    const { client } = clientFor(b)

    const invalid = await failure(client.register({ email: 'not-an-email', password: 'short', name: '' }))
    expect(invalid).toBeInstanceOf(Error)
    expect(invalid).toMatchObject({ name: 'AuthClientError', status: 400, code: 'VALIDATION_ERROR' })
    expect(invalid.details?.map((d) => d.path)).toEqual(expect.arrayContaining(['email', 'password', 'name']))
    expect(invalid.requestId).toBeTruthy()
    expect(invalid.message).toEqual(expect.any(String))

    const { email } = await signUpAndIn(client)
    expect(await failure(client.register({ email, password: PASSWORD, name: 'Again' }))).toMatchObject({ status: 409, code: 'EMAIL_TAKEN' })
    expect(await failure(client.login({ email, password: 'Wrong-pass-1' }))).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' })

    const step = await client.login({ email, password: PASSWORD })
    if (!step.otpRequired) throw new Error('unreachable')
    const code = lastCode(email, 'login')
    const wrong = await failure(client.verifyOtp({ challengeId: step.challengeId, otp: code === '000000' ? '111111' : '000000' }))
    expect(wrong).toMatchObject({ status: 401, code: 'OTP_INVALID' })

    expect(await failure(client.updateProfile({ role: 'admin' } as never))).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' })
    expect(await failure(client.revokeSession(crypto.randomUUID()))).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    expect(await failure(client.changePassword({ currentPassword: 'Wrong-pass-1', newPassword: 'Another-pass-2' }))).toMatchObject({
      status: 401,
    })
    expect(client.state).toBe('signed-in') // ordinary refusals do not sign out

    const anonymous = clientFor(browser()).client
    expect(await failure(anonymous.profile())).toMatchObject({ status: 401, code: 'TOKEN_MISSING' })
  })

  it('a request that never gets an answer is NETWORK_ERROR (status 0) and does not sign out', async () => {
    const b = browser()
    let offline: 'all' | 'refresh' | false = false
    const signedOut: SignedOutEvent[] = []
    const client = createAuthClient({
      baseUrl: ORIGIN,
      onSignedOut: (event) => signedOut.push(event),
      fetch: (input, init) => {
        const refresh = String(input).endsWith('/api/auth/refresh')
        if (offline === 'all' || (offline === 'refresh' && refresh)) return Promise.reject(new TypeError('Failed to fetch'))
        return b.fetch(input, init)
      },
    })
    await signUpAndIn(client)

    offline = 'all'
    expect(await failure(client.profile())).toMatchObject({ status: 0, code: 'NETWORK_ERROR', message: 'Failed to fetch' })
    expect(client.state).toBe('signed-in')

    // The access token expires and the refresh cannot get through: the call fails, the session stays.
    vi.setSystemTime(Date.now() + SIXTEEN_MINUTES)
    offline = 'refresh'
    expect(await failure(client.profile())).toMatchObject({ status: 0, code: 'NETWORK_ERROR' })
    expect(client.state).toBe('signed-in')
    expect(signedOut).toEqual([])

    // Back online, the same call refreshes and succeeds.
    offline = false
    expect((await client.profile()).id).toBe(client.user?.id)
    expect(b.count('/api/auth/refresh')).toBe(1)
  })
})

describe('auth client: across tabs (Web Locks)', () => {
  /** A stand-in for `navigator.locks`: one holder per name at a time, like the browser's. */
  function fakeLocks() {
    const names: string[] = []
    let tail = Promise.resolve()
    const request = <T>(name: string, _options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T> => {
      names.push(name)
      const run = tail.then(callback)
      tail = run.then(
        () => undefined,
        () => undefined,
      )
      return run
    }
    return { names, locks: { request } }
  }

  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('two clients sharing one cookie jar refresh one after the other, each with the newest cookie', async () => {
    const { names, locks } = fakeLocks()
    vi.stubGlobal('navigator', { locks })
    const b = browser()
    const tabA = clientFor(b).client
    await signUpAndIn(tabA)
    const tabB = clientFor(b).client
    await tabB.restore()
    const before = b.sent.length
    await Promise.all([tabA.refresh(), tabB.refresh()])
    const refreshes = b.sent.slice(before).filter((s) => s.path === '/api/auth/refresh')
    expect(refreshes.map((s) => s.status)).toEqual([200, 200])
    // Never the same refresh token twice: the second tab sent the cookie the first one's rotation set.
    expect(new Set(refreshes.map((s) => s.cookie)).size).toBe(2)
    expect(names.every((name) => name === `edge-auth:refresh:${ORIGIN}`)).toBe(true)
    expect(tabA.isSignedIn && tabB.isSignedIn).toBe(true)
  })

  it('does not lock with the body transport, or when crossTabLock is false', async () => {
    const { names, locks } = fakeLocks()
    vi.stubGlobal('navigator', { locks })
    const b = browser()
    const { client } = clientFor(b, 'body')
    await signUpAndIn(client)
    await client.refresh()
    const unlocked = createAuthClient({ baseUrl: ORIGIN, fetch: b.fetch, crossTabLock: false })
    await unlocked.restore()
    expect(names).toEqual([])
  })
})

describe('auth client: resendVerifyEmail', () => {
  it('posts {email} to /api/auth/verify-email/resend and turns an error answer into AuthClientError', async () => {
    const b = browser()
    const { client } = clientFor(b)
    const outcome = await client.resendVerifyEmail({ email: uniqueEmail('resend') }).then(
      () => undefined,
      (e: unknown) => e,
    )
    const sent = b.sent.at(-1)!
    expect(sent).toMatchObject({ method: 'POST', path: '/api/auth/verify-email/resend' })
    expect(JSON.parse(sent.body ?? '{}')).toEqual({ email: expect.stringMatching(/^resend-/) })
    // Where the route is not there yet, the answer is the API's own 404, as an AuthClientError.
    if (sent.status !== 200) expect(outcome).toBeInstanceOf(AuthClientError)
    else expect(outcome).toBeUndefined()
  })
})
