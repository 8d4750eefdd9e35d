import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { users } from '../../db/schema'

/** Times are stored as milliseconds since the epoch (UTC). */
const time = (name: string) => integer(name, { mode: 'number' })

/** A provider account linked to one of ours: one (provider, subject) belongs to one account. */
export const oauthIdentities = sqliteTable(
  'oauth_identities',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    /** The configured provider name (`github`, `google`, `acme`). */
    provider: text('provider').notNull(),
    /** The provider's stable user id (`sub`; GitHub's numeric id as text). */
    subject: text('subject').notNull(),
    /** The email the provider asserted at the last sign-in, and whether it said it was verified. */
    email: text('email'),
    emailVerified: integer('email_verified', { mode: 'boolean' }).notNull().default(false),
    createdAt: time('created_at').notNull(),
    lastUsedAt: time('last_used_at').notNull(),
  },
  (t) => [uniqueIndex('oauth_identities_subject_idx').on(t.provider, t.subject), index('oauth_identities_user_idx').on(t.userId)],
)

/**
 * One authorization flow in flight: what the callback needs (PKCE verifier, nonce, where to go
 * back) and its single use, decided by one conditional write on `consumed_at`. The state itself
 * is never stored: `id` is its SHA-256.
 */
export const oauthStates = sqliteTable(
  'oauth_states',
  {
    id: text('id').primaryKey(),
    provider: text('provider').notNull(),
    codeVerifier: text('code_verifier').notNull(),
    nonce: text('nonce').notNull(),
    returnTo: text('return_to').notNull(),
    /** The account a link flow adds the identity to; null for a sign-in. */
    linkUserId: text('link_user_id'),
    createdAt: time('created_at').notNull(),
    /** When the browser was sent to the provider (a link flow's start URL works once). */
    startedAt: time('started_at'),
    expiresAt: time('expires_at').notNull(),
    consumedAt: time('consumed_at'),
  },
  (t) => [index('oauth_states_expires_idx').on(t.expiresAt)],
)

export type IdentityRow = typeof oauthIdentities.$inferSelect
export type OAuthStateRow = typeof oauthStates.$inferSelect
