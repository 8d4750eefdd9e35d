import type { SignInMethod } from '../types'
import { passkeyCounts } from './queries'
import { passkeyRoutes } from './routes'
import { countPasskeys } from './rules'

declare module '../../errors' {
  interface MethodErrorCodes {
    PASSKEY_INVALID: true
  }
}

declare module '../../services/audit' {
  interface MethodAuditTypes {
    passkey_added: true
    passkey_removed: true
    passkey_renamed: true
    passkey_login_failure: true
    passkey_counter_regressed: true
  }
}

/**
 * Passkeys (WebAuthn): a first factor that, with user verification, is two (`aal2`). Registered
 * and managed by a signed-in account, used to sign in without an email or a password (rules.ts,
 * webauthn.ts for the protocol checks, routes.ts).
 */
export const passkey = {
  name: 'passkey',
  routes: passkeyRoutes,
  errors: {
    PASSKEY_INVALID: [401, 'The passkey could not be verified.'],
  },
  auditTypes: ['passkey_added', 'passkey_removed', 'passkey_renamed', 'passkey_login_failure', 'passkey_counter_regressed'],
  alerts: ['passkey_counter_regressed'],
  waysIn: (deps, user) => countPasskeys(deps, user),
  async summarize(deps, userIds) {
    const rows = await passkeyCounts(deps.readDb, userIds)
    return new Map(rows.map((row) => [row.userId, { passkeys: row.n }]))
  },
} as const satisfies SignInMethod
