import type { MiddlewareHandler } from 'hono'
import { ApiError } from '../errors'
import { rateLimitKey } from '../http/client-address'
import type { AppEnv } from '../types'

/** The Rate Limiting bindings of wrangler.toml, one per limit. */
export type LimiterBinding = 'RL_LOGIN' | 'RL_REGISTER' | 'RL_FORGOT' | 'RL_VERIFY' | 'RL_RESEND' | 'RL_REFRESH'

/** The bindings count in windows of this many seconds (wrangler.toml `period`). */
const PERIOD_SECONDS = 60

/**
 * Limits a route per client address (`CF-Connecting-IP`) with a Workers Rate Limiting
 * binding. `scope` separates routes that share one binding. If the limiter itself fails,
 * the request is refused with 503: it never goes through unchecked.
 */
export const rateLimit = (binding: LimiterBinding, scope: string): MiddlewareHandler<AppEnv> =>
  async function rateLimit(c, next) {
    const key = `${scope}:${rateLimitKey(c.get('meta').ip)}`
    let allowed: boolean
    try {
      allowed = (await c.env[binding].limit({ key })).success
    } catch (error) {
      throw new ApiError('SERVICE_UNAVAILABLE', { retryAfter: 5, cause: new Error(`rate limiter ${binding} failed`, { cause: error }) })
    }
    if (!allowed) throw new ApiError('RATE_LIMITED', { retryAfter: PERIOD_SECONDS })
    await next()
  }
