import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import * as z from 'zod'
import { deps } from '../../http/deps'
import { routes } from '../../http/registry'
import { verifyRefreshToken } from '../../crypto/tokens'
import { ok, REFRESH_COOKIE, setRefreshCookie } from '../../http/respond'
import { rateLimit } from '../../middleware/rate-limit'
import * as R from '../../schemas/responses'
import type { AppEnv } from '../../types'
import { finishFlow, linkStart, listIdentities, startFlow, STATE_TTL_MS, unlinkIdentity } from './rules'

/** `__Host-oauth_state`: the browser's half of the state check. Lax, so the provider's redirect back carries it. */
const STATE_COOKIE = 'oauth_state'

const setStateCookie = (c: Context<AppEnv>, state: string) =>
  setCookie(c, STATE_COOKIE, state, { prefix: 'host', path: '/', httpOnly: true, secure: true, sameSite: 'Lax', maxAge: STATE_TTL_MS / 1000 })

const apiOrigin = (c: Context<AppEnv>) => new URL(c.req.url).origin

/** The account whose refresh cookie this browser holds, if any (a link flow starts only in its owner's browser). */
async function browserUser(c: Context<AppEnv>): Promise<string | undefined> {
  const token = getCookie(c, REFRESH_COOKIE, 'host')
  if (!token) return undefined
  return verifyRefreshToken(token, c.get('config')).then(
    (claims) => claims.sub,
    () => undefined,
  )
}

const ProviderParams = z.strictObject({ provider: z.string().max(64) })
const StartQuery = z.strictObject({
  returnTo: z.string().max(2048).optional().describe('Where the browser goes back to: a URL on an allowed origin (OAUTH_RETURN_ORIGINS).'),
  link: z.string().max(256).optional().describe('The one-time link ticket from POST /oauth/{provider}/link (its URL carries it).'),
})
// Not strict: providers add their own parameters (iss, scope, session_state, authuser, ...); the
// handler reads the whole URL for oauth4webapi's checks.
const CallbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(256).optional(),
  error: z.string().max(256).optional(),
})
const LinkBody = z.strictObject({ returnTo: z.string().max(2048) })
const IdentityParams = z.strictObject({ id: z.string().max(64) })

const Provider = z.object({ name: z.string(), displayName: z.string() })
const Identity = z.object({ id: z.string(), provider: z.string(), email: z.string().nullable(), createdAt: z.string() }).meta({ id: 'Identity' })

/** Adds parameters to `returnTo` (never a token: the app calls /api/auth/refresh with the cookie). */
function back(returnTo: string, params: Record<string, string>): string {
  const url = new URL(returnTo)
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value)
  return url.href
}

/** Social sign-in's routes, mounted at /api/auth: providers, start and callback, linking, identities. */
export const oauthRoutes = routes()
  .openapi(
    {
      method: 'get', path: '/oauth/providers', operationId: 'oauthProviders', tag: 'Social sign-in', security: 'public',
      summary: 'The configured sign-in providers',
      responses: { 200: { description: 'Each provider’s name (for the start URL) and display name.', data: z.object({ providers: z.array(Provider) }) } },
    },
    (c) => ok(c, { providers: c.get('config').oauth.providers.map(({ name, displayName }) => ({ name, displayName })) }),
  )

  .openapi(
    {
      method: 'get', path: '/oauth/:provider/start', operationId: 'oauthStart', tag: 'Social sign-in', security: 'public',
      summary: 'Send the browser to the provider (state, PKCE S256, nonce)',
      description: 'Sets `__Host-oauth_state` (HttpOnly, Secure, SameSite=Lax, Path=/, Max-Age 600) and answers 302 to the provider.',
      middleware: [rateLimit('RL_LOGIN', 'oauth-start')],
      request: { params: ProviderParams, query: StartQuery },
      responses: { 302: { description: 'To the provider’s authorization endpoint.', redirect: true, headers: ['Location', 'Set-Cookie'] } },
      errors: ['NOT_FOUND', 'CHALLENGE_EXPIRED', 'RATE_LIMITED'],
    },
    async (c) => {
      const { provider } = c.req.valid('param')
      const { returnTo, link } = c.req.valid('query')
      const browserUserId = link === undefined ? undefined : await browserUser(c)
      const { location, state } = await startFlow(deps(c), provider, { apiOrigin: apiOrigin(c), returnTo, link, browserUserId })
      setStateCookie(c, state)
      return c.redirect(location, 302)
    },
  )

  .openapi(
    {
      method: 'get', path: '/oauth/:provider/callback', operationId: 'oauthCallback', tag: 'Social sign-in', security: 'public',
      summary: 'The provider sends the browser back here',
      description:
        'State checked against the cookie and its stored record, code exchanged with the PKCE verifier, ID token checked; then 302 to `returnTo` with the refresh cookie, `?mfaChallenge=<challengeId>` when a second step is due, `?linked=<provider>` after a link, or `?error=CODE`.',
      middleware: [rateLimit('RL_LOGIN', 'oauth-callback')],
      request: { params: ProviderParams, query: CallbackQuery },
      responses: { 302: { description: 'Back to `returnTo`.', redirect: true, headers: ['Location', 'Set-Cookie'] } },
      errors: ['NOT_FOUND', 'CHALLENGE_EXPIRED', 'RATE_LIMITED'],
    },
    async (c) => {
      const { provider } = c.req.valid('param')
      const { state } = c.req.valid('query')
      const cookieState = getCookie(c, STATE_COOKIE, 'host')
      const { returnTo, outcome } = await finishFlow(deps(c), provider, { apiOrigin: apiOrigin(c), url: new URL(c.req.url), state, cookieState })
      deleteCookie(c, STATE_COOKIE, { prefix: 'host', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' })
      if (outcome.kind === 'failed') return c.redirect(back(returnTo, { error: outcome.error }), 302)
      if (outcome.kind === 'linked') return c.redirect(back(returnTo, { linked: provider }), 302)
      const { result } = outcome
      if (result.kind === 'challenge') return c.redirect(back(returnTo, { mfaChallenge: result.challengeId }), 302)
      setRefreshCookie(c, result.tokens.refreshToken, Math.floor((result.tokens.refreshExpiresAt - Date.now()) / 1000))
      return c.redirect(returnTo, 302)
    },
  )

  .openapi(
    {
      method: 'post', path: '/oauth/:provider/link', operationId: 'oauthLink', tag: 'Social sign-in', security: 'bearer',
      summary: 'Start adding this provider to the caller’s account',
      description:
        'Answers the start URL to open in the browser (valid once, for 10 minutes, and only in a browser holding this account’s refresh cookie); the callback then links instead of signing in.',
      request: { params: ProviderParams, body: LinkBody },
      responses: { 200: { description: 'The start URL of the link flow.', data: z.object({ url: z.string() }) } },
      errors: ['NOT_FOUND'],
    },
    async (c) => {
      const url = await linkStart(deps(c), c.get('auth').user, c.req.valid('param').provider, { apiOrigin: apiOrigin(c), returnTo: c.req.valid('json').returnTo })
      return ok(c, { url })
    },
  )

  .openapi(
    {
      method: 'get', path: '/identities', operationId: 'listIdentities', tag: 'Social sign-in', security: 'bearer',
      summary: 'The provider identities linked to the caller’s account',
      responses: { 200: { description: 'Oldest first.', data: z.object({ identities: z.array(Identity) }) } },
    },
    async (c) => ok(c, { identities: await listIdentities(deps(c), c.get('auth').userId) }),
  )

  .openapi(
    {
      method: 'delete', path: '/identities/:id', operationId: 'unlinkIdentity', tag: 'Social sign-in', security: 'bearer',
      summary: 'Unlink a provider identity',
      request: { params: IdentityParams },
      responses: { 200: { description: 'Unlinked; a security notice is mailed.', data: R.Empty } },
      errors: ['NOT_FOUND', 'LAST_SIGN_IN_METHOD'],
    },
    async (c) => {
      await unlinkIdentity(deps(c), c.get('auth').user, c.req.valid('param').id)
      return ok(c, {}, 200, 'Identity unlinked.')
    },
  )
