import { and, count, eq, gt, inArray, isNotNull, isNull, lt, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { otpCodes } from '../../db/schema'
import { insertWhere } from '../../db/sql'
import { recoveryCodes, totpCredentials } from './schema'

/** Queries of the authenticator-app tables (and the challenge row an app completes). */

/** The account's app row, pending or active. */
export const totpOf = (db: Db, userId: string) => db.select().from(totpCredentials).where(eq(totpCredentials.userId, userId))

/** Which of these accounts have an active app. */
export const activeTotpAmong = (db: Db, userIds: readonly string[]) =>
  db
    .select({ userId: totpCredentials.userId })
    .from(totpCredentials)
    .where(and(inArray(totpCredentials.userId, [...userIds]), isNotNull(totpCredentials.activatedAt)))

/** True inside a statement while the account has an active app. */
export const hasActiveTotp = (userId: string) =>
  sql`EXISTS (SELECT 1 FROM totp_credentials WHERE user_id = ${userId} AND activated_at IS NOT NULL)`

/**
 * A pending enrolment with a fresh secret: written over an earlier pending one, never over an
 * active app (then nothing is returned).
 */
export const upsertPending = (db: Db, row: { userId: string; secret: string; createdAt: number; expiresAt: number }) =>
  db
    .insert(totpCredentials)
    .values({ ...row, lastStep: 0 })
    .onConflictDoUpdate({
      target: totpCredentials.userId,
      set: { secret: row.secret, createdAt: row.createdAt, expiresAt: row.expiresAt, lastStep: 0, stepMarker: null },
      setWhere: isNull(totpCredentials.activatedAt),
    })
    .returning({ userId: totpCredentials.userId })

/** Activates the pending enrolment whose sealed secret was checked, accepting its first step. */
export const activatePending = (db: Db, userId: string, secret: string, step: number, marker: string, now: number) =>
  db
    .update(totpCredentials)
    .set({ activatedAt: now, lastStep: step, stepMarker: marker })
    .where(
      and(
        eq(totpCredentials.userId, userId),
        eq(totpCredentials.secret, secret),
        isNull(totpCredentials.activatedAt),
        gt(totpCredentials.expiresAt, now),
        lt(totpCredentials.lastStep, step),
      ),
    )
    .returning({ userId: totpCredentials.userId })

/**
 * Accepts a time step of the active app: only a step later than every step accepted before, so
 * a code works once however many requests bring it (one conditional write). `guard` ties it to
 * the rest of the batch (a spent challenge).
 */
export const acceptStep = (db: Db, userId: string, step: number, marker: string, guard?: SQL) =>
  db
    .update(totpCredentials)
    .set({ lastStep: step, stepMarker: marker })
    .where(and(eq(totpCredentials.userId, userId), isNotNull(totpCredentials.activatedAt), lt(totpCredentials.lastStep, step), guard))
    .returning({ userId: totpCredentials.userId })

/** True inside a batch only after `acceptStep` (or `activatePending`) with this marker won. */
export const stepAcceptedBy = (userId: string, marker: string) =>
  sql`EXISTS (SELECT 1 FROM totp_credentials WHERE user_id = ${userId} AND step_marker = ${marker})`

/** Removes the account's app, when `guard` holds. */
export const deleteTotp = (db: Db, userId: string, guard?: SQL) =>
  db.delete(totpCredentials).where(and(eq(totpCredentials.userId, userId), guard)).returning({ userId: totpCredentials.userId })

/** Removes every recovery code of the account, when `guard` holds. */
export const deleteRecoveryCodes = (db: Db, userId: string, guard?: SQL) => db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, userId), guard))

/** One recovery code's row, written only when `guard` holds (same batch as what authorises it). */
export const insertRecoveryCode = (db: Db, row: { id: string; userId: string; codeHash: string; createdAt: number }, guard: SQL) =>
  db.insert(recoveryCodes).select(insertWhere(recoveryCodes, row, guard))

/** The unused recovery code with this hash, if the account has one. */
export const unusedRecoveryCode = (db: Db, userId: string, codeHash: string) =>
  db
    .select({ id: recoveryCodes.id })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)))

/** Uses a recovery code: only an unused one, once (one conditional write), when `guard` holds. */
export const useRecoveryCode = (db: Db, userId: string, codeHash: string, marker: string, now: number, guard?: SQL) =>
  db
    .update(recoveryCodes)
    .set({ usedAt: now, usedBy: marker })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt), guard))
    .returning({ id: recoveryCodes.id })

/** True inside a batch only after `useRecoveryCode` with this marker won. */
export const recoveryUsedBy = (userId: string, marker: string) =>
  sql`EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = ${userId} AND used_by = ${marker})`

/** How many unused recovery codes the account has. */
export const recoveryCodesLeft = (db: Db, userId: string) =>
  db
    .select({ left: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))

/**
 * The exact side of a login challenge an app completes: an `otp_codes` row of purpose `login`,
 * so its five tries, its single use and its retirement (password change or reset, logout-all)
 * are the mailed code's own. No send throttle: nothing is mailed.
 */
export const insertChallengeRow = (db: Db, row: { id: string; userId: string; createdAt: number; expiresAt: number }) =>
  db.insert(otpCodes).values({ ...row, purpose: 'login', tries: 0 })
