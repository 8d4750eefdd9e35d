import { createApp } from './app'
import { getDb } from './db/client'
import { createLogger } from './log'
import { purgeExpired } from './scheduled'

const app = createApp()

/** Days of audit trail kept by the nightly clean-up (AUDIT_RETENTION_DAYS, default 90). */
export function auditRetentionDays(env: Env): number {
  const days = Number(env.AUDIT_RETENTION_DAYS ?? '')
  return Number.isInteger(days) && days > 0 ? days : 90
}

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    const log = createLogger({ cron: controller.cron })
    const report = await purgeExpired(getDb(env.DB), controller.scheduledTime, auditRetentionDays(env))
    log.info('purge.done', { ...report })
  },
} satisfies ExportedHandler<Env>
