import { env } from 'cloudflare:workers'
import { loadConfig } from '../../src/config'
import { getDb } from '../../src/db/client'
import { createLogger } from '../../src/log'
import { METHODS } from '../../src/methods'
import { registeredMethods, registerMethods, secondSteps } from '../../src/methods/registry'
import type { Deps } from '../../src/services/deps'
import type { MailMessage } from '../../src/services/mailer'

/**
 * Service dependencies for calling a rule module directly, without HTTP: the test's own D1 and
 * KV, the pinned test config, a mailer that keeps what it sends, and deferred work collected so
 * a test can await it (`settle`).
 */
export function testDeps(overrides: Partial<Deps> = {}) {
  registerMethods(METHODS)
  const db = getDb(env.DB)
  const sent: MailMessage[] = []
  const deferred: Promise<unknown>[] = []
  const deps: Deps = {
    db,
    d1: env.DB,
    readDb: db,
    kv: env.OTP_KV,
    config: loadConfig(env, 'https://auth.test'),
    mailer: { send: async (message) => void sent.push(message) },
    log: createLogger({ test: true }),
    meta: { ip: '192.0.2.1', userAgent: 'unit-test', requestId: crypto.randomUUID() },
    secondSteps: secondSteps(),
    methods: registeredMethods(),
    defer: (work) => void deferred.push(work),
    ...overrides,
  }
  return { deps, sent, settle: () => Promise.allSettled(deferred.splice(0)) }
}
