import { describe, expect, it } from 'vitest'
import { AuthClientError, createAuthClient, type FetchLike } from '../src/client'
import { call, ORIGIN, signIn, SoftAuthenticator } from './helpers'

/** The typed client over the worker, the body transport (no cookie jar needed). */
const fetchWorker: FetchLike = (input, init = {}) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
  return call(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: typeof init.body === 'string' ? init.body : null })
}

describe('the typed client: passkeys', () => {
  it('registers, lists, renames and removes a passkey, then signs in with none of email or password', async () => {
    const s = await signIn()
    const owner = createAuthClient({ baseUrl: ORIGIN, fetch: (input, init) => fetchWorker(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), Authorization: `Bearer ${s.accessToken}` } }), tokenTransport: 'body' })
    const authenticator = new SoftAuthenticator(ORIGIN)
    const { challengeId, options } = await owner.passkeyRegistrationOptions()
    const { json } = await authenticator.register(options)
    const added = await owner.registerPasskey({ challengeId, credential: json, name: 'Laptop' })
    expect(await owner.passkeys()).toEqual([added])
    expect((await owner.renamePasskey(added.id, 'Desk')).name).toBe('Desk')

    const visitor = createAuthClient({ baseUrl: ORIGIN, fetch: fetchWorker, tokenTransport: 'body' })
    const login = await visitor.passkeyLoginOptions()
    const user = await visitor.loginWithPasskey({ challengeId: login.challengeId, credential: await authenticator.login(login.options) })
    expect(user.id).toBe(s.userId)
    expect(visitor.isSignedIn).toBe(true)

    await owner.deletePasskey(added.id)
    expect(await owner.passkeys()).toEqual([])
  })

  it('says so when the platform has no WebAuthn', async () => {
    const client = createAuthClient({ baseUrl: ORIGIN, fetch: fetchWorker })
    const error = await client.signInWithPasskey().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuthClientError)
    expect((error as AuthClientError).code).toBe('PASSKEYS_UNSUPPORTED')
  })
})
