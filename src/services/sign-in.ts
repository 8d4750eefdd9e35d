import type { SQL } from 'drizzle-orm'
import type { UserRow } from '../db/schema'
import { ApiError } from '../errors'
import type { Amr, ChallengeMethod, FirstFactor } from '../methods/types'
import type { Deps } from './deps'
import { proofValues } from './proof'
import { prepareSession, type IssuedTokens } from './sessions'

/**
 * The sign-in flow every method shares: a proven first factor either opens a session at once
 * or, when the account's methods say a second step is due, a login challenge. The session
 * records how it was established (`amr`, `aal`).
 */

export type SignInResult =
  | { kind: 'challenge'; challengeId: string; expiresIn: number; methods: readonly ChallengeMethod[] }
  | { kind: 'tokens'; tokens: IssuedTokens }

/** A banned account signs in by no method; a ban past its end is as good as none. */
export function assertNotBanned(user: UserRow, now: number): void {
  if (user.bannedAt === null || (user.bannedUntil !== null && user.bannedUntil <= now)) return
  const until = user.bannedUntil === null ? null : new Date(user.bannedUntil).toISOString()
  throw new ApiError('ACCOUNT_BANNED', { details: [{ path: 'account', message: 'is banned', until }] })
}

/** After a first factor: the first second step that is due opens a challenge; with none due, a session opens. */
export async function signIn(deps: Deps, factor: FirstFactor, now = Date.now()): Promise<SignInResult> {
  assertNotBanned(factor.user, now)
  if (factor.aal !== 'aal2') {
    for (const step of deps.secondSteps) {
      if (await step.due(deps, factor)) return { kind: 'challenge', methods: step.methods, ...(await step.open(deps, factor, now)) }
    }
  }
  const session = await prepareSession(
    deps,
    { userId: factor.user.id, userValues: proofValues(deps, factor.user, false, now), aal: factor.aal ?? 'aal1', amr: factor.amr },
    now,
  )
  return { kind: 'tokens', tokens: await session.open(factor.also) }
}

/** A challenge passed: what the second step proved, for the session it opens. */
export interface CompletedChallenge {
  user: UserRow
  /** The first factor's methods and the step's own. */
  amr: Amr[]
  aal: 'aal1' | 'aal2'
  /** The step proved the inbox (a mailed code): the email is marked verified. */
  emailProven: boolean
}

/**
 * Prepares the session a passed challenge opens; the step runs `statements(spent)` in the
 * batch that spends its proof, then `finish` with the account row that batch wrote.
 */
export async function prepareChallengeSession(deps: Deps, done: CompletedChallenge, now: number) {
  assertNotBanned(done.user, now)
  const session = await prepareSession(
    deps,
    { userId: done.user.id, userValues: proofValues(deps, done.user, done.emailProven, now), aal: done.aal, amr: done.amr },
    now,
  )
  return {
    statements: (spent: SQL) => session.statements(spent),
    finish: (updated: readonly UserRow[]) => session.finish(updated, new ApiError('OTP_EXPIRED')),
  }
}
