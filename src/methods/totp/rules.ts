import { and, type SQL } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { open, seal } from '../../crypto/encryption'
import { keyedHash, randomBytes } from '../../crypto/random'
import type { UserRow } from '../../db/schema'
import { liveUserById, userById } from '../../db/users'
import { ApiError } from '../../errors'
import { audit } from '../../services/audit'
import { codeKey, redeemCode, type StoredCode } from '../../services/codes'
import type { Deps } from '../../services/deps'
import { takeLoginAttempt } from '../../services/login-attempts'
import { notify } from '../../services/notices'
import type { IssuedTokens } from '../../services/sessions'
import { prepareChallengeSession } from '../../services/sign-in'
import { mfaSummaries } from '../../services/ways-in'
import { confirmPassword } from '../password/rules'
import type { Amr, MfaSummary, SecondStep } from '../types'
import { base32, matchingStep, normalizeRecoveryCode, recoveryCode, RECOVERY_CODES_PER_SET, TOTP_DIGITS, TOTP_PERIOD } from './otp'
import {
  acceptStep,
  activatePending,
  activeTotpAmong,
  deleteRecoveryCodes,
  deleteTotp,
  insertChallengeRow,
  insertRecoveryCode,
  recoveryCodesLeft,
  recoveryUsedBy,
  stepAcceptedBy,
  totpOf,
  unusedRecoveryCode,
  upsertPending,
  useRecoveryCode,
} from './queries'
import type { TotpRow } from './schema'

/** A pending enrolment lasts this long (API.md: `expiresIn`, 10 min). */
export const ENROLMENT_SECONDS = 600
/** What completes a challenge this method opens. */
export const TOTP_METHODS = ['totp', 'recovery_code'] as const
export type TotpMethod = (typeof TOTP_METHODS)[number]

const SECRET_LABEL = 'totp-secret'
const SECRET_BYTES = 20

/** The key everything here needs; without it the mfa routes answer 503 (the log names the setting). */
export function mfaKey(deps: Pick<Deps, 'config'>): string {
  const key = deps.config.mfaEncryptionKey
  if (!key) throw new ApiError('CONFIG_ERROR', { cause: new Error('MFA_ENCRYPTION_KEY is not set: authenticator apps are off') })
  return key
}

const sealSecret = (key: string, userId: string, secret: Uint8Array) => seal(key, SECRET_LABEL, secret, `totp:${userId}`)

/** The app's secret, or undefined when the stored value does not open for this account (moved, tampered, another key). */
async function openSecret(deps: Deps, key: string, row: TotpRow): Promise<Uint8Array | undefined> {
  try {
    return await open(key, SECRET_LABEL, row.secret, `totp:${row.userId}`)
  } catch {
    deps.log.error('totp.secret_unreadable', { userId: row.userId })
    return undefined
  }
}

/** The step of the account's app that `code` matches and that was never accepted, or undefined. */
async function stepOf(deps: Deps, key: string, row: TotpRow, code: string, now: number): Promise<number | undefined> {
  const secret = await openSecret(deps, key, row)
  return secret && (await matchingStep(secret, code, now, row.lastStep))
}

const recoveryHash = (key: string, userId: string, code: string) => keyedHash(key, 'recovery-code', `${userId}:${normalizeRecoveryCode(code)}`)

/** A fresh set of recovery codes: the codes to show once, and the statements that store their hashes when `guard` holds. */
async function newRecoverySet(deps: Deps, key: string, userId: string, guard: SQL, now: number) {
  const codes = Array.from({ length: RECOVERY_CODES_PER_SET }, recoveryCode)
  // Hashes first: a drizzle statement is a thenable, so an async callback returning one would run it.
  const hashes = await Promise.all(codes.map((code) => recoveryHash(key, userId, code)))
  const inserts = hashes.map((codeHash) => insertRecoveryCode(deps.db, { id: crypto.randomUUID(), userId, codeHash, createdAt: now }, guard))
  return { codes, statements: [deleteRecoveryCodes(deps.db, userId, guard), ...inserts] as const }
}

const activeRow = async (deps: Deps, userId: string) => {
  const [row] = await totpOf(deps.db, userId)
  return row?.activatedAt !== null && row?.activatedAt !== undefined ? row : undefined
}

const wrongCode = () => new ApiError('OTP_INVALID', { details: [{ path: 'code', message: 'is incorrect' }] })
const noApp = () => new ApiError('NOT_FOUND', { message: 'No authenticator app is active on this account.' })

/** A login challenge as KV keeps it when an app completes it: never a code, only what it accepts. */
interface AppChallenge extends StoredCode {
  methods: TotpMethod[]
}

/**
 * Due after a password or a provider sign-in (a passkey with user verification is two factors
 * already; signIn skips every step for it) when the account has an active app: the challenge
 * accepts a code from the app or a recovery code, and nothing is mailed.
 */
export const totpStep: SecondStep = {
  methods: TOTP_METHODS,
  async due(deps, factor) {
    if (!factor.amr.includes('pwd') && !factor.amr.includes('oauth')) return false
    return (await activeRow(deps, factor.user.id)) !== undefined
  },
  async open(deps, factor, now) {
    const { user } = factor
    const challengeId = crypto.randomUUID()
    const codeId = crypto.randomUUID()
    const expiresAt = now + deps.config.otpTtl * 1000
    await deps.db.batch([insertChallengeRow(deps.db, { id: codeId, userId: user.id, createdAt: now, expiresAt }), ...(factor.also ?? [])])
    // `hash` is empty: no mailed code can ever match it, so verify-otp answers OTP_INVALID here.
    const record: AppChallenge = { codeId, userId: user.id, email: user.email, purpose: 'login', hash: '', createdAt: now, expiresAt, amr: factor.amr, methods: [...TOTP_METHODS] }
    await deps.kv.put(codeKey.challenge(challengeId), JSON.stringify(record), { expirationTtl: Math.max(60, deps.config.otpTtl) })
    return { challengeId, expiresIn: deps.config.otpTtl }
  },
}

/**
 * Completes a challenge with an app code or a recovery code. The challenge's tries, the address's
 * budget of wrong codes and the lockout are the mailed code's (services/codes.ts); on a right
 * code one batch spends the challenge, accepts the step (or uses the recovery code) and opens
 * the session, each write guarded on the one before, so a code works once.
 */
export async function verifyChallenge(deps: Deps, input: { challengeId: string; method: TotpMethod; code: string }, now = Date.now()): Promise<IssuedTokens> {
  const key = mfaKey(deps)
  const { db } = deps
  const marker = crypto.randomUUID()
  let proof: { method: 'totp'; step: number } | { method: 'recovery_code'; hash: string } | undefined
  let session: Awaited<ReturnType<typeof prepareChallengeSession>> | undefined

  const check = async (stored: StoredCode, code: string) => {
    if (!stored.methods?.includes(input.method)) return false
    if (input.method === 'totp') {
      const row = await activeRow(deps, stored.userId)
      const step = row && (await stepOf(deps, key, row, code, now))
      if (step !== undefined) proof = { method: 'totp', step }
    } else {
      const hash = await recoveryHash(key, stored.userId, code)
      const [found] = await unusedRecoveryCode(db, stored.userId, hash)
      if (found) proof = { method: 'recovery_code', hash }
    }
    return proof !== undefined
  }

  const { stored, results } = await redeemCode(
    deps,
    { key: codeKey.challenge(input.challengeId), purpose: 'login' },
    input.code,
    now,
    async (spent, stored) => {
      const [user] = await liveUserById(db, stored.userId)
      if (!user || !proof) throw new ApiError('OTP_EXPIRED')
      const used =
        proof.method === 'totp'
          ? { write: acceptStep(db, user.id, proof.step, marker, spent), done: stepAcceptedBy(user.id, marker) }
          : { write: useRecoveryCode(db, user.id, proof.hash, marker, now, spent), done: recoveryUsedBy(user.id, marker) }
      const amr = [...((stored.amr ?? ['pwd']) as Amr[]), input.method]
      session = await prepareChallengeSession(deps, { user, amr, aal: 'aal2', emailProven: false }, now)
      return [used.write, ...session.statements(and(spent, used.done)!)] as const
    },
    check,
  )
  const [accepted, updated] = results
  // Another request used the same step or recovery code a moment before: this one loses.
  if (accepted.length === 0) throw wrongCode()
  const tokens = await session!.finish(updated)
  if (input.method === 'recovery_code') {
    audit(deps, { type: 'recovery_code_used', userId: stored.userId, sessionId: tokens.sessionId }, now)
  }
  return tokens
}

/** `GET /api/auth/mfa`: the app (pending or active), unused recovery codes, and passkeys. */
export async function mfaStatus(deps: Deps, user: UserRow, now = Date.now()) {
  const [[row], [left], summaries] = await Promise.all([totpOf(deps.db, user.id), recoveryCodesLeft(deps.db, user.id), mfaSummaries(deps, [user.id])])
  const active = row?.activatedAt != null
  const pending = row !== undefined && !active && row.expiresAt > now
  return {
    totp: active || pending ? { enabled: active, createdAt: new Date(active ? row.activatedAt! : row.createdAt).toISOString() } : null,
    recoveryCodesLeft: active ? (left?.left ?? 0) : 0,
    passkeys: summaries.get(user.id)?.passkeys ?? 0,
  }
}

/** The otpauth URI authenticator apps read (API.md), for a QR code. */
export function otpauthUri(deps: Pick<Deps, 'config'>, email: string, secret: string): string {
  const issuer = new URL(deps.config.issuer).host
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(email)}`
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD}`
}

type Auth = { user: UserRow; sessionId: string }

/**
 * Starts an enrolment: a fresh secret, sealed, pending for ten minutes, replacing an earlier
 * pending one; refused while an app is active. The password is re-entered (it spends a login
 * attempt, like a password change) unless the account has none.
 */
export async function enrollTotp(deps: Deps, auth: Auth, password: string | undefined, now = Date.now()) {
  const key = mfaKey(deps)
  if (await activeRow(deps, auth.user.id)) throw new ApiError('MFA_ALREADY_ENABLED')
  const also: BatchItem<'sqlite'>[] = []
  if (auth.user.passwordHash) {
    if (password === undefined) throw new ApiError('VALIDATION_ERROR', { details: [{ path: 'password', message: 'is required' }] })
    also.push((await confirmPassword(deps, auth, password, 'wrong_password_totp_enroll', now)).giveBack)
  }
  const secret = randomBytes(SECRET_BYTES)
  const sealed = await sealSecret(key, auth.user.id, secret)
  const [written] = await deps.db.batch([upsertPending(deps.db, { userId: auth.user.id, secret: sealed, createdAt: now, expiresAt: now + ENROLMENT_SECONDS * 1000 }), ...also])
  if (written.length === 0) throw new ApiError('MFA_ALREADY_ENABLED')
  audit(deps, { type: 'totp_enrolled', userId: auth.user.id, sessionId: auth.sessionId }, now)
  const text = base32(secret)
  return { secret: text, otpauthUri: otpauthUri(deps, auth.user.email, text), expiresIn: ENROLMENT_SECONDS }
}

/**
 * Confirms the pending enrolment with a code from the app: the app becomes active (that step is
 * accepted, so the same code does not sign in too) and a first set of recovery codes is made,
 * in one batch. Sessions already open keep their assurance; new sign-ins need the app.
 */
export async function activateTotp(deps: Deps, auth: Auth, code: string, now = Date.now()) {
  const key = mfaKey(deps)
  const userId = auth.user.id
  const [row] = await totpOf(deps.db, userId)
  if (row?.activatedAt != null) throw new ApiError('MFA_ALREADY_ENABLED')
  if (!row || row.expiresAt <= now) throw new ApiError('OTP_EXPIRED', { message: 'No authenticator app is waiting to be turned on; enroll again.' })
  const step = await stepOf(deps, key, row, code, now)
  if (step === undefined) throw wrongCode()
  const marker = crypto.randomUUID()
  const set = await newRecoverySet(deps, key, userId, stepAcceptedBy(userId, marker), now)
  const [activated] = await deps.db.batch([activatePending(deps.db, userId, row.secret, step, marker, now), ...set.statements])
  if (activated.length === 0) throw new ApiError('OTP_EXPIRED', { message: 'The enrolment changed meanwhile; enroll again.' })
  audit(deps, { type: 'totp_enabled', userId, sessionId: auth.sessionId }, now)
  notify(deps, auth.user.email, 'totp_enabled')
  return { recoveryCodes: set.codes }
}

/**
 * A code from the app (six digits) or a recovery code, spending a login attempt first (given
 * back when it was right), so a stolen access token cannot guess codes without limit. Returns
 * the write that uses it (first in the caller's batch) and the guard true after it did.
 */
async function proveWithCode(deps: Deps, key: string, auth: Auth, code: string, allowRecovery: boolean, now: number) {
  const userId = auth.user.id
  const row = await activeRow(deps, userId)
  if (!row) throw noApp()
  const { giveBack } = await takeLoginAttempt(deps, auth.user.email, now)
  const marker = crypto.randomUUID()
  const refuse = () => {
    audit(deps, { type: 'mfa_code_failure', userId, sessionId: auth.sessionId }, now)
    return wrongCode()
  }
  if (/^\d{6}$/.test(code)) {
    const step = await stepOf(deps, key, row, code, now)
    if (step === undefined) throw refuse()
    return { use: acceptStep(deps.db, userId, step, marker), done: stepAcceptedBy(userId, marker), giveBack, refuse, method: 'totp' as const }
  }
  if (!allowRecovery) throw refuse()
  const hash = await recoveryHash(key, userId, code)
  return { use: useRecoveryCode(deps.db, userId, hash, marker, now), done: recoveryUsedBy(userId, marker), giveBack, refuse, method: 'recovery_code' as const }
}

/** Removes the app and its recovery codes, proven with a current app code or a recovery code. */
export async function removeTotp(deps: Deps, auth: Auth, code: string, now = Date.now()) {
  const key = mfaKey(deps)
  const userId = auth.user.id
  const proof = await proveWithCode(deps, key, auth, code, true, now)
  // The table that holds the proof's marker is emptied last, so both guards still see it.
  const app = deleteTotp(deps.db, userId, proof.done)
  const codes = deleteRecoveryCodes(deps.db, userId, proof.done)
  const [used] = await deps.db.batch(proof.method === 'totp' ? [proof.use, codes, app] : [proof.use, app, codes])
  if (used.length === 0) throw proof.refuse()
  deps.defer(proof.giveBack)
  audit(deps, { type: 'totp_removed', userId, sessionId: auth.sessionId, detail: { with: proof.method } }, now)
  notify(deps, auth.user.email, 'totp_removed')
}

/** A new set of recovery codes, proven with a current app code; the old set stops working in the same batch. */
export async function regenerateRecoveryCodes(deps: Deps, auth: Auth, code: string, now = Date.now()) {
  const key = mfaKey(deps)
  const userId = auth.user.id
  const proof = await proveWithCode(deps, key, auth, code, false, now)
  const set = await newRecoverySet(deps, key, userId, proof.done, now)
  const [used] = await deps.db.batch([proof.use, ...set.statements])
  if (used.length === 0) throw proof.refuse()
  deps.defer(proof.giveBack)
  audit(deps, { type: 'recovery_codes_regenerated', userId, sessionId: auth.sessionId }, now)
  notify(deps, auth.user.email, 'recovery_codes_regenerated')
  return { recoveryCodes: set.codes }
}

/** An admin removes an account's app and recovery codes (a lost phone); passkeys stay. */
export async function adminResetMfa(deps: Deps, actorId: string, userId: string, now = Date.now()) {
  const [user] = await userById(deps.db, userId)
  if (!user || user.deletedAt !== null) throw new ApiError('NOT_FOUND', { message: 'User not found.' })
  const [removed] = await deps.db.batch([deleteTotp(deps.db, userId), deleteRecoveryCodes(deps.db, userId)])
  const hadApp = removed.length > 0
  audit(deps, { type: 'mfa_reset', userId, actorId, detail: { totpRemoved: hadApp } }, now)
  if (hadApp) notify(deps, user.email, 'totp_removed', 'An administrator removed it.')
}

/** The admin user object's `mfa.totp`, for a page of accounts. */
export async function summarizeTotp(deps: Deps, userIds: readonly string[]): Promise<Map<string, Partial<MfaSummary>>> {
  const rows = await activeTotpAmong(deps.readDb, userIds)
  return new Map(rows.map((row) => [row.userId, { totp: true }]))
}
