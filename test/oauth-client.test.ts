import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { AuthClientError, createAuthClient, type FetchLike } from '../src/client'
import worker from '../src/index'
import { freshIp, lastCode, ORIGIN, PASSWORD, uniqueEmail } from './helpers'

const SETTINGS = { OAUTH_PROVIDERS: 'github', OAUTH_GITHUB_CLIENT_ID: 'gh-client', OAUTH_GITHUB_CLIENT_SECRET: 'gh-secret' }

/** A fetch into the worker with social sign-in configured (body transport: no cookie jar needed). */
const fetchWorker: FetchLike = async (input, init = {}) => {
  const headers = new Headers(init.headers)
  headers.set('CF-Connecting-IP', freshIp())
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
  const ctx = createExecutionContext()
  const response = await worker.fetch(new Request(url, { ...init, headers }), { ...env, ...SETTINGS } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

describe('auth client: social sign-in', () => {
  it('lists providers, builds the start URL, starts a link and lists and unlinks identities', async () => {
    const client = createAuthClient({ baseUrl: ORIGIN, fetch: fetchWorker, tokenTransport: 'body' })
    expect(await client.oauthProviders()).toEqual([{ name: 'github', displayName: 'GitHub' }])
    expect(client.oauthStartUrl('github', 'https://app.test/x?y=1')).toBe(`${ORIGIN}/api/auth/oauth/github/start?returnTo=https%3A%2F%2Fapp.test%2Fx%3Fy%3D1`)

    const email = uniqueEmail('oauth-client')
    await client.register({ email, password: PASSWORD, name: 'Client' })
    const step = await client.login({ email, password: PASSWORD })
    if (!step.otpRequired) throw new Error('the OTP step should be on')
    await client.verifyOtp({ challengeId: step.challengeId, otp: lastCode(email, 'login') })

    const url = new URL(await client.linkProvider('github', 'https://app.test/settings'))
    expect(url.pathname).toBe('/api/auth/oauth/github/start')
    expect(url.searchParams.get('link')).toMatch(/^[\w-]{43}$/)
    expect(await client.identities()).toEqual([])
    const error = await client.unlinkIdentity(crypto.randomUUID()).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(AuthClientError)
    expect((error as AuthClientError).code).toBe('NOT_FOUND')
  })
})
