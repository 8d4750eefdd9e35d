import { sql } from 'drizzle-orm'
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/** Times are stored as milliseconds since the epoch (UTC). */
const time = (name: string) => integer(name, { mode: 'number' })

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    /** The name NFKC-normalised and lower-cased (Unicode-aware), for case-insensitive search. */
    nameFolded: text('name_folded').notNull().default(''),
    mobile: text('mobile'),
    /** Self-describing: `$pbkdf2-sha512$i=<iterations>,p=<0|1>$<salt>$<hash>`; null for an account with no password (provider sign-in). */
    passwordHash: text('password_hash'),
    role: text('role', { enum: ['user', 'admin'] }).notNull().default('user'),
    /** Who granted `admin`: `list` (ADMIN_EMAILS, which may take it back) or `admin` (an admin, kept). */
    roleSource: text('role_source', { enum: ['list', 'admin'] }),
    /** A ban: its reason, and its end (null: until lifted). An ended ban is as good as none. */
    bannedReason: text('banned_reason'),
    bannedAt: time('banned_at'),
    bannedUntil: time('banned_until'),
    emailVerifiedAt: time('email_verified_at'),
    createdAt: time('created_at').notNull(),
    updatedAt: time('updated_at').notNull(),
    deletedAt: time('deleted_at'),
  },
  (t) => [
    // An email belongs to at most one live account; deleted accounts free it.
    uniqueIndex('users_email_live_idx').on(t.email).where(sql`deleted_at IS NULL`),
    index('users_created_idx').on(t.createdAt, t.id),
  ],
)

export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: time('created_at').notNull(),
    lastUsedAt: time('last_used_at').notNull(),
    /** Absolute end: no refresh extends a session past it. */
    expiresAt: time('expires_at').notNull(),
    revokedAt: time('revoked_at'),
    revokedReason: text('revoked_reason'),
    userAgent: text('user_agent'),
    ip: text('ip'),
    /** How the session was established: `aal1` or `aal2` (API.md "Sign-in methods and assurance"). */
    aal: text('aal', { enum: ['aal1', 'aal2'] }).notNull().default('aal1'),
    /** The methods used, RFC 8176 style (`pwd`, `email_otp`, ...), as a JSON array. */
    amr: text('amr', { mode: 'json' }).$type<string[]>().notNull().default(sql`'[]'`),
  },
  (t) => [index('sessions_user_idx').on(t.userId, t.createdAt), index('sessions_expires_idx').on(t.expiresAt)],
)

export const refreshTokens = sqliteTable(
  'refresh_tokens',
  {
    /** The token's `jti`. */
    id: text('id').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id),
    /** SHA-256 of the token; the token itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    issuedAt: time('issued_at').notNull(),
    expiresAt: time('expires_at').notNull(),
    /** Set once, by the single conditional write that rotates this token. */
    rotatedAt: time('rotated_at'),
    replacedBy: text('replaced_by'),
    /** A digest of the user agent that rotated it: only that client gets the successor again in the grace window. */
    rotatedBy: text('rotated_by'),
  },
  (t) => [index('refresh_tokens_session_idx').on(t.sessionId), index('refresh_tokens_expires_idx').on(t.expiresAt)],
)

/** The exact side of one-time codes: tries and single use. The codes themselves live in KV. */
export const otpCodes = sqliteTable(
  'otp_codes',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    purpose: text('purpose', { enum: ['verify_email', 'login', 'reset_password'] }).notNull(),
    tries: integer('tries').notNull().default(0),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
    /** Set when the code is used or replaced by a newer one. */
    consumedAt: time('consumed_at'),
    /** A marker unique to the batch that spent the code, so that batch alone can see it did. */
    consumedBy: text('consumed_by'),
  },
  (t) => [index('otp_codes_user_idx').on(t.userId, t.purpose, t.createdAt), index('otp_codes_expires_idx').on(t.expiresAt)],
)

export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    at: time('at').notNull(),
    type: text('type').notNull(),
    userId: text('user_id'),
    actorId: text('actor_id'),
    sessionId: text('session_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    alert: integer('alert', { mode: 'boolean' }).notNull().default(false),
    detail: text('detail', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [
    index('audit_events_at_idx').on(t.at, t.id),
    index('audit_events_user_idx').on(t.userId, t.at),
    index('audit_events_type_idx').on(t.type, t.at),
  ],
)

/**
 * Wrong one-time codes per email address (a keyed digest, whether or not an account holds it) and
 * purpose, one row each, so the 24-hour budget across codes is exact and slides.
 */
export const otpFailures = sqliteTable(
  'otp_failures',
  {
    id: text('id').primaryKey(),
    emailKey: text('email_key').notNull(),
    purpose: text('purpose').notNull(),
    at: time('at').notNull(),
  },
  (t) => [index('otp_failures_key_idx').on(t.emailKey, t.purpose, t.at)],
)

export type UserRow = typeof users.$inferSelect
export type SessionRow = typeof sessions.$inferSelect
export type RefreshTokenRow = typeof refreshTokens.$inferSelect
export type OtpPurpose = (typeof otpCodes.$inferSelect)['purpose']

/**
 * Failed logins per email address (a keyed digest of it, whether or not an account holds it),
 * counted exactly in one fixed window.
 */
export const loginFailures = sqliteTable('login_failures', {
  emailKey: text('email_key').primaryKey(),
  failures: integer('failures').notNull(),
  windowStartedAt: time('window_started_at').notNull(),
})
