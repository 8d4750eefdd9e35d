import { sql, type SQL } from 'drizzle-orm'
import type { Db } from './client'

const DAY_MS = 86_400_000
/** Rows per DELETE and statements per table per run: bounded, so one run stays well inside the Workers limits. */
export const PURGE_BATCH = 500
export const PURGE_MAX_BATCHES = 20

export interface PurgeReport {
  refreshTokens: number
  sessions: number
  otpCodes: number
  auditEvents: number
  loginFailures: number
  oauthStates: number
  webauthnChallenges: number
}

async function purgeInBatches(db: Db, table: string, where: SQL): Promise<number> {
  let total = 0
  for (let i = 0; i < PURGE_MAX_BATCHES; i++) {
    const result = await db.run(
      sql`DELETE FROM ${sql.identifier(table)} WHERE rowid IN (SELECT rowid FROM ${sql.identifier(table)} WHERE ${where} LIMIT ${PURGE_BATCH})`,
    )
    const deleted = result.meta.changes
    total += deleted
    if (deleted < PURGE_BATCH) break
  }
  return total
}

/**
 * The nightly clean-up: refresh-token records and sessions that expired or were revoked
 * more than a day ago, spent one-time codes a day past expiry, and audit events older than
 * the retention, failed-login counters whose window ended a day ago, social sign-in flows a
 * day past their end, and expired WebAuthn challenges. Live sessions and their
 * tokens are never touched.
 */
export async function purgeExpired(db: Db, now: number, auditRetentionDays: number): Promise<PurgeReport> {
  const dayAgo = now - DAY_MS
  const deadSession = sql`(revoked_at IS NOT NULL AND revoked_at < ${dayAgo}) OR expires_at < ${dayAgo}`
  // Tokens first: they reference their session.
  const refreshTokens = await purgeInBatches(
    db,
    'refresh_tokens',
    sql`expires_at < ${dayAgo} OR session_id IN (SELECT id FROM sessions WHERE ${deadSession})`,
  )
  const sessions = await purgeInBatches(
    db,
    'sessions',
    sql`(${deadSession}) AND NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE refresh_tokens.session_id = sessions.id)`,
  )
  const otpCodes = await purgeInBatches(db, 'otp_codes', sql`expires_at < ${dayAgo}`)
  const auditEvents = await purgeInBatches(db, 'audit_events', sql`at < ${now - auditRetentionDays * DAY_MS}`)
  // A failure counter whose window ended a day ago counts nothing any more.
  const loginFailures = await purgeInBatches(db, 'login_failures', sql`window_started_at < ${dayAgo}`)
  // Social sign-in flows a day past their 10 minutes, spent or not.
  const oauthStates = await purgeInBatches(db, 'oauth_states', sql`expires_at < ${dayAgo}`)
  // An open WebAuthn ceremony lives 5 minutes; one past its end can never be spent.
  const webauthnChallenges = await purgeInBatches(db, 'webauthn_challenges', sql`expires_at < ${now}`)
  return { refreshTokens, sessions, otpCodes, auditEvents, loginFailures, oauthStates, webauthnChallenges }
}
