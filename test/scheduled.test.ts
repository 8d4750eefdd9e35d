import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { decodeJwt } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker from '../src/index'
// @ts-ignore -- Vite's raw import: the file's text, to check the deployed configuration declares the cron.
import wranglerToml from '../wrangler.toml?raw'
import { body, call, expectError, refreshCookie, register, signIn, type CallInit } from './helpers'

const HOUR = 3_600_000
const DAY = 24 * HOUR

afterEach(() => {
  vi.useRealTimers()
})

/** Runs the worker's scheduled handler as the cron would, at `scheduledTime`. */
async function runScheduled(scheduledTime: number, overrides: Partial<Record<keyof Env, string | undefined>> = {}) {
  const controller = createScheduledController({ scheduledTime, cron: '17 3 * * *' })
  const ctx = createExecutionContext()
  // Called as the runtime calls it: (controller, env, ctx).
  await (worker as ExportedHandler<Env>).scheduled!(controller, { ...env, ...overrides } as Env, ctx)
  await waitOnExecutionContext(ctx)
}

const count = async (sql: string, ...params: unknown[]) =>
  (await env.DB.prepare(sql).bind(...params).first<{ n: number }>())!.n

const sessionRows = (sessionId: string) => count('SELECT count(*) AS n FROM sessions WHERE id = ?', sessionId)
const tokenRowsOfSession = (sessionId: string) => count('SELECT count(*) AS n FROM refresh_tokens WHERE session_id = ?', sessionId)
const tokenRow = (jti: string) => count('SELECT count(*) AS n FROM refresh_tokens WHERE id = ?', jti)

const sid = (accessToken: string) => decodeJwt(accessToken).sid as string
const jti = (refreshToken: string) => decodeJwt(refreshToken).jti as string

const refresh = (init: CallInit) => call('/api/auth/refresh', { method: 'POST', ...init })
const logout = (refreshToken: string) => call('/api/auth/logout', { json: { refreshToken } })

describe('scheduled clean-up', () => {
  it('wrangler.toml declares a cron trigger', () => {
    const triggers = /^\[triggers\][^[]*?^crons\s*=\s*\[([^\]]*)\]/ms.exec(wranglerToml as string)
    expect(triggers).not.toBeNull()
    const crons = [...triggers![1]!.matchAll(/"([^"]*)"/g)].map((match) => match[1]!)
    expect(crons.length).toBeGreaterThan(0)
    for (const cron of crons) expect(cron.trim().split(/\s+/)).toHaveLength(5)
  })

  it('purges sessions and tokens revoked or expired more than a day ago, and keeps live ones working', async () => {
    const now = Date.now()

    // One account, three sessions opened three days ago, a minute apart.
    vi.setSystemTime(now - 3 * DAY)
    const live = await signIn()
    vi.setSystemTime(now - 3 * DAY + 61_000)
    const oldRevoked = await signIn({ email: live.email, transport: 'body' })
    vi.setSystemTime(now - 3 * DAY + 122_000)
    const recentRevoked = await signIn({ email: live.email, transport: 'body' })
    vi.setSystemTime(now - 25 * HOUR)
    expect((await logout(oldRevoked.refreshToken)).status).toBe(200)
    vi.setSystemTime(now - 23 * HOUR)
    expect((await logout(recentRevoked.refreshToken)).status).toBe(200)

    // Sessions whose absolute end passed 25 and 23 hours ago (opened 72 hours ago).
    vi.setSystemTime(now - 3 * DAY)
    const oldExpired = await signIn({ env: { SESSION_MAX_AGE: '47h' } })
    const recentExpired = await signIn({ env: { SESSION_MAX_AGE: '49h' } })

    // A live session that rotated: its first token expired three days ago, its successor lives on.
    vi.setSystemTime(now - 10 * DAY)
    const rotated = await signIn()
    vi.setSystemTime(now - 4 * DAY)
    const rotation = await refresh({ cookie: rotated.refreshToken })
    expect(rotation.status).toBe(200)
    const successor = refreshCookie(rotation)!
    expect(successor).toBeTruthy()
    vi.useRealTimers()

    const ids = {
      live: sid(live.accessToken),
      oldRevoked: sid(oldRevoked.accessToken),
      recentRevoked: sid(recentRevoked.accessToken),
      oldExpired: sid(oldExpired.accessToken),
      recentExpired: sid(recentExpired.accessToken),
      rotated: sid(rotated.accessToken),
    }
    expect(new Set(Object.values(ids)).size).toBe(6)
    // Everything is there before the run, so what disappears was removed by it.
    for (const [name, id] of Object.entries(ids)) {
      expect({ name, sessions: await sessionRows(id), tokens: await tokenRowsOfSession(id) }).toEqual({
        name,
        sessions: 1,
        tokens: name === 'rotated' ? 2 : 1,
      })
    }
    expect(await count('SELECT count(*) AS n FROM sessions WHERE id = ? AND revoked_at IS NOT NULL', ids.oldRevoked)).toBe(1)

    await runScheduled(now)

    // Revoked, or past their end, more than a day before the run: gone with their tokens.
    for (const name of ['oldRevoked', 'oldExpired'] as const) {
      expect({ name, sessions: await sessionRows(ids[name]), tokens: await tokenRowsOfSession(ids[name]) }).toEqual({ name, sessions: 0, tokens: 0 })
    }
    // Less than a day: kept.
    for (const name of ['recentRevoked', 'recentExpired', 'live'] as const) {
      expect({ name, sessions: await sessionRows(ids[name]), tokens: await tokenRowsOfSession(ids[name]) }).toEqual({ name, sessions: 1, tokens: 1 })
    }
    // The live rotated session keeps its current token; the spent one, expired days ago, is gone.
    expect(await sessionRows(ids.rotated)).toBe(1)
    expect(await tokenRow(jti(rotated.refreshToken))).toBe(0)
    expect(await tokenRow(jti(successor))).toBe(1)

    // Live sessions still work.
    const liveRefresh = await refresh({ cookie: live.refreshToken })
    expect(liveRefresh.status).toBe(200)
    const liveAccess = (await body(liveRefresh)).data.accessToken
    expect((await call('/api/user/profile', { token: liveAccess })).status).toBe(200)
    expect((await refresh({ cookie: successor })).status).toBe(200)
    // A purged session stays dead.
    expect((await refresh({ json: { refreshToken: oldRevoked.refreshToken } })).status).toBe(401)
    await expectError(await refresh({ json: { refreshToken: recentRevoked.refreshToken } }), 401, 'TOKEN_REVOKED')
  })

  it('purges audit events older than AUDIT_RETENTION_DAYS (default 90) and keeps newer ones', async () => {
    const now = Date.now()
    const wrong = 'Wrong-horse-13#'

    vi.setSystemTime(now - 100 * DAY)
    const account = await register()
    const userId = account.user.id
    vi.setSystemTime(now - 80 * DAY)
    await expectError(await call('/api/auth/login', { json: { email: account.email, password: wrong } }), 401, 'INVALID_CREDENTIALS')
    vi.useRealTimers()
    await expectError(await call('/api/auth/login', { json: { email: account.email, password: wrong } }), 401, 'INVALID_CREDENTIALS')
    // A code issued now, and the one mailed at registration 100 days ago.
    const fresh = await register()

    const events = async () =>
      (
        await env.DB.prepare('SELECT type, at FROM audit_events WHERE user_id = ? ORDER BY at').bind(userId).all<{ type: string; at: number }>()
      ).results
    const before = await events()
    expect(before.map((event) => event.type)).toEqual(['register', 'login_failure', 'login_failure'])
    expect(before[0]!.at).toBe(now - 100 * DAY)
    expect(before[1]!.at).toBe(now - 80 * DAY)
    expect(await count('SELECT count(*) AS n FROM otp_codes WHERE user_id = ?', userId)).toBe(1)
    expect(await count('SELECT count(*) AS n FROM otp_codes WHERE user_id = ?', fresh.user.id)).toBe(1)

    // No AUDIT_RETENTION_DAYS: 90 days.
    await runScheduled(now, { AUDIT_RETENTION_DAYS: undefined })
    const afterDefault = await events()
    expect(afterDefault.map((event) => event.at)).toEqual([before[1]!.at, before[2]!.at])
    expect(afterDefault[1]!.at).toBeGreaterThanOrEqual(now)
    // Spent codes a day past expiry go too; a live one stays.
    expect(await count('SELECT count(*) AS n FROM otp_codes WHERE user_id = ?', userId)).toBe(0)
    expect(await count('SELECT count(*) AS n FROM otp_codes WHERE user_id = ?', fresh.user.id)).toBe(1)
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE user_id = ? AND type = 'register'", fresh.user.id)).toBe(1)

    // A shorter retention takes the 80-day-old event as well.
    await runScheduled(now, { AUDIT_RETENTION_DAYS: '60' })
    const afterShort = await events()
    expect(afterShort.map((event) => event.at)).toEqual([before[2]!.at])
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE user_id = ? AND type = 'register'", fresh.user.id)).toBe(1)
  })

  it('purges failed-login counters whose window ended more than a day ago, and keeps current ones', async () => {
    const stale = `stale-${crypto.randomUUID()}`
    const current = `current-${crypto.randomUUID()}`
    const now = Date.now()
    await env.DB.prepare('INSERT INTO login_failures (email_key, failures, window_started_at) VALUES (?, 3, ?), (?, 3, ?)')
      .bind(stale, now - 2 * 86_400_000, current, now - 60_000)
      .run()
    await runScheduled(now)
    const keys = (await env.DB.prepare('SELECT email_key FROM login_failures WHERE email_key IN (?, ?)').bind(stale, current).all<{ email_key: string }>()).results.map((row) => row.email_key)
    expect(keys).toEqual([current])
  })
})
