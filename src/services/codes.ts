import type { SQL } from 'drizzle-orm'
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import { keyedHash, randomDigits, timingSafeEqual } from '../crypto/random'
import { codesOf, codeWithId, countTry, insertThrottled, recentSends, retireCodes, spendCode, spentBy, triesOf } from '../db/codes'
import { budgetLeft, budgetUsed, recordFailure } from '../db/otp-failures'
import type { OtpPurpose } from '../db/schema'
import { ApiError } from '../errors'
import { audit } from './audit'
import type { Deps } from './deps'
import { takeLoginAttempt } from './login-attempts'

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
  /** A login challenge: what completes it (absent: a mailed code, `email_otp`). */
  methods?: string[]
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
  /** Its KV key; absent when no account holds the address (the attempt still counts). */
  key: string | undefined
  purpose: OtpPurpose
  /** The account it must belong to, when the caller already knows it (account-wide codes). */
  userId?: string
  /** The address the budget is kept for: the one the request named, else the code's own. */
  email?: string
  /**
   * One answer for every failure (`OTP_INVALID`, no `attemptsLeft`), whether or not an account or a
   * code exists: the public code routes (verify-email, password/reset), so neither reveals an account.
   */
  uniform?: boolean
}

/** The writes a right code authorises, each guarded on `spent` (true only once this batch spent the code). */
export type Authorised<T extends readonly BatchItem<'sqlite'>[]> = (spent: SQL, stored: StoredCode) => T | Promise<T>

/** Whether a presented code is right for a stored one; by default, its keyed hash matches. */
export type CodeCheck = (stored: StoredCode, code: string) => Promise<boolean>

/** Wrong codes allowed per email address and purpose in OTP_BUDGET_WINDOW_MS, across all its codes. */
export const OTP_BUDGET = 10
export const OTP_BUDGET_WINDOW_MS = 24 * 3600_000

/**
 * Redeems a code, the one way every purpose does it: the address's budget across codes first, then
 * read the code, check its owner and purpose, and on a wrong code spend one of its five tries and
 * one of the budget (conditional writes, so parallel guesses cannot exceed either); a wrong login
 * code also counts as a failed login. On a right code, spend it in the same batch as the writes it
 * authorises, so the two commit together or not at all; a code works once. Returns the stored code
 * and the results of the authorised writes. The KV copy is deleted after the response.
 */
export async function redeemCode<T extends readonly BatchItem<'sqlite'>[]>(
  deps: Deps,
  target: Redeemable,
  code: string,
  now: number,
  authorise: Authorised<T>,
  /** A challenge completed by something other than a mailed code (an authenticator app) checks it here. */
  check?: CodeCheck,
): Promise<{ stored: StoredCode; results: BatchResponse<T> }> {
  const read = target.key ? await readCode(deps, target.key) : undefined
  const owned = read && read.purpose === target.purpose && (target.userId === undefined || read.userId === target.userId) ? read : undefined
  if (!owned || owned.expiresAt <= now) {
    if (!target.uniform) throw new ApiError('OTP_EXPIRED')
    // Counted as a wrong code, exactly as for a real account with a pending code.
    await spendBudget(deps, target.email!, target.purpose, now)
    throw invalid(undefined)
  }
  const email = target.email ?? owned.email
  const stored = await checkCode(deps, owned, code, email, now, target.uniform === true, check)
  const marker = crypto.randomUUID()
  const writes = await authorise(spentBy(stored.codeId, marker), stored)
  // The budget is decided in the statement that spends the code: past it, a right code works no
  // more than a wrong one, and no separate read is needed before.
  const key = await budgetKey(deps, email)
  const since = now - OTP_BUDGET_WINDOW_MS
  const spend = spendCode(deps.db, stored.codeId, marker, now, OTP_MAX_TRIES, budgetLeft(key, target.purpose, since, OTP_BUDGET))
  const [spent, ...results] = (await deps.db.batch([spend, ...writes])) as [{ id: string }[], ...BatchResponse<T>]
  if (spent.length === 0) {
    const [state] = await budgetUsed(deps.db, key, target.purpose, since)
    if ((state?.used ?? 0) >= OTP_BUDGET) throw budgetExhausted(state?.oldest ?? now, now)
    throw target.uniform ? invalid(undefined) : await unavailable(deps, stored, now)
  }
  deps.defer(deps.kv.delete(target.key!))
  return { stored, results: results as unknown as BatchResponse<T> }
}

const budgetKey = (deps: Deps, email: string) => keyedHash(deps.config.refreshTokenSecret, 'otp-budget', email)

/** Spends one wrong code of the address's budget (an alert when it was the last); 429 when none was left. */
async function spendBudget(deps: Deps, email: string, purpose: OtpPurpose, now: number, userId: string | null = null) {
  const key = await budgetKey(deps, email)
  const since = now - OTP_BUDGET_WINDOW_MS
  const [recorded, [state]] = await deps.db.batch([recordFailure(deps.db, key, purpose, now, since, OTP_BUDGET), budgetUsed(deps.db, key, purpose, since)])
  if (recorded.length === 0) throw budgetExhausted(state?.oldest ?? now, now)
  if ((state?.used ?? 0) >= OTP_BUDGET) audit(deps, { type: 'otp_budget_exhausted', userId, detail: { purpose, emailDigest: key } }, now)
}

function budgetExhausted(oldest: number, now: number): ApiError {
  return new ApiError('OTP_ATTEMPTS_EXCEEDED', {
    message: 'Too many wrong codes for this address. Try again later.',
    retryAfter: Math.max(1, Math.ceil((oldest + OTP_BUDGET_WINDOW_MS - now) / 1000)),
  })
}

const invalid = (attemptsLeft: number | undefined) =>
  new ApiError('OTP_INVALID', { details: [{ path: 'otp', message: 'is incorrect', ...(attemptsLeft !== undefined ? { attemptsLeft } : {}) }] })

/** A right code returns as it is; a wrong one spends a try (and budget) and throws OTP_INVALID, or burns the code. */
async function checkCode(deps: Deps, stored: StoredCode, code: string, email: string, now: number, uniform: boolean, check?: CodeCheck): Promise<StoredCode> {
  if (check ? await check(stored, code) : timingSafeEqual(await codeHash(deps, stored.codeId, code), stored.hash)) return stored

  // The budget first: past it the answer is 429 and nothing else is counted. A wrong second-step
  // code is then a failed login too (the per-email lockout); it is never given back.
  await spendBudget(deps, email, stored.purpose, now, stored.userId)
  if (stored.purpose === 'login') await takeLoginAttempt(deps, email, now).catch(ignoreRateLimited)
  const counted = await countTry(deps.db, stored.codeId, now, OTP_MAX_TRIES)
  const tries = counted[0]?.tries
  if (tries === undefined) throw uniform ? invalid(undefined) : await unavailable(deps, stored, now)
  const attemptsLeft = OTP_MAX_TRIES - tries
  audit(deps, { type: attemptsLeft === 0 ? 'otp_burned' : 'otp_failure', userId: stored.userId, detail: { purpose: stored.purpose, attemptsLeft } })
  if (uniform) throw invalid(undefined)
  if (attemptsLeft === 0) throw burned(stored, now)
  throw invalid(attemptsLeft)
}

const ignoreRateLimited = (error: unknown) => {
  if (!(error instanceof ApiError && error.code === 'RATE_LIMITED')) throw error
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
