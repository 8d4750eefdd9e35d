import * as oauth from 'oauth4webapi'
import type { OAuthProviderConfig } from '../../config'

/**
 * The provider side of a sign-in, through oauth4webapi: discovery, the authorization URL with
 * PKCE (S256) and nonce, the code exchange, and the ID token's checks (signature through the
 * provider's JWKS, `iss` exactly the configured issuer, `aud` the client id, `nonce`, `exp`).
 * GitHub is OAuth 2.0 without ID tokens: its user and verified primary email come from its API.
 * Nothing here knows about HTTP routes or accounts; answers are never logged whole.
 */

/** What a provider told us about the person, once its answer checked out. */
export interface ProviderProfile {
  subject: string
  /** Normalised by the caller; null when the provider gave none. */
  email: string | null
  emailVerified: boolean
  name: string | null
}

/**
 * A provider that is down or answers garbage (`unavailable`: network failure, 5xx, a body that is
 * not JSON), or one that refused the exchange or whose answer failed a check (`refused`: an OAuth
 * error, a wrong PKCE verifier, an ID token with a bad signature, issuer, audience, nonce or expiry).
 */
export class ProviderError extends Error {
  constructor(
    readonly kind: 'unavailable' | 'refused',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'ProviderError'
  }
}

const TIMEOUT_MS = 10_000
const GITHUB = {
  issuer: 'https://github.com',
  authorization_endpoint: 'https://github.com/login/oauth/authorize',
  token_endpoint: 'https://github.com/login/oauth/access_token',
} as const satisfies oauth.AuthorizationServer
const GITHUB_API = 'https://api.github.com'
const USER_AGENT = 'edge-auth'

/**
 * Every provider request goes through here: a timeout, and the `unavailable` verdict for a network
 * failure, a 5xx or a body that is not JSON, so what reaches oauth4webapi is a provider's real answer.
 */
const providerFetch = async (url: string, init: RequestInit): Promise<Response> => {
  let response: Response
  try {
    response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (error) {
    throw new ProviderError('unavailable', `provider request failed: ${new URL(url).host}`, { cause: error })
  }
  if (response.status >= 500) throw new ProviderError('unavailable', `provider answered ${response.status}: ${new URL(url).host}`)
  const text = await response.text()
  try {
    JSON.parse(text)
  } catch {
    throw new ProviderError('unavailable', `provider answered ${response.status} with a body that is not JSON: ${new URL(url).host}`)
  }
  return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers })
}

/** oauth4webapi's options for one provider: our fetch, and plain http only for a loopback issuer outside production. */
function requestOptions(provider: OAuthProviderConfig) {
  return {
    [oauth.customFetch]: providerFetch,
    [oauth.allowInsecureRequests]: provider.issuer?.startsWith('http://') === true,
  }
}

/** Discovery documents and JWKS, per isolate: a provider's keys are not fetched on every sign-in. */
const DISCOVERY_TTL_MS = 10 * 60_000
const discovered = new Map<string, { as: oauth.AuthorizationServer; at: number }>()
const jwks = new Map<string, oauth.JWKSCacheInput>()

/** Forgets cached discovery documents and keys (tests start each provider double afresh). */
export function resetProviderCaches(): void {
  discovered.clear()
  jwks.clear()
}

/** The provider's authorization server metadata: GitHub's fixed endpoints, or OIDC discovery (`iss` must match exactly). */
async function server(provider: OAuthProviderConfig, now: number): Promise<oauth.AuthorizationServer> {
  if (provider.kind === 'github') return GITHUB
  const issuer = provider.issuer!
  const hit = discovered.get(issuer)
  if (hit && now - hit.at < DISCOVERY_TTL_MS) return hit.as
  const as = await guard(async () => {
    const url = new URL(issuer)
    return oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { ...requestOptions(provider), algorithm: 'oidc' }))
  })
  if (!as.authorization_endpoint || !as.token_endpoint || !as.jwks_uri) throw new ProviderError('unavailable', `discovery of ${issuer} lacks an endpoint`)
  discovered.set(issuer, { as, at: now })
  return as
}

/** Runs a provider step; an error that is not already a verdict is a refusal (the provider answered, and the answer failed a check). */
async function guard<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    if (error instanceof ProviderError) throw error
    for (let e: unknown = error; e instanceof Error; e = e.cause) if (e instanceof ProviderError) throw e
    const code = error instanceof oauth.OperationProcessingError ? error.code : error instanceof oauth.ResponseBodyError ? error.error : 'error'
    throw new ProviderError('refused', `provider answer refused (${code}): ${error instanceof Error ? error.message : 'unknown'}`, { cause: error })
  }
}

const clientOf = (provider: OAuthProviderConfig): oauth.Client => ({ client_id: provider.clientId })

/** What a flow keeps between start and callback. */
export interface FlowSecrets {
  state: string
  codeVerifier: string
  nonce: string
}

/** Fresh secrets for a flow: state, PKCE verifier and nonce, 32 random bytes each. */
export const newFlowSecrets = (): FlowSecrets => ({
  state: oauth.generateRandomState(),
  codeVerifier: oauth.generateRandomCodeVerifier(),
  nonce: oauth.generateRandomNonce(),
})

/** The URL the browser is sent to at the provider. */
export async function authorizationUrl(provider: OAuthProviderConfig, redirectUri: string, secrets: FlowSecrets, now = Date.now()): Promise<string> {
  const as = await server(provider, now)
  const url = new URL(as.authorization_endpoint!)
  url.searchParams.set('client_id', provider.clientId)
  url.searchParams.set('redirect_uri', redirectUri)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('state', secrets.state)
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(secrets.codeVerifier))
  url.searchParams.set('code_challenge_method', 'S256')
  if (provider.kind === 'github') {
    url.searchParams.set('scope', 'read:user user:email')
  } else {
    url.searchParams.set('scope', 'openid email profile')
    url.searchParams.set('nonce', secrets.nonce)
  }
  return url.href
}

/**
 * The callback's provider half: the authorization response checked (state, `iss` where the
 * provider sends it, `error`), the code exchanged with the PKCE verifier, and the person read
 * from the checked ID token (or, for GitHub, its API).
 */
export async function exchange(
  provider: OAuthProviderConfig,
  callbackUrl: URL,
  redirectUri: string,
  secrets: FlowSecrets,
  now = Date.now(),
): Promise<ProviderProfile> {
  const as = await server(provider, now)
  const client = clientOf(provider)
  const options = requestOptions(provider)
  return guard(async () => {
    const params = oauth.validateAuthResponse(as, client, callbackUrl, secrets.state)
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretPost(provider.clientSecret), params, redirectUri, secrets.codeVerifier, options)
    if (provider.kind === 'github') {
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, response)
      return githubProfile(tokens.access_token)
    }
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: secrets.nonce, requireIdToken: true })
    // The claims (iss, aud, exp, nonce) were checked above; the signature is checked against the JWKS here.
    let cache = jwks.get(provider.issuer!)
    if (!cache) jwks.set(provider.issuer!, (cache = {}))
    await oauth.validateApplicationLevelSignature(as, response, { ...options, [oauth.jwksCache]: cache })
    const claims = oauth.getValidatedIdTokenClaims(tokens)!
    let { email, email_verified: verified, name } = claims as { email?: unknown; email_verified?: unknown; name?: unknown }
    if (typeof email !== 'string' && as.userinfo_endpoint) {
      const info = await oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token, options))
      ;({ email, email_verified: verified, name } = info)
    }
    return {
      subject: claims.sub,
      email: typeof email === 'string' && email !== '' ? email : null,
      emailVerified: verified === true || verified === 'true',
      name: typeof name === 'string' && name.trim() !== '' ? name.trim() : null,
    }
  })
}

interface GitHubUser {
  id: number
  login: string
  name: string | null
}
interface GitHubEmail {
  email: string
  primary: boolean
  verified: boolean
}

async function githubJson(accessToken: string, path: string): Promise<unknown> {
  const response = await providerFetch(`${GITHUB_API}${path}`, {
    headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/vnd.github+json', 'User-Agent': USER_AGENT, 'X-GitHub-Api-Version': '2022-11-28' },
  })
  if (!response.ok) throw new ProviderError('refused', `GitHub ${path} answered ${response.status}`)
  return response.json()
}

/** GitHub's user and its primary email (verified or not, as GitHub says). */
async function githubProfile(accessToken: string): Promise<ProviderProfile> {
  const user = (await githubJson(accessToken, '/user')) as Partial<GitHubUser>
  if (typeof user.id !== 'number' || typeof user.login !== 'string') throw new ProviderError('unavailable', 'GitHub /user answered without an id')
  const emails = await githubJson(accessToken, '/user/emails')
  const primary = Array.isArray(emails) ? (emails as Partial<GitHubEmail>[]).find((entry) => entry.primary === true && typeof entry.email === 'string') : undefined
  return {
    subject: String(user.id),
    email: primary?.email ?? null,
    emailVerified: primary?.verified === true,
    name: typeof user.name === 'string' && user.name.trim() !== '' ? user.name.trim() : user.login,
  }
}
