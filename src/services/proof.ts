import type { UserRow, users } from '../db/schema'
import type { Deps } from './deps'

/** What a proof of identity changes on the account: email verification, and the role ADMIN_EMAILS decides. */

/**
 * The account changes that go with a proof of identity: the email marked verified when the
 * proof came through the inbox, and the role ADMIN_EMAILS decides (see `listedRole`).
 */
export function proofValues(deps: Pick<Deps, 'config'>, user: UserRow, emailProven: boolean, now: number): Partial<typeof users.$inferInsert> {
  const verify = emailProven && user.emailVerifiedAt === null
  const role = listedRole(deps, user, emailProven)
  return {
    ...(verify ? { emailVerifiedAt: now } : {}),
    ...(role ?? {}),
    ...(verify || role ? { updatedAt: now } : {}),
  }
}

/**
 * ADMIN_EMAILS is authoritative for the roles it granted: a verified listed address becomes
 * `admin` (recorded as coming from the list), and an address the list promoted loses `admin` once
 * it is no longer listed. A role an admin granted is left alone. Undefined: no change.
 */
export function listedRole(deps: Pick<Deps, 'config'>, user: UserRow, emailProven = false): Pick<UserRow, 'role' | 'roleSource'> | undefined {
  const listed = deps.config.adminEmails.has(user.email)
  const verified = emailProven || user.emailVerifiedAt !== null
  if (listed && verified && user.role !== 'admin') return { role: 'admin', roleSource: 'list' }
  if (!listed && user.role === 'admin' && user.roleSource === 'list') return { role: 'user', roleSource: null }
  return undefined
}
