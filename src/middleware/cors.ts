import type { MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import type { Config } from '../config'
import type { AppEnv } from '../types'

/**
 * CORS for the origins in CORS_ORIGINS only (`hono/cors` with an origin function): the origin
 * is echoed exactly, with credentials, never `*`, and every response varies on `Origin`. Any
 * other origin gets no `Access-Control-Allow-Origin`, so the browser withholds the response
 * (hono/cors still sends its static `Allow-Credentials` / `Expose-Headers`, which mean nothing
 * without it). Preflights keep the request id and security headers set around this middleware.
 */
export function corsAllowlist(): MiddlewareHandler<AppEnv> {
  const allowlist = cors({
    origin: (origin, c) => {
      const config: Config = c.get('config')
      return config.corsOrigins.includes(origin) ? origin : null
    },
    allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Content-Type', 'Authorization', 'X-Request-Id', 'X-D1-Bookmark'],
    exposeHeaders: ['X-Request-Id', 'Retry-After', 'X-D1-Bookmark'],
    credentials: true,
    maxAge: 600,
  })
  // Without an Origin (same-origin, native apps, servers, health checks) there is nothing to
  // allow: only the Vary, without hono/cors building the response's headers ahead of the route.
  return async function corsOrNothing(c, next) {
    if (c.req.method !== 'OPTIONS' && c.req.header('Origin') === undefined) {
      await next()
      c.header('Vary', 'Origin', { append: true })
      return
    }
    return allowlist(c, next)
  }
}
