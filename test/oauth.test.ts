import { env } from 'cloudflare:workers'
import { decodeJwt } from 'jose'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { resetProviderCaches } from '../src/methods/oauth/providers'
import {
  body,
  call,
  expectError,
  mailedTo,
  PASSWORD,
  refreshCookie,
  register,
  signIn,
  uniqueEmail,
  type CallInit,
} from './helpers'
import { GitHubDouble, interceptProviders, OidcProviderDouble, type ProviderUser } from './helpers/oidc-provider'

const ISSUER = 'https://idp.test'
const RETURN_TO = 'https://app.test/signed-in'
const SETTINGS = {
  OAUTH_PROVIDERS: 'acme,github',
  OAUTH_ACME_CLIENT_ID: 'acme-client',
  OAUTH_ACME_CLIENT_SECRET: 'acme-secret',
  OAUTH_ACME_ISSUER: ISSUER,
  OAUTH_GITHUB_CLIENT_ID: 'gh-client',
  OAUTH_GITHUB_CLIENT_SECRET: 'gh-secret',
}
/** The provider settings pinned for this file, with any other override. */
const oauthEnv = (extra: Record<string, string> = {}) => ({ ...SETTINGS, ...extra }) as unknown as CallInit['env']
const ENV = oauthEnv()

let acme: OidcProviderDouble
let github: GitHubDouble
beforeEach(async () => {
  resetProviderCaches()
  acme = await new OidcProviderDouble(ISSUER).init()
  github = new GitHubDouble()
  interceptProviders(acme, github)
})
afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

let subjects = 0
const person = (overrides: Partial<ProviderUser> = {}): ProviderUser => ({
  sub: `${Date.now()}${subjects++}`,
  email: uniqueEmail('social'),
  emailVerified: true,
  name: 'Social Person',
  ...overrides,
})

/** GET start: the provider's URL and the state cookie the browser now keeps. */
async function start(provider = 'acme', returnTo = RETURN_TO, init: CallInit = {}) {
  const response = await call(`/api/auth/oauth/${provider}/start?returnTo=${encodeURIComponent(returnTo)}`, { env: ENV, ...init })
  expect(response.status, await response.clone().text()).toBe(302)
  const setCookie = response.headers.getSetCookie().find((line) => line.startsWith('__Host-oauth_state='))!
  return { location: response.headers.get('Location')!, state: setCookie.split(';')[0]!.split('=')[1]!, setCookie }
}

/** The browser coming back to the callback, with (or without) its state cookie. */
const callback = (url: string, state: string | undefined, init: CallInit = {}) =>
  call(url, { env: ENV, ...init, headers: state ? { Cookie: `__Host-oauth_state=${state}` } : {} })

/** A whole browser flow against a double: start, the person signs in, the callback. */
async function flow(user: ProviderUser, double: OidcProviderDouble | GitHubDouble = acme, provider = 'acme') {
  const started = await start(provider)
  const back = double.authorize(started.location, user)
  const response = await callback(back, started.state)
  expect(response.status).toBe(302)
  return { response, location: new URL(response.headers.get('Location')!), back, started }
}

/** The session a sign-in's refresh cookie opens. */
async function refreshWith(response: Response) {
  const cookie = refreshCookie(response)
  expect(cookie).toBeTruthy()
  const refreshed = await call('/api/auth/refresh', { method: 'POST', cookie, env: ENV })
  expect(refreshed.status).toBe(200)
  return (await body(refreshed)).data as { accessToken: string; user: { id: string; email: string; emailVerified: boolean; name: string } }
}

const countUsers = async (email: string) => (await env.DB.prepare('SELECT COUNT(*) AS n FROM users WHERE email = ?').bind(email).first<{ n: number }>())!.n
const countIdentities = async (subject: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM oauth_identities WHERE subject = ?').bind(subject).first<{ n: number }>())!.n

describe('GET /api/auth/oauth/providers', () => {
  it('lists the configured providers with their display names', async () => {
    const response = await call('/api/auth/oauth/providers', { env: ENV })
    expect((await body(response)).data.providers).toEqual([
      { name: 'acme', displayName: 'Acme' },
      { name: 'github', displayName: 'GitHub' },
    ])
  })

  it('lists none when no provider is configured', async () => {
    expect((await body(await call('/api/auth/oauth/providers'))).data.providers).toEqual([])
  })
})

describe('GET /api/auth/oauth/:provider/start', () => {
  it('redirects to the authorization endpoint with code, state, PKCE S256, nonce and openid email scope', async () => {
    const { location, state, setCookie } = await start()
    const url = new URL(location)
    expect(url.origin + url.pathname).toBe(`${ISSUER}/authorize`)
    const q = url.searchParams
    expect(q.get('response_type')).toBe('code')
    expect(q.get('client_id')).toBe('acme-client')
    expect(q.get('redirect_uri')).toBe('https://auth.test/api/auth/oauth/acme/callback')
    expect(q.get('state')).toBe(state)
    expect(q.get('code_challenge_method')).toBe('S256')
    expect(q.get('code_challenge')).toMatch(/^[\w-]{43}$/)
    expect(q.get('nonce')).toMatch(/^[\w-]{43}$/)
    expect(q.get('scope')!.split(' ')).toEqual(expect.arrayContaining(['openid', 'email']))
    // 32 random bytes, base64url.
    expect(state).toMatch(/^[\w-]{43}$/)
    expect(location).not.toContain('acme-secret')
    const attributes = setCookie.split(';').map((part) => part.trim().toLowerCase())
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'secure', 'samesite=lax', 'path=/', 'max-age=600']))
    expect(attributes.some((part) => part.startsWith('domain'))).toBe(false)
  })

  it('sends GitHub no nonce and asks for the user and its emails', async () => {
    const q = new URL((await start('github')).location).searchParams
    expect(q.get('scope')).toBe('read:user user:email')
    expect(q.get('nonce')).toBeNull()
    expect(q.get('code_challenge_method')).toBe('S256')
  })

  it('answers 404 for a provider that is not configured', async () => {
    await expectError(await call(`/api/auth/oauth/google/start?returnTo=${encodeURIComponent(RETURN_TO)}`, { env: ENV }), 404, 'NOT_FOUND')
  })

  it.each([['https://evil.test/steal'], ['https://app.test.evil.test/'], ['javascript:alert(1)'], ['/relative'], ['https://user:pw@app.test/']])(
    'refuses returnTo %s with 400 and writes no state',
    async (returnTo) => {
      const before = (await env.DB.prepare('SELECT COUNT(*) AS n FROM oauth_states').first<{ n: number }>())!.n
      const json = await expectError(await call(`/api/auth/oauth/acme/start?returnTo=${encodeURIComponent(returnTo)}`, { env: ENV }), 400, 'VALIDATION_ERROR')
      expect(json.details[0].path).toBe('returnTo')
      expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM oauth_states').first<{ n: number }>())!.n).toBe(before)
    },
  )

  it('accepts the API’s own origin, and OAUTH_RETURN_ORIGINS replaces the default list', async () => {
    await start('acme', 'https://auth.test/')
    const only = oauthEnv({ OAUTH_RETURN_ORIGINS: 'https://other.test' })
    await expectError(await call(`/api/auth/oauth/acme/start?returnTo=${encodeURIComponent(RETURN_TO)}`, { env: only }), 400, 'VALIDATION_ERROR')
    expect((await call(`/api/auth/oauth/acme/start?returnTo=${encodeURIComponent('https://other.test/x')}`, { env: only })).status).toBe(302)
  })

  it('answers 503 when the provider’s discovery is down, and stores no state', async () => {
    acme.faults.down = true
    const before = (await env.DB.prepare('SELECT COUNT(*) AS n FROM oauth_states').first<{ n: number }>())!.n
    await expectError(await call(`/api/auth/oauth/acme/start?returnTo=${encodeURIComponent(RETURN_TO)}`, { env: ENV }), 503, 'SERVICE_UNAVAILABLE')
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM oauth_states').first<{ n: number }>())!.n).toBe(before)
  })

  it('refuses a discovery document naming another issuer', async () => {
    acme.faults.discoveryIssuer = 'https://evil.test'
    await expectError(await call(`/api/auth/oauth/acme/start?returnTo=${encodeURIComponent(RETURN_TO)}`, { env: ENV }), 503, 'SERVICE_UNAVAILABLE')
  })
})

describe('GET /api/auth/oauth/:provider/callback: sign-in rules', () => {
  it('creates a verified account without a password, signs it in with amr oauth, and puts no token in the URL', async () => {
    const user = person({ name: 'Ada Lovelace' })
    const { response, location } = await flow(user)
    expect(location.href).toBe(RETURN_TO)
    expect(response.headers.get('Location')).not.toMatch(/token|eyJ/i)
    const clearing = response.headers.getSetCookie().find((line) => line.startsWith('__Host-oauth_state='))!
    expect(clearing).toMatch(/Max-Age=0/i)
    const session = await refreshWith(response)
    expect(session.user).toMatchObject({ email: user.email, emailVerified: true, name: 'Ada Lovelace' })
    expect(decodeJwt(session.accessToken)).toMatchObject({ amr: ['oauth'], aal: 'aal1' })
    const row = await env.DB.prepare('SELECT password_hash FROM users WHERE id = ?').bind(session.user.id).first<{ password_hash: string | null }>()
    expect(row!.password_hash).toBeNull()
    // The PKCE verifier sent matches the challenge of the start (the double refused it otherwise).
    expect(acme.requests.find((r) => r.url.endsWith('/token'))!.body).toMatch(/code_verifier=[\w-]{43}/)
  })

  it('signs the linked account in again by (provider, subject), whatever email the provider now asserts', async () => {
    const user = person()
    const first = await refreshWith((await flow(user)).response)
    const again = await refreshWith((await flow({ ...user, email: uniqueEmail('changed') })).response)
    expect(again.user.id).toBe(first.user.id)
    expect(await countIdentities(user.sub)).toBe(1)
  })

  it('creates an unverified account when the provider does not assert the email verified', async () => {
    const user = person({ emailVerified: false })
    const session = await refreshWith((await flow(user)).response)
    expect(session.user.emailVerified).toBe(false)
  })

  it('links a verified account when the provider asserts the email verified, and mails a notice', async () => {
    const account = await signIn()
    const user = person({ email: account.email })
    const session = await refreshWith((await flow(user)).response)
    expect(session.user.id).toBe(account.userId)
    expect(await countIdentities(user.sub)).toBe(1)
    expect(mailedTo(account.email).length).toBeGreaterThan(0)
    const identities = await body(await call('/api/auth/identities', { token: account.accessToken, env: ENV }))
    expect(identities.data.identities).toEqual([{ id: expect.any(String), provider: 'acme', email: account.email, createdAt: expect.any(String) }])
  })

  it('answers ACCOUNT_EXISTS and links nothing when the account’s email is not verified', async () => {
    const { email } = await register()
    const user = person({ email })
    const { location, response } = await flow(user)
    expect(location.searchParams.get('error')).toBe('ACCOUNT_EXISTS')
    expect(refreshCookie(response)).toBeUndefined()
    expect(await countIdentities(user.sub)).toBe(0)
    expect(await countUsers(email)).toBe(1)
  })

  it('answers ACCOUNT_EXISTS and links nothing when the provider does not assert the email verified', async () => {
    const account = await signIn()
    const user = person({ email: account.email, emailVerified: false })
    expect((await flow(user)).location.searchParams.get('error')).toBe('ACCOUNT_EXISTS')
    expect(await countIdentities(user.sub)).toBe(0)
  })

  it('answers VALIDATION_ERROR and writes nothing when the provider gives no email', async () => {
    const user = person({ email: null })
    expect((await flow(user)).location.searchParams.get('error')).toBe('VALIDATION_ERROR')
    expect(await countIdentities(user.sub)).toBe(0)
  })

  it('answers ACCOUNT_BANNED for a banned account, with no cookie', async () => {
    const user = person()
    const { user: created } = await refreshWith((await flow(user)).response)
    await env.DB.prepare('UPDATE users SET banned_at = ?, banned_reason = ? WHERE id = ?').bind(Date.now(), 'spam', created.id).run()
    const { location, response } = await flow(user)
    expect(location.searchParams.get('error')).toBe('ACCOUNT_BANNED')
    expect(refreshCookie(response)).toBeUndefined()
  })

  it('lets a deleted account’s identity sign up afresh', async () => {
    const user = person()
    const first = await refreshWith((await flow(user)).response)
    await env.DB.prepare('UPDATE users SET deleted_at = ? WHERE id = ?').bind(Date.now(), first.user.id).run()
    const again = await refreshWith((await flow(user)).response)
    expect(again.user.id).not.toBe(first.user.id)
    expect(await countIdentities(user.sub)).toBe(1)
  })

  it('signs in with GitHub through its API, with the verified primary email', async () => {
    const user = person({ sub: String(4242 + subjects++), name: 'Octo Cat' })
    const session = await refreshWith((await flow(user, github, 'github')).response)
    expect(session.user).toMatchObject({ email: user.email, emailVerified: true, name: 'Octo Cat' })
    const token = github.requests.find((r) => r.url === 'https://github.com/login/oauth/access_token')!
    expect(token.body).toMatch(/code_verifier=/)
  })

  it('does not link GitHub to an account when the primary email is unverified', async () => {
    const account = await signIn()
    const user = person({ sub: String(9000 + subjects++), email: account.email, emailVerified: false })
    expect((await flow(user, github, 'github')).location.searchParams.get('error')).toBe('ACCOUNT_EXISTS')
  })

  it('reads GitHub’s primary email, not another one', async () => {
    const user = person({ sub: String(7000 + subjects++) })
    const other = uniqueEmail('secondary')
    github.emails = (u) => [
      { email: other, primary: false, verified: true },
      { email: u.email!, primary: true, verified: true },
    ]
    expect((await refreshWith((await flow(user, github, 'github')).response)).user.email).toBe(user.email)
  })
})

describe('GET /api/auth/oauth/:provider/callback: the state', () => {
  it('refuses a replayed state with 401 CHALLENGE_EXPIRED in the envelope', async () => {
    const user = person()
    const { back, started } = await flow(user)
    await expectError(await callback(back, started.state), 401, 'CHALLENGE_EXPIRED')
  })

  it('lets one of ten parallel callbacks with the same state through', async () => {
    const started = await start()
    const back = acme.authorize(started.location, person())
    const responses = await Promise.all(Array.from({ length: 10 }, () => callback(back, started.state)))
    expect(responses.map((r) => r.status).sort()).toEqual([302, ...Array<number>(9).fill(401)])
  })

  it('refuses a callback from another browser (no cookie, or another cookie)', async () => {
    const started = await start()
    const back = acme.authorize(started.location, person())
    await expectError(await callback(back, undefined), 401, 'CHALLENGE_EXPIRED')
    const mine = await start()
    await expectError(await callback(back, mine.state), 401, 'CHALLENGE_EXPIRED')
    // The real browser still completes: the failed tries spent nothing.
    expect((await callback(back, started.state)).status).toBe(302)
  })

  it('refuses an unknown state and a callback without one', async () => {
    await expectError(await callback('/api/auth/oauth/acme/callback?code=x&state=forged', 'forged'), 401, 'CHALLENGE_EXPIRED')
    await expectError(await callback('/api/auth/oauth/acme/callback?code=x', undefined), 401, 'CHALLENGE_EXPIRED')
  })

  it('refuses a state older than 10 minutes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const started = await start()
    const back = acme.authorize(started.location, person())
    vi.setSystemTime(Date.now() + 600_001)
    await expectError(await callback(back, started.state), 401, 'CHALLENGE_EXPIRED')
  })

  it('refuses a state at another provider’s callback', async () => {
    const started = await start('acme')
    const back = acme.authorize(started.location, person())
    const elsewhere = back.replace('/oauth/acme/', '/oauth/github/')
    await expectError(await callback(elsewhere, started.state), 401, 'CHALLENGE_EXPIRED')
  })

  it('answers 404 for a callback of a provider that is not configured', async () => {
    await expectError(await callback('/api/auth/oauth/nope/callback?code=x&state=y', 'y'), 404, 'NOT_FOUND')
  })
})

describe('GET /api/auth/oauth/:provider/callback: the provider’s answer', () => {
  it('fails with TOKEN_INVALID when the PKCE verifier is not the one of the challenge (the provider refuses it)', async () => {
    const user = person()
    const started = await start()
    const back = acme.authorize(started.location, user)
    await env.DB.prepare("UPDATE oauth_states SET code_verifier = 'wrong-verifier-wrong-verifier-wrong-verifier-x' WHERE consumed_at IS NULL AND return_to = ?")
      .bind(RETURN_TO)
      .run()
    const response = await callback(back, started.state)
    expect(new URL(response.headers.get('Location')!).searchParams.get('error')).toBe('TOKEN_INVALID')
    expect(await countUsers(user.email!)).toBe(0)
  })

  it.each([
    ['a wrong iss', { claims: { iss: 'https://evil.test' } }],
    ['a wrong aud', { claims: { aud: 'someone-else' } }],
    ['a wrong nonce', { claims: { nonce: 'not-the-nonce' } }],
    ['no nonce', { claims: { nonce: undefined } }],
    ['an expired exp', { claims: { exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 7200 } }],
    ['a signature of a key not in the JWKS', { signature: 'foreign-key' as const }],
    ['alg none', { signature: 'none' as const }],
  ])('refuses an ID token with %s and writes nothing', async (_label, faults) => {
    acme.faults = faults
    const user = person()
    const { location, response } = await flow(user)
    expect(location.origin + location.pathname).toBe(RETURN_TO)
    expect(location.searchParams.get('error')).toBe('TOKEN_INVALID')
    expect(refreshCookie(response)).toBeUndefined()
    expect(await countUsers(user.email!)).toBe(0)
    expect(await countIdentities(user.sub)).toBe(0)
  })

  it.each([
    ['down (503)', { tokenDown: true }],
    ['answering garbage', { garbage: true }],
  ])('sends SERVICE_UNAVAILABLE when the token endpoint is %s, and writes nothing', async (_label, faults) => {
    const user = person()
    const started = await start()
    const back = acme.authorize(started.location, user)
    acme.faults = faults
    const response = await callback(back, started.state)
    expect(response.status).toBe(302)
    expect(new URL(response.headers.get('Location')!).searchParams.get('error')).toBe('SERVICE_UNAVAILABLE')
    expect(await countUsers(user.email!)).toBe(0)
  })

  it('sends SERVICE_UNAVAILABLE when GitHub’s API is down', async () => {
    const user = person({ sub: String(11000 + subjects++) })
    const started = await start('github')
    const back = github.authorize(started.location, user)
    github.faults.down = true
    const response = await callback(back, started.state)
    expect(new URL(response.headers.get('Location')!).searchParams.get('error')).toBe('SERVICE_UNAVAILABLE')
    expect(await countUsers(user.email!)).toBe(0)
  })

  it('sends the provider’s refusal (the person denied consent) back as TOKEN_INVALID', async () => {
    const started = await start()
    const response = await callback(`/api/auth/oauth/acme/callback?error=access_denied&state=${started.state}`, started.state)
    expect(new URL(response.headers.get('Location')!).searchParams.get('error')).toBe('TOKEN_INVALID')
  })
})

describe('linking and unlinking identities', () => {
  async function link(token: string, provider = 'acme', returnTo = RETURN_TO) {
    const response = await call(`/api/auth/oauth/${provider}/link`, { json: { returnTo }, token, env: ENV })
    expect(response.status).toBe(200)
    return (await body(response)).data.url as string
  }

  /** Opens a link start URL in the browser holding `refreshToken` (none: a browser signed in to nothing). */
  const openLink = (url: string, refreshToken?: string) => call(url, { env: ENV, ...(refreshToken ? { cookie: refreshToken } : {}) })
  const stateOf = (response: Response) => response.headers.getSetCookie().find((l) => l.startsWith('__Host-oauth_state='))!.split(';')[0]!.split('=')[1]!

  it('adds the provider to the signed-in account through the start URL, which works once', async () => {
    const account = await signIn()
    const url = await link(account.accessToken)
    expect(new URL(url).pathname).toBe('/api/auth/oauth/acme/start')
    const started = await openLink(url, account.refreshToken)
    expect(started.status).toBe(302)
    const state = stateOf(started)
    // The start URL is spent: it cannot be replayed.
    await expectError(await openLink(url, account.refreshToken), 401, 'CHALLENGE_EXPIRED')
    // The provider's email need not match the account's.
    const user = person({ email: uniqueEmail('elsewhere'), emailVerified: false })
    const response = await callback(acme.authorize(started.headers.get('Location')!, user), state)
    expect(new URL(response.headers.get('Location')!).searchParams.get('linked')).toBe('acme')
    expect(refreshCookie(response)).toBeUndefined()
    const list = (await body(await call('/api/auth/identities', { token: account.accessToken, env: ENV }))).data.identities
    expect(list).toHaveLength(1)
    // That identity now signs this account in.
    expect((await refreshWith((await flow(user)).response)).user.id).toBe(account.userId)
  })

  it('refuses to link an identity that another account holds', async () => {
    const user = person()
    await flow(user)
    const account = await signIn()
    const url = await link(account.accessToken)
    const started = await openLink(url, account.refreshToken)
    const response = await callback(acme.authorize(started.headers.get('Location')!, user), stateOf(started))
    expect(new URL(response.headers.get('Location')!).searchParams.get('error')).toBe('ACCOUNT_EXISTS')
    expect((await body(await call('/api/auth/identities', { token: account.accessToken, env: ENV }))).data.identities).toEqual([])
  })

  it('starts a link only in a browser signed in to that account (someone else’s link URL links nothing)', async () => {
    const attacker = await signIn()
    const victim = await signIn()
    const url = await link(attacker.accessToken)
    // Sent to the victim: their browser holds their own cookie, or none at all.
    await expectError(await openLink(url, victim.refreshToken), 401, 'CHALLENGE_EXPIRED')
    await expectError(await openLink(url), 401, 'CHALLENGE_EXPIRED')
    await expectError(await openLink(url, 'not-a-token'), 401, 'CHALLENGE_EXPIRED')
    // Nothing was spent: the attacker's own browser still starts it.
    expect((await openLink(url, attacker.refreshToken)).status).toBe(302)
  })

  it('needs a bearer token, a known provider and an allowed returnTo', async () => {
    await expectError(await call('/api/auth/oauth/acme/link', { json: { returnTo: RETURN_TO }, env: ENV }), 401, 'TOKEN_MISSING')
    const account = await signIn()
    await expectError(await call('/api/auth/oauth/nope/link', { json: { returnTo: RETURN_TO }, token: account.accessToken, env: ENV }), 404, 'NOT_FOUND')
    await expectError(await call('/api/auth/oauth/acme/link', { json: { returnTo: 'https://evil.test' }, token: account.accessToken, env: ENV }), 400, 'VALIDATION_ERROR')
    await expectError(await call('/api/auth/oauth/acme/link', { json: { returnTo: RETURN_TO, userId: 'x' }, token: account.accessToken, env: ENV }), 400, 'VALIDATION_ERROR')
  })

  it('unlinks an identity of an account that has a password, and mails a notice', async () => {
    const account = await signIn()
    await refreshWith((await flow(person({ email: account.email }))).response)
    const [identity] = (await body(await call('/api/auth/identities', { token: account.accessToken, env: ENV }))).data.identities
    const before = mailedTo(account.email).length
    const response = await call(`/api/auth/identities/${identity.id}`, { method: 'DELETE', token: account.accessToken, env: ENV })
    expect(response.status).toBe(200)
    expect((await body(await call('/api/auth/identities', { token: account.accessToken, env: ENV }))).data.identities).toEqual([])
    expect(mailedTo(account.email).length).toBeGreaterThan(before)
  })

  it('refuses to unlink the last way in (400 LAST_SIGN_IN_METHOD), and keeps it', async () => {
    const { accessToken } = await refreshWith((await flow(person())).response)
    const [identity] = (await body(await call('/api/auth/identities', { token: accessToken, env: ENV }))).data.identities
    await expectError(await call(`/api/auth/identities/${identity.id}`, { method: 'DELETE', token: accessToken, env: ENV }), 400, 'LAST_SIGN_IN_METHOD')
    expect((await body(await call('/api/auth/identities', { token: accessToken, env: ENV }))).data.identities).toHaveLength(1)
  })

  it('answers 404 for another account’s identity', async () => {
    const owner = await refreshWith((await flow(person())).response)
    const [identity] = (await body(await call('/api/auth/identities', { token: owner.accessToken, env: ENV }))).data.identities
    const other = await signIn()
    await expectError(await call(`/api/auth/identities/${identity.id}`, { method: 'DELETE', token: other.accessToken, env: ENV }), 404, 'NOT_FOUND')
  })

  it('shows the providers in the admin user object’s mfa.identities', async () => {
    const { user } = await refreshWith((await flow(person())).response)
    const email = uniqueEmail('admin')
    const adminEnv = oauthEnv({ ADMIN_EMAILS: email })
    await register({ email, env: adminEnv })
    const admin = await signIn({ email, env: adminEnv })
    const response = await call(`/api/admin/users/${user.id}`, { token: admin.accessToken, env: adminEnv })
    expect((await body(response)).data.user.mfa).toEqual({ totp: false, passkeys: 0, identities: ['acme'] })
  })
})

describe('accounts without a password', () => {
  async function providerAccount() {
    const user = person()
    const session = await refreshWith((await flow(user)).response)
    return { ...session, email: user.email! }
  }

  it('answers a password login exactly as a wrong password', async () => {
    const { email } = await providerAccount()
    const response = await call('/api/auth/login', { json: { email, password: PASSWORD }, env: ENV })
    const json = await expectError(response, 401, 'INVALID_CREDENTIALS')
    const unknown = await body(await call('/api/auth/login', { json: { email: uniqueEmail('nobody'), password: PASSWORD }, env: ENV }))
    expect(json).toEqual(unknown)
  })

  it('refuses password/change with 400 VALIDATION_ERROR pointing to password/forgot', async () => {
    const { accessToken } = await providerAccount()
    const response = await call('/api/auth/password/change', { json: { currentPassword: 'anything-1!', newPassword: 'New-passw0rd!' }, token: accessToken, env: ENV })
    const json = await expectError(response, 400, 'VALIDATION_ERROR')
    expect(json.message).toMatch(/password\/forgot/)
  })

  it('can be given a password through password/forgot and reset', async () => {
    const { email } = await providerAccount()
    await call('/api/auth/password/forgot', { json: { email }, env: ENV })
    const { lastCode } = await import('./helpers')
    const reset = await call('/api/auth/password/reset', { json: { email, otp: lastCode(email, 'reset_password'), newPassword: PASSWORD }, env: ENV })
    expect(reset.status).toBe(200)
    expect((await call('/api/auth/login', { json: { email, password: PASSWORD }, env: ENV })).status).toBe(200)
  })

  it('deletes itself from a fresh sign-in with no password, and refuses from an older session', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const old = await providerAccount()
    vi.setSystemTime(Date.now() + 6 * 60_000)
    await expectError(await call('/api/user/profile', { method: 'DELETE', json: {}, token: old.accessToken, env: ENV }), 403, 'FORBIDDEN')
    vi.useRealTimers()
    const fresh = await providerAccount()
    expect((await call('/api/user/profile', { method: 'DELETE', json: {}, token: fresh.accessToken, env: ENV })).status).toBe(200)
  })

  it('still needs the password to delete an account that has one', async () => {
    const account = await signIn()
    await expectError(await call('/api/user/profile', { method: 'DELETE', json: {}, token: account.accessToken, env: ENV }), 400, 'VALIDATION_ERROR')
  })
})

describe('what leaves the Worker', () => {
  it('logs no provider token, code, verifier or client secret, on success or failure', async () => {
    const lines: string[] = []
    for (const level of ['log', 'info', 'warn', 'error'] as const) {
      const original = console[level].bind(console)
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '))
        original(...args)
      })
    }
    const ok = await flow(person())
    acme.faults = { signature: 'foreign-key' }
    const failed = await flow(person())
    expect(failed.location.searchParams.get('error')).toBe('TOKEN_INVALID')
    const secrets = [
      'acme-secret',
      ...acme.requests.flatMap((r) => [...new URLSearchParams(r.body).entries()].filter(([k]) => ['code', 'code_verifier'].includes(k)).map(([, v]) => v)),
      new URL(ok.back).searchParams.get('code')!,
    ]
    const text = lines.join('\n')
    for (const secret of secrets) expect(text).not.toContain(secret)
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/)
  })
})
