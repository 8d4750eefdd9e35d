import type { Context } from 'hono'
import type { AppEnv } from '../types'
import { deleteCookie, setCookie } from 'hono/cookie'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { IssuedTokens } from '../services/sessions'
import { toPublicUser } from '../services/accounts'

/** The success envelope. */
export const ok = <T extends object, S extends ContentfulStatusCode = 200>(c: Context<AppEnv>, data: T, status?: S, message?: string) =>
  c.json({ success: true as const, ...(message ? { message } : {}), data }, (status ?? 200) as S)

export const REFRESH_COOKIE = 'refresh_token'

/** `__Host-refresh_token`: HttpOnly, Secure, SameSite=Strict, Path=/, no Domain. */
export function setRefreshCookie(c: Context<AppEnv>, token: string, maxAgeSeconds: number) {
  setCookie(c, REFRESH_COOKIE, token, {
    prefix: 'host',
    path: '/',
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    maxAge: Math.max(0, maxAgeSeconds),
  })
}

export function clearRefreshCookie(c: Context) {
  deleteCookie(c, REFRESH_COOKIE, { prefix: 'host', path: '/', httpOnly: true, secure: true, sameSite: 'Strict' })
}

export type TokenTransport = 'cookie' | 'body'

/** The token response: access token and user in the body, refresh token in the cookie or the body. */
export function tokenResponse(c: Context<AppEnv>, tokens: IssuedTokens, transport: TokenTransport, now = Date.now()) {
  const data = {
    accessToken: tokens.accessToken,
    tokenType: 'Bearer' as const,
    expiresIn: c.get('config').accessTokenTtl,
    user: toPublicUser(tokens.user),
    ...(transport === 'body' ? { refreshToken: tokens.refreshToken } : {}),
  }
  if (transport === 'cookie') setRefreshCookie(c, tokens.refreshToken, Math.floor((tokens.refreshExpiresAt - now) / 1000))
  return ok(c, data)
}
