import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, lastCode, PASSWORD, refreshCookie, register, signIn, startLogin, uniqueEmail, type CallInit, type Session } from './helpers'
import { failingD1, type Executed, type FailingD1 } from './helpers'

const NEW_PASSWORD = 'Battery-staple-42!'

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

type Probe = (db: FailingD1) => Promise<unknown>

/** Runs `scenario` against a counting double and returns what it executed. */
async function dryRun(scenario: Probe): Promise<Executed[]> {
  const db = failingD1(env.DB, Infinity)
  await scenario(db)
  expect(db.count).toBe(db.log.length)
  return [...db.log]
}

/**
 * The statement to fail: the one after the first statement matching `pattern` when that one is
 * part of a batch (the rest of an atomic batch must not commit without it) or run alone.
 */
function statementAfter(log: Executed[], pattern: RegExp): number {
  const hit = log.find((entry) => pattern.test(entry.sql))
  if (!hit) throw new Error(`no statement matches ${pattern}:\n${log.map((e) => `${e.n} [${e.batch}] ${e.sql}`).join('\n')}`)
  return hit.n + 1
}

/** The position of the first statement matching `pattern`. */
function statementAt(log: Executed[], pattern: RegExp): number {
  const hit = log.find((entry) => pattern.test(entry.sql))
  if (!hit) throw new Error(`no statement matches ${pattern}:\n${log.map((e) => `${e.n} [${e.batch}] ${e.sql}`).join('\n')}`)
  return hit.n
}

const withDb = (db: FailingD1): CallInit['env'] => ({ DB: db as never })

/** A 503 in the error envelope, with nothing of the database in it. */
async function expectUnavailable(response: Response) {
  expect(response.status).toBe(503)
  const text = await response.clone().text()
  const json = JSON.parse(text) as Record<string, unknown>
  expect(json.success).toBe(false)
  expect(typeof json.error).toBe('string')
  expect(typeof json.message).toBe('string')
  expect(Object.keys(json).sort()).toEqual(expect.arrayContaining(['error', 'message', 'success']))
  expect(text).not.toMatch(/D1_ERROR|injected|SQLITE|Failed query|select |update |insert |delete from|refresh_tokens|sessions|\bat .+:\d+:\d+|stack/i)
}

const refreshWith = (cookie: string, init: CallInit = {}) => call('/api/auth/refresh', { method: 'POST', cookie, ...init })
const profile = (token: string) => call('/api/user/profile', { token })

/** The double must really sit between the app and D1, and a failure must not be faked by it. */
describe('the failing D1 double', () => {
  it('counts every statement in a dry run and leaves behaviour unchanged', async () => {
    const s = await signIn()
    const db = failingD1(env.DB, Infinity)
    const response = await refreshWith(s.refreshToken, { env: withDb(db) })
    expect(response.status).toBe(200)
    expect(db.count).toBeGreaterThan(1)
    expect(db.log.some((entry) => entry.batch !== null)).toBe(true)
  })

  it('makes a request fail at the chosen statement', async () => {
    const s = await signIn()
    const db = failingD1(env.DB, 1)
    await expectUnavailable(await call('/api/user/profile', { token: s.accessToken, env: withDb(db) }))
    expect(db.count).toBe(1)
  })
})

describe('POST /api/auth/refresh when the rotation batch fails', () => {
  it('answers 503 without a cookie, and the original refresh token still refreshes afterwards', async () => {
    const rotate = /update "?refresh_tokens"? set "?rotated_at"?/i
    const probe = await signIn()
    const log = await dryRun(async (db) => expect((await refreshWith(probe.refreshToken, { env: withDb(db) })).status).toBe(200))
    const failAt = statementAfter(log, rotate)
    expect(log[failAt - 1]!.batch).toBe(log[statementAt(log, rotate) - 1]!.batch)

    const s = await signIn()
    const db = failingD1(env.DB, failAt)
    const failed = await refreshWith(s.refreshToken, { env: withDb(db) })
    await expectUnavailable(failed)
    expect(db.count).toBeGreaterThanOrEqual(failAt)
    expect(failed.headers.getSetCookie()).toEqual([])
    expect(refreshCookie(failed)).toBeUndefined()

    // Data as it was: the token was not rotated, so it refreshes (not a replay), once.
    const retried = await refreshWith(s.refreshToken)
    expect(retried.status).toBe(200)
    const next = refreshCookie(retried)!
    expect(next).toBeTruthy()
    expect((await profile((await body(retried)).data.accessToken)).status).toBe(200)
    expect((await refreshWith(next)).status).toBe(200)
  })

  it('answers 503 for a failure at the start of the rotation too, and nothing is revoked', async () => {
    const rotate = /update "?refresh_tokens"? set "?rotated_at"?/i
    const probe = await signIn()
    const log = await dryRun(async (db) => expect((await refreshWith(probe.refreshToken, { env: withDb(db) })).status).toBe(200))
    const s = await signIn()
    const failed = await refreshWith(s.refreshToken, { env: withDb(failingD1(env.DB, statementAt(log, rotate))) })
    await expectUnavailable(failed)
    expect(refreshCookie(failed)).toBeUndefined()
    expect((await profile(s.accessToken)).status).toBe(200)
    expect((await refreshWith(s.refreshToken)).status).toBe(200)
  })
})

describe('POST /api/auth/password/reset when its batch fails', () => {
  /** A registered account with a reset code in its inbox. */
  async function withResetCode() {
    const account = await register()
    expect((await call('/api/auth/password/forgot', { json: { email: account.email } })).status).toBe(200)
    return { ...account, otp: lastCode(account.email, 'reset_password') }
  }

  const reset = (email: string, otp: string, init: CallInit = {}) =>
    call('/api/auth/password/reset', { json: { email, otp, newPassword: NEW_PASSWORD }, ...init })

  it('answers 503; the old password still logs in and the same code then works', async () => {
    const spend = /update "otp_codes" set "consumed_at"/i
    const probe = await withResetCode()
    const log = await dryRun(async (db) => expect((await reset(probe.email, probe.otp, { env: withDb(db) })).status).toBe(200))
    const failAt = statementAfter(log, spend)

    const a = await withResetCode()
    const session = await signIn({ email: a.email, password: a.password })
    const db = failingD1(env.DB, failAt)
    await expectUnavailable(await reset(a.email, a.otp, { env: withDb(db) }))
    expect(db.count).toBeGreaterThanOrEqual(failAt)

    // Nothing committed: the password is the old one and the session was not revoked.
    expect((await profile(session.accessToken)).status).toBe(200)
    await expectError(await call('/api/auth/login', { json: { email: a.email, password: NEW_PASSWORD } }), 401, 'INVALID_CREDENTIALS')
    vi.setSystemTime(Date.now() + 61_000) // past the one-minute gap between login codes
    expect((await call('/api/auth/login', { json: { email: a.email, password: a.password } })).status).toBe(200)

    // The code was not spent: with a healthy database it works, once.
    expect((await reset(a.email, a.otp)).status).toBe(200)
    await expectError(await reset(a.email, a.otp), 401, 'OTP_INVALID')
    expect((await profile(session.accessToken)).status).toBe(401)
    vi.setSystemTime(Date.now() + 61_000)
    expect((await call('/api/auth/login', { json: { email: a.email, password: NEW_PASSWORD } })).status).toBe(200)
  })
})

describe('POST /api/auth/logout-all when the revocation fails', () => {
  it('answers 503 and every session still works', async () => {
    const revokeAll = /update "sessions" set "revoked_at"/i
    const probe = await signIn()
    const log = await dryRun(async (db) => expect((await call('/api/auth/logout-all', { method: 'POST', token: probe.accessToken, env: withDb(db) })).status).toBe(200))
    const failAt = statementAt(log, revokeAll)

    const first = await signIn()
    vi.setSystemTime(Date.now() + 61_000) // a second login code for the same account
    const second = await signIn({ email: first.email, password: first.password })
    const failed = await call('/api/auth/logout-all', { method: 'POST', token: first.accessToken, env: withDb(failingD1(env.DB, failAt)) })
    await expectUnavailable(failed)
    expect(failed.headers.getSetCookie()).toEqual([])

    for (const s of [first, second] as Session[]) {
      expect((await profile(s.accessToken)).status).toBe(200)
      expect((await refreshWith(s.refreshToken)).status).toBe(200)
    }
  })
})

describe('DELETE /api/user/profile when the deletion fails', () => {
  it('answers 503 and the account still works', async () => {
    const softDelete = /^update "users" set .*"deleted_at" = \?/i
    const remove = (s: Session, init: CallInit = {}) =>
      call('/api/user/profile', { method: 'DELETE', json: { password: s.password }, token: s.accessToken, ...init })
    const probe = await signIn()
    const log = await dryRun(async (db) => expect((await remove(probe, { env: withDb(db) })).status).toBe(200))
    const failAt = statementAfter(log, softDelete)

    const s = await signIn()
    const failed = await remove(s, { env: withDb(failingD1(env.DB, failAt)) })
    await expectUnavailable(failed)
    expect(failed.headers.getSetCookie()).toEqual([])

    const me = await profile(s.accessToken)
    expect(me.status).toBe(200)
    expect((await body(me)).data.user.email).toBe(s.email)
    expect((await refreshWith(s.refreshToken)).status).toBe(200)
    vi.setSystemTime(Date.now() + 61_000)
    expect((await call('/api/auth/login', { json: { email: s.email, password: PASSWORD } })).status).toBe(200)
    // The email is still taken: the account was not deleted.
    await expectError(await call('/api/auth/register', { json: { email: s.email, password: PASSWORD, name: 'Again' } }), 409, 'EMAIL_TAKEN')
  })
})

describe('refresh-token reuse when later statements fail', () => {
  /** A session whose first refresh token has been rotated twice: replaying it is reuse, past any grace. */
  async function rotatedTwice() {
    const s = await signIn()
    const r1 = await refreshWith(s.refreshToken)
    expect(r1.status).toBe(200)
    const r2 = await refreshWith(refreshCookie(r1)!)
    expect(r2.status).toBe(200)
    return { original: s.refreshToken, current: refreshCookie(r2)!, accessToken: (await body(r2)).data.accessToken as string }
  }

  it('still ends the session: the revocation is committed before anything else can fail', async () => {
    const revoke = /update "sessions" set "revoked_at"/i
    const probe = await rotatedTwice()
    const log = await dryRun(async (db) => {
      await expectError(await refreshWith(probe.original, { env: withDb(db) }), 401, 'TOKEN_REUSED')
    })
    const failAt = statementAfter(log, revoke)
    expect(failAt).toBeLessThanOrEqual(log.length)

    const t = await rotatedTwice()
    const db = failingD1(env.DB, failAt)
    const replay = await refreshWith(t.original, { env: withDb(db) })
    expect(db.count).toBeGreaterThanOrEqual(failAt)
    expect(refreshCookie(replay)).toBeUndefined()
    if (replay.status === 503) await expectUnavailable(replay)
    else await expectError(replay, 401, 'TOKEN_REUSED')

    // With a healthy database the successor is refused: the session ended.
    await expectError(await refreshWith(t.current), 401, 'TOKEN_REVOKED')
    await expectError(await profile(t.accessToken), 401, 'TOKEN_REVOKED')
  })

  it('answers 503 when the revocation itself fails, and never hands out a token', async () => {
    const revoke = /update "sessions" set "revoked_at"/i
    const probe = await rotatedTwice()
    const log = await dryRun(async (db) => {
      await expectError(await refreshWith(probe.original, { env: withDb(db) }), 401, 'TOKEN_REUSED')
    })
    const t = await rotatedTwice()
    const replay = await refreshWith(t.original, { env: withDb(failingD1(env.DB, statementAt(log, revoke))) })
    await expectUnavailable(replay)
    expect(refreshCookie(replay)).toBeUndefined()
    // Replayed again on a healthy database, the reuse is caught and the session ends.
    await expectError(await refreshWith(t.original), 401, 'TOKEN_REUSED')
    await expectError(await refreshWith(t.current), 401, 'TOKEN_REVOKED')
  })
})

describe('login and verify-otp when D1 fails', () => {
  it('answers 503 (never 500 or a token) when opening the session fails, and the code still works after', async () => {
    const openBatch = /insert into "sessions"/i
    const probeAccount = await register()
    const probe = await startLogin(probeAccount.email, probeAccount.password)
    const log = await dryRun(async (db) =>
      expect((await call('/api/auth/verify-otp', { json: { challengeId: probe.challengeId, otp: probe.code }, env: withDb(db) })).status).toBe(200),
    )
    const account = await register()
    const { challengeId, code } = await startLogin(account.email, account.password)
    const failed = await call('/api/auth/verify-otp', { json: { challengeId, otp: code }, env: withDb(failingD1(env.DB, statementAfter(log, openBatch))) })
    await expectUnavailable(failed)
    expect(refreshCookie(failed)).toBeUndefined()
    const retried = await call('/api/auth/verify-otp', { json: { challengeId, otp: code } })
    expect(retried.status).toBe(200)
  })
})

describe('what a D1 failure leaves in the log', () => {
  it('logs the failure without the password hash or the email of the request', async () => {
    const insertUser = /^insert into "users"/i
    const log = await dryRun(async (db) =>
      expect((await call('/api/auth/register', { json: { email: uniqueEmail('fault-probe'), password: PASSWORD, name: 'Probe' }, env: withDb(db) })).status).toBe(201),
    )
    const email = uniqueEmail('fault-log')
    const errors = vi.spyOn(console, 'error')
    const failed = await call('/api/auth/register', {
      json: { email, password: PASSWORD, name: 'Logged' },
      env: withDb(failingD1(env.DB, statementAt(log, insertUser))),
    })
    await expectUnavailable(failed)
    const lines = errors.mock.calls.map((args) => args.map(String).join(' ')).join('\n')
    errors.mockRestore()
    expect(lines).toContain('request.failed')
    // The PBKDF2 hash (self-describing, `$pbkdf2...`) and the address would be in the failed statement's parameters.
    expect(lines).not.toMatch(/\$pbkdf2/i)
    expect(lines).not.toContain(email)
    // And the account was not created: the email is still free.
    expect((await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'Again' } })).status).toBe(201)
  })
})

describe('a KV failure while registering', () => {
  it('answers 503 and leaves no account behind: the same email registers afterwards', async () => {
    const email = uniqueEmail()
    const brokenKv = {
      get: env.OTP_KV.get.bind(env.OTP_KV),
      delete: env.OTP_KV.delete.bind(env.OTP_KV),
      put: () => Promise.reject(new Error('KV PUT failed: injected')),
    }
    const failed = await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'N' }, env: { OTP_KV: brokenKv as never } })
    expect(failed.status).toBe(503)
    expect(await failed.text()).not.toMatch(/injected|KV PUT/)
    expect((await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'N' } })).status).toBe(201)
  })
})
