import type { SQL } from 'drizzle-orm'
import { clearAttempts, giveBackAttempt, takeAttempt, windowOf } from '../db/login-failures'
import type { UserRow } from '../db/schema'
import { liveUserByEmail } from '../db/users'
import { ApiError } from '../errors'
import { emailDigest } from './audit'
import type { Deps } from './deps'

/**
 * Failed sign-ins per email address, counted exactly in D1 whether or not an account holds the
 * address: after LOGIN_FAILURE_LIMIT in a window every attempt for it is refused until the window
 * passes. An attempt is taken before the secret is checked and given back on success, so
 * parallel guesses cannot get past the limit. This module is the only place that counts.
 */

export const LOGIN_FAILURE_LIMIT = 5
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000

/** The key failures are counted under: a keyed digest of the normalised email. */
export const loginFailureKey = (deps: Pick<Deps, 'config'>, email: string) => emailDigest(deps, email)

export interface Attempt {
  /** The live account holding the email, read in the same round trip. */
  user: UserRow | undefined
  emailKey: string
  /** The statement that gives the attempt back, for the caller to batch with a success. */
  giveBack: ReturnType<typeof giveBackAttempt>
}

/** Takes an attempt for an email, reading its account in the same batch. Throws RATE_LIMITED when none is left. */
export async function takeLoginAttempt(deps: Deps, email: string, now: number): Promise<Attempt> {
  const { db } = deps
  const emailKey = await loginFailureKey(deps, email)
  const [taken, counter, found] = await db.batch([
    takeAttempt(db, emailKey, now, LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW_MS),
    windowOf(db, emailKey),
    liveUserByEmail(db, email),
  ])
  if (taken.length === 0) {
    const started = counter[0]?.windowStartedAt
    const retryAfter = started !== undefined ? Math.ceil((started + LOGIN_FAILURE_WINDOW_MS - now) / 1000) : 60
    throw new ApiError('RATE_LIMITED', { message: 'Too many failed logins for this email. Try again later.', retryAfter: Math.max(1, retryAfter) })
  }
  return { user: found[0], emailKey, giveBack: giveBackAttempt(db, emailKey) }
}

/**
 * The statement that clears an email's count (a completed password reset), guarded like the reset.
 * Wrapped: a drizzle statement is a thenable, so an async function returning one would run it.
 */
export async function clearLoginAttempts(deps: Deps, email: string) {
  const emailKey = await loginFailureKey(deps, email)
  return { when: (guard?: SQL) => clearAttempts(deps.db, emailKey, guard) }
}
