import type { MiddlewareHandler } from 'hono'
import { authenticate } from '../services/authenticate'
import { forgetUser } from '../services/session-cache'
import type { AppEnv } from '../types'

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null
  return match?.[1]
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Rejects requests without a valid access token, then confirms in one read that its
 * session is live and its account active, and puts the caller (current role, the session's
 * `aal`/`amr`) on the context. The decision is `authenticate`'s, shared with the RPC entrypoint;
 * where it reads follows `SESSION_CHECK`.
 */
export const requireAuth = (): MiddlewareHandler<AppEnv> =>
  async function requireAuth(c, next) {
    const token = bearerToken(c.req.header('Authorization'))
    const config = c.get('config')
    const d1 = c.get('d1')
    const auth = await authenticate(token, {
      config,
      // Opened only when read: a cached check touches no D1 session at all.
      get d1() {
        return d1.primarySession
      },
      replica: () => d1.replicaSession,
    })
    c.set('auth', auth)
    await next()
    // A change the caller made (a logout, a revocation, an edit) is seen at once by this
    // isolate's cache; other isolates see it within the cache time.
    if (config.sessionCheck.cacheSeconds > 0 && !READS.has(c.req.method)) forgetUser(auth.userId)
  }
