import { and, desc, eq, gt, isNull, lt, ne, sql, type SQL } from 'drizzle-orm'
import type { Db } from './client'
import { otpCodes, type OtpPurpose } from './schema'
import { insertWhere } from './sql'

/** Queries of `otp_codes`, the exact side of one-time codes (tries, single use, send throttle). */

/**
 * A new code's row, written only when the send throttle allows it: no code of this account and
 * purpose since `gapStart`, and fewer than `hourlyLimit` since `hourAgo`.
 */
export const insertThrottled = (
  db: Db,
  code: { id: string; userId: string; purpose: OtpPurpose; createdAt: number; expiresAt: number },
  throttle: { gapStart: number; hourAgo: number; hourlyLimit: number },
) =>
  db
    .insert(otpCodes)
    .select(
      insertWhere(
        otpCodes,
        { ...code, tries: 0 },
        sql`NOT EXISTS (
          SELECT 1 FROM otp_codes WHERE user_id = ${code.userId} AND purpose = ${code.purpose} AND created_at > ${throttle.gapStart})
        AND (SELECT count(*) FROM otp_codes
          WHERE user_id = ${code.userId} AND purpose = ${code.purpose} AND created_at > ${throttle.hourAgo}) < ${throttle.hourlyLimit}`,
      ),
    )
    .returning({ id: otpCodes.id })

/** Retires the unspent codes `which` selects, once the code `newId` exists (same batch). */
export const retireCodes = (db: Db, which: SQL, newId: string, now: number) =>
  db
    .update(otpCodes)
    .set({ consumedAt: now })
    .where(and(which, isNull(otpCodes.consumedAt), ne(otpCodes.id, newId), sql`EXISTS (SELECT 1 FROM otp_codes WHERE id = ${newId})`))

/** Retires every open login challenge of an account (its codes stop working), when `guard` holds. */
export const retireLoginCodes = (db: Db, userId: string, now: number, guard?: SQL) =>
  db
    .update(otpCodes)
    .set({ consumedAt: now })
    .where(and(codesOf(userId, 'login'), isNull(otpCodes.consumedAt), guard))

/** Every code of an account and purpose. */
export const codesOf = (userId: string, purpose: OtpPurpose) => and(eq(otpCodes.userId, userId), eq(otpCodes.purpose, purpose))!

/** One code. */
export const codeWithId = (codeId: string) => eq(otpCodes.id, codeId)

/** A code that can still be used: not spent, tries left, not expired. */
const usable = (codeId: string, now: number, maxTries: number) =>
  and(eq(otpCodes.id, codeId), isNull(otpCodes.consumedAt), lt(otpCodes.tries, maxTries), gt(otpCodes.expiresAt, now))

/** Spends one try of a usable code; returns the count after it, or nothing when the code was not usable. */
export const countTry = (db: Db, codeId: string, now: number, maxTries: number) =>
  db
    .update(otpCodes)
    .set({ tries: sql`${otpCodes.tries} + 1` })
    .where(usable(codeId, now, maxTries))
    .returning({ tries: otpCodes.tries })

/** Marks a usable code used, with a marker unique to the calling batch. */
export const spendCode = (db: Db, codeId: string, marker: string, now: number, maxTries: number, guard?: SQL) =>
  db
    .update(otpCodes)
    .set({ consumedAt: now, consumedBy: marker })
    .where(and(usable(codeId, now, maxTries), guard))
    .returning({ id: otpCodes.id })

/** True inside a batch only after `spendCode` with the same marker has spent the code. */
export const spentBy = (codeId: string, marker: string) => sql`EXISTS (SELECT 1 FROM otp_codes WHERE id = ${codeId} AND consumed_by = ${marker})`

/** The tries a code has used. */
export const triesOf = (db: Db, codeId: string) => db.select({ tries: otpCodes.tries }).from(otpCodes).where(eq(otpCodes.id, codeId))

/** When the latest codes of an account and purpose were sent within the last hour, newest first. */
export const recentSends = (db: Db, userId: string, purpose: OtpPurpose, since: number, limit: number) =>
  db
    .select({ createdAt: otpCodes.createdAt })
    .from(otpCodes)
    .where(and(codesOf(userId, purpose), gt(otpCodes.createdAt, since)))
    .orderBy(desc(otpCodes.createdAt))
    .limit(limit)
