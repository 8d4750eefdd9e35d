import { env } from 'cloudflare:workers'
import { decodeJwt } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseSessionCheck } from '../src/config'
import { cachedSession, cachedSessionCount, MAX_ENTRIES, rememberSession } from '../src/services/session-cache'
import type { AuthContext } from '../src/types'
import { body, call, expectError, signIn, type CallInit, type Session } from './helpers'

afterEach(() => {
  vi.useRealTimers()
})

const sid = (token: string) => decodeJwt(token).sid as string

/**
 * A revocation made where this isolate cannot see it (another isolate, another location): the
 * row changes in D1 and nothing in this isolate hears of it.
 */
const revokeElsewhere = (sessionId: string) =>
  env.DB.prepare("UPDATE sessions SET revoked_at = ?2, revoked_reason = 'test_elsewhere' WHERE id = ?1").bind(sessionId, Date.now()).run()

const profile = (session: Session, init: CallInit = {}) => call('/api/user/profile', { token: session.accessToken, ...init })

describe('SESSION_CHECK=primary (the default)', () => {
  it('refuses a session revoked anywhere at once', async () => {
    const session = await signIn()
    expect((await profile(session)).status).toBe(200)
    await revokeElsewhere(sid(session.accessToken))
    await expectError(await profile(session), 401, 'TOKEN_REVOKED')
  })
})

describe('SESSION_CHECK=cached:5', () => {
  const cached = { env: { SESSION_CHECK: 'cached:5' } } satisfies CallInit

  it('still accepts a session revoked elsewhere within the 5 s window (the documented trade-off), and refuses it after', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const session = await signIn()
    expect((await profile(session, cached)).status).toBe(200)
    await revokeElsewhere(sid(session.accessToken))

    vi.setSystemTime(t0 + 4_900)
    const stale = await profile(session, cached)
    expect(stale.status).toBe(200)
    expect((await body(stale)).data.user.id).toBe(session.userId)

    vi.setSystemTime(t0 + 5_001)
    await expectError(await profile(session, cached), 401, 'TOKEN_REVOKED')
  })

  it('re-reads D1 when the window has passed, so a live session keeps working', async () => {
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const session = await signIn()
    expect((await profile(session, cached)).status).toBe(200)
    vi.setSystemTime(t0 + 6_000)
    expect((await profile(session, cached)).status).toBe(200)
  })

  it('shows the client its own logout at once in the isolate that served it', async () => {
    const session = await signIn({ transport: 'body' })
    expect((await profile(session, cached)).status).toBe(200)
    const out = await call('/api/auth/logout', { json: { refreshToken: session.refreshToken }, ...cached })
    expect(out.status).toBe(200)
    await expectError(await profile(session, cached), 401, 'TOKEN_REVOKED')
  })

  it('shows a revocation of another session made through this isolate at once', async () => {
    const first = await signIn()
    const second = await signIn({ email: first.email, password: first.password })
    expect((await profile(second, cached)).status).toBe(200)
    const revoked = await call(`/api/auth/sessions/${sid(second.accessToken)}`, { method: 'DELETE', token: first.accessToken, ...cached })
    expect(revoked.status).toBe(200)
    await expectError(await profile(second, cached), 401, 'TOKEN_REVOKED')
  })

  it('never uses the cache with the default setting', async () => {
    const session = await signIn()
    expect((await profile(session, cached)).status).toBe(200)
    await revokeElsewhere(sid(session.accessToken))
    await expectError(await profile(session), 401, 'TOKEN_REVOKED')
  })
})

describe('the session cache', () => {
  const auth = (i: number): AuthContext =>
    ({ userId: `user-${i}`, sessionId: `session-${i}`, role: 'user', user: {} as AuthContext['user'], aal: 'aal1', amr: ['pwd'] }) as AuthContext

  it(`keeps at most ${MAX_ENTRIES} sessions, dropping the least recently used`, () => {
    const now = Date.now()
    for (let i = 0; i <= MAX_ENTRIES + 100; i++) {
      rememberSession(auth(i), 60, now + 3_600_000, now)
      // Session 0 is used all along, so it is never the coldest.
      if (i % 1000 === 0) expect(cachedSession('session-0', 'user-0', now)).toBeDefined()
    }
    expect(cachedSessionCount()).toBeLessThanOrEqual(MAX_ENTRIES)
    expect(cachedSession('session-0', 'user-0', now)).toBeDefined()
    expect(cachedSession('session-1', 'user-1', now)).toBeUndefined()
    expect(cachedSession(`session-${MAX_ENTRIES + 100}`, `user-${MAX_ENTRIES + 100}`, now)).toBeDefined()
  })

  it('never stands for a session past its own end, nor for another user', () => {
    const now = Date.now()
    rememberSession(auth(-1), 60, now + 1_000, now)
    expect(cachedSession('session--1', 'someone-else', now)).toBeUndefined()
    rememberSession(auth(-2), 60, now + 1_000, now)
    expect(cachedSession('session--2', 'user--2', now + 999)).toBeDefined()
    expect(cachedSession('session--2', 'user--2', now + 1_000)).toBeUndefined()
  })
})

/** env.DB with every session it opens recorded, and which statements ran on which session. */
function recordingDb() {
  const opened: string[] = []
  const statements: { constraint: string; sql: string }[] = []
  const db = {
    prepare: (sql: string) => env.DB.prepare(sql),
    batch: (list: D1PreparedStatement[]) => env.DB.batch(list),
    exec: (sql: string) => env.DB.exec(sql),
    withSession(constraint?: string) {
      const name = constraint ?? '(none)'
      opened.push(name)
      const session = env.DB.withSession(constraint as D1SessionConstraint)
      return {
        prepare(sql: string) {
          statements.push({ constraint: name, sql })
          return session.prepare(sql)
        },
        batch: (list: D1PreparedStatement[]) => session.batch(list),
        getBookmark: () => session.getBookmark(),
      }
    },
  }
  /** The session the session check's read ran on. */
  const checkReadOn = () => statements.find((s) => s.sql.includes('FROM sessions s JOIN users u'))?.constraint
  return { opened, statements, checkReadOn, env: { DB: db } as unknown as CallInit['env'] }
}

describe('SESSION_CHECK=replica', () => {
  const replica = { SESSION_CHECK: 'replica' }

  it('reads the check on the session of the bookmark the client sent, and answers a bookmark back', async () => {
    const session = await signIn()
    const first = await profile(session)
    const bookmark = first.headers.get('X-D1-Bookmark')!
    expect(bookmark).toBeTruthy()

    const spy = recordingDb()
    const response = await profile(session, { env: { ...spy.env, ...replica }, headers: { 'X-D1-Bookmark': bookmark } })
    expect(response.status).toBe(200)
    expect(spy.checkReadOn()).toBe(bookmark)
    const echoed = response.headers.get('X-D1-Bookmark')
    expect(echoed).toBeTruthy()
    expect(echoed! >= bookmark).toBe(true)
  })

  it('reads the nearest replica (first-unconstrained) when the client sends no bookmark', async () => {
    const session = await signIn()
    const spy = recordingDb()
    expect((await profile(session, { env: { ...spy.env, ...replica } })).status).toBe(200)
    expect(spy.checkReadOn()).toBe('first-unconstrained')
  })

  it('keeps the check on the primary by default', async () => {
    const session = await signIn()
    const spy = recordingDb()
    expect((await profile(session, { env: spy.env, headers: { 'X-D1-Bookmark': (await profile(session)).headers.get('X-D1-Bookmark')! } })).status).toBe(200)
    expect(spy.checkReadOn()).toBe('first-primary')
  })

  it('keeps refresh rotation on the primary', async () => {
    const session = await signIn({ transport: 'body' })
    const spy = recordingDb()
    const response = await call('/api/auth/refresh', { json: { refreshToken: session.refreshToken }, env: { ...spy.env, ...replica } })
    expect(response.status).toBe(200)
    expect(spy.opened).not.toContain('first-unconstrained')
    expect(new Set(spy.statements.map((s) => s.constraint))).toEqual(new Set(['first-primary']))
  })

  it('shows the revoking client its revocation through the bookmark it got back', async () => {
    const first = await signIn()
    const second = await signIn({ email: first.email, password: first.password })
    const revoked = await call(`/api/auth/sessions/${sid(second.accessToken)}`, { method: 'DELETE', token: first.accessToken, env: replica })
    expect(revoked.status).toBe(200)
    const bookmark = revoked.headers.get('X-D1-Bookmark')
    expect(bookmark).toBeTruthy()
    const spy = recordingDb()
    const after = await profile(second, { env: { ...spy.env, ...replica }, headers: { 'X-D1-Bookmark': bookmark! } })
    await expectError(after, 401, 'TOKEN_REVOKED')
    expect(spy.checkReadOn()).toBe(bookmark)
  })

  it('answers a logout with a bookmark that shows the client its own logout', async () => {
    const session = await signIn({ transport: 'body' })
    const before = (await profile(session, { env: replica })).headers.get('X-D1-Bookmark')!
    const out = await call('/api/auth/logout', { json: { refreshToken: session.refreshToken }, env: replica })
    expect(out.status).toBe(200)
    const bookmark = out.headers.get('X-D1-Bookmark')
    expect(bookmark).toBeTruthy()
    expect(bookmark! > before).toBe(true)
    await expectError(await profile(session, { env: replica, headers: { 'X-D1-Bookmark': bookmark! } }), 401, 'TOKEN_REVOKED')
    // Nothing to show for a logout that ended nothing (a second one, or a token of no session).
    const again = await call('/api/auth/logout', { json: { refreshToken: session.refreshToken }, env: replica })
    expect(again.status).toBe(200)
    expect(again.headers.get('X-D1-Bookmark')).toBeNull()
  })
})

describe('SESSION_CHECK values', () => {
  it('reads primary, replica, cached:<1-60> and replica+cached:<1-60>, and nothing else', () => {
    expect(parseSessionCheck('primary')).toEqual({ source: 'primary', cacheSeconds: 0 })
    expect(parseSessionCheck('replica')).toEqual({ source: 'replica', cacheSeconds: 0 })
    expect(parseSessionCheck('cached:5')).toEqual({ source: 'primary', cacheSeconds: 5 })
    expect(parseSessionCheck('primary+cached:60')).toEqual({ source: 'primary', cacheSeconds: 60 })
    expect(parseSessionCheck('replica+cached:1')).toEqual({ source: 'replica', cacheSeconds: 1 })
    for (const bad of ['cached', 'cached:0', 'cached:61', 'cached:5s', 'replica+', 'Primary', 'cached:5+replica', '']) {
      expect(parseSessionCheck(bad), bad).toBeUndefined()
    }
  })

  it('answers 503 CONFIG_ERROR for a value it does not accept', async () => {
    const session = await signIn()
    await expectError(await profile(session, { env: { SESSION_CHECK: 'cached:90' } }), 503, 'CONFIG_ERROR')
  })
})
