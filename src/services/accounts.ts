import { hashPassword } from '../crypto/password'
import { revokeUserSessions, sessionStartedAt } from '../db/sessions'
import type { UserRow } from '../db/schema'
import { insertUser, liveUserByEmail, softDeleteUser, updateLiveUser } from '../db/users'
import { ApiError, causeMatches } from '../errors'
import { confirmPassword } from '../methods/password/rules'
import { foldForSearch } from '../schemas/common'
import type { PublicUser } from '../schemas/responses'
import { audit } from './audit'
import { codeKey, issueCode, prepareCode, redeemCode } from './codes'
import type { Deps } from './deps'
import { proofValues } from './proof'
import { forgetUser } from './session-cache'

/** Accounts: creation, email verification, the profile, deletion. */

/** The user object of the API: never the hash, never internal columns. */
export type { PublicUser }

export function toPublicUser(user: UserRow): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    mobile: user.mobile,
    role: user.role,
    emailVerified: user.emailVerifiedAt !== null,
    createdAt: new Date(user.createdAt).toISOString(),
    updatedAt: new Date(user.updatedAt).toISOString(),
  }
}

/** Creates an account and mails a `verify_email` code. */
export async function register(
  deps: Deps,
  input: { email: string; password: string; name: string; mobile?: string | null | undefined },
  now = Date.now(),
): Promise<UserRow> {
  const passwordHash = await hashPassword(input.password, deps.config.passwordPepper)
  const id = crypto.randomUUID()
  const code = prepareCode(deps, { userId: id, email: input.email, purpose: 'verify_email', key: codeKey.account('verify_email', id) }, now)
  await code.store()
  let results
  try {
    // The account and its first code in one batch: one round trip, and no account without a code.
    results = await deps.db.batch([
      insertUser(deps.db, {
        id,
        email: input.email,
        name: input.name,
        nameFolded: foldForSearch(input.name),
        mobile: input.mobile ?? null,
        passwordHash,
        role: 'user',
        createdAt: now,
        updatedAt: now,
      }),
      ...code.statements,
    ])
  } catch (error) {
    // The partial unique index decides, so two racing registrations cannot both win.
    if (causeMatches(error, /UNIQUE constraint failed/)) throw new ApiError('EMAIL_TAKEN')
    throw error
  }
  const [[user], inserted] = results
  if (!user) throw new ApiError('INTERNAL_ERROR')
  await code.finish(inserted)
  audit(deps, { type: 'register', userId: user.id }, now)
  return user
}

/**
 * Confirms an email with its `verify_email` code. An unknown address, one with no pending code and
 * a wrong or expired code all answer OTP_INVALID and spend the address's budget alike.
 */
export async function verifyEmail(deps: Deps, email: string, code: string, now = Date.now()): Promise<UserRow> {
  const [user] = await liveUserByEmail(deps.db, email)
  const target = { key: user && codeKey.account('verify_email', user.id), purpose: 'verify_email', userId: user?.id, email, uniform: true } as const
  const { results } = await redeemCode(deps, target, code, now, (spent) => [updateLiveUser(deps.db, user!.id, proofValues(deps, user!, true, now), spent)] as const)
  const verified = results[0][0]
  if (!verified) throw new ApiError('OTP_INVALID')
  if (user!.emailVerifiedAt === null) audit(deps, { type: 'email_verified', userId: verified.id }, now)
  return verified
}

/**
 * Mails a fresh `verify_email` code (it replaces the pending one) to an unverified account.
 * Like `forgotPassword`, all of it happens after the response, and an unknown or verified
 * address or a throttled resend (one a minute, ten an hour) does nothing, silently.
 */
export function resendVerifyEmail(deps: Deps, email: string, now = Date.now()): void {
  deps.defer(
    (async () => {
      const [user] = await liveUserByEmail(deps.db, email)
      if (!user || user.emailVerifiedAt !== null) return
      await issueCode(deps, { userId: user.id, email: user.email, purpose: 'verify_email', key: codeKey.account('verify_email', user.id) }, now).catch(
        (error: unknown) => {
          if (!(error instanceof ApiError && error.code === 'RATE_LIMITED')) throw error
        },
      )
    })(),
  )
}

/** Edits the caller's own name and mobile. */
export async function updateProfile(deps: Deps, userId: string, changes: { name?: string | undefined; mobile?: string | null | undefined }, now = Date.now()) {
  const values = {
    ...(changes.name !== undefined ? { name: changes.name, nameFolded: foldForSearch(changes.name) } : {}),
    ...(changes.mobile !== undefined ? { mobile: changes.mobile } : {}),
  }
  const [user] = await updateLiveUser(deps.db, userId, { ...values, updatedAt: now })
  if (!user) throw new ApiError('TOKEN_REVOKED')
  audit(deps, { type: 'profile_updated', userId, detail: { fields: Object.keys(values).filter((key) => key !== 'nameFolded') } }, now)
  return user
}

/** How recent a sign-in must be to delete an account that has no password to confirm it. */
export const RECENT_SIGN_IN_MS = 5 * 60_000

/**
 * Deletes the caller's own account once the password confirms it is them. An account without a
 * password (provider sign-in) has nothing to re-enter: its session must have been opened in the
 * last five minutes, so a stolen older token cannot delete it.
 */
export async function deleteOwnAccount(deps: Deps, auth: { user: UserRow; sessionId: string }, password: string | undefined, now = Date.now()) {
  if (auth.user.passwordHash === null) {
    const [session] = await sessionStartedAt(deps.db, auth.user.id, auth.sessionId, now)
    if (!session) throw new ApiError('TOKEN_REVOKED')
    if (now - session.createdAt > RECENT_SIGN_IN_MS) {
      throw new ApiError('FORBIDDEN', { message: 'Sign in again, then delete the account within 5 minutes.', details: [{ path: 'session', message: 'sign in again first (this account has no password)' }] })
    }
  } else {
    if (password === undefined) throw new ApiError('VALIDATION_ERROR', { details: [{ path: 'password', message: 'is required' }] })
    deps.defer((await confirmPassword(deps, auth, password, 'wrong_password_on_delete', now)).giveBack)
  }
  await deleteAccount(deps, auth.user.id, 'self', now)
  audit(deps, { type: 'account_deleted', userId: auth.user.id, sessionId: auth.sessionId }, now)
}

/**
 * Soft-deletes an account and ends every session, in one batch. The row stays (for the
 * audit trail and admins); the email is free for a new account at once.
 */
export async function deleteAccount(deps: Deps, userId: string, reason: 'self' | 'admin', now = Date.now()): Promise<boolean> {
  const { db } = deps
  const [deleted] = await db.batch([
    softDeleteUser(db, userId, now),
    revokeUserSessions(db, userId, reason === 'self' ? 'account_deleted' : 'admin_deleted', now),
  ])
  forgetUser(userId)
  return deleted.length === 1
}
