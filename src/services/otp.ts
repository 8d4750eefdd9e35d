import { and, desc, eq, gt, isNull, lt, ne, sql } from 'drizzle-orm'
import { keyedHash, randomDigits, timingSafeEqual } from '../crypto/random'
import { otpCodes, type OtpPurpose } from '../db/schema'
import { ApiError } from '../errors'
import { audit } from './audit'
import type { Deps } from './deps'

export const OTP_MAX_TRIES = 5
export const OTP_RESEND_SECONDS = 60
export const OTP_HOURLY_LIMIT = 10
/** KV refuses an `expirationTtl` below 60 s. */
const KV_MIN_TTL = 60

/** A code as KV keeps it: never the code, only its keyed hash. */
export interface StoredCode {
  codeId: string
  userId: string
  email: string
  purpose: OtpPurpose
  hash: string
  createdAt: number
  expiresAt: number
}

/** Where a code lives in KV: login codes under their challenge, the others under their account. */
export const codeKey = {
  challenge: (challengeId: string) => `challenge:${challengeId}`,
  account: (purpose: OtpPurpose, userId: string) => `otp:${purpose}:${userId}`,
}

const codeHash = (deps: Deps, codeId: string, code: string) =>
  keyedHash(deps.config.refreshTokenSecret, 'otp-code', `${codeId}:${code}`)

/** What a new code is for, and which earlier code it replaces. */
export interface CodeTarget {
  userId: string
  email: string
  purpose: OtpPurpose
  /** The KV key it is stored under. */
  key: string
  /**
   * Login codes live per challenge: a resend names the code it replaces, and a new login
   * (`replaces` absent) retires nothing, so two devices can sign in at once. Account-wide
   * purposes (verify_email, reset_password) always retire every earlier code of the purpose.
   */
  replaces?: string
  /** A new login challenge is not a resend: it skips the one-minute gap (the hourly cap still holds). */
  newChallenge?: boolean
}

/**
 * Prepares a code for an account and purpose: the D1 statements that decide the send
 * throttle (one a minute, ten an hour) by one conditional insert and retire the code it
 * replaces, and `finish`, which, given the insert's result, stores the code's hash in KV and
 * mails it after the response. Callers may batch the statements with their own writes.
 */
export function prepareCode(deps: Deps, target: CodeTarget, now = Date.now()) {
  const { db, config } = deps
  const codeId = crypto.randomUUID()
  const code = randomDigits(6)
  const expiresAt = now + config.otpTtl * 1000
  const gapStart = target.newChallenge ? now : now - OTP_RESEND_SECONDS * 1000
  const hourAgo = now - 3600 * 1000
  const retired =
    target.purpose !== 'login'
      ? and(eq(otpCodes.userId, target.userId), eq(otpCodes.purpose, target.purpose))
      : target.replaces
        ? eq(otpCodes.id, target.replaces)
        : undefined

  // drizzle cannot batch raw statements on D1, so the conditional writes go through the builders.
  const insert = db
    .insert(otpCodes)
    .select(sql`
      SELECT ${codeId}, ${target.userId}, ${target.purpose}, 0, ${now}, ${expiresAt}, NULL, NULL
      WHERE NOT EXISTS (
          SELECT 1 FROM otp_codes
          WHERE user_id = ${target.userId} AND purpose = ${target.purpose} AND created_at > ${gapStart})
        AND (SELECT count(*) FROM otp_codes
          WHERE user_id = ${target.userId} AND purpose = ${target.purpose} AND created_at > ${hourAgo}) < ${OTP_HOURLY_LIMIT}`)
    .returning({ id: otpCodes.id })
  const retire = retired
    ? [
        db
          .update(otpCodes)
          .set({ consumedAt: now })
          .where(and(retired, isNull(otpCodes.consumedAt), ne(otpCodes.id, codeId), sql`EXISTS (SELECT 1 FROM otp_codes WHERE id = ${codeId})`)),
      ]
    : []

  let stored: Promise<StoredCode> | undefined
  /** Writes the code's hash to KV (once). */
  const store = () =>
    (stored ??= (async () => {
      const record: StoredCode = {
        codeId,
        userId: target.userId,
        email: target.email,
        purpose: target.purpose,
        hash: await codeHash(deps, codeId, code),
        createdAt: now,
        expiresAt,
      }
      await deps.kv.put(target.key, JSON.stringify(record), { expirationTtl: Math.max(KV_MIN_TTL, config.otpTtl) })
      return record
    })())

  return {
    statements: [insert, ...retire] as const,
    /**
     * Stores the code in KV ahead of the D1 batch. For a brand-new account this orders the two
     * writes so a KV failure leaves nothing behind in D1; an orphaned KV entry under a fresh key
     * is harmless and expires.
     */
    store,
    /** Given the rows the insert returned: RATE_LIMITED when the throttle held it back, else store (if not yet) and mail. */
    async finish(inserted: readonly unknown[]): Promise<StoredCode> {
      if (inserted.length !== 1) {
        throw new ApiError('RATE_LIMITED', {
          message: 'A code was sent recently. Wait before asking for another.',
          retryAfter: await throttleRetryAfter(deps, target.userId, target.purpose, now),
        })
      }
      const record = await store()
      deps.defer(deps.mailer.send({ to: target.email, purpose: target.purpose, code, expiresIn: config.otpTtl }))
      return record
    },
  }
}

/** Creates, stores and mails a code on its own (see `prepareCode`). */
export async function issueCode(deps: Deps, target: CodeTarget, now = Date.now()): Promise<StoredCode> {
  const prepared = prepareCode(deps, target, now)
  const [inserted] = await deps.db.batch(prepared.statements)
  return prepared.finish(inserted)
}

async function throttleRetryAfter(deps: Deps, userId: string, purpose: OtpPurpose, now: number): Promise<number> {
  const recent = await deps.db
    .select({ createdAt: otpCodes.createdAt })
    .from(otpCodes)
    .where(and(eq(otpCodes.userId, userId), eq(otpCodes.purpose, purpose), gt(otpCodes.createdAt, now - 3600_000)))
    .orderBy(desc(otpCodes.createdAt))
    .limit(OTP_HOURLY_LIMIT)
  const newest = recent[0]?.createdAt ?? now
  // Under the hourly cap only the one-minute gap applies; at the cap, wait until the oldest leaves the hour.
  const until =
    recent.length >= OTP_HOURLY_LIMIT ? recent[recent.length - 1]!.createdAt + 3600_000 : newest + OTP_RESEND_SECONDS * 1000
  return Math.max(1, Math.ceil((until - now) / 1000))
}

/** Reads a stored code from KV; undefined when absent or unreadable. */
export async function readCode(deps: Deps, key: string): Promise<StoredCode | undefined> {
  const stored = await deps.kv.get<StoredCode>(key, 'json')
  return stored ?? undefined
}

/**
 * Checks a code against its stored hash. A wrong code spends one of five tries, counted by
 * one conditional UPDATE in D1, so parallel guesses cannot exceed the budget. A right code
 * returns without being spent: the caller spends it with `spendCode` in the same batch as
 * the change it authorises, so the two commit together or not at all.
 */
export async function checkCode(deps: Deps, stored: StoredCode | undefined, code: string, now = Date.now()): Promise<StoredCode> {
  if (!stored || stored.expiresAt <= now) throw new ApiError('OTP_EXPIRED')
  if (timingSafeEqual(await codeHash(deps, stored.codeId, code), stored.hash)) return stored

  const counted = await deps.db
    .update(otpCodes)
    .set({ tries: sql`${otpCodes.tries} + 1` })
    .where(liveCode(stored.codeId, now))
    .returning({ tries: otpCodes.tries })
  const tries = counted[0]?.tries
  if (tries === undefined) throw await unavailable(deps, stored, now)
  const attemptsLeft = OTP_MAX_TRIES - tries
  audit(deps, {
    type: attemptsLeft === 0 ? 'otp_burned' : 'otp_failure',
    userId: stored.userId,
    detail: { purpose: stored.purpose, attemptsLeft },
  })
  if (attemptsLeft === 0) throw burned(stored, now)
  throw new ApiError('OTP_INVALID', { details: [{ path: 'otp', message: 'is incorrect', attemptsLeft }] })
}

const liveCode = (codeId: string, now: number) =>
  and(eq(otpCodes.id, codeId), isNull(otpCodes.consumedAt), lt(otpCodes.tries, OTP_MAX_TRIES), gt(otpCodes.expiresAt, now))

/**
 * Marks a checked code used, if it still can be: a single conditional write, so it works once.
 * `marker` must be unique to the calling batch (a fresh UUID).
 */
export const spendCode = (deps: Deps, codeId: string, marker: string, now: number) =>
  deps.db
    .update(otpCodes)
    .set({ consumedAt: now, consumedBy: marker })
    .where(liveCode(codeId, now))
    .returning({ id: otpCodes.id })

/** True inside a batch only after `spendCode` with the same marker has spent the code. */
export const spentBy = (codeId: string, marker: string) =>
  sql`EXISTS (SELECT 1 FROM otp_codes WHERE id = ${codeId} AND consumed_by = ${marker})`

/** Why a code can no longer be used: burned by wrong tries, or used, replaced or expired. */
export async function unavailable(deps: Deps, stored: StoredCode, now: number): Promise<ApiError> {
  const [row] = await deps.db
    .select({ tries: otpCodes.tries })
    .from(otpCodes)
    .where(eq(otpCodes.id, stored.codeId))
  return row && row.tries >= OTP_MAX_TRIES ? burned(stored, now) : new ApiError('OTP_EXPIRED')
}

function burned(stored: StoredCode, now: number): ApiError {
  // A new code may be asked for once the resend gap since this one has passed.
  const retryAfter = Math.max(1, Math.ceil((stored.createdAt + OTP_RESEND_SECONDS * 1000 - now) / 1000))
  return new ApiError('OTP_ATTEMPTS_EXCEEDED', { retryAfter })
}
