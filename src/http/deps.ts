import type { Context } from 'hono'
import { createMailer } from '../services/mailer'
import type { Deps } from '../services/deps'
import { describeError } from '../log'
import { registeredMethods, secondSteps } from '../methods/registry'
import type { AppEnv } from '../types'

/** The service dependencies of one request. */
export function deps(c: Context<AppEnv>): Deps {
  // c.get, not c.var: Hono builds a new object from its variable map on every c.var access.
  const config = c.get('config')
  const d1 = c.get('d1')
  const log = c.get('log')
  const meta = c.get('meta')
  return {
    // Opened on first use: a route that never touches D1 builds no drizzle client.
    get db() {
      return d1.primary
    },
    get d1() {
      return d1.primarySession
    },
    get readDb() {
      return d1.replica
    },
    kv: c.env.OTP_KV,
    config,
    log,
    meta,
    secondSteps: secondSteps(),
    methods: registeredMethods(),
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
