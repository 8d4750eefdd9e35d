import type { Context } from 'hono'
import { createMailer } from '../services/mailer'
import type { Deps } from '../services/deps'
import { describeError } from '../log'
import type { AppEnv } from '../types'

/** The service dependencies of one request. */
export function deps(c: Context<AppEnv>): Deps {
  const { config, db, d1, log, meta } = c.var
  return {
    db,
    d1: d1.primarySession,
    get readDb() {
      return d1.replica
    },
    kv: c.env.OTP_KV,
    config,
    log,
    meta,
    mailer: createMailer(config, log),
    defer(work) {
      const logged = work.catch((error: unknown) => log.error('deferred.failed', { error: describeError(error) }))
      try {
        c.executionCtx.waitUntil(logged)
      } catch {
        // No execution context (a direct app.request in a test): the promise still runs.
      }
    },
  }
}
