import { deps } from '../../http/deps'
import { routes } from '../../http/registry'
import { ok, tokenResponse } from '../../http/respond'
import { rateLimit } from '../../middleware/rate-limit'
import { ResendOtpBody, VerifyOtpBody } from '../../schemas/auth'
import * as R from '../../schemas/responses'
import { completeLogin, resendLoginCode } from './rules'

/** The mailed-code step's routes, mounted at /api/auth: complete a challenge, or ask for a fresh code. */
export const emailOtpRoutes = routes()
  .openapi(
    {
      method: 'post', path: '/verify-otp', operationId: 'verifyOtp', tag: 'Auth', security: 'public',
      summary: 'Code step: tokens, and the email marked verified',
      middleware: [rateLimit('RL_VERIFY', 'verify-otp')],
      request: { body: VerifyOtpBody },
      responses: { 200: { description: 'Signed in: the token response.', data: R.TokenData, headers: ['Set-Cookie'] } },
      errors: ['OTP_INVALID', 'OTP_EXPIRED', 'OTP_ATTEMPTS_EXCEEDED', 'RATE_LIMITED'],
    },
    async (c) => {
      const { challengeId, otp, tokenTransport } = c.req.valid('json')
      return tokenResponse(c, await completeLogin(deps(c), challengeId, otp), tokenTransport)
    },
  )

  .openapi(
    {
      method: 'post', path: '/resend-otp', operationId: 'resendOtp', tag: 'Auth', security: 'public',
      summary: 'A fresh login code replaces the old one',
      middleware: [rateLimit('RL_RESEND', 'resend-otp')],
      request: { body: ResendOtpBody },
      responses: { 200: { description: 'A new code was sent.', data: R.ChallengeRenewed } },
      errors: ['OTP_EXPIRED', 'RATE_LIMITED'],
    },
    async (c) => {
      const { challengeId } = c.req.valid('json')
      return ok(c, await resendLoginCode(deps(c), challengeId), 200, 'A new code was sent.')
    },
  )
