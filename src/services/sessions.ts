import { and, desc, eq, gt, isNull, ne, sql, type SQL } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { decodeJwt } from 'jose'
import type { Config } from '../config'
import { sha256 } from '../crypto/random'
import { signAccessToken, signRefreshToken, verifyRefreshToken } from '../crypto/tokens'
import type { Db } from '../db/client'
import { refreshTokens, sessions, users, type RefreshTokenRow, type UserRow } from '../db/schema'
import { ApiError } from '../errors'
import { audit } from './audit'
import { rotate, tokenState, type TokenState } from '../db/hot-path'
import type { Deps } from './deps'
import { spendCode, spentBy, unavailable, type StoredCode } from './otp'

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

const liveSession = (now: number) => and(isNull(sessions.revokedAt), gt(sessions.expiresAt, now))

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

async function issue(config: Config, user: UserRow, token: Pick<RefreshTokenRow, 'sessionId' | 'expiresAt'>, refreshToken: string, now: number) {
  const accessToken = await signAccessToken({ sub: user.id, sid: token.sessionId, role: user.role, email: user.email }, config, now)
  return { accessToken, refreshToken, refreshExpiresAt: token.expiresAt, sessionId: token.sessionId, user }
}

/**
 * Opens a session for a user who has just proved who they are, in one batch: the login
 * code is spent (when there is one), the account updated (`userValues`: verification, role)
 * and the session with its first refresh token created, each guarded so that nothing is
 * written unless the account is live and the code was spent by this very batch.
 */
export async function openSession(
  deps: Deps,
  userId: string,
  userValues: Partial<typeof users.$inferInsert>,
  code?: StoredCode,
  now = Date.now(),
  /** Further writes that belong to this login (giving back the login attempt), run last in the batch. */
  also: readonly BatchItem<'sqlite'>[] = [],
): Promise<IssuedTokens> {
  const { db, config, meta } = deps
  const sessionId = crypto.randomUUID()
  const expiresAt = now + config.sessionMaxAge * 1000
  const token = { id: crypto.randomUUID(), sessionId, issuedAt: now, expiresAt: refreshExpiry(config, expiresAt, now) }
  const refreshToken = await signRefreshToken(refreshClaims(token, userId), config)
  const guard = and(
    sql`EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND deleted_at IS NULL)`,
    code ? spentBy(code.codeId, sessionId) : undefined,
  )!

  const writes = [
    db
      .update(users)
      .set({ ...userValues, id: userId })
      .where(and(eq(users.id, userId), guard))
      .returning(),
    db.insert(sessions).select(sql`
      SELECT ${sessionId}, ${userId}, ${now}, ${now}, ${expiresAt}, NULL, NULL, ${meta.userAgent}, ${meta.ip} WHERE ${guard}`),
    db.insert(refreshTokens).select(sql`
      SELECT ${token.id}, ${sessionId}, ${await sha256(refreshToken)}, ${token.issuedAt}, ${token.expiresAt}, NULL, NULL
      WHERE ${guard}`),
  ] as const
  let user: UserRow | undefined
  if (code) {
    const [spent, updated] = await db.batch([spendCode(deps, code.codeId, sessionId, now), ...writes, ...also])
    if (spent.length === 0) throw await unavailable(deps, code, now)
    user = updated[0]
  } else {
    user = (await db.batch([...writes, ...also]))[0][0]
  }
  // The account was deleted between the password (or code) check and here.
  if (!user) throw new ApiError(code ? 'OTP_EXPIRED' : 'INVALID_CREDENTIALS')
  audit(deps, { type: 'login_success', userId, sessionId, detail: { otp: Boolean(code) } }, now)
  return issue(config, user, token, refreshToken, now)
}

/** Refuses a token whose session or account is no longer live. */
function assertLive(state: TokenState, now: number) {
  if (state.session.revokedAt !== null || state.user.deletedAt !== null) throw new ApiError('TOKEN_REVOKED')
  if (state.session.expiresAt <= now || state.token.expiresAt <= now) throw new ApiError('TOKEN_EXPIRED')
}

/**
 * Exchanges a refresh token for a new pair. The rotation is decided by one conditional
 * UPDATE (only a not-yet-rotated token of a live session can win), batched with the insert
 * of its successor, so concurrent refreshes with one token produce exactly one successor.
 */
export async function rotateRefreshToken(deps: Deps, presented: string, now = Date.now()): Promise<IssuedTokens> {
  const { config } = deps
  const claims = await verifyRefreshToken(presented, config)
  const hash = await sha256(presented)
  const state = await tokenState(deps.d1, claims.jti)
  if (!state || state.token.tokenHash !== hash || state.session.userId !== claims.sub) throw new ApiError('TOKEN_INVALID')
  assertLive(state, now)
  if (state.token.rotatedAt !== null) return replayed(deps, state, now)

  const successor = {
    id: crypto.randomUUID(),
    sessionId: state.session.id,
    issuedAt: now,
    expiresAt: refreshExpiry(config, state.session.expiresAt, now),
  }
  const refreshToken = await signRefreshToken(refreshClaims(successor, state.user.id), config)
  const won = await rotate(deps.d1, {
    previousId: state.token.id,
    sessionId: state.session.id,
    successor: { ...successor, tokenHash: await sha256(refreshToken) },
    now,
    audit: { userId: state.user.id, ...deps.meta },
  })
  if (!won) {
    // Another request rotated it first (or the session ended meanwhile): judge it as a replay.
    const latest = await tokenState(deps.d1, claims.jti)
    if (!latest) throw new ApiError('TOKEN_INVALID')
    assertLive(latest, now)
    return replayed(deps, latest, now)
  }
  return issue(config, state.user, successor, refreshToken, now)
}

/**
 * A token that was already rotated came back. Within the grace window, while its successor
 * is still the live one, the successor is handed out again and nothing is revoked.
 * Otherwise the token was stolen or replayed: the whole session ends.
 */
async function replayed(deps: Deps, state: TokenState, now: number): Promise<IssuedTokens> {
  const { db, config } = deps
  const { token, session, user } = state
  if (token.rotatedAt !== null && token.replacedBy && now - token.rotatedAt <= REUSE_GRACE_MS) {
    const [successor] = await db
      .select()
      .from(refreshTokens)
      .where(and(eq(refreshTokens.id, token.replacedBy), isNull(refreshTokens.rotatedAt)))
    if (successor && successor.expiresAt > now) {
      const refreshToken = await signRefreshToken(refreshClaims(successor, user.id), config)
      return issue(config, user, successor, refreshToken, now)
    }
  }
  // The revocation is committed before the refusal is answered, whatever happens next.
  await revokeSession(db, session.id, 'refresh_token_reuse', now)
  audit(deps, { type: 'refresh_token_reuse', userId: user.id, sessionId: session.id, detail: { tokenId: token.id } }, now)
  throw new ApiError('TOKEN_REUSED')
}

/** Ends one session; true when this call ended it. */
export async function revokeSession(db: Db, sessionId: string, reason: string, now = Date.now()): Promise<boolean> {
  const ended = await db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id })
  return ended.length === 1
}

/** The statement that ends every live session of a user (but `keep`), for use alone or in a batch. */
export function revokeUserSessions(db: Db, userId: string, reason: string, now: number, options: { keep?: string; guard?: SQL } = {}) {
  return db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: reason })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        options.keep ? ne(sessions.id, options.keep) : undefined,
        options.guard,
      ),
    )
    .returning({ id: sessions.id })
}

/**
 * Logs out the session a refresh token belongs to. Idempotent: an unknown, garbled or
 * already-revoked token still succeeds. An expired token with a valid signature still
 * names its session, which is ended.
 */
export async function logoutByRefreshToken(deps: Deps, presented: string, now = Date.now()): Promise<void> {
  const { db, config } = deps
  let claims: { sub: string; sid: string; jti: string }
  try {
    claims = await verifyRefreshToken(presented, config)
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'TOKEN_EXPIRED') return
    // jose checks the signature before the expiry, so these claims are authentic.
    const payload = decodeJwt(presented)
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.jti !== 'string') return
    claims = { sub: payload.sub, sid: payload.sid, jti: payload.jti }
  }
  const state = await tokenState(deps.d1, claims.jti)
  if (!state || state.token.tokenHash !== (await sha256(presented)) || state.session.userId !== claims.sub) return
  if (await revokeSession(db, state.session.id, 'logout', now)) {
    audit(deps, { type: 'logout', userId: state.user.id, sessionId: state.session.id }, now)
  }
}

/** A user's live sessions, newest first. */
export async function listSessions(db: Db, userId: string, currentSessionId: string, now = Date.now()) {
  const rows = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), liveSession(now)))
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .limit(100)
  return rows.map((row) => ({
    id: row.id,
    createdAt: new Date(row.createdAt).toISOString(),
    lastUsedAt: new Date(row.lastUsedAt).toISOString(),
    expiresAt: new Date(row.expiresAt).toISOString(),
    userAgent: row.userAgent,
    ip: row.ip,
    current: row.id === currentSessionId,
  }))
}

/** Ends one of the caller's own live sessions; NOT_FOUND for any other id, so ids cannot be probed. */
export async function revokeOwnSession(deps: Deps, userId: string, sessionId: string, now = Date.now()) {
  const ended = await deps.db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: 'revoked_by_user' })
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), liveSession(now)))
    .returning({ id: sessions.id })
  if (ended.length === 0) throw new ApiError('NOT_FOUND', { message: 'Session not found.' })
  audit(deps, { type: 'session_revoked', userId, sessionId }, now)
}

/** Ends every session of the caller, this one included. */
export async function logoutAll(deps: Deps, userId: string, sessionId: string, now = Date.now()): Promise<number> {
  const ended = await revokeUserSessions(deps.db, userId, 'logout_all', now)
  audit(deps, { type: 'logout_all', userId, sessionId, detail: { revoked: ended.length } }, now)
  return ended.length
}
