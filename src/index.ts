import { createApp } from './app'
import { auditRetentionDays } from './config'
import { getDb } from './db/client'
import { createLogger } from './log'
import { purgeExpired } from './db/purge'

const app = createApp()

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    const log = createLogger({ cron: controller.cron })
    const report = await purgeExpired(getDb(env.DB), controller.scheduledTime, auditRetentionDays(env))
    log.info('purge.done', { ...report })
  },
} satisfies ExportedHandler<Env>
