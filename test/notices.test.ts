import { describe, expect, it } from 'vitest'
import { call, lastCode, mailedTo, register, signIn, startLogin, uniqueEmail, type Session } from './helpers'

/** The security notices mailed to an address, by kind (API.md "Security notices"). */
const notices = (email: string) =>
  mailedTo(email)
    .filter((sent) => sent.purpose === 'security_notice')
    .map((sent) => sent as unknown as { notice: string; code?: string; detail?: string })

const NEW_PASSWORD = 'Battery-staple-42!'

describe('security notices', () => {
  it('tells the owner after a password change, carrying no code', async () => {
    const s = await signIn()
    const changed = await call('/api/auth/password/change', { token: s.accessToken, json: { currentPassword: s.password, newPassword: NEW_PASSWORD } })
    expect(changed.status).toBe(200)
    const sent = notices(s.email).filter((n) => n.notice === 'password_changed')
    expect(sent).toHaveLength(1)
    expect(sent[0]!.code).toBeUndefined()
  })

  it('tells the owner after a password reset', async () => {
    const { email } = await register()
    await call('/api/auth/password/forgot', { json: { email } })
    expect((await call('/api/auth/password/reset', { json: { email, otp: lastCode(email, 'reset_password'), newPassword: NEW_PASSWORD } })).status).toBe(200)
    expect(notices(email).map((n) => n.notice)).toContain('password_reset')
  })

  it('tells the owner of a ban', async () => {
    const adminEmail = uniqueEmail('admin')
    const env = { ADMIN_EMAILS: adminEmail }
    await register({ email: adminEmail, env })
    const admin: Session = await signIn({ email: adminEmail, env })
    const { email, user } = await register()
    await call(`/api/admin/users/${user.id}/ban`, { token: admin.accessToken, json: { reason: 'spam' } })
    expect(notices(email).map((n) => n.notice)).toEqual(['banned'])
  })

  it('tells the owner of a sign-in from a user agent not seen in 30 days, once', async () => {
    const { email, password } = await register()
    const signInFrom = async (userAgent: string) => {
      const headers = { 'User-Agent': userAgent }
      const { challengeId } = await startLogin(email, password)
      const response = await call('/api/auth/verify-otp', { json: { challengeId, otp: lastCode(email, 'login') }, headers })
      expect(response.status).toBe(200)
    }
    await signInFrom('Laptop/1.0')
    await signInFrom('Laptop/1.0')
    await signInFrom('Phone/2.0')
    const seen = notices(email).filter((n) => n.notice === 'new_device')
    expect(seen.map((n) => n.detail)).toEqual(['Device: Laptop/1.0', 'Device: Phone/2.0'])
  })
})
