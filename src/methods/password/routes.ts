import * as z from 'zod'
import { deps } from '../../http/deps'
import { routes } from '../../http/registry'
import { ok, tokenResponse } from '../../http/respond'
import { rateLimit } from '../../middleware/rate-limit'
import { requireTurnstile } from '../../middleware/turnstile'
import { ChangePasswordBody, ForgotPasswordBody, LoginBody, ResetPasswordBody } from '../../schemas/auth'
import * as R from '../../schemas/responses'
import { changePassword, forgotPassword, login, resetPassword } from './rules'

/** The password method's routes, mounted at /api/auth: sign-in, change, forgot and reset. */
export const passwordRoutes = routes()
  .openapi(
    {
      method: 'post', path: '/login', operationId: 'login', tag: 'Auth', security: 'public',
      summary: 'Password step: a login challenge (or tokens when LOGIN_OTP=off)',
      middleware: [rateLimit('RL_LOGIN', 'login'), requireTurnstile()],
      request: { body: LoginBody },
      responses: {
        200: {
          description: 'A second step is due (a challenge), or, with LOGIN_OTP=off, the token response.',
          data: z.union([R.Challenge, ...R.TokenData.options]),
          headers: ['Set-Cookie'],
        },
      },
      errors: ['INVALID_CREDENTIALS', 'EMAIL_NOT_VERIFIED', 'RATE_LIMITED'],
    },
    async (c) => {
      const { email, password, tokenTransport } = c.req.valid('json')
      const result = await login(deps(c), email, password)
      if (result.kind === 'tokens') return tokenResponse(c, result.tokens, tokenTransport)
      const { challengeId, expiresIn, methods } = result
      const message = methods.includes('email_otp') ? 'A login code was sent to your email.' : 'Enter the code from your authenticator app.'
      return ok(c, { otpRequired: true as const, challengeId, expiresIn, methods: R.ChallengeMethods.parse(methods) }, 200, message)
    },
  )

  .openapi(
    {
      method: 'post', path: '/password/forgot', operationId: 'forgotPassword', tag: 'Passwords', security: 'public',
      summary: 'Mail a reset code (same answer for every address)',
      middleware: [rateLimit('RL_FORGOT', 'forgot'), requireTurnstile()],
      request: { body: ForgotPasswordBody },
      responses: { 200: { description: 'The same answer whether or not an account uses the address.', data: R.Empty } },
      errors: ['RATE_LIMITED'],
    },
    (c) => {
      forgotPassword(deps(c), c.req.valid('json').email)
      return ok(c, {}, 200, 'If an account uses this email, a reset code has been sent to it.')
    },
  )

  .openapi(
    {
      method: 'post', path: '/password/reset', operationId: 'resetPassword', tag: 'Passwords', security: 'public',
      summary: 'Set a new password with the code; every session ends',
      middleware: [rateLimit('RL_VERIFY', 'reset')],
      request: { body: ResetPasswordBody },
      responses: { 200: { description: 'The password was reset.', data: R.Empty } },
      errors: ['OTP_INVALID', 'OTP_ATTEMPTS_EXCEEDED', 'RATE_LIMITED'],
    },
    async (c) => {
      const { email, otp, newPassword } = c.req.valid('json')
      await resetPassword(deps(c), email, otp, newPassword)
      return ok(c, {}, 200, 'Password reset. Sign in with the new password.')
    },
  )

  .openapi(
    {
      method: 'post', path: '/password/change', operationId: 'changePassword', tag: 'Passwords', security: 'bearer',
      summary: 'Change the password; every other session ends',
      request: { body: ChangePasswordBody },
      responses: { 200: { description: 'The password was changed.', data: R.Empty } },
      errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED'],
    },
    async (c) => {
      const { currentPassword, newPassword } = c.req.valid('json')
      await changePassword(deps(c), c.get('auth'), currentPassword, newPassword)
      return ok(c, {}, 200, 'Password changed. Other sessions were signed out.')
    },
  )
