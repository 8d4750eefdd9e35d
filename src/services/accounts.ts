import { and, eq, isNull } from 'drizzle-orm'
import { dummyPasswordHash, hashPassword, verifyPassword } from '../crypto/password'
import { users, type UserRow } from '../db/schema'
import { ApiError } from '../errors'
import type { Deps } from './deps'
import { codeKey, consumeCode, issueCode, readCode, type StoredCode } from './otp'
import { openSession, updateUserReturning, type IssuedTokens } from './sessions'

/** The user object of the API: never the hash, never internal columns. */
export interface PublicUser {
  id: string
  email: string
  name: string
  mobile: string | null
  role: 'user' | 'admin'
  emailVerified: boolean
  createdAt: string
  updatedAt: string
}

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

/** The live (not deleted) account holding an email, if any. */
export async function findLiveUserByEmail(deps: Pick<Deps, 'db'>, email: string): Promise<UserRow | undefined> {
  const [user] = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.email, email), isNull(users.deletedAt)))
  return user
}

const isUniqueViolation = (error: unknown): boolean => {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.message.includes('UNIQUE constraint failed')) return true
  }
  return false
}

/** Creates an account and mails a `verify_email` code. */
export async function register(
  deps: Deps,
  input: { email: string; password: string; name: string; mobile?: string | null | undefined },
  now = Date.now(),
): Promise<UserRow> {
  const passwordHash = await hashPassword(input.password, deps.config.passwordPepper)
  let user: UserRow | undefined
  try {
    ;[user] = await deps.db
      .insert(users)
      .values({
        id: crypto.randomUUID(),
        email: input.email,
        name: input.name,
        mobile: input.mobile ?? null,
        passwordHash,
        role: 'user',
        createdAt: now,
        updatedAt: now,
      })
      .returning()
  } catch (error) {
    // The partial unique index decides, so two racing registrations cannot both win.
    if (isUniqueViolation(error)) throw new ApiError('EMAIL_TAKEN')
    throw error
  }
  if (!user) throw new ApiError('INTERNAL_ERROR')
  await issueCode(deps, {
    userId: user.id,
    email: user.email,
    purpose: 'verify_email',
    key: codeKey.account('verify_email', user.id),
  }, now)
  return user
}

/**
 * The account update that goes with a proven login: marks the email verified when the
 * proof came through the inbox, and grants `admin` to a verified address in ADMIN_EMAILS.
 */
function recordProof(deps: Deps, user: UserRow, emailProven: boolean, now: number) {
  const verified = emailProven || user.emailVerifiedAt !== null
  const admin = verified && deps.config.adminEmails.has(user.email)
  return updateUserReturning(deps.db, user.id, {
    ...(emailProven && user.emailVerifiedAt === null ? { emailVerifiedAt: now, updatedAt: now } : {}),
    ...(admin && user.role !== 'admin' ? { role: 'admin', updatedAt: now } : {}),
    // Touch nothing else; SQLite needs at least one assignment.
    id: user.id,
  })
}

/** Confirms an email with its `verify_email` code. */
export async function verifyEmail(deps: Deps, email: string, code: string, now = Date.now()): Promise<UserRow> {
  const user = await findLiveUserByEmail(deps, email)
  // An unknown address answers like an account with no pending code.
  const stored = user ? await readCode(deps, codeKey.account('verify_email', user.id)) : undefined
  if (!user || stored?.userId !== user.id) throw new ApiError('OTP_EXPIRED')
  await consumeCode(deps, stored, code, now)
  const [updated] = await recordProof(deps, user, true, now)
  if (!updated) throw new ApiError('OTP_EXPIRED')
  return updated
}

/** The password step. One answer, and one PBKDF2 run, whether or not the account exists. */
export async function checkCredentials(deps: Deps, email: string, password: string): Promise<UserRow> {
  const { config } = deps
  const user = await findLiveUserByEmail(deps, email)
  const check = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash(config.passwordPepper)), config.passwordPepper)
  if (!user || !check.valid) throw new ApiError('INVALID_CREDENTIALS')
  if (check.needsRehash) {
    // Upgrade the stored work factor while the password is at hand.
    deps.defer(
      hashPassword(password, config.passwordPepper).then((passwordHash) =>
        deps.db.update(users).set({ passwordHash }).where(eq(users.id, user.id)),
      ),
    )
  }
  return user
}

export type LoginResult =
  | { kind: 'challenge'; challengeId: string; expiresIn: number }
  | { kind: 'tokens'; tokens: IssuedTokens }

/** Password login: a challenge with a mailed code when the OTP step is on, tokens when it is off. */
export async function login(deps: Deps, email: string, password: string, now = Date.now()): Promise<LoginResult> {
  const user = await checkCredentials(deps, email, password)
  if (deps.config.requireEmailVerification && user.emailVerifiedAt === null) {
    // The password was right, so saying so leaks nothing; send a fresh code unless one just went out.
    await issueCode(deps, { userId: user.id, email: user.email, purpose: 'verify_email', key: codeKey.account('verify_email', user.id) }, now).catch(
      (error: unknown) => {
        if (!(error instanceof ApiError && error.code === 'RATE_LIMITED')) throw error
      },
    )
    throw new ApiError('EMAIL_NOT_VERIFIED')
  }
  if (deps.config.loginOtp === 'off') {
    return { kind: 'tokens', tokens: await openSession(deps.db, deps.config, user.id, recordProof(deps, user, false, now), deps.meta, now) }
  }
  const challengeId = crypto.randomUUID()
  await issueCode(deps, { userId: user.id, email: user.email, purpose: 'login', key: codeKey.challenge(challengeId) }, now)
  return { kind: 'challenge', challengeId, expiresIn: deps.config.otpTtl }
}

/** Second login step: the mailed code opens the session and proves the email. */
export async function completeLogin(deps: Deps, challengeId: string, code: string, now = Date.now()): Promise<IssuedTokens> {
  const key = codeKey.challenge(challengeId)
  const stored = await readCode(deps, key)
  await consumeCode(deps, stored?.purpose === 'login' ? stored : undefined, code, now)
  const challenge = stored as StoredCode
  const [user] = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.id, challenge.userId), isNull(users.deletedAt)))
  if (!user) throw new ApiError('OTP_EXPIRED')
  const tokens = await openSession(deps.db, deps.config, user.id, recordProof(deps, user, true, now), deps.meta, now)
  deps.defer(deps.kv.delete(key))
  return tokens
}

/** Sends a fresh login code for an open challenge; the new code replaces the old. */
export async function resendLoginCode(deps: Deps, challengeId: string, now = Date.now()) {
  const key = codeKey.challenge(challengeId)
  const stored = await readCode(deps, key)
  if (!stored || stored.expiresAt <= now || stored.purpose !== 'login') throw new ApiError('OTP_EXPIRED')
  await issueCode(deps, { userId: stored.userId, email: stored.email, purpose: 'login', key }, now)
  return { challengeId, expiresIn: deps.config.otpTtl }
}

