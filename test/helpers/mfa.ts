import { expect } from 'vitest'
import { body, call, lastCode, PASSWORD, refreshCookie, signIn, type Session } from './api'
import { secretOf, totpCode } from './totp'

/** The start of a 30-second step, so a test knows which codes are current. */
export const stepStart = (ms = Date.now()) => Math.floor(ms / 30_000) * 30_000

/** An account signed in (password + mailed code) that turned on an authenticator app through the API. */
export interface WithApp extends Session {
  secret: string
  recoveryCodes: string[]
}

/** Enrols and activates an app for a signed-in account; the clock should be frozen by the caller. */
export async function turnOnApp(session: Session): Promise<{ secret: string; recoveryCodes: string[] }> {
  const enrolled = await call('/api/auth/mfa/totp/enroll', { token: session.accessToken, json: { password: session.password } })
  expect(enrolled.status).toBe(200)
  const secret = secretOf((await body(enrolled)).data.otpauthUri)
  const activated = await call('/api/auth/mfa/totp/activate', { token: session.accessToken, json: { code: await totpCode(secret) } })
  expect(activated.status).toBe(200)
  return { secret, recoveryCodes: (await body(activated)).data.recoveryCodes }
}

/** A fresh account with an active app. */
export async function accountWithApp(): Promise<WithApp> {
  const session = await signIn()
  return { ...session, ...(await turnOnApp(session)) }
}

/** Password login for an account with an app: the challenge (no code is mailed). */
export async function mfaChallenge(email: string, password = PASSWORD): Promise<string> {
  const response = await call('/api/auth/login', { json: { email, password } })
  expect(response.status).toBe(200)
  const data = (await body(response)).data
  expect(data.methods).toEqual(['totp', 'recovery_code'])
  return data.challengeId as string
}

export const mfaVerify = (challengeId: string, method: 'totp' | 'recovery_code', code: string, extra: Record<string, unknown> = {}) =>
  call('/api/auth/mfa/verify', { json: { challengeId, method, code, ...extra } })

/** The session list's entry for the token's own session. */
export async function currentSession(accessToken: string) {
  const response = await call('/api/auth/sessions', { token: accessToken })
  expect(response.status).toBe(200)
  return ((await body(response)).data.sessions as { current: boolean; aal: string; amr: string[] }[]).find((s) => s.current)!
}

export { lastCode, refreshCookie }
