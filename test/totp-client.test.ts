import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest'
import { createAuthClient, type FetchLike, type MfaStatus } from '../src/client'
import worker from '../src/index'
import { freshIp, lastCode, ORIGIN, PASSWORD, secretOf, stepStart, totpCode, uniqueEmail } from './helpers'

/** A native app's fetch into the worker (body transport: no cookies). */
const fetchIntoWorker: FetchLike = async (input, init = {}) => {
  const headers = new Headers(init.headers)
  headers.set('CF-Connecting-IP', freshIp())
  headers.set('Origin', ORIGIN)
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
  const ctx = createExecutionContext()
  const response = await worker.fetch(new Request(url, { ...init, headers }), env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

afterEach(() => {
  vi.useRealTimers()
})

describe('typed client: authenticator apps', () => {
  it('turns an app on, signs in with it, regenerates codes and turns it off, typed from the routes', async () => {
    vi.setSystemTime(stepStart() + 1_000)
    const auth = createAuthClient({ baseUrl: ORIGIN, fetch: fetchIntoWorker, tokenTransport: 'body' })
    const email = uniqueEmail('client-totp')
    await auth.register({ email, password: PASSWORD, name: 'Client' })
    const first = await auth.login({ email, password: PASSWORD })
    if (!first.otpRequired) throw new Error('expected a challenge')
    expect(first.methods).toEqual(['email_otp'])
    await auth.verifyOtp({ challengeId: first.challengeId, otp: lastCode(email, 'login') })

    const enrolment = await auth.enrollTotp({ password: PASSWORD })
    expectTypeOf(enrolment.otpauthUri).toEqualTypeOf<string>()
    const secret = secretOf(enrolment.otpauthUri)
    const recovery = await auth.activateTotp({ code: await totpCode(secret) })
    expect(recovery).toHaveLength(10)
    const status = await auth.mfaStatus()
    expectTypeOf(status).toEqualTypeOf<MfaStatus>()
    expectTypeOf(status.recoveryCodesLeft).toEqualTypeOf<number>()
    expect(status).toMatchObject({ totp: { enabled: true }, recoveryCodesLeft: 10 })
    await auth.logout()

    vi.setSystemTime(Date.now() + 30_000)
    const second = await auth.login({ email, password: PASSWORD })
    if (!second.otpRequired) throw new Error('expected a challenge')
    expect(second.methods).toEqual(['totp', 'recovery_code'])
    const user = await auth.verifyMfa({ challengeId: second.challengeId, method: 'totp', code: await totpCode(secret) })
    expect(user.email).toBe(email)
    expect(auth.isSignedIn).toBe(true)

    vi.setSystemTime(Date.now() + 30_000)
    const fresh = await auth.regenerateRecoveryCodes({ code: await totpCode(secret) })
    expect(fresh.filter((code) => recovery.includes(code))).toEqual([])
    await auth.removeTotp({ code: fresh[0]! })
    expect((await auth.mfaStatus()).totp).toBeNull()
  })
})
