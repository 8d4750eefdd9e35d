import { and, eq, isNull, lt, lte, or, sql } from 'drizzle-orm'
import { dummyPasswordHash, hashPassword, verifyPassword } from '../crypto/password'
import { loginFailures, users, type UserRow } from '../db/schema'
import { ApiError, causeMatches } from '../errors'
import { audit, emailDigest } from './audit'
import { foldForSearch } from '../schemas/common'
import type { PublicUser } from '../schemas/responses'
import type { Deps } from './deps'
import { checkCode, codeKey, issueCode, prepareCode, readCode, spendCode, spentBy, unavailable } from './otp'
import { openSession, revokeUserSessions, type IssuedTokens } from './sessions'

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

const liveUser = (userId: string) => and(eq(users.id, userId), isNull(users.deletedAt))

/** The live (not deleted) account holding an email, if any. */
export async function findLiveUserByEmail(deps: Pick<Deps, 'db'>, email: string): Promise<UserRow | undefined> {
  const [user] = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.email, email), isNull(users.deletedAt)))
  return user
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
      deps.db
        .insert(users)
        .values({
          id,
          email: input.email,
          name: input.name,
          nameFolded: foldForSearch(input.name),
          mobile: input.mobile ?? null,
          passwordHash,
          role: 'user',
          createdAt: now,
          updatedAt: now,
        })
        .returning(),
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
 * The account changes that go with a proof of identity: the email marked verified when the
 * proof came through the inbox, and `admin` granted to a verified address in ADMIN_EMAILS.
 */
function proofValues(deps: Deps, user: UserRow, emailProven: boolean, now: number): Partial<typeof users.$inferInsert> {
  const verified = emailProven || user.emailVerifiedAt !== null
  const promote = verified && user.role !== 'admin' && deps.config.adminEmails.has(user.email)
  const verify = emailProven && user.emailVerifiedAt === null
  return {
    ...(verify ? { emailVerifiedAt: now } : {}),
    ...(promote ? { role: 'admin' as const } : {}),
    ...(verify || promote ? { updatedAt: now } : {}),
  }
}

/** Confirms an email with its `verify_email` code. */
export async function verifyEmail(deps: Deps, email: string, code: string, now = Date.now()): Promise<UserRow> {
  const user = await findLiveUserByEmail(deps, email)
  // An unknown address answers like an account with no pending code.
  const stored = user ? await readCode(deps, codeKey.account('verify_email', user.id)) : undefined
  if (!user || stored?.userId !== user.id || stored.purpose !== 'verify_email') throw new ApiError('OTP_EXPIRED')
  await checkCode(deps, stored, code, now)
  const marker = crypto.randomUUID()
  const [spent, updated] = await deps.db.batch([
    spendCode(deps, stored.codeId, marker, now),
    deps.db
      .update(users)
      .set({ ...proofValues(deps, user, true, now), id: user.id })
      .where(and(liveUser(user.id), spentBy(stored.codeId, marker)))
      .returning(),
  ])
  if (spent.length === 0) throw await unavailable(deps, stored, now)
  const verified = updated[0]
  if (!verified) throw new ApiError('OTP_EXPIRED')
  if (user.emailVerifiedAt === null) audit(deps, { type: 'email_verified', userId: user.id }, now)
  deps.defer(deps.kv.delete(codeKey.account('verify_email', user.id)))
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
      const user = await findLiveUserByEmail(deps, email)
      if (!user || user.emailVerifiedAt !== null) return
      try {
        await issueCode(deps, { userId: user.id, email: user.email, purpose: 'verify_email', key: codeKey.account('verify_email', user.id) }, now)
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'RATE_LIMITED')) throw error
      }
    })(),
  )
}

export const LOGIN_FAILURE_LIMIT = 5
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000

/**
 * Takes one of the five attempts an email address has per window, before the password is
 * checked: one conditional upsert, so parallel guesses cannot get past the limit. The attempt
 * counts as a failure until a success gives it back. The same batch reads the account, so the
 * password step costs one round trip before the hash. Throws RATE_LIMITED when no attempt is left.
 */
async function takeLoginAttempt(deps: Deps, emailKey: string, email: string, now: number): Promise<UserRow | undefined> {
  const { db } = deps
  const windowStart = now - LOGIN_FAILURE_WINDOW_MS
  const [taken, counter, found] = await db.batch([
    db
      .insert(loginFailures)
      .values({ emailKey, failures: 1, windowStartedAt: now })
      .onConflictDoUpdate({
        target: loginFailures.emailKey,
        set: {
          failures: sql`CASE WHEN ${loginFailures.windowStartedAt} <= ${windowStart} THEN 1 ELSE ${loginFailures.failures} + 1 END`,
          // The failure that reaches the limit restarts the window, so the lock lasts a full
          // window from it: no burst of five at the end of one window and five more at the start of the next.
          windowStartedAt: sql`CASE WHEN ${loginFailures.windowStartedAt} <= ${windowStart} OR ${loginFailures.failures} + 1 >= ${LOGIN_FAILURE_LIMIT} THEN ${now} ELSE ${loginFailures.windowStartedAt} END`,
        },
        setWhere: or(lte(loginFailures.windowStartedAt, windowStart), lt(loginFailures.failures, LOGIN_FAILURE_LIMIT)),
      })
      .returning({ failures: loginFailures.failures }),
    db.select({ windowStartedAt: loginFailures.windowStartedAt }).from(loginFailures).where(eq(loginFailures.emailKey, emailKey)),
    db
      .select()
      .from(users)
      .where(and(eq(users.email, email), isNull(users.deletedAt))),
  ])
  if (taken.length === 0) {
    const started = counter[0]?.windowStartedAt
    const retryAfter = started !== undefined ? Math.ceil((started + LOGIN_FAILURE_WINDOW_MS - now) / 1000) : 60
    throw new ApiError('RATE_LIMITED', { message: 'Too many failed logins for this email. Try again later.', retryAfter: Math.max(1, retryAfter) })
  }
  return found[0]
}

/** The statement that gives back the attempt a successful login took. */
const giveBackAttempt = (deps: Deps, emailKey: string) =>
  deps.db
    .update(loginFailures)
    .set({ failures: sql`max(${loginFailures.failures} - 1, 0)` })
    .where(eq(loginFailures.emailKey, emailKey))

/**
 * The password step. One answer, and one PBKDF2 run, whether or not the account exists;
 * failures are counted per email address exactly, whether or not an account holds it.
 * Returns the account and the statement that gives the attempt back, for the caller to batch.
 */
export async function checkCredentials(deps: Deps, email: string, password: string, now = Date.now()) {
  const { config, db } = deps
  const emailKey = await loginFailureKey(deps, email)
  const user = await takeLoginAttempt(deps, emailKey, email, now)
  const stored = user?.passwordHash ?? dummyPasswordHash()
  const check = await verifyPassword(password, stored, config.passwordPepper)
  if (!user || !check.valid) {
    const detail = user ? { reason: 'wrong_password' } : { reason: 'unknown_account', emailDigest: emailKey }
    audit(deps, { type: 'login_failure', userId: user?.id ?? null, detail }, now)
    throw new ApiError('INVALID_CREDENTIALS')
  }
  if (check.needsRehash) {
    // Upgrade the stored work factor while the password is at hand.
    deps.defer(
      hashPassword(password, config.passwordPepper).then((passwordHash) =>
        db
          .update(users)
          .set({ passwordHash })
          .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash))),
      ),
    )
  }
  // Only failures count: a success gives its attempt back, in the caller's next batch.
  return { user, giveBack: giveBackAttempt(deps, emailKey) }
}

export type LoginResult =
  | { kind: 'challenge'; challengeId: string; expiresIn: number }
  | { kind: 'tokens'; tokens: IssuedTokens }

/** Password login: a challenge with a mailed code when the OTP step is on, tokens when it is off. */
export async function login(deps: Deps, email: string, password: string, now = Date.now()): Promise<LoginResult> {
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
  if (deps.config.loginOtp === 'off') {
    return { kind: 'tokens', tokens: await openSession(deps, user.id, proofValues(deps, user, false, now), undefined, now, [giveBack]) }
  }
  const challengeId = crypto.randomUUID()
  const code = prepareCode(deps, { userId: user.id, email: user.email, purpose: 'login', key: codeKey.challenge(challengeId), newChallenge: true }, now)
  const [inserted] = await deps.db.batch([...code.statements, giveBack])
  await code.finish(inserted)
  return { kind: 'challenge', challengeId, expiresIn: deps.config.otpTtl }
}

/** Second login step: the mailed code opens the session and proves the email. */
export async function completeLogin(deps: Deps, challengeId: string, code: string, now = Date.now()): Promise<IssuedTokens> {
  const key = codeKey.challenge(challengeId)
  const read = await readCode(deps, key)
  const stored = await checkCode(deps, read?.purpose === 'login' ? read : undefined, code, now)
  const [user] = await deps.db.select().from(users).where(liveUser(stored.userId))
  if (!user) throw new ApiError('OTP_EXPIRED')
  const tokens = await openSession(deps, user.id, proofValues(deps, user, true, now), stored, now)
  if (user.emailVerifiedAt === null) audit(deps, { type: 'email_verified', userId: user.id }, now)
  deps.defer(deps.kv.delete(key))
  return tokens
}

/** Sends a fresh login code for an open challenge; the new code replaces the old. */
export async function resendLoginCode(deps: Deps, challengeId: string, now = Date.now()) {
  const key = codeKey.challenge(challengeId)
  const stored = await readCode(deps, key)
  if (!stored || stored.expiresAt <= now || stored.purpose !== 'login') throw new ApiError('OTP_EXPIRED')
  await issueCode(deps, { userId: stored.userId, email: stored.email, purpose: 'login', key, replaces: stored.codeId }, now)
  return { challengeId, expiresIn: deps.config.otpTtl }
}

/** Changes the password of a signed-in user; every other session ends, the caller's stays. */
export async function changePassword(
  deps: Deps,
  auth: { user: UserRow; sessionId: string },
  currentPassword: string,
  newPassword: string,
  now = Date.now(),
) {
  const { db, config } = deps
  const { giveBack } = await confirmPassword(deps, auth, currentPassword, 'wrong_current_password', now)
  const passwordHash = await hashPassword(newPassword, config.passwordPepper)
  // Only over the hash that was checked, and only while the caller's session is live: a reset
  // or a revocation that landed meanwhile wins.
  const [changed, revoked] = await db.batch([
    db
      .update(users)
      .set({ passwordHash, updatedAt: now })
      .where(
        and(
          liveUser(auth.user.id),
          eq(users.passwordHash, auth.user.passwordHash),
          sql`EXISTS (SELECT 1 FROM sessions WHERE id = ${auth.sessionId} AND revoked_at IS NULL AND expires_at > ${now})`,
        ),
      )
      .returning({ id: users.id }),
    revokeUserSessions(db, auth.user.id, 'password_changed', now, {
      keep: auth.sessionId,
      guard: sql`EXISTS (SELECT 1 FROM users WHERE id = ${auth.user.id} AND updated_at = ${now} AND password_hash = ${passwordHash})`,
    }),
    giveBack,
  ])
  if (changed.length === 0) throw new ApiError('TOKEN_REVOKED')
  audit(deps, { type: 'password_changed', userId: auth.user.id, sessionId: auth.sessionId, detail: { revoked: revoked.length } }, now)
}

/**
 * Starts a password reset. Everything, the account lookup included, happens after the
 * response, so a known and an unknown address answer alike and equally fast.
 */
export function forgotPassword(deps: Deps, email: string, now = Date.now()): void {
  deps.defer(
    (async () => {
      const user = await findLiveUserByEmail(deps, email)
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
  const user = await findLiveUserByEmail(deps, email)
  const key = user ? codeKey.account('reset_password', user.id) : undefined
  const read = key ? await readCode(deps, key) : undefined
  if (!user || !key || read?.userId !== user.id || read.purpose !== 'reset_password') throw new ApiError('OTP_EXPIRED')
  const stored = await checkCode(deps, read, code, now)
  const passwordHash = await hashPassword(newPassword, config.passwordPepper)
  const marker = crypto.randomUUID()
  const spent = spentBy(stored.codeId, marker)
  const [spentRows, , revoked] = await db.batch([
    spendCode(deps, stored.codeId, marker, now),
    db.update(users).set({ passwordHash, updatedAt: now }).where(and(liveUser(user.id), spent)),
    revokeUserSessions(db, user.id, 'password_reset', now, { guard: spent }),
    db.delete(loginFailures).where(and(eq(loginFailures.emailKey, await loginFailureKey(deps, email)), spent)),
  ])
  if (spentRows.length === 0) throw await unavailable(deps, stored, now)
  audit(deps, { type: 'password_reset_completed', userId: user.id, detail: { revoked: revoked.length } }, now)
  deps.defer(deps.kv.delete(key))
}

/** The key failed logins are counted under: a keyed digest of the normalised email. */
export const loginFailureKey = (deps: Deps, email: string) => emailDigest(deps, email)

/** Edits the caller's own name and mobile. */
export async function updateProfile(deps: Deps, userId: string, changes: { name?: string | undefined; mobile?: string | null | undefined }, now = Date.now()) {
  const values = {
    ...(changes.name !== undefined ? { name: changes.name, nameFolded: foldForSearch(changes.name) } : {}),
    ...(changes.mobile !== undefined ? { mobile: changes.mobile } : {}),
  }
  const [user] = await deps.db
    .update(users)
    .set({ ...values, updatedAt: now })
    .where(liveUser(userId))
    .returning()
  if (!user) throw new ApiError('TOKEN_REVOKED')
  audit(deps, { type: 'profile_updated', userId, detail: { fields: Object.keys(values).filter((key) => key !== 'nameFolded') } }, now)
  return user
}

/**
 * A signed-in user re-entering the password (change, delete) spends the same per-email attempts
 * as a login, so a stolen access token cannot guess it without limit. Returns the statement that
 * gives the attempt back, for the caller's batch.
 */
async function confirmPassword(deps: Deps, auth: { user: UserRow; sessionId: string }, password: string, reason: string, now: number) {
  const emailKey = await loginFailureKey(deps, auth.user.email)
  await takeLoginAttempt(deps, emailKey, auth.user.email, now)
  const check = await verifyPassword(password, auth.user.passwordHash, deps.config.passwordPepper)
  if (!check.valid) {
    audit(deps, { type: 'login_failure', userId: auth.user.id, sessionId: auth.sessionId, detail: { reason } }, now)
    throw new ApiError('INVALID_CREDENTIALS', { message: 'The password is incorrect.' })
  }
  // Wrapped: returning the query itself from an async function would run it (it is a thenable).
  return { giveBack: giveBackAttempt(deps, emailKey) }
}

/** Deletes the caller's own account once the password confirms it is them. */
export async function deleteOwnAccount(deps: Deps, auth: { user: UserRow; sessionId: string }, password: string, now = Date.now()) {
  deps.defer((await confirmPassword(deps, auth, password, 'wrong_password_on_delete', now)).giveBack)
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
    db.update(users).set({ deletedAt: now, updatedAt: now }).where(liveUser(userId)).returning({ id: users.id }),
    revokeUserSessions(db, userId, reason === 'self' ? 'account_deleted' : 'admin_deleted', now),
  ])
  return deleted.length === 1
}
