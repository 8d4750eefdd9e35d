import { afterEach, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, freshIp, lastCode, mailedTo, register, signIn, uniqueEmail } from './helpers'

afterEach(() => {
  vi.useRealTimers()
})

const resend = (email: string, ip?: string) => call('/api/auth/verify-email/resend', { json: { email }, ...(ip ? { ip } : {}) })
const verify = (email: string, otp: string) => call('/api/auth/verify-email', { json: { email, otp } })
const codes = (email: string) => mailedTo(email).filter((sent) => sent.purpose === 'verify_email').length

/** Moves the clock past the one-minute gap between two codes. */
const pastResendGap = () => vi.setSystemTime(Date.now() + 61_000)

describe('POST /api/auth/verify-email/resend', () => {
  it('mails a fresh code that replaces the old one', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { email } = await register()
    const first = lastCode(email, 'verify_email')
    pastResendGap()
    const res = await resend(email)
    expect(res.status).toBe(200)
    expect(codes(email)).toBe(2)
    const second = lastCode(email, 'verify_email')
    if (first !== second) await expectError(await verify(email, first), 401, 'OTP_INVALID')
    const verified = await verify(email, second)
    expect(verified.status).toBe(200)
    expect((await body(verified)).data.user.emailVerified).toBe(true)
  })

  it('answers the same for an unknown, a verified and a throttled address, and mails nothing to them', async () => {
    const unverified = await register()
    const verified = await signIn()
    const unknown = uniqueEmail('nobody')
    const answers = []
    // Within a minute of the registration's code: throttled.
    for (const email of [unverified.email, verified.email, unknown]) {
      const res = await resend(email)
      answers.push({ status: res.status, body: await body(res) })
    }
    expect(answers[1]).toEqual(answers[0])
    expect(answers[2]).toEqual(answers[0])
    expect(answers[0]).toEqual({ status: 200, body: { success: true, message: expect.any(String), data: {} } })
    expect(codes(unverified.email)).toBe(1)
    expect(codes(verified.email)).toBe(1)
    expect(codes(unknown)).toBe(0)
  })

  it('is limited per client address', async () => {
    const ip = freshIp()
    const email = uniqueEmail()
    for (let i = 0; i < 10; i++) expect((await resend(email, ip)).status).toBe(200)
    const limited = await resend(email, ip)
    await expectError(limited, 429, 'RATE_LIMITED')
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0)
    expect((await resend(email, freshIp())).status).toBe(200)
  })

  it('refuses a body that is not {email}', async () => {
    await expectError(await call('/api/auth/verify-email/resend', { json: { email: 'nope' } }), 400, 'VALIDATION_ERROR')
    await expectError(await call('/api/auth/verify-email/resend', { json: { email: uniqueEmail(), role: 'admin' } }), 400, 'VALIDATION_ERROR')
  })
})
