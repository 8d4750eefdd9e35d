import { decodeJwt } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, freshIp, lastCode, refreshCookie, register, type CallInit } from './helpers'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/
const SESSION_KEYS = ['aal', 'amr', 'createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent']
const THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000

afterEach(() => {
  vi.useRealTimers()
})

/** Moves the clock a second forward, so consecutive sign-ins get distinct creation times. */
const tick = () => vi.setSystemTime(Date.now() + 1_000)

interface Client {
  userAgent: string
  ip: string
}

interface SignedIn {
  accessToken: string
  refreshToken: string
  sessionId: string
  userId: string
}

/** Password + code login of an existing account from a given client (User-Agent and address). */
async function signInFrom(email: string, password: string, client: Client): Promise<SignedIn> {
  const init = { headers: { 'User-Agent': client.userAgent }, ip: client.ip }
  const login = await call('/api/auth/login', { json: { email, password }, ...init })
  expect(login.status).toBe(200)
  const { challengeId } = (await body(login)).data
  const verified = await call('/api/auth/verify-otp', { json: { challengeId, otp: lastCode(email, 'login') }, ...init })
  expect(verified.status).toBe(200)
  const data = (await body(verified)).data
  const refreshToken = refreshCookie(verified)
  expect(refreshToken).toBeTruthy()
  const sessionId = decodeJwt(data.accessToken).sid as string
  expect(sessionId).toMatch(UUID)
  return { accessToken: data.accessToken, refreshToken: refreshToken!, sessionId, userId: data.user.id }
}

/** A fresh account with `count` sessions, each from its own client, a second apart (oldest first). */
async function accountWithSessions(count: number) {
  const { email, password } = await register()
  const clients: Client[] = []
  const sessions: SignedIn[] = []
  for (let i = 0; i < count; i++) {
    if (i > 0) tick()
    const client = { userAgent: `TestBrowser/${i + 1}.0 (session ${i + 1})`, ip: freshIp() }
    clients.push(client)
    sessions.push(await signInFrom(email, password, client))
  }
  return { email, password, clients, sessions }
}

const listSessions = (token?: string) => call('/api/auth/sessions', { token })
const revokeSession = (id: string, token?: string) => call(`/api/auth/sessions/${id}`, { method: 'DELETE', token })
const logoutAll = (init: CallInit = {}) => call('/api/auth/logout-all', { method: 'POST', ...init })
const refresh = (cookie: string) => call('/api/auth/refresh', { method: 'POST', cookie })
const profile = (token: string) => call('/api/user/profile', { token })

async function sessionsOf(token: string) {
  const response = await listSessions(token)
  expect(response.status).toBe(200)
  const json = await body(response)
  expect(json.success).toBe(true)
  expect(Array.isArray(json.data.sessions)).toBe(true)
  return json.data.sessions as Array<{
    id: string
    createdAt: string
    lastUsedAt: string
    expiresAt: string
    userAgent: string | null
    ip: string | null
    current: boolean
    aal: string
    amr: string[]
  }>
}

/** Both tokens of a session are refused with TOKEN_REVOKED. */
async function expectSessionRevoked(session: SignedIn) {
  await expectError(await profile(session.accessToken), 401, 'TOKEN_REVOKED')
  await expectError(await refresh(session.refreshToken), 401, 'TOKEN_REVOKED')
}

/** Both tokens of a session still work (the refresh rotates, so it is done last). */
async function expectSessionLive(session: SignedIn) {
  const me = await profile(session.accessToken)
  expect(me.status).toBe(200)
  expect((await body(me)).data.user.id).toBe(session.userId)
  const refreshed = await refresh(session.refreshToken)
  expect(refreshed.status).toBe(200)
  expect(refreshCookie(refreshed)).toBeTruthy()
}

describe('GET /api/auth/sessions', () => {
  it("lists the caller's live sessions newest first with exactly the documented fields", async () => {
    const { clients, sessions } = await accountWithSessions(2)
    const [older, newer] = sessions as [SignedIn, SignedIn]

    const listed = await sessionsOf(older.accessToken)
    expect(listed.map((session) => session.id)).toEqual([newer.sessionId, older.sessionId])
    for (const session of listed) {
      expect(Object.keys(session).sort()).toEqual(SESSION_KEYS)
      // A password plus a mailed code: two methods, one factor of possession short of aal2.
      expect({ aal: session.aal, amr: session.amr }).toEqual({ aal: 'aal1', amr: ['pwd', 'email_otp'] })
      expect(session.createdAt).toMatch(ISO)
      expect(session.lastUsedAt).toMatch(ISO)
      expect(session.expiresAt).toMatch(ISO)
      // Default absolute lifetime: 30 days from the sign-in.
      expect(Date.parse(session.expiresAt) - Date.parse(session.createdAt)).toBe(THIRTY_DAYS_MS)
      expect(Date.parse(session.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(session.createdAt))
    }
    expect(Date.parse(listed[0]!.createdAt)).toBeGreaterThan(Date.parse(listed[1]!.createdAt))

    expect(listed[0]).toMatchObject({ userAgent: clients[1]!.userAgent, ip: clients[1]!.ip })
    expect(listed[1]).toMatchObject({ userAgent: clients[0]!.userAgent, ip: clients[0]!.ip })
    expect(clients[0]!.ip).not.toBe(clients[1]!.ip)
  })

  it('marks exactly one session current: the one whose access token made the call', async () => {
    const { sessions } = await accountWithSessions(2)
    const [older, newer] = sessions as [SignedIn, SignedIn]

    const asOlder = await sessionsOf(older.accessToken)
    expect(asOlder.filter((session) => session.current).map((session) => session.id)).toEqual([older.sessionId])

    const asNewer = await sessionsOf(newer.accessToken)
    expect(asNewer.filter((session) => session.current).map((session) => session.id)).toEqual([newer.sessionId])
    expect(asNewer.find((session) => session.id === older.sessionId)?.current).toBe(false)
  })

  it('lists only the caller’s sessions, never another account’s', async () => {
    const mine = await accountWithSessions(1)
    const theirs = await accountWithSessions(1)
    const listed = await sessionsOf(mine.sessions[0]!.accessToken)
    expect(listed.map((session) => session.id)).toEqual([mine.sessions[0]!.sessionId])
    expect(listed.map((session) => session.id)).not.toContain(theirs.sessions[0]!.sessionId)
  })

  it('leaves out sessions that were logged out or revoked', async () => {
    const { sessions } = await accountWithSessions(3)
    const [first, second, third] = sessions as [SignedIn, SignedIn, SignedIn]

    const loggedOut = await call('/api/auth/logout', { method: 'POST', cookie: first.refreshToken })
    expect(loggedOut.status).toBe(200)
    expect((await revokeSession(second.sessionId, third.accessToken)).status).toBe(200)

    const listed = await sessionsOf(third.accessToken)
    expect(listed.map((session) => session.id)).toEqual([third.sessionId])
    expect(listed[0]!.current).toBe(true)
  })

  it('answers 401 TOKEN_MISSING without an access token', async () => {
    await expectError(await listSessions(), 401, 'TOKEN_MISSING')
  })

  it('answers 401 TOKEN_MISSING to a refresh cookie alone (the cookie is not a bearer token)', async () => {
    const { sessions } = await accountWithSessions(1)
    const response = await call('/api/auth/sessions', { cookie: sessions[0]!.refreshToken })
    await expectError(response, 401, 'TOKEN_MISSING')
  })
})

describe('DELETE /api/auth/sessions/:id', () => {
  it("revokes one of the caller's own sessions: its refresh and access tokens are refused at once", async () => {
    const { sessions } = await accountWithSessions(2)
    const [older, newer] = sessions as [SignedIn, SignedIn]

    const response = await revokeSession(older.sessionId, newer.accessToken)
    expect(response.status).toBe(200)
    expect((await body(response)).success).toBe(true)

    await expectError(await refresh(older.refreshToken), 401, 'TOKEN_REVOKED')
    await expectError(await profile(older.accessToken), 401, 'TOKEN_REVOKED')

    // The caller's own session is untouched.
    await expectSessionLive(newer)
  })

  it('can revoke the current session itself', async () => {
    const { sessions } = await accountWithSessions(1)
    const [only] = sessions as [SignedIn]
    expect((await revokeSession(only.sessionId, only.accessToken)).status).toBe(200)
    await expectSessionRevoked(only)
  })

  it("answers 404 NOT_FOUND for another user's session and leaves that session working (IDOR)", async () => {
    const attacker = await accountWithSessions(1)
    const victim = await accountWithSessions(1)
    const victimSession = victim.sessions[0]!

    const response = await revokeSession(victimSession.sessionId, attacker.sessions[0]!.accessToken)
    await expectError(response, 404, 'NOT_FOUND')

    expect((await sessionsOf(victimSession.accessToken)).map((session) => session.id)).toEqual([victimSession.sessionId])
    await expectSessionLive(victimSession)
  })

  it('answers 404 NOT_FOUND for a random uuid and for an id that is not a uuid', async () => {
    const { sessions } = await accountWithSessions(1)
    const [only] = sessions as [SignedIn]

    await expectError(await revokeSession(crypto.randomUUID(), only.accessToken), 404, 'NOT_FOUND')
    await expectError(await revokeSession('not-a-uuid', only.accessToken), 404, 'NOT_FOUND')
    await expectError(await revokeSession("1' OR '1'='1", only.accessToken), 404, 'NOT_FOUND')

    // Nothing was revoked along the way.
    await expectSessionLive(only)
  })

  it('answers 404 NOT_FOUND for a session that is already revoked', async () => {
    const { sessions } = await accountWithSessions(2)
    const [older, newer] = sessions as [SignedIn, SignedIn]

    expect((await revokeSession(older.sessionId, newer.accessToken)).status).toBe(200)
    await expectError(await revokeSession(older.sessionId, newer.accessToken), 404, 'NOT_FOUND')
    await expectSessionLive(newer)
  })

  it('answers 401 TOKEN_MISSING without an access token and revokes nothing', async () => {
    const { sessions } = await accountWithSessions(1)
    const [only] = sessions as [SignedIn]
    await expectError(await revokeSession(only.sessionId), 401, 'TOKEN_MISSING')
    await expectSessionLive(only)
  })
})

describe('POST /api/auth/logout-all', () => {
  it('revokes every session of the caller, answers {revoked: n} and clears the cookie', async () => {
    const { sessions } = await accountWithSessions(3)
    const caller = sessions[1]!

    const response = await logoutAll({ token: caller.accessToken, cookie: caller.refreshToken })
    expect(response.status).toBe(200)
    const json = await body(response)
    expect(json.success).toBe(true)
    expect(json.data).toEqual({ revoked: 3 })

    const cleared = response.headers.getSetCookie().find((line) => line.startsWith('__Host-refresh_token='))
    expect(cleared).toBeDefined()
    expect(refreshCookie(response)).toBeUndefined()
    expect(cleared).toMatch(/;\s*Max-Age=0(;|$)/i)
    expect(cleared).toMatch(/;\s*Path=\/(;|$)/)

    for (const session of sessions) await expectSessionRevoked(session)
  })

  it('counts only live sessions and leaves other accounts alone', async () => {
    const { sessions } = await accountWithSessions(3)
    const other = await accountWithSessions(1)
    const [first, second, third] = sessions as [SignedIn, SignedIn, SignedIn]
    expect((await call('/api/auth/logout', { method: 'POST', cookie: first.refreshToken })).status).toBe(200)

    const response = await logoutAll({ token: third.accessToken })
    expect(response.status).toBe(200)
    expect((await body(response)).data).toEqual({ revoked: 2 })

    await expectSessionRevoked(second)
    await expectSessionRevoked(third)
    await expectSessionLive(other.sessions[0]!)
  })

  it('answers 401 TOKEN_MISSING without an access token and revokes nothing', async () => {
    const { sessions } = await accountWithSessions(1)
    const [only] = sessions as [SignedIn]
    await expectError(await logoutAll(), 401, 'TOKEN_MISSING')
    await expectError(await logoutAll({ cookie: only.refreshToken }), 401, 'TOKEN_MISSING')
    await expectSessionLive(only)
  })
})
