import type { Cursor } from '../db/keyset'
import type { UserRow } from '../db/schema'
import { listUsers as usersPage, setRole, userById } from '../db/users'
import { ApiError } from '../errors'
import { deleteAccount, toPublicUser } from './accounts'
import { audit } from './audit'
import { foldForSearch } from '../schemas/common'
import type { Deps } from './deps'

/** The user object as admins see it: the public one plus `deletedAt`. */
export const toAdminUser = (user: UserRow) => ({
  ...toPublicUser(user),
  deletedAt: user.deletedAt === null ? null : new Date(user.deletedAt).toISOString(),
})

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
  return { users: page.map(toAdminUser), next }
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
