import type { MiddlewareHandler } from 'hono'
import { deps } from '../../http/deps'
import { routes } from '../../http/registry'
import { ok, tokenResponse } from '../../http/respond'
import { rateLimit } from '../../middleware/rate-limit'
import * as R from '../../schemas/responses'
import type { AppEnv } from '../../types'
import { activateTotp, enrollTotp, mfaKey, mfaStatus, regenerateRecoveryCodes, removeTotp, verifyChallenge } from './rules'
import { ActivateBody, EnrollBody, Enrolment, MfaStatus, MfaVerifyBody, RecoveryCodes, RegenerateBody, RemoveTotpBody } from './shapes'

/** 503 CONFIG_ERROR before anything else when MFA_ENCRYPTION_KEY is not set; every other route still works. */
const requireMfaKey = (): MiddlewareHandler<AppEnv> =>
  async function requireMfaKey(c, next) {
    mfaKey({ config: c.get('config') })
    await next()
  }

/** The authenticator-app and recovery-code routes, mounted at /api/auth. */
export const totpRoutes = routes()
  .openapi(
    {
      method: 'post', path: '/mfa/verify', operationId: 'verifyMfa', tag: 'MFA', security: 'public',
      summary: 'Second step with the authenticator app or a recovery code: tokens, session aal2',
      middleware: [requireMfaKey(), rateLimit('RL_VERIFY', 'mfa-verify')],
      request: { body: MfaVerifyBody },
      responses: { 200: { description: 'Signed in: the token response.', data: R.TokenData, headers: ['Set-Cookie'] } },
      errors: ['OTP_INVALID', 'OTP_EXPIRED', 'OTP_ATTEMPTS_EXCEEDED', 'ACCOUNT_BANNED', 'RATE_LIMITED'],
    },
    async (c) => {
      const { tokenTransport, ...input } = c.req.valid('json')
      return tokenResponse(c, await verifyChallenge(deps(c), input), tokenTransport)
    },
  )

  .openapi(
    {
      method: 'get', path: '/mfa', operationId: 'mfaStatus', tag: 'MFA', security: 'bearer',
      summary: "The caller's second factors: the app, recovery codes left, passkeys",
      responses: { 200: { description: 'What the account has.', data: MfaStatus } },
    },
    async (c) => ok(c, await mfaStatus(deps(c), c.get('auth').user)),
  )

  .openapi(
    {
      method: 'post', path: '/mfa/totp/enroll', operationId: 'enrollTotp', tag: 'MFA', security: 'bearer',
      summary: 'Start turning on an authenticator app: a secret pending for 10 minutes',
      description: 'Re-enter the password (an account without one sends no body). A new enroll replaces a pending one.',
      middleware: [requireMfaKey()],
      request: { body: EnrollBody, bodyRequired: false },
      responses: { 200: { description: 'The pending secret, as base32 and as an otpauth URI.', data: Enrolment } },
      errors: ['INVALID_CREDENTIALS', 'MFA_ALREADY_ENABLED', 'RATE_LIMITED'],
    },
    async (c) => ok(c, await enrollTotp(deps(c), c.get('auth'), c.req.valid('json').password), 200, 'Scan the code with your app, then confirm with a code from it.'),
  )

  .openapi(
    {
      method: 'post', path: '/mfa/totp/activate', operationId: 'activateTotp', tag: 'MFA', security: 'bearer',
      summary: 'Confirm the app with a code: it is on, and ten recovery codes are shown once',
      middleware: [requireMfaKey(), rateLimit('RL_VERIFY', 'mfa-activate')],
      request: { body: ActivateBody },
      responses: { 200: { description: 'The app is active; keep the recovery codes.', data: RecoveryCodes } },
      errors: ['OTP_INVALID', 'OTP_EXPIRED', 'MFA_ALREADY_ENABLED', 'RATE_LIMITED'],
    },
    async (c) => ok(c, await activateTotp(deps(c), c.get('auth'), c.req.valid('json').code), 200, 'Authenticator app turned on.'),
  )

  .openapi(
    {
      method: 'delete', path: '/mfa/totp', operationId: 'removeTotp', tag: 'MFA', security: 'bearer',
      summary: 'Turn the app off (a current app code or a recovery code); recovery codes go too',
      middleware: [requireMfaKey(), rateLimit('RL_VERIFY', 'mfa-remove')],
      request: { body: RemoveTotpBody },
      responses: { 200: { description: 'The app and its recovery codes were removed.', data: R.Empty } },
      errors: ['OTP_INVALID', 'NOT_FOUND', 'RATE_LIMITED'],
    },
    async (c) => {
      await removeTotp(deps(c), c.get('auth'), c.req.valid('json').code)
      return ok(c, {}, 200, 'Authenticator app removed.')
    },
  )

  .openapi(
    {
      method: 'post', path: '/mfa/recovery-codes', operationId: 'regenerateRecoveryCodes', tag: 'MFA', security: 'bearer',
      summary: 'A new set of recovery codes (a current app code); the old set stops working',
      middleware: [requireMfaKey(), rateLimit('RL_VERIFY', 'mfa-recovery')],
      request: { body: RegenerateBody },
      responses: { 200: { description: 'The new codes, shown this once.', data: RecoveryCodes } },
      errors: ['OTP_INVALID', 'NOT_FOUND', 'RATE_LIMITED'],
    },
    async (c) => ok(c, await regenerateRecoveryCodes(deps(c), c.get('auth'), c.req.valid('json').code), 200, 'New recovery codes made; the old ones no longer work.'),
  )
