import { and } from 'drizzle-orm'
import { retireLoginCodes } from '../../db/codes'
import { dummyPasswordHash, hashPassword, verifyPassword } from '../../crypto/password'
import type { UserRow } from '../../db/schema'
import { revokeUserSessions, sessionIsLive } from '../../db/sessions'
import { hashIs, liveUserByEmail, passwordWrittenAt, replacePasswordHash, updateLiveUser } from '../../db/users'
import { ApiError } from '../../errors'
import { audit } from '../../services/audit'
import { codeKey, issueCode, redeemCode } from '../../services/codes'
import type { Deps } from '../../services/deps'
import { clearLoginAttempts, takeLoginAttempt } from '../../services/login-attempts'
import { notify } from '../../services/notices'
import { signIn, type SignInResult } from '../../services/sign-in'
import { forgetUser } from '../../services/session-cache'

/**
 * The password step. One answer, and one PBKDF2 run, whether or not the account exists;
 * failures are counted per email address exactly, whether or not an account holds it.
 * Returns the account and the statement that gives the attempt back, for the caller to batch.
 */
export async function checkCredentials(deps: Deps, email: string, password: string, now = Date.now()) {
  const { config, db } = deps
  const { user, emailKey, giveBack } = await takeLoginAttempt(deps, email, now)
  // An account without a password (provider sign-in) runs the dummy hash too and answers as a wrong password.
  const stored = user?.passwordHash ?? dummyPasswordHash()
  const check = await verifyPassword(password, stored, config.passwordPepper)
  if (!user || user.passwordHash === null || !check.valid) {
    const detail = user ? { reason: user.passwordHash === null ? 'no_password' : 'wrong_password' } : { reason: 'unknown_account', emailDigest: emailKey }
    audit(deps, { type: 'login_failure', userId: user?.id ?? null, detail }, now)
    throw new ApiError('INVALID_CREDENTIALS')
  }
  if (check.needsRehash) {
    // Upgrade the stored work factor while the password is at hand.
    const checked = user.passwordHash
    deps.defer(hashPassword(password, config.passwordPepper).then((passwordHash) => replacePasswordHash(db, user.id, checked, passwordHash)))
  }
  // Only failures count: a success gives its attempt back, in the caller's next batch.
  return { user, giveBack }
}

/** Password login: the first factor `pwd`, then whatever second step is due (see services/sign-in.ts). */
export async function login(deps: Deps, email: string, password: string, now = Date.now()): Promise<SignInResult> {
  const { user, giveBack } = await checkCredentials(deps, email, password, now)
  if (deps.config.requireEmailVerification && user.emailVerifiedAt === null) {
    deps.defer(giveBack)
    // The password was right, so saying so leaks nothing; send a fresh code unless one just went out.
    await issueCode(deps, { userId: user.id, email: user.email, purpose: 'verify_email', key: codeKey.account('verify_email', user.id) }, now).catch(
      (error: unknown) => {
        if (!(error instanceof ApiError && error.code === 'RATE_LIMITED')) throw error
      },
    )
    throw new ApiError('EMAIL_NOT_VERIFIED')
  }
  return signIn(deps, { user, amr: ['pwd'], also: [giveBack] }, now)
}

/** An account without a password (provider sign-in) has none to re-enter: it sets one through password/forgot. */
export const noPassword = (path: string) =>
  new ApiError('VALIDATION_ERROR', {
    message: 'This account has no password yet. Set one with password/forgot and password/reset.',
    details: [{ path, message: 'this account has no password: use password/forgot to set one' }],
  })

/**
 * A signed-in user re-entering the password (change, delete) spends the same per-email attempts
 * as a login, so a stolen access token cannot guess it without limit. Returns the statement that
 * gives the attempt back, for the caller's batch.
 */
export async function confirmPassword(deps: Deps, auth: { user: UserRow; sessionId: string }, password: string, reason: string, now: number) {
  const stored = auth.user.passwordHash
  // No password to confirm: the caller decides what proves the owner instead (see assertHasPassword).
  if (stored === null) throw noPassword(reason === 'wrong_current_password' ? 'currentPassword' : 'password')
  const { giveBack } = await takeLoginAttempt(deps, auth.user.email, now)
  const check = await verifyPassword(password, stored, deps.config.passwordPepper)
  if (!check.valid) {
    audit(deps, { type: 'login_failure', userId: auth.user.id, sessionId: auth.sessionId, detail: { reason } }, now)
    throw new ApiError('INVALID_CREDENTIALS', { message: 'The password is incorrect.' })
  }
  // Wrapped: returning the query itself from an async function would run it (it is a thenable).
  return { giveBack }
}

/** Changes the password of a signed-in user; every other session ends, the caller's stays. */
export async function changePassword(deps: Deps, auth: { user: UserRow; sessionId: string }, currentPassword: string, newPassword: string, now = Date.now()) {
  const { db, config } = deps
  const { giveBack } = await confirmPassword(deps, auth, currentPassword, 'wrong_current_password', now)
  const checked = auth.user.passwordHash!
  const passwordHash = await hashPassword(newPassword, config.passwordPepper)
  // Only over the hash that was checked, and only while the caller's session is live: a reset
  // or a revocation that landed meanwhile wins.
  const [changed, revoked] = await db.batch([
    updateLiveUser(db, auth.user.id, { passwordHash, updatedAt: now }, and(hashIs(checked), sessionIsLive(auth.sessionId, now))),
    revokeUserSessions(db, auth.user.id, 'password_changed', now, { keep: auth.sessionId, guard: passwordWrittenAt(auth.user.id, passwordHash, now) }),
    // A login challenge opened with the old password must not open a session after the change.
    retireLoginCodes(db, auth.user.id, now, passwordWrittenAt(auth.user.id, passwordHash, now)),
    giveBack,
  ])
  if (changed.length === 0) throw new ApiError('TOKEN_REVOKED')
  audit(deps, { type: 'password_changed', userId: auth.user.id, sessionId: auth.sessionId, detail: { revoked: revoked.length } }, now)
  notify(deps, auth.user.email, 'password_changed')
}

/**
 * Starts a password reset. Everything, the account lookup included, happens after the
 * response, so a known and an unknown address answer alike and equally fast.
 */
export function forgotPassword(deps: Deps, email: string, now = Date.now()): void {
  deps.defer(
    (async () => {
      const [user] = await liveUserByEmail(deps.db, email)
      if (!user) return
      try {
        await issueCode(deps, { userId: user.id, email: user.email, purpose: 'reset_password', key: codeKey.account('reset_password', user.id) }, now)
        audit(deps, { type: 'password_reset_requested', userId: user.id }, now)
      } catch (error) {
        // The throttle's refusal is silent here: the caller must not learn the account exists.
        if (!(error instanceof ApiError && error.code === 'RATE_LIMITED')) throw error
      }
    })(),
  )
}

/**
 * Completes a reset with the mailed code: the code is spent, the password replaced, every
 * session ended and the failed-login count cleared, all in one batch.
 */
export async function resetPassword(deps: Deps, email: string, code: string, newPassword: string, now = Date.now()) {
  const { db, config } = deps
  const [found] = await liveUserByEmail(db, email)
  // An unknown address goes through the same redemption: one answer and one spent try, as for a wrong code.
  const target = { key: found && codeKey.account('reset_password', found.id), purpose: 'reset_password', userId: found?.id, email, uniform: true } as const
  const user = found!
  const clear = await clearLoginAttempts(deps, email)
  const { results } = await redeemCode(deps, target, code, now, async (spent) => {
    // Hashed only once the code is right: a wrong guess costs no PBKDF2.
    const passwordHash = await hashPassword(newPassword, config.passwordPepper)
    return [
      updateLiveUser(db, user.id, { passwordHash, updatedAt: now }, spent),
      revokeUserSessions(db, user.id, 'password_reset', now, { guard: spent }),
      retireLoginCodes(db, user.id, now, spent),
      clear.when(spent),
    ] as const
  })
  const [, revoked] = results
  forgetUser(user.id)
  audit(deps, { type: 'password_reset_completed', userId: user.id, detail: { revoked: revoked.length } }, now)
  notify(deps, user.email, 'password_reset')
}
