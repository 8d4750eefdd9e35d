import type { BatchItem } from 'drizzle-orm/batch'
import type { Schema } from 'hono/types'
import type { RouteGroup } from '../http/registry'
import type { UserRow } from '../db/schema'
import type { ErrorEntry } from '../errors'
import type { Deps } from '../services/deps'

/**
 * A sign-in method: one way of proving who you are. A first factor (password, passkey, a
 * provider) proves the account and hands a `FirstFactor` to `signIn`; a second step (mailed
 * code, authenticator app, recovery code) says when it is due and opens the challenge that
 * completes the sign-in. A method keeps its rules, routes, error codes and audit types in its
 * own folder and is registered with one line in `methods/index.ts`.
 */
export interface SignInMethod {
  /** Unique, kebab-case: `password`, `email-otp`, `totp`, ... */
  readonly name: string
  /** Its routes, declared with the route registry; mounted at /api/auth (see methods/mount.ts). */
  readonly routes?: RouteGroup<Schema>
  /** The second step this method offers after a first factor, if it is one. */
  readonly secondStep?: SecondStep
  /** Error codes it adds (declare them for the type checker too: see `MethodErrorCodes`). */
  readonly errors?: Readonly<Record<string, ErrorEntry>>
  /**
   * How many ways in this method gives the account now (a password: 1 if set; passkeys: their
   * count; provider identities: theirs). Removing one that would leave zero in total is refused
   * with LAST_SIGN_IN_METHOD (services/ways-in.ts).
   */
  readonly waysIn?: (deps: Deps, user: UserRow) => number | Promise<number>
  /** What admins see of it per account (the admin user object's `mfa`), for a page of accounts at once. */
  readonly summarize?: (deps: Deps, userIds: readonly string[]) => Promise<Map<string, Partial<MfaSummary>>>
  /** Audit event types it records (declare them too: see `MethodAuditTypes`), and which of them are alerts. */
  readonly auditTypes?: readonly string[]
  readonly alerts?: readonly string[]
}

/** The admin user object's `mfa`: which stronger ways in an account has. */
export interface MfaSummary {
  totp: boolean
  passkeys: number
  identities: string[]
}

/** RFC 8176-style method references recorded on a session. */
export type Amr = 'pwd' | 'email_otp' | 'totp' | 'recovery_code' | 'passkey' | 'oauth'

/** What a login challenge can accept (its `methods`). */
export type ChallengeMethod = 'email_otp' | 'totp' | 'recovery_code'

/** A proven first factor, on its way to a session. */
export interface FirstFactor {
  user: UserRow
  amr: Amr[]
  /** `aal2` when this factor alone is two (a passkey with user verification): no second step is asked. */
  aal?: 'aal2'
  /** Writes that belong to this sign-in (giving back the login attempt), batched with the next write. */
  also?: readonly BatchItem<'sqlite'>[]
}

/** A second step after a first factor. Steps are asked in registry order; the first that is due opens the challenge. */
export interface SecondStep {
  /** What its challenge accepts, as listed in the login response's `methods`. */
  readonly methods: readonly ChallengeMethod[]
  /** Whether this step is due for the account after this first factor. */
  due(deps: Deps, factor: FirstFactor): boolean | Promise<boolean>
  /** Opens the challenge (a mailed code is sent here), batching `factor.also`. */
  open(deps: Deps, factor: FirstFactor, now: number): Promise<{ challengeId: string; expiresIn: number }>
}
