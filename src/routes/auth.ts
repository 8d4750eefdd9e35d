import { Hono } from 'hono'
import { getCookie } from 'hono/cookie'
import { ApiError } from '../errors'
import { deps } from '../http/deps'
import { clearRefreshCookie, ok, REFRESH_COOKIE, tokenResponse } from '../http/respond'
import { validate } from '../http/validate'
import { rateLimit } from '../middleware/rate-limit'
import { requireAuth } from '../middleware/require-auth'
import {
  ChangePasswordBody,
  ForgotPasswordBody,
  LoginBody,
  RefreshBody,
  RegisterBody,
  ResendVerifyEmailBody,
  ResendOtpBody,
  ResetPasswordBody,
  SessionParams,
  VerifyEmailBody,
  VerifyOtpBody,
} from '../schemas/auth'
import {
  changePassword,
  completeLogin,
  forgotPassword,
  login,
  register,
  resendLoginCode,
  resendVerifyEmail,
  resetPassword,
  toPublicUser,
  verifyEmail,
} from '../services/accounts'
import { listSessions, logoutAll, logoutByRefreshToken, revokeOwnSession, rotateRefreshToken } from '../services/sessions'
import type { AppEnv } from '../types'
import { readProfile } from './user'

/** Sign-in, tokens, sessions and passwords, mounted at /api/auth. */
export const authRoutes = new Hono<AppEnv>()
  .post('/register', rateLimit('RL_REGISTER', 'register'), validate('json', RegisterBody), async (c) => {
    const user = await register(deps(c), c.req.valid('json'))
    return ok(c, { user: toPublicUser(user) }, 201, 'Account created. Check your email for a verification code.')
  })

  .post('/verify-email', rateLimit('RL_VERIFY', 'verify-email'), validate('json', VerifyEmailBody), async (c) => {
    const { email, otp } = c.req.valid('json')
    const user = await verifyEmail(deps(c), email, otp)
    return ok(c, { user: toPublicUser(user) }, 200, 'Email verified.')
  })

  .post('/verify-email/resend', rateLimit('RL_RESEND', 'verify-email-resend'), validate('json', ResendVerifyEmailBody), (c) => {
    resendVerifyEmail(deps(c), c.req.valid('json').email)
    return ok(c, {}, 200, 'If an unverified account uses this email, a new code has been sent to it.')
  })

  .post('/login', rateLimit('RL_LOGIN', 'login'), validate('json', LoginBody), async (c) => {
    const { email, password, tokenTransport } = c.req.valid('json')
    const result = await login(deps(c), email, password)
    if (result.kind === 'tokens') return tokenResponse(c, result.tokens, tokenTransport)
    const { challengeId, expiresIn } = result
    return ok(c, { otpRequired: true as const, challengeId, expiresIn }, 200, 'A login code was sent to your email.')
  })

  .post('/verify-otp', rateLimit('RL_VERIFY', 'verify-otp'), validate('json', VerifyOtpBody), async (c) => {
    const { challengeId, otp, tokenTransport } = c.req.valid('json')
    return tokenResponse(c, await completeLogin(deps(c), challengeId, otp), tokenTransport)
  })

  .post('/resend-otp', rateLimit('RL_RESEND', 'resend-otp'), validate('json', ResendOtpBody), async (c) => {
    const { challengeId } = c.req.valid('json')
    return ok(c, await resendLoginCode(deps(c), challengeId), 200, 'A new code was sent.')
  })

  .post('/refresh', rateLimit('RL_REFRESH', 'refresh'), validate('json', RefreshBody), async (c) => {
    const bodyToken = c.req.valid('json').refreshToken
    const token = bodyToken ?? getCookie(c, REFRESH_COOKIE, 'host')
    try {
      if (!token) throw new ApiError('TOKEN_MISSING')
      return tokenResponse(c, await rotateRefreshToken(deps(c), token), bodyToken ? 'body' : 'cookie')
    } catch (error) {
      // A dead cookie is worth nothing to the browser: clear it with the refusal.
      if (!bodyToken && error instanceof ApiError && error.status === 401) clearRefreshCookie(c)
      throw error
    }
  })

  .post('/logout', validate('json', RefreshBody), async (c) => {
    const token = c.req.valid('json').refreshToken ?? getCookie(c, REFRESH_COOKIE, 'host')
    if (token) await logoutByRefreshToken(deps(c), token)
    clearRefreshCookie(c)
    return ok(c, {}, 200, 'Logged out.')
  })

  .post('/password/forgot', rateLimit('RL_FORGOT', 'forgot'), validate('json', ForgotPasswordBody), (c) => {
    forgotPassword(deps(c), c.req.valid('json').email)
    return ok(c, {}, 200, 'If an account uses this email, a reset code has been sent to it.')
  })

  .post('/password/reset', rateLimit('RL_VERIFY', 'reset'), validate('json', ResetPasswordBody), async (c) => {
    const { email, otp, newPassword } = c.req.valid('json')
    await resetPassword(deps(c), email, otp, newPassword)
    return ok(c, {}, 200, 'Password reset. Sign in with the new password.')
  })

  .get('/profile', ...readProfile)

  .post('/password/change', requireAuth(), validate('json', ChangePasswordBody), async (c) => {
    const { currentPassword, newPassword } = c.req.valid('json')
    await changePassword(deps(c), c.get('auth'), currentPassword, newPassword)
    return ok(c, {}, 200, 'Password changed. Other sessions were signed out.')
  })

  .post('/logout-all', requireAuth(), async (c) => {
    const revoked = await logoutAll(deps(c), c.get('auth').userId, c.get('auth').sessionId)
    clearRefreshCookie(c)
    return ok(c, { revoked }, 200, 'Every session was signed out.')
  })

  .get('/sessions', requireAuth(), async (c) => {
    const { userId, sessionId } = c.get('auth')
    return ok(c, { sessions: await listSessions(deps(c).readDb, userId, sessionId) })
  })

  .delete('/sessions/:id', requireAuth(), validate('param', SessionParams), async (c) => {
    await revokeOwnSession(deps(c), c.get('auth').userId, c.req.valid('param').id)
    return ok(c, {}, 200, 'Session revoked.')
  })
