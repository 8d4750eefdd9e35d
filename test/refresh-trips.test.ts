import { env } from 'cloudflare:workers'
import { decodeJwt } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { advance, body, call, failingD1, refreshCookie, register, signIn, startLogin, type CallInit, type Executed } from './helpers'

const MINUTE = 60_000

afterEach(() => {
  vi.useRealTimers()
})

/** D1 round trips in a log: each batch is one, each statement run alone is one. */
const roundTrips = (log: readonly Executed[]) => new Set(log.map((e) => (e.batch === null ? `single ${e.n}` : `batch ${e.batch}`))).size

/** A refresh with the cookie, through a double that counts what reaches D1. */
async function countedRefresh(cookie: string, init: CallInit = {}) {
  const db = failingD1(env.DB, Infinity)
  const response = await call('/api/auth/refresh', { method: 'POST', cookie, ...init, env: { ...init.env, DB: db as never } })
  return { response, trips: roundTrips(db.log), log: db.log }
}

describe('POST /api/auth/refresh round trips', () => {
  it('decides a rotation in one D1 round trip', async () => {
    const s = await signIn()
    const { response, trips, log } = await countedRefresh(s.refreshToken)
    expect(response.status).toBe(200)
    expect(trips).toBe(1)
    // The decision, the successor and the state read back are one batch, the state read last.
    expect(log.some((e) => /^UPDATE refresh_tokens SET rotated_at/i.test(e.sql))).toBe(true)
    expect(log.at(-1)!.sql).toMatch(/^SELECT .* FROM refresh_tokens t JOIN sessions s/s)
  })

  it('answers a replay inside the grace window in one round trip too, with the same successor', async () => {
    const s = await signIn()
    const first = await call('/api/auth/refresh', { method: 'POST', cookie: s.refreshToken })
    const again = await countedRefresh(s.refreshToken)
    expect(again.response.status).toBe(200)
    // The `refresh_grace` audit row is written after the response, on its own.
    expect(roundTrips(again.log.filter((e) => !/insert into "audit_events"/i.test(e.sql)))).toBe(1)
    expect(refreshCookie(again.response)).toBe(refreshCookie(first))
  })

  it('refuses a revoked session in one round trip, with TOKEN_REVOKED', async () => {
    const s = await signIn()
    expect((await call('/api/auth/logout', { method: 'POST', cookie: s.refreshToken })).status).toBe(200)
    const { response, trips } = await countedRefresh(s.refreshToken)
    expect(response.status).toBe(401)
    expect((await body(response)).error).toBe('TOKEN_REVOKED')
    expect(trips).toBe(1)
  })

  it('ends the successor with the session when that comes first, signing the token with the stored end', async () => {
    const overrides = { SESSION_MAX_AGE: '1h', REFRESH_TOKEN_TTL: '40m' }
    const t0 = Date.now()
    vi.setSystemTime(t0)
    const { email, password } = await register({ env: overrides })
    const { challengeId, code } = await startLogin(email, password, overrides)
    const login = await call('/api/auth/verify-otp', { json: { challengeId, otp: code }, env: overrides })
    expect(login.status).toBe(200)
    const first = refreshCookie(login)!
    const sessionEnd = decodeJwt(first).iat! + 3600

    // 30 minutes on, a full 40 minutes would pass the session's end: the one refresh that re-signs.
    advance(30 * MINUTE)
    const crossing = await countedRefresh(first, { env: overrides })
    expect(crossing.response.status).toBe(200)
    expect(crossing.trips).toBe(2)
    const cut = refreshCookie(crossing.response)!
    expect(decodeJwt(cut).exp).toBeGreaterThanOrEqual(sessionEnd - 1)
    expect(decodeJwt(cut).exp).toBeLessThanOrEqual(sessionEnd)

    // The grace window hands back that very token, re-signed from its stored record.
    const replay = await call('/api/auth/refresh', { method: 'POST', cookie: first, env: overrides })
    expect(replay.status).toBe(200)
    expect(refreshCookie(replay)).toBe(cut)

    // From a token already cut short, the successor's end is known before the batch: one round trip.
    advance(11_000)
    const next = await countedRefresh(cut, { env: overrides })
    expect(next.response.status).toBe(200)
    expect(next.trips).toBe(1)
    expect(decodeJwt(refreshCookie(next.response)!).exp).toBe(decodeJwt(cut).exp)
    expect((await call('/api/auth/refresh', { method: 'POST', cookie: refreshCookie(next.response)!, env: overrides })).status).toBe(200)
  })
})
