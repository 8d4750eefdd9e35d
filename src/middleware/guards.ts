import type { MiddlewareHandler } from 'hono'
import { getCookie } from 'hono/cookie'
import { ApiError } from '../errors'
import { REFRESH_COOKIE } from '../http/respond'
import type { AppEnv } from '../types'

/**
 * CSRF guard for the routes that read the refresh cookie: a request that carries the cookie
 * must come from an origin in CORS_ORIGINS or the API's own, whatever its content type.
 */
export const requireTrustedOrigin = (): MiddlewareHandler<AppEnv> =>
  async function requireTrustedOrigin(c, next) {
    if (getCookie(c, REFRESH_COOKIE, 'host') !== undefined) {
      const origin = c.req.header('Origin')
      const own = new URL(c.req.url).origin
      if (!origin || (origin !== own && !c.get('config').corsOrigins.includes(origin))) throw new ApiError('CSRF_REJECTED')
    }
    await next()
  }

const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json$/i

/** A request carries a body when it declares a length above zero, a transfer encoding, or a stream. */
function hasBody(request: Request): boolean {
  const length = request.headers.get('Content-Length')
  if (request.headers.has('Transfer-Encoding')) return true
  return length !== null ? length.trim() !== '0' : request.body !== null
}

/** Bodies must be JSON: anything else is `415 UNSUPPORTED_MEDIA_TYPE`. */
export const requireJsonBody = (): MiddlewareHandler<AppEnv> =>
  async function requireJsonBody(c, next) {
    if (hasBody(c.req.raw)) {
      const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim()
      if (!JSON_MEDIA_TYPE.test(mediaType)) throw new ApiError('UNSUPPORTED_MEDIA_TYPE')
    }
    await next()
  }
