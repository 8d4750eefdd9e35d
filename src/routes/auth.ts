import { getCookie } from 'hono/cookie'
import { ApiError } from '../errors'
import { deps } from '../http/deps'
import { clearRefreshCookie, ok, REFRESH_COOKIE, tokenResponse } from '../http/respond'
import { routes } from '../http/registry'
import { rateLimit } from '../middleware/rate-limit'
import { requireTurnstile } from '../middleware/turnstile'
import {
  RefreshBody,
  RegisterBody,
  ResendVerifyEmailBody,
  SessionParams,
  VerifyEmailBody,
} from '../schemas/auth'
import * as R from '../schemas/responses'
import { register, resendVerifyEmail, toPublicUser, verifyEmail } from '../services/accounts'
import { listSessions, logoutAll, logoutByRefreshToken, revokeOwnSession, rotateRefreshToken } from '../services/sessions'
import { profileResponse, readProfile } from './user'

/** Accounts, tokens and sessions, mounted at /api/auth (the sign-in methods mount their own routes there too). */
export const authRoutes = routes()
  .openapi(
    {
      method: 'post', path: '/register', operationId: 'register', tag: 'Auth', security: 'public',
      summary: 'Create an account; a verify_email code is mailed',
      middleware: [rateLimit('RL_REGISTER', 'register'), requireTurnstile()],
      request: { body: RegisterBody },
      responses: { 201: { description: 'The account was created.', data: R.UserData } },
      errors: ['EMAIL_TAKEN', 'RATE_LIMITED'],
    },
    async (c) => {
      const user = await register(deps(c), c.req.valid('json'))
      return ok(c, { user: toPublicUser(user) }, 201, 'Account created. Check your email for a verification code.')
    },
  )

  .openapi(
    {
      method: 'post', path: '/verify-email', operationId: 'verifyEmail', tag: 'Auth', security: 'public',
      summary: 'Confirm the email with its code',
      middleware: [rateLimit('RL_VERIFY', 'verify-email')],
      request: { body: VerifyEmailBody },
      responses: { 200: { description: 'The email is verified.', data: R.UserData } },
      errors: ['OTP_INVALID', 'OTP_ATTEMPTS_EXCEEDED', 'RATE_LIMITED'],
    },
    async (c) => {
      const { email, otp } = c.req.valid('json')
      const user = await verifyEmail(deps(c), email, otp)
      return ok(c, { user: toPublicUser(user) }, 200, 'Email verified.')
    },
  )

  .openapi(
    {
      method: 'post', path: '/verify-email/resend', operationId: 'resendVerifyEmail', tag: 'Auth', security: 'public',
      summary: 'Mail a fresh verify_email code (same answer for every address)',
      middleware: [rateLimit('RL_RESEND', 'verify-email-resend')],
      request: { body: ResendVerifyEmailBody },
      responses: { 200: { description: 'Accepted; a code is sent if an unverified account uses the address.', data: R.Empty } },
      errors: ['RATE_LIMITED'],
    },
    (c) => {
      resendVerifyEmail(deps(c), c.req.valid('json').email)
      return ok(c, {}, 200, 'If an unverified account uses this email, a new code has been sent to it.')
    },
  )

  .openapi(
    {
      method: 'post', path: '/refresh', operationId: 'refresh', tag: 'Auth', security: 'refresh',
      summary: 'Rotate the refresh token (cookie or body) for a new pair',
      description: 'A refused cookie is cleared with the refusal (`Set-Cookie` on the 401).',
      middleware: [rateLimit('RL_REFRESH', 'refresh')],
      request: { body: RefreshBody, bodyRequired: false },
      responses: { 200: { description: 'The token response with a rotated refresh token.', data: R.TokenData, headers: ['Set-Cookie'] } },
      errors: ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'TOKEN_REUSED', 'RATE_LIMITED'],
    },
    async (c) => {
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
    },
  )

  .openapi(
    {
      method: 'post', path: '/logout', operationId: 'logout', tag: 'Auth', security: 'refresh',
      summary: 'End this session and clear the cookie (idempotent)',
      request: { body: RefreshBody, bodyRequired: false },
      responses: {
        200: {
          description: 'Signed out; the cookie is cleared. `X-D1-Bookmark` when a session was ended: sent back, it shows this client its logout through any replica.',
          data: R.Empty,
          headers: ['Set-Cookie', 'X-D1-Bookmark'],
        },
      },
    },
    async (c) => {
      const token = c.req.valid('json').refreshToken ?? getCookie(c, REFRESH_COOKIE, 'host')
      // The caller proved it holds the session's token: its own write, so its bookmark may go back.
      if (token && (await logoutByRefreshToken(deps(c), token))) c.set('ownWrite', true)
      clearRefreshCookie(c)
      return ok(c, {}, 200, 'Logged out.')
    },
  )

  .openapi({ ...profileResponse, method: 'get', path: '/profile', operationId: 'getAuthProfile', summary: 'The signed-in user (same as GET /api/user/profile)' }, readProfile)

  .openapi(
    {
      method: 'post', path: '/logout-all', operationId: 'logoutAll', tag: 'Sessions', security: 'bearer',
      summary: 'End every session of the user',
      responses: { 200: { description: 'How many sessions ended; the cookie is cleared.', data: R.Revoked, headers: ['Set-Cookie'] } },
    },
    async (c) => {
      const revoked = await logoutAll(deps(c), c.get('auth').userId, c.get('auth').sessionId)
      clearRefreshCookie(c)
      return ok(c, { revoked }, 200, 'Every session was signed out.')
    },
  )

  .openapi(
    {
      method: 'get', path: '/sessions', operationId: 'listSessions', tag: 'Sessions', security: 'bearer',
      summary: 'The live sessions, newest first',
      responses: { 200: { description: 'The live sessions.', data: R.SessionList } },
    },
    async (c) => {
      const { userId, sessionId } = c.get('auth')
      return ok(c, { sessions: await listSessions(deps(c).readDb, userId, sessionId) })
    },
  )

  .openapi(
    {
      method: 'delete', path: '/sessions/:id', operationId: 'revokeSession', tag: 'Sessions', security: 'bearer',
      summary: 'End one of your sessions',
      request: { params: SessionParams },
      responses: { 200: { description: 'The session was revoked.', data: R.Empty } },
      errors: ['NOT_FOUND'],
    },
    async (c) => {
      await revokeOwnSession(deps(c), c.get('auth').userId, c.req.valid('param').id)
      return ok(c, {}, 200, 'Session revoked.')
    },
  )
