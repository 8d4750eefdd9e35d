import type { Cursor } from '../db/keyset'
import type { UserRow } from '../db/schema'
import { revokeUserSessions } from '../db/sessions'
import { listUsers as usersPage, setBan, setRole, userBannedAt, userById } from '../db/users'
import { ApiError } from '../errors'
import { deleteAccount, toPublicUser } from './accounts'
import type { MfaSummary } from '../methods/types'
import { audit } from './audit'
import { mfaSummaries } from './ways-in'
import { notify } from './notices'
import { foldForSearch } from '../schemas/common'
import type { Deps } from './deps'
import { forgetUser } from './session-cache'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** A ban in force, or null (none, or past its end). */
export const banOf = (user: UserRow, now = Date.now()) =>
  user.bannedAt !== null && (user.bannedUntil === null || user.bannedUntil > now) ? { reason: user.bannedReason ?? '', until: iso(user.bannedUntil) } : null

/** The user object as admins see it: the public one plus `deletedAt`, `banned` and `mfa` (from the sign-in methods). */
export const toAdminUser = (user: UserRow, mfa: MfaSummary) => ({
  ...toPublicUser(user),
  deletedAt: iso(user.deletedAt),
  banned: banOf(user),
  mfa,
})

/** Admin user objects for accounts, with each one's `mfa` read in one pass per method. */
export async function toAdminUsers(deps: Deps, users: readonly UserRow[]) {
  const summaries = await mfaSummaries(deps, users.map((user) => user.id))
  return users.map((user) => toAdminUser(user, summaries.get(user.id)!))
}

/** One admin user object. */
export const adminView = async (deps: Deps, user: UserRow) => (await toAdminUsers(deps, [user]))[0]!

export interface UserListQuery {
  limit: number
  cursor?: Cursor | undefined
  q?: string | undefined
  includeDeleted: boolean
}

/** Newest first, keyset-paginated on (created_at, id): stable under inserts, no duplicates or gaps. */
export async function listUsers(deps: Deps, query: UserListQuery) {
  const list = usersPage(deps.readDb, { ...query, folded: query.q ? foldForSearch(query.q) : undefined })
  const { page, next } = list.page(await list.rows)
  return { users: await toAdminUsers(deps, page), next }
}

/** One user, deleted or not. Reads the replica unless `fresh` (before a write). */
export async function getUser(deps: Deps, id: string, fresh = false): Promise<UserRow> {
  const [user] = await userById(fresh ? deps.db : deps.readDb, id)
  if (!user) throw new ApiError('NOT_FOUND', { message: 'User not found.' })
  return user
}

/**
 * Sets a live account's role: one conditional UPDATE, so the audited change is exactly the one
 * that happened. It takes effect at once for authorisation and in tokens at the next refresh.
 */
export async function changeRole(deps: Deps, actorId: string, id: string, role: 'user' | 'admin', now = Date.now()) {
  const [changed] = await setRole(deps.db, id, role, now)
  forgetUser(id)
  if (changed) {
    // Two roles: the one it had is the other one.
    audit(deps, { type: 'role_changed', userId: id, actorId, detail: { from: role === 'admin' ? 'user' : 'admin', to: role } }, now)
    return changed
  }
  // Nothing changed: already that role, or no such live account.
  const current = await getUser(deps, id, true)
  if (current.deletedAt !== null) throw new ApiError('NOT_FOUND', { message: 'User not found.' })
  return current
}

/** Soft-deletes another account and ends its sessions; an admin cannot delete itself. */
export async function adminDeleteUser(deps: Deps, actorId: string, id: string, now = Date.now()) {
  if (id === actorId) {
    throw new ApiError('VALIDATION_ERROR', {
      message: 'An admin cannot delete its own account here.',
      details: [{ path: 'id', message: 'is your own account' }],
    })
  }
  if (!(await deleteAccount(deps, id, 'admin', now))) throw new ApiError('NOT_FOUND', { message: 'User not found.' })
  audit(deps, { type: 'admin_user_deleted', userId: id, actorId }, now)
}

/** An admin acting on another account: refused on its own, with the contract's 400. */
function notSelf(actorId: string, id: string, what: string) {
  if (id === actorId) {
    throw new ApiError('VALIDATION_ERROR', { message: `An admin cannot ${what} its own account.`, details: [{ path: 'id', message: 'is your own account' }] })
  }
}

/** Bans an account (until lifted, or until `until`) and ends every session of it, in one batch. */
export async function banUser(deps: Deps, actorId: string, id: string, ban: { reason: string; until?: string | undefined }, now = Date.now()) {
  notSelf(actorId, id, 'ban')
  const until = ban.until === undefined ? null : Date.parse(ban.until)
  if (until !== null && until <= now) {
    throw new ApiError('VALIDATION_ERROR', { details: [{ path: 'until', message: 'must be in the future' }] })
  }
  const [[user], revoked] = await deps.db.batch([
    setBan(deps.db, id, { reason: ban.reason, at: now, until }, now),
    revokeUserSessions(deps.db, id, 'banned', now, { guard: userBannedAt(id, now) }),
  ])
  forgetUser(id)
  if (!user) throw new ApiError('NOT_FOUND', { message: 'User not found.' })
  audit(deps, { type: 'user_banned', userId: id, actorId, detail: { until: ban.until ?? null, revoked: revoked.length } }, now)
  notify(deps, user.email, 'banned', ban.until ? `Until ${ban.until}.` : undefined)
  return user
}

/** Lifts a ban. */
export async function unbanUser(deps: Deps, actorId: string, id: string, now = Date.now()) {
  const [user] = await setBan(deps.db, id, null, now)
  if (!user) throw new ApiError('NOT_FOUND', { message: 'User not found.' })
  audit(deps, { type: 'user_unbanned', userId: id, actorId }, now)
  return user
}

/** Ends every session of an account; the account stays. */
export async function revokeSessionsOf(deps: Deps, actorId: string, id: string, now = Date.now()) {
  const user = await getUser(deps, id, true)
  if (user.deletedAt !== null) throw new ApiError('NOT_FOUND', { message: 'User not found.' })
  const revoked = await revokeUserSessions(deps.db, id, 'revoked_by_admin', now)
  forgetUser(id)
  audit(deps, { type: 'admin_sessions_revoked', userId: id, actorId, detail: { revoked: revoked.length } }, now)
  return revoked.length
}
