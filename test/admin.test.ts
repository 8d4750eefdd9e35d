import { decodeJwt } from 'jose'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, PASSWORD, refreshCookie, register, signIn, uniqueEmail, type CallInit, type Session } from './helpers'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/
const ADMIN_USER_KEYS = ['banned', 'createdAt', 'deletedAt', 'email', 'emailVerified', 'id', 'mfa', 'mobile', 'name', 'role', 'updatedAt']

interface AdminUser {
  id: string
  email: string
  name: string
  role: 'user' | 'admin'
  createdAt: string
  deletedAt: string | null
}

/** A marker no other test (or run) uses, so `q` selects only this file's rows. */
const marker = (label: string) => `${label}${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`

/** An admin of this file: an ADMIN_EMAILS address that becomes admin when the login code verifies it. */
async function signInAdmin(): Promise<Session> {
  const email = uniqueEmail('admin')
  const env = { ADMIN_EMAILS: email }
  await register({ email, env })
  const session = await signIn({ email, env })
  expect(decodeJwt(session.accessToken).role).toBe('admin')
  return session
}

/** Registers an account with the given name (and optionally email). */
async function registerNamed(name: string, email = uniqueEmail('listed')) {
  const response = await call('/api/auth/register', { json: { email, password: PASSWORD, name } })
  expect(response.status).toBe(201)
  return (await body(response)).data.user as AdminUser
}

let admin: Session

afterEach(() => {
  vi.useRealTimers()
})

beforeAll(async () => {
  admin = await signInAdmin()
})

const asAdmin = (path: string, init: CallInit = {}) => call(path, { token: admin.accessToken, ...init })

async function listUsers(query: Record<string, string>) {
  const response = await asAdmin(`/api/admin/users?${new URLSearchParams(query)}`)
  expect(response.status).toBe(200)
  const json = await body(response)
  expect(json.success).toBe(true)
  expect(Object.keys(json.data).sort()).toEqual(['nextCursor', 'users'])
  return json.data as { users: AdminUser[]; nextCursor: string | null }
}

async function getUser(id: string) {
  const response = await asAdmin(`/api/admin/users/${id}`)
  expect(response.status).toBe(200)
  return (await body(response)).data.user as AdminUser
}

const patchRole = (id: string, json: unknown, token = admin.accessToken) =>
  call(`/api/admin/users/${id}`, { method: 'PATCH', json, token })

const deleteUser = (id: string, token = admin.accessToken) => call(`/api/admin/users/${id}`, { method: 'DELETE', token })

describe('admin routes: who may call them', () => {
  let normal: Session
  let victim: Session
  const routes = (id: string): [string, string, CallInit][] => [
    ['GET', '/api/admin/users', {}],
    ['GET', `/api/admin/users/${id}`, {}],
    ['PATCH', `/api/admin/users/${id}`, { json: { role: 'admin' } }],
    ['DELETE', `/api/admin/users/${id}`, {}],
    ['GET', '/api/admin/audit', {}],
  ]

  beforeAll(async () => {
    normal = await signIn()
    victim = await signIn()
  })

  it('answers 403 FORBIDDEN to a signed-in user without the admin role, and changes nothing', async () => {
    // The normal user tries to promote itself and to delete someone else.
    for (const [method, path, init] of [...routes(normal.userId), ['DELETE', `/api/admin/users/${victim.userId}`, {}] as const]) {
      const response = await call(path, { ...init, method, token: normal.accessToken })
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 403 })
      await expectError(response, 403, 'FORBIDDEN')
    }
    expect((await getUser(normal.userId)).role).toBe('user')
    expect((await getUser(victim.userId)).deletedAt).toBeNull()
    expect((await call('/api/user/profile', { token: victim.accessToken })).status).toBe(200)
  })

  it('answers 401 TOKEN_MISSING without a token', async () => {
    for (const [method, path, init] of routes(normal.userId)) {
      const response = await call(path, { ...init, method })
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 401 })
      await expectError(response, 401, 'TOKEN_MISSING')
    }
    expect((await getUser(normal.userId)).role).toBe('user')
    expect((await getUser(normal.userId)).deletedAt).toBeNull()
  })

  it('answers 401 TOKEN_INVALID to a garbled token', async () => {
    for (const [method, path, init] of routes(normal.userId)) {
      await expectError(await call(path, { ...init, method, token: 'not.a.jwt' }), 401, 'TOKEN_INVALID')
    }
  })
})

describe('GET /api/admin/users', () => {
  it('lists users newest first with the admin user object, and a default page of 20', async () => {
    const m = marker('dflt')
    const created: AdminUser[] = []
    for (let i = 0; i < 21; i++) created.push(await registerNamed(`${m} ${i}`))
    const newestFirst = created.map((user) => user.id).reverse()

    const page = await listUsers({ q: m })
    expect(page.users).toHaveLength(20)
    expect(page.users.map((user) => user.id)).toEqual(newestFirst.slice(0, 20))
    expect(page.nextCursor).toEqual(expect.any(String))
    for (const user of page.users) {
      expect(Object.keys(user).sort()).toEqual(ADMIN_USER_KEYS)
      expect(user.id).toMatch(UUID)
      expect(user.createdAt).toMatch(ISO)
      expect(user.deletedAt).toBeNull()
      expect(JSON.stringify(user)).not.toMatch(/password|pbkdf2/i)
    }
    const times = page.users.map((user) => Date.parse(user.createdAt))
    expect(times).toEqual([...times].sort((a, b) => b - a))

    const rest = await listUsers({ q: m, cursor: page.nextCursor! })
    expect(rest.users.map((user) => user.id)).toEqual(newestFirst.slice(20))
    expect(rest.nextCursor).toBeNull()

    const all = await listUsers({ q: m, limit: '100' })
    expect(all.users.map((user) => user.id)).toEqual(newestFirst)
    expect(all.nextCursor).toBeNull()

    const one = await listUsers({ q: m, limit: '1' })
    expect(one.users.map((user) => user.id)).toEqual([newestFirst[0]])
    expect(one.nextCursor).toEqual(expect.any(String))
  })

  it('accepts limit 100 and refuses 0, 101, -1, 1.5 and abc with 400 VALIDATION_ERROR', async () => {
    const page = await listUsers({ limit: '100' })
    expect(page.users.length).toBeGreaterThan(0)
    expect(page.users.length).toBeLessThanOrEqual(100)
    for (const limit of ['0', '101', '-1', '1.5', 'abc']) {
      const json = await expectError(await asAdmin(`/api/admin/users?limit=${limit}`), 400, 'VALIDATION_ERROR')
      expect(json.details.map((detail: { path: string }) => detail.path)).toContain('limit')
    }
  })

  it('pages over more than two pages with no duplicates or gaps while users are inserted between pages', async () => {
    const m = marker('page')
    const original: AdminUser[] = []
    for (let i = 0; i < 7; i++) original.push(await registerNamed(`${m} original ${i}`))

    const seen: string[] = []
    const inserted: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await listUsers({ q: m, limit: '3', ...(cursor ? { cursor } : {}) })
      expect(page.users.length).toBeLessThanOrEqual(3)
      seen.push(...page.users.map((user) => user.id))
      cursor = page.nextCursor ?? undefined
      pages++
      // A newer account arrives between page requests: it must not shift or leak into later pages.
      inserted.push((await registerNamed(`${m} inserted ${pages}`)).id)
      expect(pages).toBeLessThan(10)
    } while (cursor)

    expect(pages).toBe(3)
    expect(seen).toEqual(original.map((user) => user.id).reverse())
    expect(new Set(seen).size).toBe(seen.length)
    for (const id of inserted) expect(seen).not.toContain(id)

    // The inserted users do match the query: a fresh first page starts with them.
    const fresh = await listUsers({ q: m, limit: '3' })
    expect(fresh.users.map((user) => user.id)).toEqual(inserted.slice().reverse())
  })

  it('matches q against email or name, case-insensitively', async () => {
    const m = marker('q')
    const byName = await registerNamed(`Zed ${m.toUpperCase()} Zed`)
    const byEmail = await registerNamed('Plain Name', `${m}-mail@example.com`)
    const neither = await registerNamed('Unrelated')

    for (const q of [m, m.toUpperCase(), `${m.slice(0, 4).toUpperCase()}${m.slice(4)}`]) {
      const page = await listUsers({ q, limit: '100' })
      expect(page.users.map((user) => user.id).sort()).toEqual([byName.id, byEmail.id].sort())
    }
    const mailOnly = await listUsers({ q: `${m.toUpperCase()}-MAIL@`, limit: '100' })
    expect(mailOnly.users.map((user) => user.id)).toEqual([byEmail.id])
    const nameOnly = await listUsers({ q: `zed ${m}`, limit: '100' })
    expect(nameOnly.users.map((user) => user.id)).toEqual([byName.id])
    expect(nameOnly.users.map((user) => user.id)).not.toContain(neither.id)
  })

  it('matches q case-insensitively beyond ASCII, and a name by its own exact spelling', async () => {
    const m = marker('uni')
    const accented = await registerNamed(`${m} Élodie Ångström`)
    const queries = [`${m} Élodie`, `${m} élodie`, `${m} ÉLODIE`, `${m} élodie ångström`, `${m} Élodie Ångström`]
    const found: Record<string, boolean> = {}
    for (const q of queries) found[q] = (await listUsers({ q, limit: '100' })).users.some((user) => user.id === accented.id)
    expect(found).toEqual(Object.fromEntries(queries.map((q) => [q, true])))
  })

  it('treats %, _ and \\ in q literally', async () => {
    const m = marker('lit')
    const percent = await registerNamed(`${m} a%b`)
    const underscore = await registerNamed(`${m} a_b`)
    const backslash = await registerNamed(`${m} a\\b`)
    const plain = await registerNamed(`${m} axb`)
    const ids = (page: { users: AdminUser[] }) => page.users.map((user) => user.id)

    expect(ids(await listUsers({ q: `${m} a%b` }))).toEqual([percent.id])
    expect(ids(await listUsers({ q: `${m} a_b` }))).toEqual([underscore.id])
    expect(ids(await listUsers({ q: `${m} a\\b` }))).toEqual([backslash.id])
    expect(ids(await listUsers({ q: `${m} a` })).sort()).toEqual([percent.id, underscore.id, backslash.id, plain.id].sort())

    // A lone % or _ matches only accounts that contain that very character, not everything.
    for (const [q, own] of [
      ['%', percent.id],
      ['_', underscore.id],
    ] as const) {
      const page = await listUsers({ q, limit: '100', includeDeleted: 'true' })
      expect(page.users.length).toBeGreaterThan(0)
      for (const user of page.users) expect(`${user.email} ${user.name}`).toContain(q)
      expect(ids(page)).not.toContain(plain.id)
      if (page.nextCursor === null) expect(ids(page)).toContain(own)
    }
  })

  it('refuses a bad cursor with 400 VALIDATION_ERROR', async () => {
    const forged = btoa(JSON.stringify({ t: 'yesterday', id: 1 })).replace(/=+$/, '')
    for (const cursor of ['not a cursor!', 'e30', forged, 'x'.repeat(300)]) {
      const json = await expectError(await asAdmin(`/api/admin/users?cursor=${encodeURIComponent(cursor)}`), 400, 'VALIDATION_ERROR')
      expect(json.details.map((detail: { path: string }) => detail.path)).toContain('cursor')
    }
  })

  it('refuses unknown query parameters and a non-boolean includeDeleted with 400', async () => {
    await expectError(await asAdmin('/api/admin/users?role=admin'), 400, 'VALIDATION_ERROR')
    await expectError(await asAdmin('/api/admin/users?includeDeleted=yes'), 400, 'VALIDATION_ERROR')
  })

  it('hides soft-deleted users by default and shows them with deletedAt when includeDeleted=true', async () => {
    const m = marker('del')
    const kept = await registerNamed(`${m} kept`)
    const gone = await registerNamed(`${m} gone`)
    expect((await deleteUser(gone.id)).status).toBe(200)

    const byDefault = await listUsers({ q: m })
    expect(byDefault.users.map((user) => user.id)).toEqual([kept.id])
    const explicit = await listUsers({ q: m, includeDeleted: 'false' })
    expect(explicit.users.map((user) => user.id)).toEqual([kept.id])

    const withDeleted = await listUsers({ q: m, includeDeleted: 'true' })
    expect(withDeleted.users.map((user) => user.id)).toEqual([gone.id, kept.id])
    const [deleted, live] = withDeleted.users
    expect(deleted!.deletedAt).toMatch(ISO)
    expect(live!.deletedAt).toBeNull()
  })
})

describe('GET /api/admin/users/:id', () => {
  it('returns the user with deletedAt', async () => {
    const user = await registerNamed('Looked Up')
    const found = await getUser(user.id)
    expect(Object.keys(found).sort()).toEqual(ADMIN_USER_KEYS)
    expect(found).toMatchObject({ id: user.id, email: user.email, name: 'Looked Up', role: 'user', deletedAt: null })
    expect(JSON.stringify(found)).not.toMatch(/password|pbkdf2/i)
  })

  it('answers 404 NOT_FOUND for an unknown id', async () => {
    await expectError(await asAdmin(`/api/admin/users/${crypto.randomUUID()}`), 404, 'NOT_FOUND')
    await expectError(await asAdmin('/api/admin/users/not-an-id'), 404, 'NOT_FOUND')
  })
})

describe('PATCH /api/admin/users/:id', () => {
  it('sets the role and answers 200 with the user', async () => {
    const user = await registerNamed('To Promote')
    const response = await patchRole(user.id, { role: 'admin' })
    expect(response.status).toBe(200)
    const json = await body(response)
    expect(json.success).toBe(true)
    expect(Object.keys(json.data.user).sort()).toEqual(ADMIN_USER_KEYS)
    expect(json.data.user).toMatchObject({ id: user.id, role: 'admin', deletedAt: null })
    expect((await getUser(user.id)).role).toBe('admin')

    const back = await patchRole(user.id, { role: 'user' })
    expect(back.status).toBe(200)
    expect((await body(back)).data.user.role).toBe('user')
    expect((await getUser(user.id)).role).toBe('user')
  })

  it('refuses an unknown role, a missing role and extra fields with 400 VALIDATION_ERROR, changing nothing', async () => {
    const user = await registerNamed('Not Promoted')
    for (const json of [{ role: 'root' }, {}, { role: 'admin', email: 'evil@example.com' }, { role: 'admin', id: crypto.randomUUID() }]) {
      await expectError(await patchRole(user.id, json), 400, 'VALIDATION_ERROR')
    }
    const after = await getUser(user.id)
    expect(after).toMatchObject({ role: 'user', email: user.email, id: user.id })
  })

  it('answers 404 NOT_FOUND for an unknown id', async () => {
    await expectError(await patchRole(crypto.randomUUID(), { role: 'admin' }), 404, 'NOT_FOUND')
  })

  it('lets a promoted user’s existing access token call admin routes at once (role read from the database)', async () => {
    const user = await signIn()
    expect(decodeJwt(user.accessToken).role).toBe('user')
    await expectError(await call('/api/admin/users', { token: user.accessToken }), 403, 'FORBIDDEN')

    expect((await patchRole(user.userId, { role: 'admin' })).status).toBe(200)
    const response = await call('/api/admin/users?limit=1', { token: user.accessToken })
    expect(response.status).toBe(200)
    expect((await call(`/api/admin/users/${admin.userId}`, { token: user.accessToken })).status).toBe(200)
  })

  it('puts role admin in the claims of the access token issued at the next refresh', async () => {
    const user = await signIn()
    expect((await patchRole(user.userId, { role: 'admin' })).status).toBe(200)

    const response = await call('/api/auth/refresh', { method: 'POST', cookie: user.refreshToken })
    expect(response.status).toBe(200)
    const json = await body(response)
    expect(decodeJwt(json.data.accessToken).role).toBe('admin')
    expect(json.data.user.role).toBe('admin')
    expect(refreshCookie(response)).toBeTruthy()
  })

  it('takes admin away at once when an admin is demoted: its old access token gets 403', async () => {
    const other = await signIn()
    expect((await patchRole(other.userId, { role: 'admin' })).status).toBe(200)
    const refreshed = await call('/api/auth/refresh', { method: 'POST', cookie: other.refreshToken })
    expect(refreshed.status).toBe(200)
    const { accessToken } = (await body(refreshed)).data
    expect(decodeJwt(accessToken).role).toBe('admin')
    expect((await call('/api/admin/users?limit=1', { token: accessToken })).status).toBe(200)

    expect((await patchRole(other.userId, { role: 'user' })).status).toBe(200)
    // The token still says admin; the database says user, and wins.
    await expectError(await call('/api/admin/users?limit=1', { token: accessToken }), 403, 'FORBIDDEN')
    await expectError(await patchRole(other.userId, { role: 'admin' }, accessToken), 403, 'FORBIDDEN')
    expect((await getUser(other.userId)).role).toBe('user')
    // The session itself lives on: only the role changed.
    expect((await call('/api/user/profile', { token: accessToken })).status).toBe(200)
  })
})

describe('DELETE /api/admin/users/:id', () => {
  it('soft-deletes the user: sessions die, login is refused, admins still see it', async () => {
    const m = marker('gone')
    const email = `${m}@example.com`
    await register({ email, name: `${m} target` })
    const target = await signIn({ email })
    // A second session of the same account, a minute later.
    vi.setSystemTime(Date.now() + 61_000)
    const second = await signIn({ email, transport: 'body' })

    const response = await deleteUser(target.userId)
    expect(response.status).toBe(200)
    expect((await body(response)).success).toBe(true)

    await expectError(await call('/api/user/profile', { token: target.accessToken }), 401, 'TOKEN_REVOKED')
    await expectError(await call('/api/auth/refresh', { method: 'POST', cookie: target.refreshToken }), 401, 'TOKEN_REVOKED')
    await expectError(await call('/api/user/profile', { token: second.accessToken }), 401, 'TOKEN_REVOKED')
    await expectError(await call('/api/auth/refresh', { json: { refreshToken: second.refreshToken } }), 401, 'TOKEN_REVOKED')
    await expectError(await call('/api/auth/login', { json: { email, password: PASSWORD } }), 401, 'INVALID_CREDENTIALS')

    const found = await getUser(target.userId)
    expect(found.deletedAt).toMatch(ISO)
    expect(Date.parse(found.deletedAt!)).toBeGreaterThanOrEqual(Date.parse(found.createdAt))
    expect((await listUsers({ q: m })).users).toEqual([])
    const withDeleted = await listUsers({ q: m, includeDeleted: 'true' })
    expect(withDeleted.users.map((user) => user.id)).toEqual([target.userId])
    expect(withDeleted.users[0]!.deletedAt).toMatch(ISO)
  })

  it('refuses to delete the calling admin itself with 400 VALIDATION_ERROR', async () => {
    await expectError(await deleteUser(admin.userId), 400, 'VALIDATION_ERROR')
    expect((await getUser(admin.userId)).deletedAt).toBeNull()
    expect((await call('/api/admin/users?limit=1', { token: admin.accessToken })).status).toBe(200)
  })

  it('answers 404 NOT_FOUND for an unknown id', async () => {
    await expectError(await deleteUser(crypto.randomUUID()), 404, 'NOT_FOUND')
  })
})
