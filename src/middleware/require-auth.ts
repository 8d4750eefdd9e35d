import type { MiddlewareHandler } from 'hono'
import { verifyAccessToken } from '../crypto/tokens'
import { ApiError } from '../errors'
import { sessionUser } from '../db/hot-path'
import type { AppEnv } from '../types'

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null
  return match?.[1]
}

/**
 * Rejects requests without a valid access token, then confirms in one read that its
 * session is live and its account active, and puts the caller (current role) on the context.
 */
export const requireAuth = (): MiddlewareHandler<AppEnv> =>
  async function requireAuth(c, next) {
    const token = bearerToken(c.req.header('Authorization'))
    if (!token) throw new ApiError('TOKEN_MISSING')
    const claims = await verifyAccessToken(token, c.get('config'))
    const live = await sessionUser(c.get('d1').primarySession, claims.sid, claims.sub, Date.now())
    if (!live) throw new ApiError('TOKEN_REVOKED')
    const { user, session } = live
    c.set('auth', { userId: user.id, sessionId: claims.sid, role: user.role, user, aal: session.aal, amr: session.amr })
    await next()
  }
