import { and, type SQL } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { decodeJwt } from 'jose'
import type { Config } from '../config'
import { sha256 } from '../crypto/random'
import { signAccessToken, signRefreshToken, verifyRefreshToken } from '../crypto/tokens'
import { retireLoginCodes } from '../db/codes'
import type { Db } from '../db/client'
import { restampSuccessor, rotateInOneTrip, tokenState, type TokenState } from '../db/hot-path'
import type { RefreshTokenRow, SessionRow, UserRow, users } from '../db/schema'
import {
  insertRefreshToken,
  insertSession,
  liveSessionsOf,
  revokeOwnSession as revokeOwn,
  revokeSession as revokeOne,
  revokeUserSessions,
} from '../db/sessions'
import { updateLiveUser, userIsLive } from '../db/users'
import { ApiError } from '../errors'
import { audit } from './audit'
import type { Deps } from './deps'
import { noticeNewDevice } from './notices'
import { forgetSession } from './session-cache'

export { revokeUserSessions }

/** A rotated token presented again within this window gets its successor back (two tabs, a lost response). */
export const REUSE_GRACE_MS = 10_000

/** What a successful login or refresh hands to the client. */
export interface IssuedTokens {
  accessToken: string
  refreshToken: string
  /** When the refresh token stops working (ms); the cookie's Max-Age follows it. */
  refreshExpiresAt: number
  sessionId: string
  user: UserRow
}

/** How a session was established (API.md "Sign-in methods and assurance"). */
export type Assurance = Pick<SessionRow, 'aal' | 'amr'>

/** The claims of a refresh token, re-derived from its stored record. */
function refreshClaims(row: Pick<RefreshTokenRow, 'id' | 'sessionId' | 'issuedAt' | 'expiresAt'>, userId: string) {
  return {
    sub: userId,
    sid: row.sessionId,
    jti: row.id,
    iat: Math.floor(row.issuedAt / 1000),
    exp: Math.floor(row.expiresAt / 1000),
  }
}

/** A refresh token lives `refreshTokenTtl` from its issue, and never past the session's absolute end. */
function refreshExpiry(config: Config, sessionExpiresAt: number, now: number): number {
  // Whole seconds, so the stored record and the token's `exp` agree exactly.
  return Math.floor(Math.min(now + config.refreshTokenTtl * 1000, sessionExpiresAt) / 1000) * 1000
}

async function issue(config: Config, user: UserRow, assurance: Assurance, token: Pick<RefreshTokenRow, 'sessionId' | 'expiresAt'>, refreshToken: string, now: number) {
  const accessToken = await signAccessToken(
    { sub: user.id, sid: token.sessionId, role: user.role, email: user.email, aal: assurance.aal, amr: assurance.amr },
    config,
    now,
  )
  return { accessToken, refreshToken, refreshExpiresAt: token.expiresAt, sessionId: token.sessionId, user }
}

/** A session about to open: who, how, and the account changes that go with the proof. */
export interface NewSession extends Assurance {
  userId: string
  /** Account changes that go with this sign-in (email verified, role from ADMIN_EMAILS). */
  userValues: Partial<typeof users.$inferInsert>
}

/**
 * Prepares a session for a user who has just proved who they are: the tokens are signed first,
 * so the writes can go in one batch with whatever authorises them (a code spent by the same
 * batch: `guard`). Nothing is written unless the account is live and the guard holds.
 */
export async function prepareSession(deps: Deps, session: NewSession, now = Date.now()) {
  const { db, config, meta } = deps
  const { userId } = session
  const sessionId = crypto.randomUUID()
  const expiresAt = now + config.sessionMaxAge * 1000
  const token = { id: crypto.randomUUID(), sessionId, issuedAt: now, expiresAt: refreshExpiry(config, expiresAt, now) }
  const refreshToken = await signRefreshToken(refreshClaims(token, userId), config)
  const tokenHash = await sha256(refreshToken)
  const assurance: Assurance = { aal: session.aal, amr: session.amr }

  const statements = (extra?: SQL) => {
    const guard = and(userIsLive(userId), extra)!
    return [
      updateLiveUser(db, userId, session.userValues, extra),
      insertSession(db, { id: sessionId, userId, createdAt: now, lastUsedAt: now, expiresAt, userAgent: meta.userAgent, ip: meta.ip, ...assurance }, guard),
      insertRefreshToken(db, { ...token, tokenHash }, guard),
    ] as const
  }

  /** Given the account row the batch wrote: the tokens, or `refused` when the account was gone or the guard failed. */
  const finish = async (updated: readonly UserRow[], refused: ApiError) => {
    const user = updated[0]
    if (!user) throw refused
    audit(deps, { type: 'login_success', userId, sessionId, detail: { amr: session.amr } }, now)
    noticeNewDevice(deps, user, sessionId, now)
    return issue(config, user, assurance, token, refreshToken, now)
  }

  return {
    sessionId,
    statements,
    finish,
    /** Opens it in a batch of its own, with further writes of this sign-in (giving back the login attempt) last. */
    async open(also: readonly BatchItem<'sqlite'>[] = []): Promise<IssuedTokens> {
      const [updated] = await db.batch([...statements(), ...also])
      return finish(updated, new ApiError('INVALID_CREDENTIALS'))
    },
  }
}

/** Refuses a token whose session or account is no longer live. */
function assertLive(state: TokenState, now: number) {
  if (state.session.revokedAt !== null || state.user.deletedAt !== null) throw new ApiError('TOKEN_REVOKED')
  if (state.session.expiresAt <= now || state.token.expiresAt <= now) throw new ApiError('TOKEN_EXPIRED')
}

/**
 * Exchanges a refresh token for a new pair, in one D1 round trip. The rotation is decided by
 * one conditional UPDATE (only a not-yet-rotated, unexpired token of a live session can win),
 * batched with the insert of its successor, so concurrent refreshes with one token produce
 * exactly one successor. The successor is signed before the batch from what the presented token
 * already says, and the batch reads the state back after its writes: a replay, a revoked session
 * or an expired token is judged from that, as before, without a read ahead of the write.
 */
export async function rotateRefreshToken(deps: Deps, presented: string, now = Date.now()): Promise<IssuedTokens> {
  const { config } = deps
  const claims = await verifyRefreshToken(presented, config)
  const successor = { id: crypto.randomUUID(), sessionId: claims.sid, issuedAt: now, expiresAt: expectedExpiry(config, claims, now) }
  const signed = await signRefreshToken(refreshClaims(successor, claims.sub), config)
  const [hash, signedHash, rotatedBy] = await Promise.all([sha256(presented), sha256(signed), clientDigest(deps)])
  const outcome = await rotateInOneTrip(deps.d1, {
    presented: { id: claims.jti, tokenHash: hash, sessionId: claims.sid, userId: claims.sub },
    successor: { ...successor, tokenHash: signedHash },
    rotatedBy,
    listedAdmins: [...config.adminEmails],
    now,
    audit: deps.meta,
  })
  const { state } = outcome
  if (!state || state.token.tokenHash !== hash || state.session.userId !== claims.sub || state.session.id !== claims.sid) throw new ApiError('TOKEN_INVALID')
  if (!outcome.won) {
    // Not rotated by this call: judged from the state as it is now, as a replay if it was rotated.
    assertLive(state, now)
    if (state.token.rotatedAt === null) throw new ApiError('TOKEN_INVALID')
    return replayed(deps, state, now, state.successor)
  }
  let refreshToken = signed
  const expiresAt = outcome.successorExpiresAt ?? successor.expiresAt
  if (expiresAt !== successor.expiresAt) {
    // The session ends before the end the token was signed with (once per session, at most):
    // the token carries the stored end, so a grace-window hand-out re-signs it identically.
    refreshToken = await signRefreshToken(refreshClaims({ ...successor, expiresAt }, claims.sub), config)
    await restampSuccessor(deps.d1, successor.id, await sha256(refreshToken), signedHash)
  }
  return issue(config, state.user, state.session, { sessionId: successor.sessionId, expiresAt }, refreshToken, now)
}

/**
 * The successor's end as the batch will store it, known before the batch: `refreshTokenTtl`
 * from now, unless the presented token already ended at the session's end (it was cut short),
 * in which case the successor ends there too. Only the refresh that first reaches past the
 * session's end can guess wrong; it re-signs (see rotateRefreshToken).
 */
function expectedExpiry(config: Config, claims: { iat: number; exp: number }, now: number): number {
  const full = Math.floor((now + config.refreshTokenTtl * 1000) / 1000) * 1000
  const cutShort = claims.exp - claims.iat < config.refreshTokenTtl
  return cutShort ? Math.min(full, claims.exp * 1000) : full
}

/**
 * A token that was already rotated came back. Within the grace window, while its successor
 * is still the live one, the successor is handed out again and nothing is revoked.
 * Otherwise the token was stolen or replayed: the whole session ends.
 */
async function replayed(deps: Deps, state: TokenState, now: number, next: RefreshTokenRow | null): Promise<IssuedTokens> {
  const { db, config } = deps
  const { token, session, user } = state
  // Only the client that made the rotation (the same user agent) gets its successor again.
  const sameClient = token.rotatedBy === (await clientDigest(deps))
  if (token.rotatedAt !== null && token.replacedBy && sameClient && now - token.rotatedAt <= REUSE_GRACE_MS) {
    // The successor as the refresh's own batch read it: handed out again only while it is the live one.
    const successor = next?.id === token.replacedBy && next.rotatedAt === null ? next : undefined
    if (successor && successor.expiresAt > now) {
      const refreshToken = await signRefreshToken(refreshClaims(successor, user.id), config)
      // Every hand-out is on record, so a theft inside the window is visible.
      audit(deps, { type: 'refresh_grace', userId: user.id, sessionId: session.id, detail: { tokenId: token.id } }, now)
      return issue(config, user, session, successor, refreshToken, now)
    }
  }
  // The revocation is committed before the refusal is answered, whatever happens next.
  await revokeSession(db, session.id, 'refresh_token_reuse', now)
  audit(deps, { type: 'refresh_token_reuse', userId: user.id, sessionId: session.id, detail: { tokenId: token.id } }, now)
  throw new ApiError('TOKEN_REUSED')
}

/** Which client a rotation came from, as far as can be judged: a digest of its user agent. */
const clientDigest = (deps: Deps) => sha256(`ua\u0000${deps.meta.userAgent ?? ''}`)

/** Ends one session; true when this call ended it. */
export async function revokeSession(db: Db, sessionId: string, reason: string, now = Date.now()): Promise<boolean> {
  return (await revokeOne(db, sessionId, reason, now)).length === 1
}

/**
 * Logs out the session a refresh token belongs to. Idempotent: an unknown, garbled or
 * already-revoked token still succeeds. An expired token with a valid signature still
 * names its session, which is ended. True when this call ended it.
 */
export async function logoutByRefreshToken(deps: Deps, presented: string, now = Date.now()): Promise<boolean> {
  const { db, config } = deps
  let claims: { sub: string; sid: string; jti: string }
  try {
    claims = await verifyRefreshToken(presented, config)
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'TOKEN_EXPIRED') return false
    // jose checks the signature before the expiry, so these claims are authentic.
    const payload = decodeJwt(presented)
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.jti !== 'string') return false
    claims = { sub: payload.sub, sid: payload.sid, jti: payload.jti }
  }
  const state = await tokenState(deps.d1, claims.jti)
  if (!state || state.token.tokenHash !== (await sha256(presented)) || state.session.userId !== claims.sub) return false
  forgetSession(state.session.id)
  if (!(await revokeSession(db, state.session.id, 'logout', now))) return false
  audit(deps, { type: 'logout', userId: state.user.id, sessionId: state.session.id }, now)
  return true
}

/** A user's live sessions, newest first. */
export async function listSessions(db: Db, userId: string, currentSessionId: string, now = Date.now()) {
  const rows = await liveSessionsOf(db, userId, now)
  return rows.map((row) => ({
    id: row.id,
    createdAt: new Date(row.createdAt).toISOString(),
    lastUsedAt: new Date(row.lastUsedAt).toISOString(),
    expiresAt: new Date(row.expiresAt).toISOString(),
    userAgent: row.userAgent,
    ip: row.ip,
    current: row.id === currentSessionId,
    aal: row.aal,
    amr: row.amr,
  }))
}

/** Ends one of the caller's own live sessions; NOT_FOUND for any other id, so ids cannot be probed. */
export async function revokeOwnSession(deps: Deps, userId: string, sessionId: string, now = Date.now()) {
  const ended = await revokeOwn(deps.db, userId, sessionId, 'revoked_by_user', now)
  if (ended.length === 0) throw new ApiError('NOT_FOUND', { message: 'Session not found.' })
  audit(deps, { type: 'session_revoked', userId, sessionId }, now)
}

/** Ends every session of the caller, this one included. */
export async function logoutAll(deps: Deps, userId: string, sessionId: string, now = Date.now()): Promise<number> {
  // Open login challenges go with the sessions: a code mailed before cannot open a new one after.
  const [ended] = await deps.db.batch([revokeUserSessions(deps.db, userId, 'logout_all', now), retireLoginCodes(deps.db, userId, now)])
  audit(deps, { type: 'logout_all', userId, sessionId, detail: { revoked: ended.length } }, now)
  return ended.length
}
