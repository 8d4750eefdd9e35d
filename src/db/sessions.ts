import { and, desc, eq, gt, isNull, ne, sql, type SQL } from 'drizzle-orm'
import type { Db } from './client'
import { refreshTokens, sessions } from './schema'
import { insertWhere, liveSession } from './sql'

/** Queries of `sessions` and `refresh_tokens`. Each returns a statement, to run alone or in a batch. */

/** A new session, written only while `guard` holds. */
export const insertSession = (db: Db, values: typeof sessions.$inferInsert, guard: SQL) =>
  db.insert(sessions).select(insertWhere(sessions, values, guard))

/** A refresh-token record (its hash only), written only while `guard` holds. */
export const insertRefreshToken = (db: Db, values: typeof refreshTokens.$inferInsert, guard: SQL) =>
  db.insert(refreshTokens).select(insertWhere(refreshTokens, values, guard))

/** Ends one session if it is not ended yet. */
export const revokeSession = (db: Db, sessionId: string, reason: string, now: number) =>
  db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id })

/** Ends one live session of a given user (a user ending their own). */
export const revokeOwnSession = (db: Db, userId: string, sessionId: string, reason: string, now: number) =>
  db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), liveSession.sql(now)))
    .returning({ id: sessions.id })

/** Ends every not-yet-revoked session of a user but `keep`, when `guard` holds. */
export const revokeUserSessions = (db: Db, userId: string, reason: string, now: number, options: { keep?: string; guard?: SQL } = {}) =>
  db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), options.keep ? ne(sessions.id, options.keep) : undefined, options.guard))
    .returning({ id: sessions.id })

/** True inside a statement while a session is live. */
export const sessionIsLive = (sessionId: string, now: number) =>
  sql`EXISTS (SELECT 1 FROM sessions WHERE id = ${sessionId} AND ${liveSession.sql(now)})`

/** When a live session of a user was established (its sign-in), or nothing. */
export const sessionStartedAt = (db: Db, userId: string, sessionId: string, now: number) =>
  db
    .select({ createdAt: sessions.createdAt })
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), liveSession.sql(now)))

/** A user's live sessions, newest first (at most 100). */
export const liveSessionsOf = (db: Db, userId: string, now: number) =>
  db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), liveSession.sql(now)))
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .limit(100)

/** Another session of a user from the same user agent since `since` (known device), if any. */
export const recentSessionFrom = (db: Db, userId: string, userAgent: string | null, exceptId: string, since: number) =>
  db
    .select({ id: sessions.id })
    .from(sessions)
    .where(
      and(
        eq(sessions.userId, userId),
        userAgent === null ? isNull(sessions.userAgent) : eq(sessions.userAgent, userAgent),
        ne(sessions.id, exceptId),
        gt(sessions.createdAt, since),
      ),
    )
    .limit(1)
