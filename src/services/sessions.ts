import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import { sha256 } from '../crypto/random'
import { signAccessToken, signRefreshToken, verifyRefreshToken } from '../crypto/tokens'
import type { Db } from '../db/client'
import { refreshTokens, sessions, users, type RefreshTokenRow, type UserRow } from '../db/schema'
import { ApiError } from '../errors'
import type { Config } from '../config'
import type { RequestMeta } from '../types'

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

const liveSession = (now: number) =>
  and(isNull(sessions.revokedAt), gt(sessions.expiresAt, now))

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

/**
 * Opens a session for a user who has just proved who they are. `userUpdate` is the statement
 * that records the login on the account (verification, role); it runs in the same batch,
 * so the session exists only if the account update succeeded.
 */
export async function openSession(
  db: Db,
  config: Config,
  userId: string,
  userUpdate: ReturnType<typeof updateUserReturning>,
  meta: RequestMeta,
  now = Date.now(),
): Promise<IssuedTokens> {
  const sessionId = crypto.randomUUID()
  const expiresAt = now + config.sessionMaxAge * 1000
  const token = { id: crypto.randomUUID(), sessionId, issuedAt: now, expiresAt: refreshExpiry(config, expiresAt, now) }
  const refreshToken = await signRefreshToken(refreshClaims(token, userId), config)

  const [updated] = await db.batch([
    userUpdate,
    db.insert(sessions).values({
      id: sessionId,
      userId,
      createdAt: now,
      lastUsedAt: now,
      expiresAt,
      userAgent: meta.userAgent,
      ip: meta.ip,
    }),
    db.insert(refreshTokens).values({ ...token, tokenHash: await sha256(refreshToken) }),
  ])
  const user = updated[0]
  if (!user) throw new ApiError('INVALID_CREDENTIALS')
  return {
    accessToken: await signAccessToken({ sub: user.id, sid: sessionId, role: user.role, email: user.email }, config, now),
    refreshToken,
    refreshExpiresAt: token.expiresAt,
    sessionId,
    user,
  }
}

/** An UPDATE of one live account returning its row, for use inside a batch. */
export function updateUserReturning(db: Db, userId: string, values: Partial<typeof users.$inferInsert>) {
  return db
    .update(users)
    .set(values)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)))
    .returning()
}

interface TokenState {
  token: RefreshTokenRow
  session: typeof sessions.$inferSelect
  user: UserRow
}

async function loadTokenState(db: Db, jti: string): Promise<TokenState | undefined> {
  const [row] = await db
    .select({ token: refreshTokens, session: sessions, user: users })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(refreshTokens.id, jti))
  return row
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
export async function rotateRefreshToken(
  db: Db,
  config: Config,
  presented: string,
  onReuse: (state: { userId: string; sessionId: string }) => void,
  now = Date.now(),
): Promise<IssuedTokens> {
  const claims = await verifyRefreshToken(presented, config)
  const hash = await sha256(presented)
  const state = await loadTokenState(db, claims.jti)
  if (!state || state.token.tokenHash !== hash || state.session.userId !== claims.sub) throw new ApiError('TOKEN_INVALID')
  assertLive(state, now)
  if (state.token.rotatedAt !== null) return replayed(db, config, state, onReuse, now)

  const successor = {
    id: crypto.randomUUID(),
    sessionId: state.session.id,
    issuedAt: now,
    expiresAt: refreshExpiry(config, state.session.expiresAt, now),
  }
  const refreshToken = await signRefreshToken(refreshClaims(successor, state.user.id), config)
  const [won] = await db.batch([
    db
      .update(refreshTokens)
      .set({ rotatedAt: now, replacedBy: successor.id })
      .where(
        and(
          eq(refreshTokens.id, state.token.id),
          isNull(refreshTokens.rotatedAt),
          sql`EXISTS (SELECT 1 FROM sessions WHERE sessions.id = ${state.session.id}
                AND sessions.revoked_at IS NULL AND sessions.expires_at > ${now})`,
        ),
      )
      .returning({ id: refreshTokens.id }),
    // The successor exists only if this request's UPDATE above is the one that rotated.
    db.insert(refreshTokens).select(sql`
      SELECT ${successor.id}, ${successor.sessionId}, ${await sha256(refreshToken)}, ${successor.issuedAt}, ${successor.expiresAt}, NULL, NULL
      WHERE EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ${state.token.id} AND replaced_by = ${successor.id})`),
    db.update(sessions).set({ lastUsedAt: now }).where(and(eq(sessions.id, state.session.id), liveSession(now))),
  ])
  if (won.length === 0) {
    // Another request rotated it first (or the session ended meanwhile): judge it as a replay.
    const latest = await loadTokenState(db, claims.jti)
    if (!latest) throw new ApiError('TOKEN_INVALID')
    assertLive(latest, now)
    return replayed(db, config, latest, onReuse, now)
  }
  return issue(config, state.user, successor, refreshToken, now)
}

/**
 * A token that was already rotated came back. Within the grace window, while its successor
 * is still the live one, the successor is handed out again and nothing is revoked.
 * Otherwise the token was stolen or replayed: the whole session ends.
 */
async function replayed(
  db: Db,
  config: Config,
  state: TokenState,
  onReuse: (state: { userId: string; sessionId: string }) => void,
  now: number,
): Promise<IssuedTokens> {
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
  await revokeSession(db, session.id, 'refresh_token_reuse', now)
  onReuse({ userId: user.id, sessionId: session.id })
  throw new ApiError('TOKEN_REUSED')
}

async function issue(
  config: Config,
  user: UserRow,
  token: Pick<RefreshTokenRow, 'sessionId' | 'expiresAt'>,
  refreshToken: string,
  now: number,
): Promise<IssuedTokens> {
  return {
    accessToken: await signAccessToken({ sub: user.id, sid: token.sessionId, role: user.role, email: user.email }, config, now),
    refreshToken,
    refreshExpiresAt: token.expiresAt,
    sessionId: token.sessionId,
    user,
  }
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

/**
 * Logs out the session a refresh token belongs to. Idempotent: an unknown, garbled or
 * already-revoked token still succeeds. An expired token with a valid signature still
 * names its session, which is ended.
 */
export async function logoutByRefreshToken(
  db: Db,
  config: Config,
  presented: string,
  now = Date.now(),
): Promise<{ userId: string; sessionId: string } | undefined> {
  let claims: { sub: string; sid: string; jti: string }
  try {
    claims = await verifyRefreshToken(presented, config)
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'TOKEN_EXPIRED') return undefined
    // The signature was verified before the expiry check; the claims can be trusted.
    const payload = decodeJwt(presented)
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.jti !== 'string') return undefined
    claims = { sub: payload.sub, sid: payload.sid, jti: payload.jti }
  }
  const state = await loadTokenState(db, claims.jti)
  if (!state || state.token.tokenHash !== (await sha256(presented)) || state.session.userId !== claims.sub) return undefined
  const ended = await revokeSession(db, state.session.id, 'logout', now)
  return ended ? { userId: state.user.id, sessionId: state.session.id } : undefined
}

/**
 * Confirms, in one read, that a session is live and its account active, and returns
 * the account as it is now (role included). Undefined when either has ended.
 */
export async function loadLiveSessionUser(db: Db, sessionId: string, userId: string, now = Date.now()) {
  const [row] = await db
    .select({ user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), liveSession(now), isNull(users.deletedAt)))
  return row?.user
}
