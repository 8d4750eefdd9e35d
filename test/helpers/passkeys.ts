import { expect } from 'vitest'
import { body, call, ORIGIN, type Session } from './api'
import { SoftAuthenticator, type Tamper } from './webauthn'

/** The registration options the API hands a signed-in account. */
export async function registerOptions(token: string) {
  const response = await call('/api/auth/passkeys/register/options', { token, json: {} })
  expect(response.status).toBe(200)
  return (await body(response)).data as { challengeId: string; options: { rp: { id: string; name: string }; user: { id: string; name: string; displayName: string }; challenge: string; excludeCredentials: { id: string }[] } & Record<string, unknown> }
}

/** Adds a passkey to a signed-in account through the API, with a new (or the given) authenticator. */
export async function addPasskey(session: Pick<Session, 'accessToken'>, authenticator = new SoftAuthenticator(ORIGIN), name?: string) {
  const { challengeId, options } = await registerOptions(session.accessToken)
  const { json } = await authenticator.register(options)
  const response = await call('/api/auth/passkeys/register/verify', { token: session.accessToken, json: { challengeId, credential: json, ...(name ? { name } : {}) } })
  expect(response.status).toBe(201)
  const passkey = (await body(response)).data.passkey as { id: string; name: string; createdAt: string; lastUsedAt: string | null; backedUp: boolean }
  return { authenticator, passkey, credentialId: json.id }
}

/** Sign-in options (public). */
export async function loginOptions() {
  const response = await call('/api/auth/passkeys/login/options', { json: {} })
  expect(response.status).toBe(200)
  return (await body(response)).data as { challengeId: string; options: { challenge: string; rpId: string; userVerification: string } & Record<string, unknown> }
}

/** One passkey sign-in: fresh options, the authenticator's assertion (bent by `tamper`), the verify call. */
export async function passkeyLogin(authenticator: SoftAuthenticator, tamper: Tamper = {}, extra: Record<string, unknown> = {}) {
  const { challengeId, options } = await loginOptions()
  const credential = await authenticator.login(options, tamper)
  const response = await call('/api/auth/passkeys/login/verify', { json: { challengeId, credential, ...extra } })
  return { response, challengeId, credential }
}
