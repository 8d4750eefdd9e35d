import { and, eq, isNull } from 'drizzle-orm'
import { decodeJwt } from 'jose'
import type { Config } from '../config'
import { verifyAccessToken } from '../crypto/tokens'
import { getDb } from '../db/client'
import { sessionUser } from '../db/hot-path'
import { users, type UserRow } from '../db/schema'
import { ApiError } from '../errors'
import type { AuthContext } from '../types'

/** What deciding who is calling needs: the settings, and D1's primary (a revocation acts at once). */
export interface AuthenticateDeps {
  config: Config
  d1: D1Database | D1DatabaseSession
}

const DEFAULT_AAL = 'aal1'
const DEFAULT_AMR: readonly string[] = ['pwd']

/**
 * The assurance recorded in a verified access token: `aal` (a string) and `amr` (an array of
 * strings), or `aal1` / `['pwd']` for tokens issued before sessions recorded them.
 */
function assuranceOf(token: string): { aal: string; amr: string[] } {
  // Read after verifyAccessToken accepted the signature, so these claims are authentic.
  const { aal, amr } = decodeJwt(token)
  return {
    aal: typeof aal === 'string' && aal.length > 0 ? aal : DEFAULT_AAL,
    amr: Array.isArray(amr) && amr.length > 0 && amr.every((m): m is string => typeof m === 'string') ? [...amr] : [...DEFAULT_AMR],
  }
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
  const user = await sessionUser(deps.d1, claims.sid, claims.sub, now)
  if (!user) throw new ApiError('TOKEN_REVOKED')
  return { userId: user.id, sessionId: claims.sid, role: user.role, user, ...assuranceOf(token) }
}

/** A live (not deleted) account by id, read on the given D1 session; null when there is none. */
export async function liveUserById(d1: D1Database | D1DatabaseSession, id: string): Promise<UserRow | null> {
  const [user] = await getDb(d1)
    .select()
    .from(users)
    .where(and(eq(users.id, id), isNull(users.deletedAt)))
    .limit(1)
  return user ?? null
}
