import type { MiddlewareHandler } from 'hono'
import { authenticate } from '../services/authenticate'
import type { AppEnv } from '../types'

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null
  return match?.[1]
}

/**
 * Rejects requests without a valid access token, then confirms in one read that its
 * session is live and its account active, and puts the caller (current role, the session's
 * `aal`/`amr`) on the context. The decision is `authenticate`'s, shared with the RPC entrypoint.
 */
export const requireAuth = (): MiddlewareHandler<AppEnv> =>
  async function requireAuth(c, next) {
    const token = bearerToken(c.req.header('Authorization'))
    c.set('auth', await authenticate(token, { config: c.get('config'), d1: c.get('d1').primarySession }))
    await next()
  }
