import { and, asc, count, eq, gt, inArray, isNull, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { users } from '../../db/schema'
import { passkeys, passkeyUsers, webauthnChallenges, type Ceremony } from './schema'

/** Queries of the passkey tables. Each returns a statement, so a caller may run it alone or batch it. */

export const insertChallenge = (db: Db, values: typeof webauthnChallenges.$inferInsert) => db.insert(webauthnChallenges).values(values)

/**
 * Spends a challenge: one conditional DELETE … RETURNING, so of any number of concurrent
 * presentations exactly one gets the row, and only while it is unexpired, of this ceremony and,
 * for a registration, of this account.
 */
export const takeChallenge = (db: Db, id: string, ceremony: Ceremony, userId: string | null, now: number) =>
  db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.id, id),
        eq(webauthnChallenges.ceremony, ceremony),
        gt(webauthnChallenges.expiresAt, now),
        userId === null ? isNull(webauthnChallenges.userId) : eq(webauthnChallenges.userId, userId),
      ),
    )
    .returning()

/** The account's handle, created on first use; concurrent first uses agree on one. */
export const ensureHandle = (db: Db, userId: string, fresh: string) =>
  [
    db.insert(passkeyUsers).values({ userId, handle: fresh }).onConflictDoNothing(),
    db.select({ handle: passkeyUsers.handle }).from(passkeyUsers).where(eq(passkeyUsers.userId, userId)),
  ] as const

export const passkeysOf = (db: Db, userId: string) =>
  db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt), asc(passkeys.id))

export const passkeyOf = (db: Db, userId: string, id: string) => db.select().from(passkeys).where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))

/** Passkeys per account, for a page of accounts (the admin user object's `mfa.passkeys`). */
export const passkeyCounts = (db: Db, userIds: readonly string[]) =>
  db
    .select({ userId: passkeys.userId, n: count() })
    .from(passkeys)
    .where(inArray(passkeys.userId, [...userIds]))
    .groupBy(passkeys.userId)

export const passkeyCount = (db: Db, userId: string) => db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId))

/** Inserts a passkey unless its credential id is already registered (to anyone). */
export const insertPasskey = (db: Db, values: typeof passkeys.$inferInsert) => db.insert(passkeys).values(values).onConflictDoNothing().returning()

/**
 * A credential and its account, with the account's handle, for a sign-in: only a live
 * (not deleted) account's; a deleted account's passkeys are as unknown as any other.
 */
export const credentialForSignIn = (db: Db, credentialId: string) =>
  db
    .select({ passkey: passkeys, user: users, handle: passkeyUsers.handle })
    .from(passkeys)
    .innerJoin(users, eq(users.id, passkeys.userId))
    .innerJoin(passkeyUsers, eq(passkeyUsers.userId, passkeys.userId))
    .where(and(eq(passkeys.credentialId, credentialId), isNull(users.deletedAt)))

/**
 * Records a use: the new counter, the backup state and the time. Only over the counter that was
 * checked, so a concurrent use of a cloned authenticator with the same counter cannot also win.
 */
export const recordUse = (db: Db, id: string, checkedCounter: number, values: { counter: number; backedUp: boolean; lastUsedAt: number }) =>
  db
    .update(passkeys)
    .set(values)
    .where(and(eq(passkeys.id, id), eq(passkeys.counter, checkedCounter)))
    .returning({ id: passkeys.id })

export const renamePasskey = (db: Db, userId: string, id: string, name: string) =>
  db
    .update(passkeys)
    .set({ name })
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
    .returning()

/**
 * Deletes one of the account's passkeys. `keepOne` (the account has no other way in): only while
 * another passkey remains, decided in the same statement, so two concurrent deletes of the last
 * two cannot both win.
 */
export function deletePasskey(db: Db, userId: string, id: string, keepOne: boolean) {
  const others: SQL = sql`(SELECT COUNT(*) FROM ${passkeys} AS p WHERE p.user_id = ${userId} AND p.id <> ${id}) > 0`
  return db
    .delete(passkeys)
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId), keepOne ? others : undefined))
    .returning({ id: passkeys.id })
}
