import { and, eq, type SQL } from 'drizzle-orm'
import { keyedHash } from '../crypto/random'
import type { Db } from '../db/client'
import { keyset, type Cursor } from '../db/keyset'
import { auditEvents } from '../db/schema'
import type { Deps } from './deps'

/** Every kind of event the audit trail records. */
export const AUDIT_TYPES = [
  'register',
  'email_verified',
  'login_success',
  'login_failure',
  'otp_failure',
  'otp_burned',
  'refresh',
  'refresh_token_reuse',
  'logout',
  'logout_all',
  'session_revoked',
  'password_changed',
  'password_reset_requested',
  'password_reset_completed',
  'profile_updated',
  'account_deleted',
  'role_changed',
  'admin_user_deleted',
] as const

export type AuditType = (typeof AUDIT_TYPES)[number]

/** Events that signal an attack in progress: flagged in the row and logged at `warn`. */
const ALERTS: ReadonlySet<AuditType> = new Set(['refresh_token_reuse', 'otp_burned'])

export interface AuditEvent {
  type: AuditType
  userId?: string | null
  /** Who acted, when not the user themself (an admin). Defaults to the user. */
  actorId?: string | null
  sessionId?: string | null
  /** Small and free of secrets: never a password, token or code. */
  detail?: Record<string, unknown>
}

/**
 * Records an event after the response (`waitUntil`). The state change it describes has
 * already been committed; an audit failure is logged and never undoes or delays it.
 */
export function audit(deps: Deps, event: AuditEvent, now = Date.now()): void {
  const alert = ALERTS.has(event.type)
  if (alert) deps.log.warn(`security.${event.type}`, { userId: event.userId, sessionId: event.sessionId, ...event.detail })
  deps.defer(
    deps.db.insert(auditEvents).values({
      id: crypto.randomUUID(),
      at: now,
      type: event.type,
      userId: event.userId ?? null,
      actorId: event.actorId !== undefined ? event.actorId : (event.userId ?? null),
      sessionId: event.sessionId ?? null,
      ip: deps.meta.ip,
      userAgent: deps.meta.userAgent,
      requestId: deps.meta.requestId,
      alert,
      detail: event.detail ?? null,
    }),
  )
}

/** A keyed digest of an email, so failures for unknown addresses can be correlated without storing them. */
export const emailDigest = (deps: Deps, email: string) => keyedHash(deps.config.refreshTokenSecret, 'audit-email', email)

export interface AuditQuery {
  userId?: string | undefined
  type?: AuditType | undefined
  limit: number
  cursor?: Cursor | undefined
}

/** Newest first, keyset-paginated on (at, id) so inserts never shift a page. */
export async function listAuditEvents(db: Db, query: AuditQuery) {
  const order = keyset(auditEvents.at, auditEvents.id, query.cursor)
  const filters: (SQL | undefined)[] = [
    query.userId ? eq(auditEvents.userId, query.userId) : undefined,
    query.type ? eq(auditEvents.type, query.type) : undefined,
    order.after,
  ]
  const rows = await db
    .select()
    .from(auditEvents)
    .where(and(...filters))
    .orderBy(...order.orderBy)
    .limit(query.limit + 1)
  const { page, next } = order.page(rows, query.limit, (row) => ({ t: row.at, id: row.id }))
  return {
    events: page.map((row) => ({
      id: row.id,
      at: new Date(row.at).toISOString(),
      type: row.type,
      userId: row.userId,
      actorId: row.actorId,
      sessionId: row.sessionId,
      ip: row.ip,
      userAgent: row.userAgent,
      requestId: row.requestId,
      alert: row.alert,
      detail: row.detail,
    })),
    next,
  }
}
