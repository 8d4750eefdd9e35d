import { describe, expect, it } from 'vitest'
import { body, call, expectError, lastCode, mailedTo, PASSWORD, refreshCookie, register, signIn, uniqueEmail, type Session, wrongCode } from './helpers'

const NEW_PASSWORD = 'Battery-staple-42!'
const WEAK_PASSWORDS = ['short1!', 'nodigits-here!', 'NoSymbols123', '12345678!']

/** A six-digit code guaranteed to differ from `code`. */

const profile = (token: string) => call('/api/user/profile', { token })
const refresh = (cookie: string) => call('/api/auth/refresh', { method: 'POST', cookie })
const login = (email: string, password: string) => call('/api/auth/login', { json: { email, password } })
const changePassword = (token: string, currentPassword: string, newPassword: string) =>
  call('/api/auth/password/change', { json: { currentPassword, newPassword }, token })
const forgot = (email: string) => call('/api/auth/password/forgot', { json: { email } })
const reset = (email: string, otp: string, newPassword: string) =>
  call('/api/auth/password/reset', { json: { email, otp, newPassword } })

const resetCodesTo = (email: string) => mailedTo(email).filter((sent) => sent.purpose === 'reset_password')

/** Two sessions of one fresh account (two devices). */
async function twoSessions(): Promise<[Session, Session]> {
  const first = await signIn()
  const second = await signIn({ email: first.email, password: first.password })
  expect(second.userId).toBe(first.userId)
  return [first, second]
}

/** A password login that gets as far as the code step. */
async function expectLoginAccepted(email: string, password: string) {
  const response = await login(email, password)
  expect(response.status).toBe(200)
  expect((await body(response)).data.otpRequired).toBe(true)
}

async function expectLoginRefused(email: string, password: string) {
  await expectError(await login(email, password), 401, 'INVALID_CREDENTIALS')
}

async function expectSessionRevoked(session: Session) {
  await expectError(await profile(session.accessToken), 401, 'TOKEN_REVOKED')
  await expectError(await refresh(session.refreshToken), 401, 'TOKEN_REVOKED')
}

/** The session's access token works and its refresh token rotates; returns the rotated session. */
async function expectSessionLive(session: Session): Promise<Session> {
  const me = await profile(session.accessToken)
  expect(me.status).toBe(200)
  expect((await body(me)).data.user.id).toBe(session.userId)
  const refreshed = await refresh(session.refreshToken)
  expect(refreshed.status).toBe(200)
  const next = refreshCookie(refreshed)
  expect(next).toBeTruthy()
  return { ...session, accessToken: (await body(refreshed)).data.accessToken, refreshToken: next! }
}

/** `details` paths of a validation error. */
const detailPaths = (json: { details?: Array<{ path: string }> }) => (json.details ?? []).map((detail) => detail.path)

describe('POST /api/auth/password/change', () => {
  it('refuses a wrong current password with 401 INVALID_CREDENTIALS and changes nothing', async () => {
    const [caller, other] = await twoSessions()

    const response = await changePassword(caller.accessToken, 'Wrong-password-1', NEW_PASSWORD)
    await expectError(response, 401, 'INVALID_CREDENTIALS')

    await expectSessionLive(caller)
    await expectSessionLive(other)
    await expectLoginRefused(caller.email, NEW_PASSWORD)
    await expectLoginAccepted(caller.email, PASSWORD)
  })

  it('refuses a weak new password with 400 VALIDATION_ERROR naming newPassword, and changes nothing', async () => {
    const [caller, other] = await twoSessions()

    for (const weak of WEAK_PASSWORDS) {
      const json = await expectError(await changePassword(caller.accessToken, PASSWORD, weak), 400, 'VALIDATION_ERROR')
      expect(detailPaths(json)).toContain('newPassword')
    }

    await expectSessionLive(caller)
    await expectSessionLive(other)
    await expectLoginRefused(caller.email, WEAK_PASSWORDS[0]!)
    await expectLoginAccepted(caller.email, PASSWORD)
  })

  it('changes the password: this session keeps working, every other session is revoked', async () => {
    const [other, caller] = await twoSessions()

    const response = await changePassword(caller.accessToken, PASSWORD, NEW_PASSWORD)
    expect(response.status).toBe(200)
    expect((await body(response)).success).toBe(true)

    // The caller's own session: access token and refresh both still work.
    const rotated = await expectSessionLive(caller)
    expect((await profile(rotated.accessToken)).status).toBe(200)

    // Every other session ends at once.
    await expectSessionRevoked(other)

    const sessions = await call('/api/auth/sessions', { token: rotated.accessToken })
    expect(sessions.status).toBe(200)
    expect((await body(sessions)).data.sessions.map((session: { current: boolean }) => session.current)).toEqual([true])
  })

  it('refuses the old password at login afterwards and accepts the new one', async () => {
    const caller = await signIn()
    expect((await changePassword(caller.accessToken, PASSWORD, NEW_PASSWORD)).status).toBe(200)

    await expectLoginRefused(caller.email, PASSWORD)
    const again = await signIn({ email: caller.email, password: NEW_PASSWORD })
    expect(again.userId).toBe(caller.userId)
  })

  it('answers 401 TOKEN_MISSING without an access token', async () => {
    const { email } = await register()
    const response = await call('/api/auth/password/change', { json: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD } })
    await expectError(response, 401, 'TOKEN_MISSING')
    await expectLoginAccepted(email, PASSWORD)
  })
})

describe('POST /api/auth/password/forgot', () => {
  it('answers a known and an unknown email identically, and mails a reset code only to the known one', async () => {
    const { email: known } = await register()
    const unknown = uniqueEmail('nobody')

    const forKnown = await forgot(known)
    const forUnknown = await forgot(unknown)

    expect(forKnown.status).toBe(200)
    expect(forUnknown.status).toBe(200)
    const knownJson = await body(forKnown)
    expect(knownJson.success).toBe(true)
    expect(await body(forUnknown)).toEqual(knownJson)
    expect(await forUnknown.clone().text()).toBe(await forKnown.clone().text())
    expect([...forUnknown.headers.keys()].sort()).toEqual([...forKnown.headers.keys()].sort())

    expect(resetCodesTo(known)).toHaveLength(1)
    expect(lastCode(known, 'reset_password')).toMatch(/^\d{6}$/)
    expect(mailedTo(unknown)).toEqual([])
    expect(() => lastCode(unknown, 'reset_password')).toThrow()
  })

  it('normalises the email before looking it up', async () => {
    const { email } = await register()
    expect((await forgot(`  ${email.toUpperCase()} `)).status).toBe(200)
    expect(resetCodesTo(email)).toHaveLength(1)
  })

  it('answers a second request within 60 s the same way and sends no second code', async () => {
    const { email } = await register()
    const first = await forgot(email)
    const code = lastCode(email, 'reset_password')

    const second = await forgot(email)
    expect(second.status).toBe(200)
    expect(await second.clone().text()).toBe(await first.clone().text())
    expect([...second.headers.keys()].sort()).toEqual([...first.headers.keys()].sort())

    expect(resetCodesTo(email)).toHaveLength(1)
    // The first code is still the one that works.
    expect((await reset(email, code, NEW_PASSWORD)).status).toBe(200)
  })

  it('refuses an invalid email with 400 VALIDATION_ERROR naming email', async () => {
    const json = await expectError(await forgot('not-an-email'), 400, 'VALIDATION_ERROR')
    expect(detailPaths(json)).toContain('email')
  })
})

describe('POST /api/auth/password/reset', () => {
  it('refuses a wrong code with 401 OTP_INVALID and leaves the password and the code as they were', async () => {
    const { email } = await register()
    await forgot(email)
    const code = lastCode(email, 'reset_password')

    await expectError(await reset(email, wrongCode(code), NEW_PASSWORD), 401, 'OTP_INVALID')
    await expectLoginRefused(email, NEW_PASSWORD)
    await expectLoginAccepted(email, PASSWORD)
    // One wrong try does not burn the code.
    expect((await reset(email, code, NEW_PASSWORD)).status).toBe(200)
  })

  it('answers an unknown email like a wrong code: 401 OTP_INVALID', async () => {
    await expectError(await reset(uniqueEmail('nobody'), '123456', NEW_PASSWORD), 401, 'OTP_INVALID')
  })

  it('answers a known email that asked for no reset like a wrong code: 401 OTP_INVALID', async () => {
    const { email } = await register()
    await expectError(await reset(email, '123456', NEW_PASSWORD), 401, 'OTP_INVALID')
    await expectLoginAccepted(email, PASSWORD)
  })

  it('refuses a weak new password with 400 VALIDATION_ERROR naming newPassword, and keeps the code', async () => {
    const { email } = await register()
    await forgot(email)
    const code = lastCode(email, 'reset_password')

    for (const weak of WEAK_PASSWORDS) {
      const json = await expectError(await reset(email, code, weak), 400, 'VALIDATION_ERROR')
      expect(detailPaths(json)).toContain('newPassword')
    }
    await expectLoginAccepted(email, PASSWORD)
    expect((await reset(email, code, NEW_PASSWORD)).status).toBe(200)
  })

  it('resets the password: every session is revoked, the old password refused, the new one works', async () => {
    const [first, second] = await twoSessions()
    const { email, userId } = first
    await forgot(email)
    const code = lastCode(email, 'reset_password')

    const response = await reset(email, code, NEW_PASSWORD)
    expect(response.status).toBe(200)
    expect((await body(response)).success).toBe(true)

    await expectSessionRevoked(first)
    await expectSessionRevoked(second)

    await expectLoginRefused(email, PASSWORD)
    const again = await signIn({ email, password: NEW_PASSWORD })
    expect(again.userId).toBe(userId)
  })

  it('accepts a code once: the second use answers 401 OTP_INVALID', async () => {
    const { email } = await register()
    await forgot(email)
    const code = lastCode(email, 'reset_password')

    expect((await reset(email, code, NEW_PASSWORD)).status).toBe(200)
    await expectError(await reset(email, code, 'Another-pass-77!'), 401, 'OTP_INVALID')

    await expectLoginRefused(email, 'Another-pass-77!')
    await expectLoginAccepted(email, NEW_PASSWORD)
  })

  it('does not take a code mailed to another account', async () => {
    const { email: alice } = await register()
    const { email: bob } = await register()
    await forgot(alice)
    const aliceCode = lastCode(alice, 'reset_password')
    await forgot(bob)
    const bobCode = lastCode(bob, 'reset_password')

    const response = await reset(bob, aliceCode === bobCode ? wrongCode(bobCode) : aliceCode, NEW_PASSWORD)
    await expectError(response, 401, 'OTP_INVALID')
    await expectLoginRefused(bob, NEW_PASSWORD)
    await expectLoginAccepted(bob, PASSWORD)
  })

  it('lets the user sign in with the new password after five failed logins', async () => {
    const { email } = await register()
    for (let i = 0; i < 5; i++) {
      await expectError(await login(email, `Wrong-password-${i}`), 401, 'INVALID_CREDENTIALS')
    }

    await forgot(email)
    const response = await reset(email, lastCode(email, 'reset_password'), NEW_PASSWORD)
    expect(response.status).toBe(200)

    const after = await login(email, NEW_PASSWORD)
    expect(after.status).toBe(200)
    expect((await body(after)).data.otpRequired).toBe(true)
  })
})
