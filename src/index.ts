import { WorkerEntrypoint } from 'cloudflare:workers'
import { createApp } from './app'
import { auditRetentionDays, loadConfig, type Config } from './config'
import { getDb } from './db/client'
import { ApiError } from './errors'
import type { AuthUser, VerifyError, VerifyResult } from './hono/types'
import { createLogger, describeError, type Logger } from './log'
import { purgeExpired } from './db/purge'
import { toPublicUser } from './services/accounts'
import { authenticate, liveUser } from './services/authenticate'

const app = createApp()

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    const log = createLogger({ cron: controller.cron })
    const report = await purgeExpired(getDb(env.DB), controller.scheduledTime, auditRetentionDays(env))
    log.info('purge.done', { ...report })
  },
} satisfies ExportedHandler<Env>

const VERIFY_ERRORS: ReadonlySet<string> = new Set<VerifyError>(['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED'])
const isVerifyError = (code: string): code is VerifyError => VERIFY_ERRORS.has(code)

/** Longer than any id this service hands out; refused before it reaches D1. */
const MAX_ID_LENGTH = 64

/**
 * The RPC door for the other Workers of an account, bound with
 * `services = [{ binding = "AUTH", service = "edge-auth", entrypoint = "AuthService" }]`.
 * It runs the very function behind the HTTP API's `requireAuth`, placed by `SESSION_CHECK` as
 * the API's is (the default, D1's primary, makes logout, revocation, deletion and demotion act
 * at once in every Worker; `replica` and `cached:<n>` bound the delay as the README says). Only the public user object
 * and the session's id and assurance cross the binding: no token secret, hash or internal column.
 * A failure that is not a verdict on the token (D1 down, a broken configuration) rejects the
 * call with an Error whose message is only its code (`SERVICE_UNAVAILABLE`, `CONFIG_ERROR`).
 */
export class AuthService extends WorkerEntrypoint<Env> {
  /** The access token's verdict: the caller and its session, or why the token is refused. */
  async verify(accessToken: string): Promise<VerifyResult> {
    const log = createLogger({ rpc: 'AuthService.verify' })
    const config = this.#config(log)
    if (!config) return { ok: false, error: 'TOKEN_INVALID' }
    try {
      const db = this.env.DB
      const caller = await authenticate(typeof accessToken === 'string' ? accessToken : undefined, {
        config,
        get d1() {
          return db.withSession('first-primary')
        },
        // A binding call carries no bookmark: the nearest replica, as SESSION_CHECK=replica allows.
        replica: () => db.withSession('first-unconstrained'),
      })
      return {
        ok: true,
        user: publicUser(caller.user),
        session: { id: caller.sessionId, aal: caller.aal, amr: caller.amr },
      }
    } catch (error) {
      if (error instanceof ApiError && isVerifyError(error.code)) return { ok: false, error: error.code }
      throw failure(log, error)
    }
  }

  /** A live account by id (the public user object), or null when it is unknown or deleted. */
  async user(id: string): Promise<AuthUser | null> {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return null
    const log = createLogger({ rpc: 'AuthService.user' })
    try {
      const row = await liveUser(this.env.DB.withSession('first-primary'), id)
      return row ? publicUser(row) : null
    } catch (error) {
      throw failure(log, error)
    }
  }

  /**
   * The settings for RPC calls. There is no request URL to take a default issuer from, so
   * JWT_ISSUER must be set; without it no token can be checked and every one is refused.
   */
  #config(log: Logger): Config | undefined {
    const issuer = this.env.JWT_ISSUER
    if (!issuer) {
      log.error('config.invalid', { error: 'CONFIG_ERROR', reason: 'JWT_ISSUER is required for the AuthService entrypoint' })
      return undefined
    }
    try {
      return loadConfig(this.env, issuer)
    } catch (error) {
      throw failure(log, error)
    }
  }
}

/** The public user object, typed as the package publishes it. */
const publicUser = (row: Parameters<typeof toPublicUser>[0]): AuthUser => toPublicUser(row)

/** Logs what went wrong and returns an Error that carries only its code across the binding. */
function failure(log: Logger, error: unknown): Error {
  const code = error instanceof ApiError && error.status >= 500 ? error.code : 'SERVICE_UNAVAILABLE'
  log.error('rpc.failed', { error: code, reason: describeError(error instanceof ApiError ? (error.cause ?? error) : error) })
  return new Error(code)
}
