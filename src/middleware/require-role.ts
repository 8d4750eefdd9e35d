import type { MiddlewareHandler } from 'hono'
import { ApiError } from '../errors'
import type { AppEnv } from '../types'

/** Lets through only callers whose current role (read with the session check) is `role`. */
export const requireRole = (role: 'admin' | 'user'): MiddlewareHandler<AppEnv> =>
  async function requireRole(c, next) {
    if (c.get('auth').role !== role) throw new ApiError('FORBIDDEN')
    await next()
  }
