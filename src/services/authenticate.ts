import type { Config } from '../config'
import { verifyAccessToken } from '../crypto/tokens'
import { getDb } from '../db/client'
import { sessionUser } from '../db/hot-path'
import type { UserRow } from '../db/schema'
import { liveUserById } from '../db/users'
import { ApiError } from '../errors'
import type { AuthContext } from '../types'

/** What deciding who is calling needs: the settings, and D1's primary (a revocation acts at once). */
export interface AuthenticateDeps {
  config: Config
  d1: D1Database | D1DatabaseSession
}

/**
 * Decides who is calling: the one rule behind `requireAuth` (HTTP) and `AuthService.verify`
 * (RPC). The access token must verify (algorithm, `typ`, `iss`, `aud`, expiry), then one read
 * on the primary confirms that its session is live and its account active. Throws the
 * ApiError a caller answers with: TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_REVOKED
 * (or SERVICE_UNAVAILABLE-class failures of D1, left to the caller's error mapping).
 */
export async function authenticate(token: string | undefined, deps: AuthenticateDeps, now = Date.now()): Promise<AuthContext> {
  if (!token) throw new ApiError('TOKEN_MISSING')
  const claims = await verifyAccessToken(token, deps.config)
  const live = await sessionUser(deps.d1, claims.sid, claims.sub, now)
  if (!live) throw new ApiError('TOKEN_REVOKED')
  // The assurance comes from the session row the check read, not from the token's claims.
  const { user, session } = live
  return { userId: user.id, sessionId: claims.sid, role: user.role, user, aal: session.aal, amr: session.amr }
}

/** A live (not deleted) account by id, read on the given D1 session; null when there is none. */
export async function liveUser(d1: D1Database | D1DatabaseSession, id: string): Promise<UserRow | null> {
  const [user] = await liveUserById(getDb(d1), id)
  return user ?? null
}
