import { exportJWK, generateKeyPair, SignJWT, type CryptoKey as JoseKey, type JWK } from 'jose'
import { vi } from 'vitest'
import { base64url } from '../../src/crypto/random'

/**
 * Doubles of the identity providers, answering the service's outbound `fetch` in the pool (the
 * Worker runs in the test's isolate, so `globalThis.fetch` is the outbound door). They document
 * the protocol the service speaks:
 *
 * OpenID Connect (authorization code flow with PKCE, RFC 7636, and a nonce):
 *  1. the service reads `<issuer>/.well-known/openid-configuration` (its `issuer` must equal the
 *     configured one exactly) and sends the browser to `authorization_endpoint` with
 *     `response_type=code`, `client_id`, `redirect_uri`, `scope` (`openid email ...`), `state`,
 *     `nonce`, `code_challenge` = BASE64URL(SHA-256(verifier)) and `code_challenge_method=S256`;
 *  2. the person signs in and the provider redirects to `redirect_uri?code=...&state=...`
 *     (`authorize()` below plays the person and the provider's login page);
 *  3. the service POSTs `grant_type=authorization_code`, the `code`, `redirect_uri`, its
 *     `code_verifier` and its client credentials to `token_endpoint`; the provider refuses a wrong
 *     verifier, a reused code or another client's code with `400 invalid_grant`;
 *  4. the answer carries an `id_token`: a JWS signed with a key of `jwks_uri`, claims `iss` (the
 *     issuer), `aud` (the client id), `sub`, `nonce` (the one from step 1), `iat`, `exp`, and
 *     here `email`, `email_verified` and `name`. `userinfo_endpoint` answers the same claims.
 *
 * GitHub (OAuth 2.0, no ID token): step 1 goes to github.com/login/oauth/authorize (no nonce),
 * step 3 to github.com/login/oauth/access_token (JSON with `Accept: application/json`), and the
 * person comes from api.github.com `/user` (`id`, `login`, `name`) and `/user/emails`
 * (`[{email, primary, verified}]`).
 */

/** The person at the provider. */
export interface ProviderUser {
  sub: string
  email?: string | null
  emailVerified?: boolean
  name?: string
}

interface Grant {
  clientId: string
  redirectUri: string
  challenge: string
  nonce: string | undefined
  user: ProviderUser
  used: boolean
}

const sha256url = async (text: string) => base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { 'Content-Type': 'application/json' } })

/** What the double should get wrong, to test the service's checks. */
export interface Faults {
  /** Claims written over the ID token's (wrong `iss`, `aud`, `nonce`, `exp`, ...). */
  claims?: Record<string, unknown>
  /** Sign with a key that is not in the JWKS, or send an unsigned `alg: none` token. */
  signature?: 'foreign-key' | 'none'
  /** Every endpoint answers 503 (or, with `garbage`, a 200 HTML page). */
  down?: boolean
  garbage?: boolean
  /** Only the token endpoint is down. */
  tokenDown?: boolean
  /** The discovery document names another issuer. */
  discoveryIssuer?: string
}

abstract class Double {
  readonly grants = new Map<string, Grant>()
  faults: Faults = {}
  /** Every request the service sent, for assertions (a secret must never reach a wrong place). */
  readonly requests: { url: string; body: string }[] = []
  abstract handle(request: Request): Promise<Response | undefined>

  /** Plays the person signing in at the provider: the browser's redirect back to the service. */
  authorize(location: string, user: ProviderUser): string {
    const url = new URL(location)
    const q = url.searchParams
    if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') || !q.get('state')) {
      throw new Error(`not an authorization code + PKCE request: ${location}`)
    }
    const code = base64url(crypto.getRandomValues(new Uint8Array(16)))
    this.grants.set(code, {
      clientId: q.get('client_id')!,
      redirectUri: q.get('redirect_uri')!,
      challenge: q.get('code_challenge')!,
      nonce: q.get('nonce') ?? undefined,
      user,
      used: false,
    })
    const back = new URL(q.get('redirect_uri')!)
    back.searchParams.set('code', code)
    back.searchParams.set('state', q.get('state')!)
    return back.href
  }

  /** Step 3: the code, once, for its client and redirect URI, with the verifier of its challenge. */
  protected async redeem(form: URLSearchParams, clientId: string, clientSecret: string): Promise<Grant | Response> {
    const grant = this.grants.get(form.get('code') ?? '')
    const invalid = (description: string) => json({ error: 'invalid_grant', error_description: description }, 400)
    if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) return json({ error: 'invalid_client' }, 401)
    if (!grant || grant.used || grant.clientId !== clientId) return invalid('unknown or used code')
    if (form.get('redirect_uri') !== grant.redirectUri) return invalid('redirect_uri mismatch')
    if ((await sha256url(form.get('code_verifier') ?? '')) !== grant.challenge) return invalid('PKCE verification failed')
    grant.used = true
    return grant
  }

  protected failure(): Response | undefined {
    if (this.faults.garbage) return new Response('<html>Bad gateway</html>', { status: 200, headers: { 'Content-Type': 'text/html' } })
    if (this.faults.down) return new Response('unavailable', { status: 503 })
    return undefined
  }
}

/** An OpenID Connect provider at `issuer`, with an RS256 key the test generated. */
export class OidcProviderDouble extends Double {
  private keys!: { privateKey: JoseKey; jwk: JWK; foreign: JoseKey }
  private readonly tokens = new Map<string, ProviderUser>()

  constructor(
    readonly issuer: string,
    readonly clientId = 'acme-client',
    readonly clientSecret = 'acme-secret',
  ) {
    super()
  }

  async init(): Promise<this> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
    const foreign = await generateKeyPair('RS256')
    this.keys = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }, foreign: foreign.privateKey }
    return this
  }

  async handle(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url)
    if (url.origin !== new URL(this.issuer).origin) return undefined
    const body = request.method === 'POST' ? new TextDecoder().decode(await request.arrayBuffer()) : ''
    this.requests.push({ url: request.url, body })
    const failed = this.failure()
    if (failed) return failed
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        return json({
          issuer: this.faults.discoveryIssuer ?? this.issuer,
          authorization_endpoint: `${this.issuer}/authorize`,
          token_endpoint: `${this.issuer}/token`,
          jwks_uri: `${this.issuer}/jwks`,
          userinfo_endpoint: `${this.issuer}/userinfo`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        })
      case '/jwks':
        return json({ keys: [this.keys.jwk] })
      case '/userinfo': {
        const user = this.tokens.get((request.headers.get('Authorization') ?? '').replace(/^Bearer /, ''))
        if (!user) return json({ error: 'invalid_token' }, 401)
        return json({ sub: user.sub, email: user.email ?? undefined, email_verified: user.emailVerified ?? false, name: user.name })
      }
      case '/token': {
        if (this.faults.tokenDown) return new Response('unavailable', { status: 503 })
        const grant = await this.redeem(new URLSearchParams(body), this.clientId, this.clientSecret)
        if (grant instanceof Response) return grant
        const accessToken = base64url(crypto.getRandomValues(new Uint8Array(16)))
        this.tokens.set(accessToken, grant.user)
        return json({ access_token: accessToken, token_type: 'Bearer', expires_in: 3600, id_token: await this.idToken(grant) })
      }
      default:
        return json({ error: 'not_found' }, 404)
    }
  }

  private async idToken(grant: Grant): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    const { user } = grant
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      aud: this.clientId,
      sub: user.sub,
      iat: now,
      exp: now + 300,
      ...(grant.nonce ? { nonce: grant.nonce } : {}),
      ...(user.email !== null && user.email !== undefined ? { email: user.email, email_verified: user.emailVerified ?? false } : {}),
      ...(user.name ? { name: user.name } : {}),
      ...this.faults.claims,
    }
    if (this.faults.signature === 'none') {
      const part = (value: unknown) => base64url(new TextEncoder().encode(JSON.stringify(value)))
      return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`
    }
    const key = this.faults.signature === 'foreign-key' ? this.keys.foreign : this.keys.privateKey
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' }).sign(key)
  }
}

/** GitHub's OAuth endpoints and the two API calls the service makes. */
export class GitHubDouble extends Double {
  private readonly tokens = new Map<string, ProviderUser>()
  /** `/user/emails` as GitHub would list it; by default the person's email, primary. */
  emails: ((user: ProviderUser) => { email: string; primary: boolean; verified: boolean }[]) | undefined

  constructor(
    readonly clientId = 'gh-client',
    readonly clientSecret = 'gh-secret',
  ) {
    super()
  }

  async handle(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url)
    if (url.host !== 'github.com' && url.host !== 'api.github.com') return undefined
    const body = request.method === 'POST' ? new TextDecoder().decode(await request.arrayBuffer()) : ''
    this.requests.push({ url: request.url, body })
    const failed = this.failure()
    if (failed) return failed
    if (url.href === 'https://github.com/login/oauth/access_token') {
      if (this.faults.tokenDown) return new Response('unavailable', { status: 503 })
      const grant = await this.redeem(new URLSearchParams(body), this.clientId, this.clientSecret)
      // GitHub answers a refused code with 200 and an error body.
      if (grant instanceof Response) return json(await grant.json(), 200)
      const accessToken = `gho_${base64url(crypto.getRandomValues(new Uint8Array(16)))}`
      this.tokens.set(accessToken, grant.user)
      return json({ access_token: accessToken, token_type: 'bearer', scope: 'read:user,user:email' })
    }
    const user = this.tokens.get((request.headers.get('Authorization') ?? '').replace(/^Bearer /, ''))
    if (!user) return json({ message: 'Bad credentials' }, 401)
    if (url.href === 'https://api.github.com/user') return json({ id: Number(user.sub), login: `octo${user.sub}`, name: user.name ?? null, email: null })
    if (url.href === 'https://api.github.com/user/emails') {
      const list = this.emails?.(user) ?? (user.email ? [{ email: user.email, primary: true, verified: user.emailVerified ?? false }] : [])
      return json(list)
    }
    return json({ message: 'Not Found' }, 404)
  }
}

/** Routes the service's outbound fetch to the doubles; anything else fails the test loudly. */
export function interceptProviders(...doubles: Double[]) {
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    for (const double of doubles) {
      const response = await double.handle(request)
      if (response) return response
    }
    throw new TypeError(`unexpected outbound fetch: ${request.method} ${request.url}`)
  })
}
