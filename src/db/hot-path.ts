import { getTableColumns } from 'drizzle-orm'
import { auditEvents, refreshTokens, sessions, users, type RefreshTokenRow, type SessionRow, type UserRow } from './schema'
import { liveSession, liveUser, rowOf, selectColumns } from './sql'

/**
 * The statements of the two hottest paths (the session check behind every access token, and
 * refresh rotation) as fixed SQL. The benchmark showed drizzle spending about a quarter of
 * these requests' CPU rebuilding the same SQL text; here it is written once per isolate and
 * only bound per request. Columns come from the drizzle tables and the liveness rules from
 * db/sql.ts, so nothing here is a second copy of the schema.
 */
type D1 = D1Database | D1DatabaseSession

const SESSION_USER = `SELECT ${selectColumns(users, 'u')}, s.aal AS s_aal, s.amr AS s_amr, s.${sessions.expiresAt.name} AS s_expires_at
  FROM sessions s JOIN users u ON u.id = s.user_id
  WHERE s.id = ?1 AND s.user_id = ?2 AND ${liveSession.text('s', '?3')} AND ${liveUser.text('u', '')}`

/** The account of a live session as it is now, with the session's assurance and end; null once either has ended. */
export async function sessionUser(
  d1: D1,
  sessionId: string,
  userId: string,
  now: number,
): Promise<{ user: UserRow; session: Pick<SessionRow, 'aal' | 'amr' | 'expiresAt'> } | null> {
  const row = await d1.prepare(SESSION_USER).bind(sessionId, userId, now).first<Record<string, unknown>>()
  if (!row) return null
  return {
    user: rowOf(users, 'u', row),
    session: {
      aal: sessions.aal.mapFromDriverValue(row.s_aal) as SessionRow['aal'],
      amr: sessions.amr.mapFromDriverValue(row.s_amr) as SessionRow['amr'],
      expiresAt: sessions.expiresAt.mapFromDriverValue(row.s_expires_at) as SessionRow['expiresAt'],
    },
  }
}

const TOKEN_STATE = `SELECT ${selectColumns(refreshTokens, 't')}, ${selectColumns(sessions, 's')}, ${selectColumns(users, 'u')}
  FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
  WHERE t.id = ?1`

export interface TokenState {
  token: RefreshTokenRow
  session: SessionRow
  user: UserRow
}

/** A refresh-token record with its session and account, in one read. */
export async function tokenState(d1: D1, jti: string): Promise<TokenState | undefined> {
  const row = await d1.prepare(TOKEN_STATE).bind(jti).first<Record<string, unknown>>()
  if (!row) return undefined
  return { token: rowOf(refreshTokens, 't', row), session: rowOf(sessions, 's', row), user: rowOf(users, 'u', row) }
}

/** Only a not-yet-rotated token of a live session can be rotated: the one write that decides. */
const ROTATE = `UPDATE refresh_tokens SET rotated_at = ?3, replaced_by = ?2, rotated_by = ?5
  WHERE id = ?1 AND rotated_at IS NULL
    AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = ?4 AND ${liveSession.text('s', '?3')})
  RETURNING id`

/** An `INSERT` naming its columns, from the table's own field list (bound as ?1, ?2, ... in that order). */
function insertNamed(table: string, columns: Record<string, { name: string }>, fields: readonly string[], where: string) {
  const names = fields.map((field) => columns[field]!.name)
  return `INSERT INTO ${table} (${names.join(', ')}) SELECT ${names.map((_, i) => `?${i + 1}`).join(', ')} WHERE ${where}`
}

const SUCCESSOR_FIELDS = ['id', 'sessionId', 'tokenHash', 'issuedAt', 'expiresAt'] as const
/** The successor exists only if the UPDATE of the same batch is the one that rotated. */
const INSERT_SUCCESSOR = insertNamed(
  'refresh_tokens',
  getTableColumns(refreshTokens),
  SUCCESSOR_FIELDS,
  'EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?6 AND replaced_by = ?1)',
)

const TOUCH_SESSION = `UPDATE sessions SET last_used_at = ?2 WHERE id = ?1 AND ${liveSession.text('sessions', '?2')}`

const AUDIT_FIELDS = ['id', 'at', 'type', 'userId', 'actorId', 'sessionId', 'ip', 'userAgent', 'requestId', 'alert'] as const
/** The `refresh` audit row, only when the successor of this batch exists (the rotation took effect). */
const AUDIT_REFRESH = insertNamed('audit_events', getTableColumns(auditEvents), AUDIT_FIELDS, 'EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?11)')

export interface Rotation {
  previousId: string
  sessionId: string
  successor: Pick<RefreshTokenRow, 'id' | 'tokenHash' | 'issuedAt' | 'expiresAt'>
  /** A digest of the rotating client's user agent (`refresh_tokens.rotated_by`). */
  rotatedBy: string
  now: number
  /** The `refresh` audit row, written with the rotation rather than in a round trip of its own. */
  audit: { userId: string; ip: string | null; userAgent: string | null; requestId: string }
}

/** Rotates in one batch (one transaction); true when this call won the rotation. */
export async function rotate(d1: D1, r: Rotation): Promise<boolean> {
  const [won] = await d1.batch<{ id: string }>([
    d1.prepare(ROTATE).bind(r.previousId, r.successor.id, r.now, r.sessionId, r.rotatedBy),
    d1
      .prepare(INSERT_SUCCESSOR)
      .bind(r.successor.id, r.sessionId, r.successor.tokenHash, r.successor.issuedAt, r.successor.expiresAt, r.previousId),
    d1.prepare(TOUCH_SESSION).bind(r.sessionId, r.now),
    d1
      .prepare(AUDIT_REFRESH)
      .bind(
        crypto.randomUUID(),
        r.now,
        'refresh',
        r.audit.userId,
        r.audit.userId,
        r.sessionId,
        r.audit.ip,
        r.audit.userAgent,
        r.audit.requestId,
        0,
        r.successor.id,
      ),
  ])
  return (won?.results.length ?? 0) === 1
}
