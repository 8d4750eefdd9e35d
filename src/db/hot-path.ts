import type { RefreshTokenRow, SessionRow, UserRow } from './schema'

/**
 * The statements of the two hottest paths (the session check behind every access token, and
 * refresh rotation) as fixed SQL. The benchmark showed drizzle spending about a quarter of
 * these requests' CPU rebuilding the same SQL text; here it is written once per isolate and
 * only bound per request. Everything else goes through drizzle.
 */
type D1 = D1Database | D1DatabaseSession

const USER_COLUMNS = `u.id AS u_id, u.email AS u_email, u.name AS u_name, u.name_folded AS u_name_folded,
  u.mobile AS u_mobile, u.password_hash AS u_password_hash, u.role AS u_role,
  u.email_verified_at AS u_email_verified_at, u.created_at AS u_created_at,
  u.updated_at AS u_updated_at, u.deleted_at AS u_deleted_at`

type UserColumns = {
  u_id: string
  u_email: string
  u_name: string
  u_name_folded: string
  u_mobile: string | null
  u_password_hash: string
  u_role: 'user' | 'admin'
  u_email_verified_at: number | null
  u_created_at: number
  u_updated_at: number
  u_deleted_at: number | null
}

const userOf = (row: UserColumns): UserRow => ({
  id: row.u_id,
  email: row.u_email,
  name: row.u_name,
  nameFolded: row.u_name_folded,
  mobile: row.u_mobile,
  passwordHash: row.u_password_hash,
  role: row.u_role,
  emailVerifiedAt: row.u_email_verified_at,
  createdAt: row.u_created_at,
  updatedAt: row.u_updated_at,
  deletedAt: row.u_deleted_at,
})

const SESSION_USER = `SELECT ${USER_COLUMNS}
  FROM sessions s JOIN users u ON u.id = s.user_id
  WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3 AND u.deleted_at IS NULL`

/** The account of a live session, as it is now; null when the session or the account has ended. */
export async function sessionUser(d1: D1, sessionId: string, userId: string, now: number): Promise<UserRow | null> {
  const row = await d1.prepare(SESSION_USER).bind(sessionId, userId, now).first<UserColumns>()
  return row ? userOf(row) : null
}

const TOKEN_STATE = `SELECT
  t.id AS t_id, t.session_id AS t_session_id, t.token_hash AS t_token_hash, t.issued_at AS t_issued_at,
  t.expires_at AS t_expires_at, t.rotated_at AS t_rotated_at, t.replaced_by AS t_replaced_by,
  s.id AS s_id, s.user_id AS s_user_id, s.created_at AS s_created_at, s.last_used_at AS s_last_used_at,
  s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at, s.revoked_reason AS s_revoked_reason,
  s.user_agent AS s_user_agent, s.ip AS s_ip,
  ${USER_COLUMNS}
  FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
  WHERE t.id = ?1`

type TokenColumns = UserColumns & {
  t_id: string
  t_session_id: string
  t_token_hash: string
  t_issued_at: number
  t_expires_at: number
  t_rotated_at: number | null
  t_replaced_by: string | null
  s_id: string
  s_user_id: string
  s_created_at: number
  s_last_used_at: number
  s_expires_at: number
  s_revoked_at: number | null
  s_revoked_reason: string | null
  s_user_agent: string | null
  s_ip: string | null
}

export interface TokenState {
  token: RefreshTokenRow
  session: SessionRow
  user: UserRow
}

/** A refresh-token record with its session and account, in one read. */
export async function tokenState(d1: D1, jti: string): Promise<TokenState | undefined> {
  const row = await d1.prepare(TOKEN_STATE).bind(jti).first<TokenColumns>()
  if (!row) return undefined
  return {
    token: {
      id: row.t_id,
      sessionId: row.t_session_id,
      tokenHash: row.t_token_hash,
      issuedAt: row.t_issued_at,
      expiresAt: row.t_expires_at,
      rotatedAt: row.t_rotated_at,
      replacedBy: row.t_replaced_by,
    },
    session: {
      id: row.s_id,
      userId: row.s_user_id,
      createdAt: row.s_created_at,
      lastUsedAt: row.s_last_used_at,
      expiresAt: row.s_expires_at,
      revokedAt: row.s_revoked_at,
      revokedReason: row.s_revoked_reason,
      userAgent: row.s_user_agent,
      ip: row.s_ip,
    },
    user: userOf(row),
  }
}

/** Only a not-yet-rotated token of a live session can be rotated: the one write that decides. */
const ROTATE = `UPDATE refresh_tokens SET rotated_at = ?3, replaced_by = ?2
  WHERE id = ?1 AND rotated_at IS NULL
    AND EXISTS (SELECT 1 FROM sessions WHERE sessions.id = ?4 AND sessions.revoked_at IS NULL AND sessions.expires_at > ?3)
  RETURNING id`

/** The successor exists only if the UPDATE of the same batch is the one that rotated. */
const INSERT_SUCCESSOR = `INSERT INTO refresh_tokens (id, session_id, token_hash, issued_at, expires_at)
  SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?6 AND replaced_by = ?1)`

const TOUCH_SESSION = `UPDATE sessions SET last_used_at = ?2 WHERE id = ?1 AND revoked_at IS NULL AND expires_at > ?2`

/** The `refresh` audit row, only when the successor of this batch exists (the rotation took effect). */
const AUDIT_REFRESH = `INSERT INTO audit_events (id, at, type, user_id, actor_id, session_id, ip, user_agent, request_id, alert, detail)
  SELECT ?1, ?2, 'refresh', ?3, ?3, ?4, ?5, ?6, ?7, 0, NULL WHERE EXISTS (SELECT 1 FROM refresh_tokens WHERE id = ?8)`

export interface Rotation {
  previousId: string
  sessionId: string
  successor: Pick<RefreshTokenRow, 'id' | 'tokenHash' | 'issuedAt' | 'expiresAt'>
  now: number
  /** The `refresh` audit row, written with the rotation rather than in a round trip of its own. */
  audit: { userId: string; ip: string | null; userAgent: string | null; requestId: string }
}

/** Rotates in one batch (one transaction); true when this call won the rotation. */
export async function rotate(d1: D1, r: Rotation): Promise<boolean> {
  const [won] = await d1.batch<{ id: string }>([
    d1.prepare(ROTATE).bind(r.previousId, r.successor.id, r.now, r.sessionId),
    d1
      .prepare(INSERT_SUCCESSOR)
      .bind(r.successor.id, r.sessionId, r.successor.tokenHash, r.successor.issuedAt, r.successor.expiresAt, r.previousId),
    d1.prepare(TOUCH_SESSION).bind(r.sessionId, r.now),
    d1
      .prepare(AUDIT_REFRESH)
      .bind(crypto.randomUUID(), r.now, r.audit.userId, r.sessionId, r.audit.ip, r.audit.userAgent, r.audit.requestId, r.successor.id),
  ])
  return (won?.results.length ?? 0) === 1
}
