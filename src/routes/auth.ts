import { Hono } from 'hono'
import { getCookie } from 'hono/cookie'
import { ApiError } from '../errors'
import { deps } from '../http/deps'
import { clearRefreshCookie, ok, REFRESH_COOKIE, tokenResponse } from '../http/respond'
import { validate } from '../http/validate'
import { requireAuth } from '../middleware/require-auth'
import { completeLogin, login, register, resendLoginCode, toPublicUser, verifyEmail } from '../services/accounts'
import { logoutByRefreshToken, rotateRefreshToken } from '../services/sessions'
import { LoginBody, RefreshBody, RegisterBody, ResendOtpBody, VerifyEmailBody, VerifyOtpBody } from '../schemas/auth'

/** The presented refresh token: the body's for native clients, else the cookie. */
function presentedRefreshToken(bodyToken: string | undefined, cookieToken: string | undefined): string {
  const token = bodyToken ?? cookieToken
  if (!token) throw new ApiError('TOKEN_MISSING')
  return token
}

/** Public sign-in routes, mounted at /api/auth. */
export const authRoutes = new Hono<import('../types').AppEnv>()
  .post('/register', validate('json', RegisterBody), async (c) => {
    const user = await register(deps(c), c.req.valid('json'))
    return ok(c, { user: toPublicUser(user) }, 201, 'Account created. Check your email for a verification code.')
  })

  .post('/verify-email', validate('json', VerifyEmailBody), async (c) => {
    const { email, otp } = c.req.valid('json')
    const user = await verifyEmail(deps(c), email, otp)
    return ok(c, { user: toPublicUser(user) }, 200, 'Email verified.')
  })

  .post('/login', validate('json', LoginBody), async (c) => {
    const { email, password, tokenTransport } = c.req.valid('json')
    const result = await login(deps(c), email, password)
    if (result.kind === 'tokens') return tokenResponse(c, result.tokens, tokenTransport)
    const { challengeId, expiresIn } = result
    return ok(c, { otpRequired: true as const, challengeId, expiresIn }, 200, 'A login code was sent to your email.')
  })

  .post('/verify-otp', validate('json', VerifyOtpBody), async (c) => {
    const { challengeId, otp, tokenTransport } = c.req.valid('json')
    return tokenResponse(c, await completeLogin(deps(c), challengeId, otp), tokenTransport)
  })

  .post('/resend-otp', validate('json', ResendOtpBody), async (c) => {
    const { challengeId } = c.req.valid('json')
    return ok(c, await resendLoginCode(deps(c), challengeId), 200, 'A new code was sent.')
  })

  .post('/refresh', validate('json', RefreshBody), async (c) => {
    const bodyToken = c.req.valid('json').refreshToken
    const token = presentedRefreshToken(bodyToken, getCookie(c, REFRESH_COOKIE, 'host'))
    const { log } = c.var
    try {
      const tokens = await rotateRefreshToken(c.var.db, c.var.config, token, (reuse) =>
        log.warn('refresh_token.reuse', { userId: reuse.userId, sessionId: reuse.sessionId }),
      )
      return tokenResponse(c, tokens, bodyToken ? 'body' : 'cookie')
    } catch (error) {
      // A dead cookie is worth nothing to the browser: clear it with the refusal.
      if (!bodyToken && error instanceof ApiError && error.status === 401) clearRefreshCookie(c)
      throw error
    }
  })

  .post('/logout', validate('json', RefreshBody), async (c) => {
    const bodyToken = c.req.valid('json').refreshToken
    const token = bodyToken ?? getCookie(c, REFRESH_COOKIE, 'host')
    if (token) await logoutByRefreshToken(c.var.db, c.var.config, token)
    clearRefreshCookie(c)
    return ok(c, {}, 200, 'Logged out.')
  })

  .get('/profile', requireAuth(), (c) => ok(c, { user: toPublicUser(c.var.auth.user) }))
