import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { users } from '../../db/schema'

const time = (name: string) => integer(name, { mode: 'number' })

/**
 * One authenticator app per account: pending (enrolled, not yet confirmed with a code, until
 * `expires_at`) or active (`activated_at` set). The shared secret is stored only sealed
 * (AES-GCM, the account id as associated data: crypto/encryption.ts).
 */
export const totpCredentials = sqliteTable('totp_credentials', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id),
  secret: text('secret').notNull(),
  createdAt: time('created_at').notNull(),
  /** When a pending enrolment lapses; meaningless once active. */
  expiresAt: time('expires_at').notNull(),
  activatedAt: time('activated_at'),
  /** The last time step accepted: a step is accepted once, by `UPDATE ... WHERE last_step < ?`. */
  lastStep: integer('last_step').notNull().default(0),
  /** A marker unique to the batch that accepted `last_step`, so that batch alone can see it did. */
  stepMarker: text('step_marker'),
})

/** Recovery codes, only as keyed hashes; each is used once by a conditional write. */
export const recoveryCodes = sqliteTable(
  'recovery_codes',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id),
    codeHash: text('code_hash').notNull(),
    createdAt: time('created_at').notNull(),
    usedAt: time('used_at'),
    /** A marker unique to the batch that used it. */
    usedBy: text('used_by'),
  },
  (t) => [uniqueIndex('recovery_codes_hash_idx').on(t.userId, t.codeHash), index('recovery_codes_user_idx').on(t.userId)],
)

export type TotpRow = typeof totpCredentials.$inferSelect
