import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { body, call, expectError, register, signIn, uniqueEmail } from '../../../test/helpers'

/** A request to the notes worker (an auxiliary worker of the pool), as a browser would send it. */
function notes(path: string, init: { token?: string; json?: unknown; method?: string } = {}) {
  const headers = new Headers()
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`)
  if (init.json !== undefined) headers.set('Content-Type', 'application/json')
  return env.NOTES_WORKER.fetch(`https://notes.test${path}`, {
    method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : null,
  })
}

describe('examples/notes-worker (edge-auth/hono through the AuthService binding)', () => {
  it('lets a signed-in user create and list their own notes, and no one else sees them', async () => {
    const ann = await signIn()
    const created = await notes('/api/notes', { token: ann.accessToken, json: { text: 'buy milk' } })
    expect(created.status).toBe(201)
    const { note } = (await body(created)).data
    expect(note).toMatchObject({ text: 'buy milk' })

    const listed = await notes('/api/notes', { token: ann.accessToken })
    expect(listed.status).toBe(200)
    expect((await body(listed)).data.notes).toEqual([note])

    const bob = await signIn()
    expect((await body(await notes('/api/notes', { token: bob.accessToken }))).data.notes).toEqual([])
  })

  it('refuses the same access token at once after logout', async () => {
    const s = await signIn()
    expect((await notes('/api/notes', { token: s.accessToken })).status).toBe(200)
    const out = await call('/api/auth/logout', { json: {}, cookie: s.refreshToken })
    expect(out.status).toBe(200)
    const after = await notes('/api/notes', { token: s.accessToken })
    await expectError(after, 401, 'TOKEN_REVOKED')
    expect(after.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"')
  })

  it('refuses requests without a token, and garbled tokens', async () => {
    const missing = await notes('/api/notes')
    await expectError(missing, 401, 'TOKEN_MISSING')
    await expectError(await notes('/api/notes', { token: 'not.a.jwt' }), 401, 'TOKEN_INVALID')
  })

  it('keeps the admin-only route from a user, and lets an admin in with the current role', async () => {
    const user = await signIn()
    await expectError(await notes('/api/admin/whoami', { token: user.accessToken }), 403, 'FORBIDDEN')

    const email = uniqueEmail('admin')
    const adminEnv = { ADMIN_EMAILS: email }
    await register({ email, env: adminEnv })
    const admin = await signIn({ email, env: adminEnv })
    const ok = await notes('/api/admin/whoami', { token: admin.accessToken })
    expect(ok.status).toBe(200)
    const data = (await body(ok)).data
    expect(data.user).toMatchObject({ id: admin.userId, email, role: 'admin', emailVerified: true })
    expect(Object.keys(data.user).sort()).toEqual(['createdAt', 'email', 'emailVerified', 'id', 'mobile', 'name', 'role', 'updatedAt'])
    expect(data.session).toEqual({ id: expect.any(String), aal: 'aal1', amr: ['pwd', 'email_otp'] })
  })

  it('refuses a password-only session on the aal2 route', async () => {
    const s = await signIn()
    const created = await notes('/api/notes', { token: s.accessToken, json: { text: 'keep me' } })
    const { note } = (await body(created)).data
    await expectError(await notes(`/api/notes/${note.id}`, { token: s.accessToken, method: 'DELETE' }), 403, 'MFA_REQUIRED')
    expect((await body(await notes('/api/notes', { token: s.accessToken }))).data.notes).toHaveLength(1)
  })
})
