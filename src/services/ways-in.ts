import type { UserRow } from '../db/schema'
import { ApiError } from '../errors'
import type { MfaSummary } from '../methods/types'
import type { Deps } from './deps'

/** How many ways in an account has now, summed over the registered methods. */
export async function waysIn(deps: Deps, user: UserRow): Promise<number> {
  let total = 0
  for (const method of deps.methods) if (method.waysIn) total += await method.waysIn(deps, user)
  return total
}

/** Refuses to remove `removing` ways in when that would leave the account with none. */
export async function assertNotLastWayIn(deps: Deps, user: UserRow, removing = 1): Promise<void> {
  if ((await waysIn(deps, user)) - removing < 1) throw new ApiError('LAST_SIGN_IN_METHOD')
}

/** The admin user object's `mfa` for a page of accounts, from every method that has something to say. */
export async function mfaSummaries(deps: Deps, userIds: readonly string[]): Promise<Map<string, MfaSummary>> {
  const out = new Map<string, MfaSummary>(userIds.map((id) => [id, { totp: false, passkeys: 0, identities: [] }]))
  for (const method of deps.methods) {
    if (!method.summarize || userIds.length === 0) continue
    for (const [id, part] of await method.summarize(deps, userIds)) {
      const current = out.get(id)
      if (current) out.set(id, { ...current, ...part })
    }
  }
  return out
}
