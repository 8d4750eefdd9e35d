import { and, asc, count, eq, gt, inArray, isNotNull, isNull, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { users } from '../../db/schema'
import { liveUser } from '../../db/sql'
import { oauthIdentities, oauthStates } from './schema'

/** Queries of the oauth method's tables. Each returns a statement, so a caller may run it alone or batch it. */

/** Stores a flow in flight. */
export const insertState = (db: Db, values: typeof oauthStates.$inferInsert) => db.insert(oauthStates).values(values)

/**
 * Sends a link flow's browser on its way, once: the start URL `link` returned works a single time,
 * for its provider, before it expires, and only in a browser signed in to the account it links to.
 */
export const startLinkFlow = (db: Db, id: string, provider: string, browserUserId: string, now: number) =>
  db
    .update(oauthStates)
    .set({ startedAt: now })
    .where(and(eq(oauthStates.id, id), eq(oauthStates.provider, provider), isNull(oauthStates.startedAt), eq(oauthStates.linkUserId, browserUserId), gt(oauthStates.expiresAt, now)))
    .returning()

/**
 * Spends a started flow's state: one conditional write decides its single use, so a replayed or
 * racing callback finds nothing. Another provider's state, or an expired one, is not spent here.
 */
export const consumeState = (db: Db, id: string, provider: string, now: number) =>
  db
    .update(oauthStates)
    .set({ consumedAt: now })
    .where(and(eq(oauthStates.id, id), eq(oauthStates.provider, provider), isNull(oauthStates.consumedAt), isNotNull(oauthStates.startedAt), gt(oauthStates.expiresAt, now)))
    .returning()

/** Flows past their end (the nightly clean-up). */
export const purgeStates = (db: Db, now: number) => db.delete(oauthStates).where(sql`${oauthStates.expiresAt} <= ${now}`)

/** A linked identity and its live account. */
export const identityBySubject = (db: Db, provider: string, subject: string) =>
  db
    .select({ identity: oauthIdentities, user: users })
    .from(oauthIdentities)
    .innerJoin(users, eq(users.id, oauthIdentities.userId))
    .where(and(eq(oauthIdentities.provider, provider), eq(oauthIdentities.subject, subject), liveUser.sql()))

/** Links an identity; the unique (provider, subject) index refuses a second owner. */
export const insertIdentity = (db: Db, values: typeof oauthIdentities.$inferInsert) => db.insert(oauthIdentities).values(values).returning()

/**
 * A deleted account's identity lets go of its (provider, subject), so the same person can sign up
 * again; batched just before the insert that takes it over.
 */
export const releaseDeletedIdentity = (db: Db, provider: string, subject: string) =>
  db
    .delete(oauthIdentities)
    .where(
      and(
        eq(oauthIdentities.provider, provider),
        eq(oauthIdentities.subject, subject),
        sql`${oauthIdentities.userId} IN (SELECT id FROM users WHERE deleted_at IS NOT NULL)`,
      ),
    )

/** A sign-in through an identity: its last use and the email the provider asserted this time. */
export const touchIdentity = (db: Db, id: string, values: { email: string | null; emailVerified: boolean }, now: number) =>
  db
    .update(oauthIdentities)
    .set({ ...values, lastUsedAt: now })
    .where(eq(oauthIdentities.id, id))

/** An account's identities, oldest first. */
export const identitiesOf = (db: Db, userId: string) =>
  db.select().from(oauthIdentities).where(eq(oauthIdentities.userId, userId)).orderBy(asc(oauthIdentities.createdAt), asc(oauthIdentities.id))

/** How many identities an account has. */
export const identityCount = (db: Db, userId: string) => db.select({ n: count() }).from(oauthIdentities).where(eq(oauthIdentities.userId, userId))

/** Provider names per account, for a page of accounts (the admin `mfa.identities`). */
export const providersOf = (db: Db, userIds: readonly string[]) =>
  db
    .select({ userId: oauthIdentities.userId, provider: oauthIdentities.provider })
    .from(oauthIdentities)
    .where(inArray(oauthIdentities.userId, [...userIds]))
    .orderBy(asc(oauthIdentities.createdAt))

/**
 * Unlinks one of an account's identities. When the account has no other way in than its
 * identities, `keepOne` makes the write itself refuse to remove the last of them, so two racing
 * unlinks cannot both win.
 */
export function deleteIdentity(db: Db, userId: string, id: string, keepOne: boolean) {
  const guard: SQL | undefined = keepOne ? sql`(SELECT COUNT(*) FROM oauth_identities WHERE user_id = ${userId}) > 1` : undefined
  return db
    .delete(oauthIdentities)
    .where(and(eq(oauthIdentities.id, id), eq(oauthIdentities.userId, userId), guard))
    .returning()
}
