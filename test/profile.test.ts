import { afterEach, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, PASSWORD, refreshCookie, register, signIn, uniqueEmail, type Session, advance } from './helpers'

const USER_KEYS = ['createdAt', 'email', 'emailVerified', 'id', 'mobile', 'name', 'role', 'updatedAt']
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/

afterEach(() => {
  vi.useRealTimers()
})

/** Moves the clock forward, so a write's `updatedAt` is certain to differ from the previous one. */

const getProfile = (token: string) => call('/api/user/profile', { token })
const update = (method: 'PUT' | 'PATCH', token: string, json: unknown) => call('/api/user/profile', { method, token, json })
/** Sends `raw` verbatim as the JSON body (for keys a JS object literal cannot carry as data). */
const updateRaw = (method: 'PUT' | 'PATCH', token: string, raw: string) =>
  call('/api/user/profile', { method, token, body: raw, headers: { 'Content-Type': 'application/json' } })
const deleteAccount = (session: Session, init: { json?: unknown } = {}) =>
  call('/api/user/profile', { method: 'DELETE', token: session.accessToken, cookie: session.refreshToken, ...init })
const refresh = (cookie: string) => call('/api/auth/refresh', { method: 'POST', cookie })
const login = (email: string, password: string) => call('/api/auth/login', { json: { email, password } })

async function userOf(token: string) {
  const response = await getProfile(token)
  expect(response.status).toBe(200)
  return (await body(response)).data.user as Record<string, unknown>
}

/** Asserts the public user object: exactly its keys, never the hash. */
function expectUserObject(user: Record<string, unknown>) {
  expect(Object.keys(user).sort()).toEqual(USER_KEYS)
  expect(user.createdAt).toMatch(ISO)
  expect(user.updatedAt).toMatch(ISO)
  expect(JSON.stringify(user)).not.toMatch(/password|pbkdf2|deleted/i)
}

const detailPaths = (json: { details?: Array<{ path: string }> }) => (json.details ?? []).map((detail) => detail.path)

describe.each(['PUT', 'PATCH'] as const)('%s /api/user/profile', (method) => {
  it('updates name and mobile and answers the user object with a new updatedAt', async () => {
    const s = await signIn()
    const before = await userOf(s.accessToken)
    advance()

    const response = await update(method, s.accessToken, { name: 'Ada Lovelace', mobile: '+44 20 7946 0958' })
    expect(response.status).toBe(200)
    expect(response.headers.get('Cache-Control')).toContain('no-store')
    const json = await body(response)
    expect(json.success).toBe(true)
    const user = json.data.user
    expectUserObject(user)
    expect(user).toMatchObject({ id: s.userId, email: s.email, name: 'Ada Lovelace', mobile: '+44 20 7946 0958', role: 'user' })
    expect(user.createdAt).toBe(before.createdAt)
    expect(Date.parse(user.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt as string))

    // The change is stored: a fresh read answers the same object.
    expect(await userOf(s.accessToken)).toEqual(user)
  })

  it('changes only the field it is given', async () => {
    const s = await signIn()
    await update(method, s.accessToken, { name: 'First Name', mobile: '+1 555 0100' })

    const onlyName = await update(method, s.accessToken, { name: 'Second Name' })
    expect(onlyName.status).toBe(200)
    expect((await body(onlyName)).data.user).toMatchObject({ name: 'Second Name', mobile: '+1 555 0100' })

    const onlyMobile = await update(method, s.accessToken, { mobile: '+1 555 0199' })
    expect(onlyMobile.status).toBe(200)
    expect((await body(onlyMobile)).data.user).toMatchObject({ name: 'Second Name', mobile: '+1 555 0199' })
  })

  it('clears the mobile with null', async () => {
    const s = await signIn()
    const set = await update(method, s.accessToken, { mobile: '+1 555 0100' })
    expect((await body(set)).data.user.mobile).toBe('+1 555 0100')
    advance()

    const response = await update(method, s.accessToken, { mobile: null })
    expect(response.status).toBe(200)
    const user = (await body(response)).data.user
    expect(user.mobile).toBeNull()
    expect(Date.parse(user.updatedAt)).toBeGreaterThan(Date.parse((await body(set)).data.user.updatedAt))
    expect((await userOf(s.accessToken)).mobile).toBeNull()
  })

  describe('mass assignment', () => {
    const forbidden: Array<[string, Record<string, unknown>]> = [
      ['role', { role: 'admin' }],
      ['email', { email: 'x@y.z' }],
      ['id', { id: '00000000-0000-4000-8000-000000000000' }],
      ['passwordHash', { passwordHash: 'x' }],
      ['emailVerified', { emailVerified: true }],
      ['createdAt', { createdAt: '2000-01-01T00:00:00.000Z' }],
    ]

    it.each(forbidden)('refuses %s with 400 VALIDATION_ERROR, alone or beside an allowed field, and changes nothing', async (field, extra) => {
      const s = await signIn()
      const before = await userOf(s.accessToken)

      for (const json of [extra, { name: 'Mallory', ...extra }]) {
        const error = await expectError(await update(method, s.accessToken, json), 400, 'VALIDATION_ERROR')
        expect(detailPaths(error).join(',')).toContain(field)
      }

      const after = await userOf(s.accessToken)
      expect(after).toEqual(before)
      expect(after.role).toBe('user')
      // The password is unchanged too.
      expect((await login(s.email, PASSWORD)).status).toBe(200)
    })

    it.each([
      ['__proto__', '{"name":"A","__proto__":{"role":"admin"}}'],
      ['constructor', '{"constructor":{"prototype":{"role":"admin"}}}'],
    ])('refuses a body with %s (prototype pollution) with 400 VALIDATION_ERROR and changes nothing', async (field, raw) => {
      const s = await signIn()
      const before = await userOf(s.accessToken)

      const error = await expectError(await updateRaw(method, s.accessToken, raw), 400, 'VALIDATION_ERROR')
      expect(detailPaths(error).join(',')).toContain(field)

      const after = await userOf(s.accessToken)
      expect(after).toEqual(before)
      expect(after.role).toBe('user')
      expect(({} as Record<string, unknown>).role).toBeUndefined()
      // Authorisation still sees a plain user.
      const admin = await call('/api/admin/users', { token: s.accessToken })
      await expectError(admin, 403, 'FORBIDDEN')
    })
  })

  it('refuses an empty body {} with 400 VALIDATION_ERROR', async () => {
    const s = await signIn()
    const before = await userOf(s.accessToken)
    await expectError(await update(method, s.accessToken, {}), 400, 'VALIDATION_ERROR')
    expect(await userOf(s.accessToken)).toEqual(before)
  })

  it.each([
    ['NUL', 'Bad\u0000Name'],
    ['BEL', 'Bad\u0007Name'],
    ['ESC', '\u001b[31mRed'],
    ['DEL', 'Bad\u007fName'],
  ])('refuses a name with a control character (%s) with 400 VALIDATION_ERROR naming name', async (_label, name) => {
    const s = await signIn()
    const before = await userOf(s.accessToken)
    const error = await expectError(await update(method, s.accessToken, { name }), 400, 'VALIDATION_ERROR')
    expect(detailPaths(error)).toContain('name')
    expect(await userOf(s.accessToken)).toEqual(before)
  })

  it('refuses an empty name and a mobile that is not a phone number', async () => {
    const s = await signIn()
    const before = await userOf(s.accessToken)
    expect(detailPaths(await expectError(await update(method, s.accessToken, { name: '   ' }), 400, 'VALIDATION_ERROR'))).toContain('name')
    expect(detailPaths(await expectError(await update(method, s.accessToken, { mobile: 'call me' }), 400, 'VALIDATION_ERROR'))).toContain('mobile')
    expect(await userOf(s.accessToken)).toEqual(before)
  })

  it('stores and returns an SQL-looking name literally', async () => {
    const s = await signIn()
    const name = "Robert'); DROP TABLE users;--"

    const response = await update(method, s.accessToken, { name })
    expect(response.status).toBe(200)
    expect((await body(response)).data.user.name).toBe(name)
    expect((await userOf(s.accessToken)).name).toBe(name)

    // The users table is still there and still takes new accounts.
    await register()
  })

  it('answers 401 TOKEN_MISSING without an access token', async () => {
    await expectError(await call('/api/user/profile', { method, json: { name: 'Nobody' } }), 401, 'TOKEN_MISSING')
  })
})

describe('DELETE /api/user/profile', () => {
  it('refuses a wrong password with 401 INVALID_CREDENTIALS and the account keeps working', async () => {
    const s = await signIn()
    const response = await deleteAccount(s, { json: { password: 'Wrong-password-1' } })
    await expectError(response, 401, 'INVALID_CREDENTIALS')
    expect(refreshCookie(response)).toBeUndefined()

    expect((await getProfile(s.accessToken)).status).toBe(200)
    expect((await refresh(s.refreshToken)).status).toBe(200)
    expect((await login(s.email, PASSWORD)).status).toBe(200)
  })

  it('refuses a missing body, or one without the password, with 400 and deletes nothing', async () => {
    const s = await signIn()

    const noBody = await deleteAccount(s)
    expect(noBody.status).toBe(400)
    expect((await body(noBody)).success).toBe(false)

    const error = await expectError(await deleteAccount(s, { json: {} }), 400, 'VALIDATION_ERROR')
    expect(detailPaths(error)).toContain('password')

    expect((await getProfile(s.accessToken)).status).toBe(200)
    expect((await login(s.email, PASSWORD)).status).toBe(200)
  })

  it('deletes the account: cookie cleared, access and refresh tokens revoked, credentials refused', async () => {
    const s = await signIn()

    const response = await deleteAccount(s, { json: { password: PASSWORD } })
    expect(response.status).toBe(200)
    expect((await body(response)).success).toBe(true)
    const cleared = response.headers.getSetCookie().find((line) => line.startsWith('__Host-refresh_token='))
    expect(cleared).toBeDefined()
    expect(refreshCookie(response)).toBeUndefined()
    expect(cleared).toMatch(/;\s*Max-Age=0(;|$)/i)

    await expectError(await getProfile(s.accessToken), 401, 'TOKEN_REVOKED')
    await expectError(await refresh(s.refreshToken), 401, 'TOKEN_REVOKED')

    // Old credentials: the same answer as an email nobody holds.
    const deleted = await login(s.email, PASSWORD)
    const unknown = await login(uniqueEmail('nobody'), PASSWORD)
    await expectError(deleted, 401, 'INVALID_CREDENTIALS')
    expect(await body(deleted)).toEqual(await body(unknown))
    expect(unknown.status).toBe(401)
  })

  it('frees the email: registering it again answers 201 with a new account', async () => {
    const s = await signIn()
    expect((await deleteAccount(s, { json: { password: PASSWORD } })).status).toBe(200)

    const again = await call('/api/auth/register', { json: { email: s.email, password: 'Brand-new-pass-1', name: 'Second Life' } })
    expect(again.status).toBe(201)
    const user = (await body(again)).data.user
    expect(user.email).toBe(s.email)
    expect(user.id).not.toBe(s.userId)
    expect(user.role).toBe('user')
    expect(user.emailVerified).toBe(false)

    // The new account signs in with its own password; the deleted one's is refused.
    await expectError(await login(s.email, PASSWORD), 401, 'INVALID_CREDENTIALS')
    const fresh = await signIn({ email: s.email, password: 'Brand-new-pass-1' })
    expect(fresh.userId).toBe(user.id)
    // The old token still belongs to the deleted account.
    await expectError(await getProfile(s.accessToken), 401, 'TOKEN_REVOKED')
  })

  it('revokes every session of the account, not only the caller’s', async () => {
    const first = await signIn()
    const second = await signIn({ email: first.email, password: first.password })

    expect((await deleteAccount(second, { json: { password: PASSWORD } })).status).toBe(200)
    await expectError(await getProfile(first.accessToken), 401, 'TOKEN_REVOKED')
    await expectError(await refresh(first.refreshToken), 401, 'TOKEN_REVOKED')
  })

  it('answers 401 TOKEN_MISSING without an access token', async () => {
    const s = await signIn()
    await expectError(await call('/api/user/profile', { method: 'DELETE', json: { password: PASSWORD } }), 401, 'TOKEN_MISSING')
    expect((await getProfile(s.accessToken)).status).toBe(200)
  })
})
