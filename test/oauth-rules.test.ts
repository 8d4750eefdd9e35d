import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { checkConfig, loadSettings } from '../src/config'
import { resetProviderCaches } from '../src/methods/oauth/providers'
import { signInWithProvider } from '../src/methods/oauth/rules'
import { registerMethods } from '../src/methods/registry'
import type { SecondStep, SignInMethod } from '../src/methods/types'
import { body, call, refreshCookie, signIn, testDeps, uniqueEmail, type CallInit } from './helpers'
import { interceptProviders, OidcProviderDouble } from './helpers/oidc-provider'

/**
 * A stand-in for the authenticator app (being built beside this): a second step due after a
 * provider sign-in, for this file's marked accounts only. It opens its challenge in the batch of
 * the first factor's writes, as a real step does.
 */
const MARK = 'mfa-step-'
const fakeStep: SecondStep = {
  methods: ['totp', 'recovery_code'],
  due: (_deps, factor) => factor.amr.includes('oauth') && factor.user.email.startsWith(MARK),
  async open(deps, factor) {
    if (factor.also?.length) await deps.db.batch(factor.also as [never, ...never[]])
    return { challengeId: `fake-${crypto.randomUUID()}`, expiresIn: 300 }
  },
}
const fakeMethod: SignInMethod = { name: 'test-fake-totp', secondStep: fakeStep }

const countIdentities = async (subject: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM oauth_identities WHERE subject = ?').bind(subject).first<{ n: number }>())!.n

describe('signInWithProvider (rules)', () => {
  it('opens the due second step instead of a session, and links in the step’s batch', async () => {
    const account = await signIn({ email: undefined })
    // A verified account whose address the provider also asserts verified: rule 2 links it.
    const email = `${MARK}${uniqueEmail()}`
    await env.DB.prepare('UPDATE users SET email = ? WHERE id = ?').bind(email, account.userId).run()
    const { deps } = testDeps({ secondSteps: [fakeStep] })
    const subject = `rules-${crypto.randomUUID()}`
    const result = await signInWithProvider(deps, 'acme', { subject, email, emailVerified: true, name: null })
    expect(result).toMatchObject({ kind: 'challenge', methods: ['totp', 'recovery_code'] })
    expect(await countIdentities(subject)).toBe(1)
  })

  it('asks no step of an account without one: a session opens with amr oauth', async () => {
    const { deps } = testDeps({ secondSteps: [fakeStep] })
    const result = await signInWithProvider(deps, 'acme', { subject: `rules-${crypto.randomUUID()}`, email: uniqueEmail(), emailVerified: true, name: 'N' })
    expect(result.kind).toBe('tokens')
  })

  it('treats an asserted email that is not an address as none (VALIDATION_ERROR)', async () => {
    const { deps } = testDeps()
    await expect(signInWithProvider(deps, 'acme', { subject: `rules-${crypto.randomUUID()}`, email: 'not an email', emailVerified: true, name: null })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    })
  })
})

describe('GET /api/auth/oauth/:provider/callback with a second step due', () => {
  const ISSUER = 'https://idp-mfa.test'
  const ENV = { OAUTH_PROVIDERS: 'acme', OAUTH_ACME_CLIENT_ID: 'acme-client', OAUTH_ACME_CLIENT_SECRET: 'acme-secret', OAUTH_ACME_ISSUER: ISSUER } as unknown as CallInit['env']
  let acme: OidcProviderDouble
  beforeEach(async () => {
    resetProviderCaches()
    registerMethods([fakeMethod])
    acme = await new OidcProviderDouble(ISSUER).init()
    interceptProviders(acme)
  })
  afterEach(() => vi.restoreAllMocks())

  it('sends the browser to returnTo?mfaChallenge=<id>, with no refresh cookie', async () => {
    const returnTo = 'https://app.test/back?tab=1'
    const started = await call(`/api/auth/oauth/acme/start?returnTo=${encodeURIComponent(returnTo)}`, { env: ENV })
    const state = started.headers.getSetCookie().find((l) => l.startsWith('__Host-oauth_state='))!.split(';')[0]!.split('=')[1]!
    const back = acme.authorize(started.headers.get('Location')!, { sub: crypto.randomUUID(), email: `${MARK}${uniqueEmail()}`, emailVerified: true })
    const response = await call(back, { env: ENV, headers: { Cookie: `__Host-oauth_state=${state}` } })
    expect(response.status).toBe(302)
    const location = new URL(response.headers.get('Location')!)
    expect(location.searchParams.get('mfaChallenge')).toMatch(/^fake-/)
    expect(location.searchParams.get('tab')).toBe('1')
    expect(refreshCookie(response)).toBeUndefined()
  })
})

describe('OAUTH_* settings', () => {
  const base = { ENVIRONMENT: 'development', ACCESS_TOKEN_SECRET: 'a'.repeat(40), REFRESH_TOKEN_SECRET: 'r'.repeat(40) }
  const problems = (extra: Record<string, string>) => checkConfig({ ...base, ...extra }).map((p) => `${p.setting}: ${p.problem}`)

  it('reads each provider from its OAUTH_<NAME>_* settings', () => {
    const settings = loadSettings({
      ...env,
      OAUTH_PROVIDERS: 'github, google,my-idp',
      OAUTH_GITHUB_CLIENT_ID: 'a',
      OAUTH_GITHUB_CLIENT_SECRET: 'b',
      OAUTH_GOOGLE_CLIENT_ID: 'c',
      OAUTH_GOOGLE_CLIENT_SECRET: 'd',
      OAUTH_MY_IDP_CLIENT_ID: 'e',
      OAUTH_MY_IDP_CLIENT_SECRET: 'f',
      OAUTH_MY_IDP_ISSUER: 'https://login.example.com',
    } as unknown as Env)
    expect(settings.oauth.providers).toEqual([
      { name: 'github', kind: 'github', displayName: 'GitHub', clientId: 'a', clientSecret: 'b', issuer: undefined },
      { name: 'google', kind: 'google', displayName: 'Google', clientId: 'c', clientSecret: 'd', issuer: 'https://accounts.google.com' },
      { name: 'my-idp', kind: 'oidc', displayName: 'My-idp', clientId: 'e', clientSecret: 'f', issuer: 'https://login.example.com' },
    ])
  })

  it('names every missing or wrong provider setting, in plain words', () => {
    expect(problems({ OAUTH_PROVIDERS: 'github,acme' })).toEqual(
      expect.arrayContaining([
        'OAUTH_GITHUB_CLIENT_ID: is required (OAUTH_PROVIDERS names github)',
        'OAUTH_GITHUB_CLIENT_SECRET: is required (OAUTH_PROVIDERS names github)',
        expect.stringMatching(/^OAUTH_ACME_ISSUER: is required/),
      ]),
    )
    expect(problems({ OAUTH_PROVIDERS: 'Bad_Name' })[0]).toMatch(/^OAUTH_PROVIDERS: /)
    const secret = checkConfig({ ...base, OAUTH_PROVIDERS: 'github', OAUTH_GITHUB_CLIENT_ID: 'x' }).find((p) => p.setting === 'OAUTH_GITHUB_CLIENT_SECRET')
    expect(secret?.accepts).toMatch(/client secret/)
  })

  const acme = (issuer: string, extra: Record<string, string> = {}) => ({ OAUTH_PROVIDERS: 'acme', OAUTH_ACME_CLIENT_ID: 'x', OAUTH_ACME_CLIENT_SECRET: 'y', OAUTH_ACME_ISSUER: issuer, ...extra })

  it('accepts a loopback http issuer outside production only', () => {
    for (const issuer of ['http://127.0.0.1:9000', 'http://localhost:9000', 'http://[::1]:9000']) expect(problems(acme(issuer))).toEqual([])
    expect(problems(acme('http://idp.example.com'))).toEqual(['OAUTH_ACME_ISSUER: is neither https nor http on 127.0.0.1, localhost or [::1]'])
    const production = { ENVIRONMENT: 'production', EMAIL_DELIVERY: 'resend', RESEND_API_KEY: 'k', EMAIL_FROM: 'a@b.c', JWT_ISSUER: 'https://auth.example.com' }
    expect(problems(acme('http://127.0.0.1:9000', production))).toEqual(['OAUTH_ACME_ISSUER: is not https (production accepts only https issuers)'])
    expect(problems(acme('https://login.example.com', production))).toEqual([])
  })
})

describe('GET /api/auth/oauth/providers without providers', () => {
  it('answers an empty list', async () => {
    expect((await body(await call('/api/auth/oauth/providers'))).data).toEqual({ providers: [] })
  })
})
