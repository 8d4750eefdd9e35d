import type { MiddlewareHandler } from 'hono'
import { ApiError } from '../errors'
import type { AppEnv } from '../types'

/** Cloudflare Turnstile's server-side check. */
export const SITEVERIFY = 'https://challenges.cloudflare.com/turnstile/v0/siteverify'

const refused = (message: string) => new ApiError('VALIDATION_ERROR', { details: [{ path: 'turnstileToken', message }] })

/**
 * With TURNSTILE_SECRET_KEY set, the route needs a Turnstile token in the body field
 * `turnstileToken`, checked with siteverify (the client address passed along): missing or
 * refused is 400 VALIDATION_ERROR on that path, siteverify unreachable is 503. Without the
 * setting it does nothing. Runs before the body's validation, so a bot pays for nothing else.
 */
export const requireTurnstile = (): MiddlewareHandler<AppEnv> =>
  async function requireTurnstile(c, next) {
    const secret = c.get('config').turnstileSecretKey
    if (!secret) return next()
    let token: unknown
    try {
      token = ((await c.req.json()) as { turnstileToken?: unknown } | null)?.turnstileToken
    } catch {
      // Not JSON: the validator answers INVALID_JSON.
      return next()
    }
    if (typeof token !== 'string' || token.length === 0 || token.length > 2048) throw refused('is required')
    const form = new FormData()
    form.set('secret', secret)
    form.set('response', token)
    const ip = c.get('meta').ip
    if (ip) form.set('remoteip', ip)
    let outcome: { success?: unknown }
    try {
      const response = await fetch(SITEVERIFY, { method: 'POST', body: form })
      if (!response.ok) throw new Error(`siteverify answered ${response.status}`)
      outcome = (await response.json()) as { success?: unknown }
    } catch (error) {
      throw new ApiError('SERVICE_UNAVAILABLE', { retryAfter: 5, cause: new Error('Turnstile siteverify failed', { cause: error }) })
    }
    if (outcome.success !== true) throw refused('was not accepted')
    await next()
  }
