import type { SignInMethod } from '../types'
import { totpRoutes } from './routes'
import { summarizeTotp, totpStep } from './rules'

declare module '../../errors' {
  interface MethodErrorCodes {
    MFA_ALREADY_ENABLED: true
  }
}

declare module '../../services/audit' {
  interface MethodAuditTypes {
    totp_enrolled: true
    totp_enabled: true
    totp_removed: true
    recovery_codes_regenerated: true
    recovery_code_used: true
    mfa_code_failure: true
    mfa_reset: true
  }
}

/**
 * An authenticator app (RFC 6238 TOTP) and its recovery codes: the second step `["totp",
 * "recovery_code"]` after a password or a provider, for accounts that turned an app on.
 * Registered before email-otp, so such an account is never mailed a login code.
 */
export const totp = {
  name: 'totp',
  routes: totpRoutes,
  secondStep: totpStep,
  summarize: summarizeTotp,
  errors: { MFA_ALREADY_ENABLED: [409, 'An authenticator app is already active on this account.'] },
  auditTypes: ['totp_enrolled', 'totp_enabled', 'totp_removed', 'recovery_codes_regenerated', 'recovery_code_used', 'mfa_code_failure', 'mfa_reset'],
  alerts: [],
} as const satisfies SignInMethod
