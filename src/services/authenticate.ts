import type { Config } from '../config'
import { verifyAccessToken } from '../crypto/tokens'
import { getDb } from '../db/client'
import { sessionUser } from '../db/hot-path'
import type { UserRow } from '../db/schema'
import { liveUserById } from '../db/users'
import { ApiError } from '../errors'
import type { AuthContext } from '../types'
import { cachedSession, rememberSession } from './session-cache'

type D1 = D1Database | D1DatabaseSession

/** What deciding who is calling needs: the settings, and where the check may read. */
export interface AuthenticateDeps {
  config: Config
  /** D1's primary: where the check reads with `SESSION_CHECK=primary` (a revocation acts at once). */
  d1: D1
  /** A replica session (the client's bookmark, else `first-unconstrained`), opened only with `SESSION_CHECK=replica`. */
  replica?: () => D1
}

/**
 * Decides who is calling: the one rule behind `requireAuth` (HTTP) and `AuthService.verify`
 * (RPC). The access token must verify (algorithm, `typ`, `iss`, `aud`, expiry), then one read
 * confirms that its session is live and its account active: on the primary, or on a replica
 * with `SESSION_CHECK=replica`; with `cached:<n>` an isolate answers from what it read in the
 * last `n` seconds. Throws the ApiError a caller answers with: TOKEN_MISSING, TOKEN_INVALID,
 * TOKEN_EXPIRED, TOKEN_REVOKED (or SERVICE_UNAVAILABLE-class failures of D1, left to the
 * caller's error mapping).
 */
export async function authenticate(token: string | undefined, deps: AuthenticateDeps, now = Date.now()): Promise<AuthContext> {
  if (!token) throw new ApiError('TOKEN_MISSING')
  const claims = await verifyAccessToken(token, deps.config)
  const { source, cacheSeconds } = deps.config.sessionCheck
  if (cacheSeconds > 0) {
    const hit = cachedSession(claims.sid, claims.sub, now)
    if (hit) return hit
  }
  const d1 = source === 'replica' && deps.replica ? deps.replica() : deps.d1
  const live = await sessionUser(d1, claims.sid, claims.sub, now)
  if (!live) throw new ApiError('TOKEN_REVOKED')
  // The assurance comes from the session row the check read, not from the token's claims.
  const { user, session } = live
  const auth: AuthContext = { userId: user.id, sessionId: claims.sid, role: user.role, user, aal: session.aal, amr: session.amr }
  if (cacheSeconds > 0) rememberSession(Object.freeze(auth), cacheSeconds, session.expiresAt, now)
  return auth
}

/** A live (not deleted) account by id, read on the given D1 session; null when there is none. */
export async function liveUser(d1: D1, id: string): Promise<UserRow | null> {
  const [user] = await liveUserById(getDb(d1), id)
  return user ?? null
}
