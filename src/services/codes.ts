import type { SQL } from 'drizzle-orm'
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import { keyedHash, randomDigits, timingSafeEqual } from '../crypto/random'
import { codesOf, codeWithId, countTry, insertThrottled, recentSends, retireCodes, spendCode, spentBy, triesOf } from '../db/codes'
import type { OtpPurpose } from '../db/schema'
import { ApiError } from '../errors'
import { audit } from './audit'
import type { Deps } from './deps'

/**
 * One-time codes: issuing (the send throttle, KV, the mailer) and redeeming (owner, purpose,
 * tries, single use). The code itself lives in KV as a keyed hash; what must be exact lives in D1.
 */

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
  /** A login code: the methods of the first factor it follows. */
  amr?: string[]
}

/** Where a code lives in KV: login codes under their challenge, the others under their account. */
export const codeKey = {
  challenge: (challengeId: string) => `challenge:${challengeId}`,
  account: (purpose: OtpPurpose, userId: string) => `otp:${purpose}:${userId}`,
}

const codeHash = (deps: Deps, codeId: string, code: string) => keyedHash(deps.config.refreshTokenSecret, 'otp-code', `${codeId}:${code}`)

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
  /** A login code: the methods of the first factor it follows, kept with the code. */
  amr?: string[]
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
  const retired = target.purpose !== 'login' ? codesOf(target.userId, target.purpose) : target.replaces ? codeWithId(target.replaces) : undefined

  const insert = insertThrottled(
    db,
    { id: codeId, userId: target.userId, purpose: target.purpose, createdAt: now, expiresAt },
    { gapStart: target.newChallenge ? now : now - OTP_RESEND_SECONDS * 1000, hourAgo: now - 3600 * 1000, hourlyLimit: OTP_HOURLY_LIMIT },
  )
  const retire = retired ? [retireCodes(db, retired, codeId, now)] : []

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
        ...(target.amr ? { amr: target.amr } : {}),
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
  const recent = await recentSends(deps.db, userId, purpose, now - 3600_000, OTP_HOURLY_LIMIT)
  const newest = recent[0]?.createdAt ?? now
  // Under the hourly cap only the one-minute gap applies; at the cap, wait until the oldest leaves the hour.
  const until = recent.length >= OTP_HOURLY_LIMIT ? recent[recent.length - 1]!.createdAt + 3600_000 : newest + OTP_RESEND_SECONDS * 1000
  return Math.max(1, Math.ceil((until - now) / 1000))
}

/** Reads a stored code from KV; undefined when absent or unreadable. */
export async function readCode(deps: Deps, key: string): Promise<StoredCode | undefined> {
  const stored = await deps.kv.get<StoredCode>(key, 'json')
  return stored ?? undefined
}

/** Which code a redemption is for. */
export interface Redeemable {
  /** Its KV key. */
  key: string
  purpose: OtpPurpose
  /** The account it must belong to, when the caller already knows it (account-wide codes). */
  userId?: string
}

/** The writes a right code authorises, each guarded on `spent` (true only once this batch spent the code). */
export type Authorised<T extends readonly BatchItem<'sqlite'>[]> = (spent: SQL, stored: StoredCode) => T | Promise<T>

/**
 * Redeems a code, the one way every purpose does it: read it, check its owner and purpose, and
 * on a wrong code spend one of five tries (one conditional UPDATE, so parallel guesses cannot
 * exceed the budget). On a right code, spend it in the same batch as the writes it authorises,
 * so the two commit together or not at all; a code works once. Returns the stored code and the
 * results of the authorised writes. The KV copy is deleted after the response.
 */
export async function redeemCode<T extends readonly BatchItem<'sqlite'>[]>(
  deps: Deps,
  target: Redeemable,
  code: string,
  now: number,
  authorise: Authorised<T>,
): Promise<{ stored: StoredCode; results: BatchResponse<T> }> {
  const read = await readCode(deps, target.key)
  const owned = read && read.purpose === target.purpose && (target.userId === undefined || read.userId === target.userId) ? read : undefined
  const stored = await checkCode(deps, owned, code, now)
  const marker = crypto.randomUUID()
  const writes = await authorise(spentBy(stored.codeId, marker), stored)
  const [spent, ...results] = (await deps.db.batch([spendCode(deps.db, stored.codeId, marker, now, OTP_MAX_TRIES), ...writes])) as [
    { id: string }[],
    ...BatchResponse<T>,
  ]
  if (spent.length === 0) throw await unavailable(deps, stored, now)
  deps.defer(deps.kv.delete(target.key))
  return { stored, results: results as unknown as BatchResponse<T> }
}

/** A right code returns as it is; a wrong one spends a try and throws OTP_INVALID (or burns the code). */
async function checkCode(deps: Deps, stored: StoredCode | undefined, code: string, now: number): Promise<StoredCode> {
  if (!stored || stored.expiresAt <= now) throw new ApiError('OTP_EXPIRED')
  if (timingSafeEqual(await codeHash(deps, stored.codeId, code), stored.hash)) return stored

  const counted = await countTry(deps.db, stored.codeId, now, OTP_MAX_TRIES)
  const tries = counted[0]?.tries
  if (tries === undefined) throw await unavailable(deps, stored, now)
  const attemptsLeft = OTP_MAX_TRIES - tries
  audit(deps, { type: attemptsLeft === 0 ? 'otp_burned' : 'otp_failure', userId: stored.userId, detail: { purpose: stored.purpose, attemptsLeft } })
  if (attemptsLeft === 0) throw burned(stored, now)
  throw new ApiError('OTP_INVALID', { details: [{ path: 'otp', message: 'is incorrect', attemptsLeft }] })
}

/** Why a code can no longer be used: burned by wrong tries, or used, replaced or expired. */
async function unavailable(deps: Deps, stored: StoredCode, now: number): Promise<ApiError> {
  const [row] = await triesOf(deps.db, stored.codeId)
  return row && row.tries >= OTP_MAX_TRIES ? burned(stored, now) : new ApiError('OTP_EXPIRED')
}

function burned(stored: StoredCode, now: number): ApiError {
  // A new code may be asked for once the resend gap since this one has passed.
  const retryAfter = Math.max(1, Math.ceil((stored.createdAt + OTP_RESEND_SECONDS * 1000 - now) / 1000))
  return new ApiError('OTP_ATTEMPTS_EXCEEDED', { retryAfter })
}
