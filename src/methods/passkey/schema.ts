import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { users } from '../../db/schema'

/** Times are stored as milliseconds since the epoch (UTC), as in db/schema.ts. */
const time = (name: string) => integer(name, { mode: 'number' })

/** A passkey: a WebAuthn credential registered to an account. */
export const passkeys = sqliteTable(
  'passkeys',
  {
    /** Our id (a UUID): what the API's routes name. */
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    /** The authenticator's credential id, base64url; one account at most holds it. */
    credentialId: text('credential_id').notNull().unique(),
    /** The public key as a JWK (JSON), ready for WebCrypto's importKey. */
    publicKey: text('public_key').notNull(),
    /** Its COSE algorithm: -7 (ES256), -8 (EdDSA) or -257 (RS256). */
    algorithm: integer('algorithm').notNull(),
    /** The last signature counter seen; 0 for authenticators that keep none. */
    counter: integer('counter').notNull().default(0),
    /** What the browser said about how to reach it (`internal`, `hybrid`, `usb`, ...), as a JSON array. */
    transports: text('transports', { mode: 'json' }).$type<string[]>().notNull(),
    /** The backup-state flag of its last use: synced to a cloud keychain. */
    backedUp: integer('backed_up', { mode: 'boolean' }).notNull().default(false),
    /** The authenticator model's AAGUID (all zeros under `none` attestation from most browsers). */
    aaguid: text('aaguid').notNull(),
    name: text('name').notNull(),
    createdAt: time('created_at').notNull(),
    lastUsedAt: time('last_used_at'),
  },
  (t) => [index('passkeys_user_idx').on(t.userId, t.createdAt)],
)

/** The opaque per-account handle passkeys carry as `user.id` (never the email or the account id). */
export const passkeyUsers = sqliteTable('passkey_users', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id),
  /** 32 random bytes, base64url. */
  handle: text('handle').notNull().unique(),
})

/**
 * An open WebAuthn ceremony: its challenge (only a hash of it), its kind, and for registration its
 * account. Consumed by one conditional DELETE … RETURNING, so a challenge works once.
 */
export const webauthnChallenges = sqliteTable(
  'webauthn_challenges',
  {
    id: text('id').primaryKey(),
    /** SHA-256 of the challenge bytes, base64url. */
    challengeHash: text('challenge_hash').notNull(),
    ceremony: text('ceremony', { enum: ['registration', 'authentication'] }).notNull(),
    /** The account a registration belongs to; null for a sign-in. */
    userId: text('user_id'),
    createdAt: time('created_at').notNull(),
    expiresAt: time('expires_at').notNull(),
  },
  (t) => [index('webauthn_challenges_expires_idx').on(t.expiresAt)],
)

export type PasskeyRow = typeof passkeys.$inferSelect
export type Ceremony = (typeof webauthnChallenges.$inferSelect)['ceremony']
