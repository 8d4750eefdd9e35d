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

/** `insertNamed`'s column list for the successor, from the table's own fields. */
const column = (field: keyof typeof refreshTokens.$inferSelect) => getTableColumns(refreshTokens)[field].name

/**
 * Only a not-yet-rotated, unexpired token with this hash, of a live session of this user's live
 * account, can be rotated: the one write that decides, so everything the refresh checked first
 * is checked here, in the same statement.
 */
const ROTATE = `UPDATE refresh_tokens SET rotated_at = ?3, replaced_by = ?2, rotated_by = ?5
  WHERE id = ?1 AND session_id = ?4 AND token_hash = ?6 AND rotated_at IS NULL AND expires_at > ?3
    AND EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id = ?4 AND s.user_id = ?7 AND ${liveSession.text('s', '?3')} AND ${liveUser.text('u', '')})
  RETURNING id`

/**
 * The successor exists only if the UPDATE of the same batch is the one that rotated. Its end is
 * decided here, not from a value read first: `refreshTokenTtl` from now, never past the
 * session's absolute end, in whole seconds (so the record and the token's `exp` agree exactly).
 */
const INSERT_SUCCESSOR = `INSERT INTO refresh_tokens (${column('id')}, ${column('sessionId')}, ${column('tokenHash')}, ${column('issuedAt')}, ${column('expiresAt')})
  SELECT ?1, ?2, ?3, ?4, MIN(?5, (s.${sessions.expiresAt.name} / 1000) * 1000) FROM sessions s
  WHERE s.id = ?2 AND EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?6 AND replaced_by = ?1)
  RETURNING ${column('expiresAt')} AS expires_at`

/** The rare second write: the successor's hash, when its end came out earlier than the token first signed. */
const RESTAMP_SUCCESSOR = `UPDATE refresh_tokens SET ${column('tokenHash')} = ?2 WHERE id = ?1 AND ${column('tokenHash')} = ?3`

/** `INSERT ... SELECT ?1, ?2, ... WHERE <guard>` naming its columns, from the table's own field list. */
function insertNamed(table: string, columns: Record<string, { name: string }>, fields: readonly string[], where: string) {
  const names = fields.map((field) => columns[field]!.name)
  return `INSERT INTO ${table} (${names.join(', ')}) SELECT ${names.map((_, i) => `?${i + 1}`).join(', ')} WHERE ${where}`
}

const TOUCH_SESSION = `UPDATE sessions SET ${sessions.lastUsedAt.name} = ?2 WHERE id = ?1 AND EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?3)`

/**
 * ADMIN_EMAILS is authoritative for the roles it granted: an account the list promoted and no
 * longer names loses `admin` with this rotation (`proof.ts` `listedRole` decides the same at sign-in).
 */
const DEMOTE_UNLISTED = `UPDATE users SET ${users.role.name} = 'user', ${users.roleSource.name} = NULL, ${users.updatedAt.name} = ?2
  WHERE id = ?1 AND ${liveUser.text('users', '')} AND ${users.role.name} = 'admin' AND ${users.roleSource.name} = 'list'
    AND ${users.email.name} NOT IN (SELECT value FROM json_each(?3))
    AND EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?4)`

const AUDIT_FIELDS = ['id', 'at', 'type', 'userId', 'actorId', 'sessionId', 'ip', 'userAgent', 'requestId', 'alert'] as const
/** The `refresh` audit row, only when the successor of this batch exists (the rotation took effect). */
const AUDIT_REFRESH = insertNamed('audit_events', getTableColumns(auditEvents), AUDIT_FIELDS, 'EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?11)')

/** The presented token's state after the writes, with its successor if it has one (the grace window needs it). */
const STATE_AFTER = `SELECT ${selectColumns(refreshTokens, 't')}, ${selectColumns(sessions, 's')}, ${selectColumns(users, 'u')}, ${selectColumns(refreshTokens, 'n')}
  FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
  LEFT JOIN refresh_tokens n ON n.id = t.replaced_by
  WHERE t.id = ?1`

export interface Rotation {
  /** The presented token: its `jti`, its hash, and the session and user its claims name. */
  presented: { id: string; tokenHash: string; sessionId: string; userId: string }
  /** The successor, signed before the batch; `expiresAt` is the end it was signed with. */
  successor: Pick<RefreshTokenRow, 'id' | 'tokenHash' | 'issuedAt' | 'expiresAt'>
  /** A digest of the rotating client's user agent (`refresh_tokens.rotated_by`). */
  rotatedBy: string
  /** The addresses ADMIN_EMAILS lists now. */
  listedAdmins: readonly string[]
  now: number
  /** The `refresh` audit row, written with the rotation rather than in a round trip of its own. */
  audit: { ip: string | null; userAgent: string | null; requestId: string }
}

export interface RotationOutcome {
  /** True when this call rotated the token. */
  won: boolean
  /** The successor's end as stored (the session's end when that comes first); only when won. */
  successorExpiresAt?: number
  /** The presented token, its session and account as they are after the batch; undefined for an unknown token. */
  state?: TokenState & { successor: RefreshTokenRow | null }
}

/**
 * Decides a refresh in one batch (one round trip, one transaction): the conditional rotation,
 * the successor guarded on it, the session touched, a listed admin's demotion, the audit row,
 * and the state read back after them, from which the caller answers whatever happened.
 */
export async function rotateInOneTrip(d1: D1, r: Rotation): Promise<RotationOutcome> {
  const { presented: p, successor: n, now } = r
  const [won, inserted, , , , state] = await d1.batch<Record<string, unknown>>([
    d1.prepare(ROTATE).bind(p.id, n.id, now, p.sessionId, r.rotatedBy, p.tokenHash, p.userId),
    d1.prepare(INSERT_SUCCESSOR).bind(n.id, p.sessionId, n.tokenHash, n.issuedAt, n.expiresAt, p.id),
    d1.prepare(TOUCH_SESSION).bind(p.sessionId, now, n.id),
    d1.prepare(DEMOTE_UNLISTED).bind(p.userId, now, JSON.stringify(r.listedAdmins), n.id),
    d1
      .prepare(AUDIT_REFRESH)
      .bind(crypto.randomUUID(), now, 'refresh', p.userId, p.userId, p.sessionId, r.audit.ip, r.audit.userAgent, r.audit.requestId, 0, n.id),
    d1.prepare(STATE_AFTER).bind(p.id),
  ])
  const row = state?.results[0]
  const stored = inserted?.results[0]?.expires_at
  return {
    won: (won?.results.length ?? 0) === 1,
    ...(typeof stored === 'number' ? { successorExpiresAt: stored } : {}),
    ...(row
      ? {
          state: {
            token: rowOf(refreshTokens, 't', row),
            session: rowOf(sessions, 's', row),
            user: rowOf(users, 'u', row),
            successor: row.n_id == null ? null : rowOf(refreshTokens, 'n', row),
          },
        }
      : {}),
  }
}

/** Rewrites a just-inserted successor's hash (its end came out earlier than first signed); true when it did. */
export async function restampSuccessor(d1: D1, id: string, tokenHash: string, signedHash: string): Promise<boolean> {
  const result = await d1.prepare(RESTAMP_SUCCESSOR).bind(id, tokenHash, signedHash).run()
  return (result.meta.changes ?? 0) === 1
}
