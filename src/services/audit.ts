import { keyedHash } from '../crypto/random'
import { insertAuditEvent, listAuditEvents as auditPage } from '../db/audit'
import type { Db } from '../db/client'
import type { Cursor } from '../db/keyset'
import type { Deps } from './deps'

/** The kinds of event the audit trail records for the core; sign-in methods register their own. */
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
  'otp_budget_exhausted',
  'refresh_grace',
  'user_banned',
  'user_unbanned',
  'admin_sessions_revoked',
] as const

/**
 * Audit types a sign-in method adds: declared for the type checker with
 * `declare module '../../services/audit' { interface MethodAuditTypes { totp_enabled: true } }`
 * and listed in the method's `auditTypes`, which the registry registers at start-up.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface MethodAuditTypes {}

export type AuditType = (typeof AUDIT_TYPES)[number] | (keyof MethodAuditTypes & string)

const KNOWN = new Set<string>(AUDIT_TYPES)
/** Events that signal an attack in progress: flagged in the row and logged at `warn`. */
const ALERTS = new Set<string>(['refresh_token_reuse', 'otp_burned', 'otp_budget_exhausted'])

/** Adds a method's audit types (and which of them are alerts). */
export function registerAuditTypes(types: readonly string[], alerts: readonly string[] = []): void {
  for (const type of types) KNOWN.add(type)
  for (const type of alerts) ALERTS.add(type)
}

export const isAuditType = (value: string): value is AuditType => KNOWN.has(value)

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
    insertAuditEvent(deps.db, {
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
export const emailDigest = (deps: Pick<Deps, 'config'>, email: string) => keyedHash(deps.config.refreshTokenSecret, 'audit-email', email)

export interface AuditQuery {
  userId?: string | undefined
  type?: AuditType | undefined
  limit: number
  cursor?: Cursor | undefined
}

/** Newest first, keyset-paginated on (at, id) so inserts never shift a page. */
export async function listAuditEvents(db: Db, query: AuditQuery) {
  const list = auditPage(db, query)
  const { page, next } = list.page(await list.rows)
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
