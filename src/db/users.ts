import { and, eq, ne, sql, type SQL } from 'drizzle-orm'
import type { Db } from './client'
import { keyset, type Cursor } from './keyset'
import { users, type UserRow } from './schema'
import { liveUser } from './sql'

/** Queries of the `users` table. Each returns a statement, so a caller may run it alone or batch it. */

const live = (userId: string) => and(eq(users.id, userId), liveUser.sql())

/** True inside a statement while the account exists (for guards of other tables' writes). */
export const userIsLive = (userId: string) => sql`EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND ${liveUser.sql(0, 'users')})`

/** The live (not deleted) account holding an email. */
export const liveUserByEmail = (db: Db, email: string) => db.select().from(users).where(and(eq(users.email, email), liveUser.sql()))

/** The live account with an id. */
export const liveUserById = (db: Db, userId: string) => db.select().from(users).where(live(userId))

/** Any account with an id, deleted or not (admins). */
export const userById = (db: Db, userId: string) => db.select().from(users).where(eq(users.id, userId))

export const insertUser = (db: Db, values: typeof users.$inferInsert) => db.insert(users).values(values).returning()

/** Updates a live account when `guard` holds too; returns the row as written. */
export const updateLiveUser = (db: Db, userId: string, values: Partial<typeof users.$inferInsert>, guard?: SQL) =>
  db
    .update(users)
    .set({ ...values, id: userId })
    .where(and(live(userId), guard))
    .returning()

/** Replaces a password hash only over the hash that was checked, so a concurrent change wins. */
export const replacePasswordHash = (db: Db, userId: string, checked: string, passwordHash: string) =>
  db
    .update(users)
    .set({ passwordHash })
    .where(and(eq(users.id, userId), eq(users.passwordHash, checked)))

/** The account's password hash is still the one that was checked. */
export const hashIs = (passwordHash: string) => eq(users.passwordHash, passwordHash)

/** True inside a batch once this very write set the hash (at `now`): later statements act only on it. */
export const passwordWrittenAt = (userId: string, passwordHash: string, now: number) =>
  sql`EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND updated_at = ${now} AND password_hash = ${passwordHash})`

/** Soft-deletes a live account. */
export const softDeleteUser = (db: Db, userId: string, now: number) =>
  db.update(users).set({ deletedAt: now, updatedAt: now }).where(live(userId)).returning({ id: users.id })

/** True inside a batch once the ban set at `now` is in place. */
export const userBannedAt = (userId: string, now: number) => sql`EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND banned_at = ${now})`

/** Sets or lifts a ban on a live account. */
export const setBan = (db: Db, userId: string, ban: { reason: string; at: number; until: number | null } | null, now: number) =>
  db
    .update(users)
    .set({ bannedReason: ban?.reason ?? null, bannedAt: ban?.at ?? null, bannedUntil: ban?.until ?? null, updatedAt: now })
    .where(live(userId))
    .returning()

/** Sets a live account's role when it differs, as granted by an admin. */
export const setRole = (db: Db, userId: string, role: UserRow['role'], now: number) =>
  db
    .update(users)
    .set({ role, roleSource: role === 'admin' ? 'admin' : null, updatedAt: now })
    .where(and(live(userId), ne(users.role, role)))
    .returning()

/** `q` is matched literally: LIKE's `%`, `_` and the escape character itself are escaped. */
const likePattern = (folded: string) => `%${folded.replace(/[\\%_]/g, (char) => `\\${char}`)}%`

/** A page of accounts, newest first, keyset-paginated on (created_at, id); `folded` is the search text already folded. */
export function listUsers(db: Db, query: { limit: number; cursor?: Cursor | undefined; folded?: string | undefined; includeDeleted: boolean }) {
  const order = keyset(users.createdAt, users.id, query.cursor)
  const pattern = query.folded ? likePattern(query.folded) : undefined
  const filters: (SQL | undefined)[] = [
    query.includeDeleted ? undefined : liveUser.sql(),
    pattern ? sql`(${users.email} LIKE ${pattern} ESCAPE '\\' OR ${users.nameFolded} LIKE ${pattern} ESCAPE '\\')` : undefined,
    order.after,
  ]
  return {
    rows: db
      .select()
      .from(users)
      .where(and(...filters))
      .orderBy(...order.orderBy)
      .limit(query.limit + 1),
    page: (rows: UserRow[]) => order.page(rows, query.limit, (row) => ({ t: row.createdAt, id: row.id })),
  }
}
