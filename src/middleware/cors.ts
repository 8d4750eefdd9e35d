import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../types'

const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE'
const ALLOW_HEADERS = 'Content-Type, Authorization, X-Request-Id, X-D1-Bookmark'
const EXPOSE_HEADERS = 'X-Request-Id, Retry-After, X-D1-Bookmark'

/**
 * CORS for the origins in CORS_ORIGINS only: the origin is echoed exactly, with credentials,
 * never `*`. Any other origin gets no CORS headers at all, so the browser withholds the response.
 */
export const corsAllowlist = (): MiddlewareHandler<AppEnv> =>
  async function corsAllowlist(c, next) {
    const origin = c.req.header('Origin')
    const allowed = origin !== undefined && c.get('config').corsOrigins.includes(origin)
    const preflight = c.req.method === 'OPTIONS' && c.req.header('Access-Control-Request-Method') !== undefined
    if (preflight) {
      // Through the context, so the headers set before this (request id, no-store) stay.
      c.header('Vary', 'Origin')
      if (allowed) {
        c.header('Access-Control-Allow-Origin', origin)
        c.header('Access-Control-Allow-Credentials', 'true')
        c.header('Access-Control-Allow-Methods', ALLOW_METHODS)
        c.header('Access-Control-Allow-Headers', ALLOW_HEADERS)
        c.header('Access-Control-Max-Age', '600')
      }
      return c.body(null, 204)
    }
    await next()
    c.res.headers.append('Vary', 'Origin')
    if (allowed) {
      c.res.headers.set('Access-Control-Allow-Origin', origin)
      c.res.headers.set('Access-Control-Allow-Credentials', 'true')
      c.res.headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS)
    }
  }
