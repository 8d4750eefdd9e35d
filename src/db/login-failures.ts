import { and, eq, lt, lte, or, sql, type SQL } from 'drizzle-orm'
import type { Db } from './client'
import { loginFailures } from './schema'

/**
 * Takes one attempt for an email key when the window has one left: one conditional upsert, so
 * parallel attempts cannot get past the limit. Returns a row only when the attempt was taken.
 * The attempt that reaches the limit restarts the window, so the lock lasts a full window from it.
 */
export const takeAttempt = (db: Db, emailKey: string, now: number, limit: number, windowMs: number) => {
  const windowStart = now - windowMs
  return db
    .insert(loginFailures)
    .values({ emailKey, failures: 1, windowStartedAt: now })
    .onConflictDoUpdate({
      target: loginFailures.emailKey,
      set: {
        failures: sql`CASE WHEN ${loginFailures.windowStartedAt} <= ${windowStart} THEN 1 ELSE ${loginFailures.failures} + 1 END`,
        windowStartedAt: sql`CASE WHEN ${loginFailures.windowStartedAt} <= ${windowStart} OR ${loginFailures.failures} + 1 >= ${limit} THEN ${now} ELSE ${loginFailures.windowStartedAt} END`,
      },
      setWhere: or(lte(loginFailures.windowStartedAt, windowStart), lt(loginFailures.failures, limit)),
    })
    .returning({ failures: loginFailures.failures })
}

/** When the current window of an email key started. */
export const windowOf = (db: Db, emailKey: string) =>
  db.select({ windowStartedAt: loginFailures.windowStartedAt }).from(loginFailures).where(eq(loginFailures.emailKey, emailKey))

/** Gives back one attempt (a success is not a failure). */
export const giveBackAttempt = (db: Db, emailKey: string) =>
  db
    .update(loginFailures)
    .set({ failures: sql`max(${loginFailures.failures} - 1, 0)` })
    .where(eq(loginFailures.emailKey, emailKey))

/** Clears the count of an email key (a password reset), when `guard` holds. */
export const clearAttempts = (db: Db, emailKey: string, guard?: SQL) =>
  db.delete(loginFailures).where(and(eq(loginFailures.emailKey, emailKey), guard))
