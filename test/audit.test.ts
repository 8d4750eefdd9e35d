import { decodeJwt } from 'jose'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, lastCode, PASSWORD, refreshCookie, register, signIn, uniqueEmail, type CallInit, type Session, wrongCode, advance } from './helpers'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/
const UUID_ANYWHERE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi
const EVENT_KEYS = ['actorId', 'alert', 'at', 'detail', 'id', 'ip', 'requestId', 'sessionId', 'type', 'userAgent', 'userId']

interface AuditEvent {
  id: string
  at: string
  type: string
  userId: string | null
  actorId: string | null
  sessionId: string | null
  ip: string | null
  userAgent: string | null
  requestId: string | null
  alert: boolean
  detail: Record<string, unknown> | null
}

/** A six-digit code guaranteed to differ from `code`. */

afterEach(() => {
  vi.useRealTimers()
})

let admin: Session

/** Everything the flow below produced, for the assertions. */
const flow = {
  run: crypto.randomUUID().slice(0, 8),
  userId: '',
  email: '',
  /** The request id and client address of each step, by step name. */
  steps: new Map<string, { requestId: string; ip: string }>(),
  sessionIds: [] as string[],
  /** Every password typed, every token issued and every code used: none may reach the audit trail. */
  passwords: [] as string[],
  tokens: [] as string[],
  codes: [] as string[],
  startedAt: 0,
  endedAt: 0,
  /** A second account the admin promotes and deletes. */
  targetId: '',
  unknownEmail: '',
}

let stepCounter = 0
/** The options of one traced step: a request id of our own (echoed and stored) and a client address. */
function step(name: string): CallInit {
  const trace = { requestId: `audit-${flow.run}-${name}`, ip: `198.51.100.${++stepCounter}` }
  flow.steps.set(name, trace)
  return { headers: { 'X-Request-Id': trace.requestId }, ip: trace.ip }
}

/** Moves the frozen clock forward. */

const collect = (data: { accessToken?: string; refreshToken?: string }, response: Response) => {
  for (const token of [data.accessToken, data.refreshToken, refreshCookie(response)]) if (token) flow.tokens.push(token)
}

/** Password + code login, each request traced as `<name>-login` / `<name>`; returns the session. */
async function login(name: string, password: string, transport: 'cookie' | 'body' = 'cookie') {
  const started = await call('/api/auth/login', { json: { email: flow.email, password }, ...step(`${name}-login`) })
  expect(started.status).toBe(200)
  const { challengeId } = (await body(started)).data
  const code = lastCode(flow.email, 'login')
  flow.codes.push(code)
  const verified = await call('/api/auth/verify-otp', {
    json: { challengeId, otp: code, ...(transport === 'body' ? { tokenTransport: 'body' } : {}) },
    ...step(name),
  })
  expect(verified.status).toBe(200)
  const data = (await body(verified)).data
  collect(data, verified)
  const sessionId = decodeJwt(data.accessToken).sid as string
  flow.sessionIds.push(sessionId)
  return { accessToken: data.accessToken as string, refreshToken: (data.refreshToken ?? refreshCookie(verified)) as string, sessionId, challengeId }
}

async function adminGet(path: string) {
  const response = await call(path, { token: admin.accessToken })
  expect(response.status).toBe(200)
  return (await body(response)).data as { events: AuditEvent[]; nextCursor: string | null }
}

/** Every event matching `query`, following the cursor (bounded). */
async function allEvents(query: Record<string, string>, maxPages = 50) {
  const events: AuditEvent[] = []
  let cursor: string | null = null
  for (let page = 0; page < maxPages; page++) {
    const data = await adminGet(`/api/admin/audit?${new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) })}`)
    events.push(...data.events)
    cursor = data.nextCursor
    if (!cursor) return events
  }
  throw new Error(`more than ${maxPages} pages for ${JSON.stringify(query)}`)
}

beforeAll(async () => {
  const adminEmail = uniqueEmail('audit-admin')
  await register({ email: adminEmail, env: { ADMIN_EMAILS: adminEmail } })
  admin = await signIn({ email: adminEmail, env: { ADMIN_EMAILS: adminEmail } })
  flow.tokens.push(admin.accessToken, admin.refreshToken)

  // The clock is frozen and moved by hand: the sessions open a minute apart,
  // and a rotated refresh token is a reuse only once its 10 s grace has passed.
  vi.setSystemTime(Date.now())
  flow.startedAt = Date.now()
  try {
    const [p1, p2, p3, wrong] = [PASSWORD, 'Second-horse-42!', 'Third-horse-77?', 'Wrong-horse-13#']
    flow.passwords.push(p1, p2, p3, wrong)
    flow.email = uniqueEmail('audited')

    const registered = await call('/api/auth/register', { json: { email: flow.email, password: p1, name: 'Audited User' }, ...step('register') })
    expect(registered.status).toBe(201)
    flow.userId = (await body(registered)).data.user.id

    const verifyCode = lastCode(flow.email, 'verify_email')
    flow.codes.push(verifyCode)
    expect((await call('/api/auth/verify-email', { json: { email: flow.email, otp: verifyCode }, ...step('verify-email') })).status).toBe(200)

    await expectError(await call('/api/auth/login', { json: { email: flow.email, password: wrong }, ...step('login-wrong') }), 401, 'INVALID_CREDENTIALS')

    // First login, with one wrong code before the right one.
    const started = await call('/api/auth/login', { json: { email: flow.email, password: p1 }, ...step('s1-login') })
    expect(started.status).toBe(200)
    const { challengeId } = (await body(started)).data
    const code1 = lastCode(flow.email, 'login')
    const guess = wrongCode(code1)
    flow.codes.push(code1, guess)
    await expectError(await call('/api/auth/verify-otp', { json: { challengeId, otp: guess }, ...step('otp-wrong') }), 401, 'OTP_INVALID')
    const verified = await call('/api/auth/verify-otp', { json: { challengeId, otp: code1 }, ...step('s1') })
    expect(verified.status).toBe(200)
    const s1Data = (await body(verified)).data
    collect(s1Data, verified)
    const s1Refresh = refreshCookie(verified)!
    flow.sessionIds.push(decodeJwt(s1Data.accessToken).sid as string)

    advance(1_000)
    const refreshed = await call('/api/auth/refresh', { method: 'POST', cookie: s1Refresh, ...step('refresh') })
    expect(refreshed.status).toBe(200)
    collect((await body(refreshed)).data, refreshed)

    // The rotated token comes back after its grace: the whole session is revoked.
    advance(11_000)
    await expectError(await call('/api/auth/refresh', { method: 'POST', cookie: s1Refresh, ...step('reuse') }), 401, 'TOKEN_REUSED')

    advance(61_000)
    const s2 = await login('s2', p1, 'body')
    expect((await call('/api/auth/logout', { json: { refreshToken: s2.refreshToken }, ...step('logout') })).status).toBe(200)

    advance(61_000)
    const s3 = await login('s3', p1)
    const profile = await call('/api/user/profile', { method: 'PATCH', json: { name: 'Renamed User' }, token: s3.accessToken, ...step('profile') })
    expect(profile.status).toBe(200)
    const changed = await call('/api/auth/password/change', {
      json: { currentPassword: p1, newPassword: p2 },
      token: s3.accessToken,
      ...step('password-change'),
    })
    expect(changed.status).toBe(200)

    expect((await call('/api/auth/password/forgot', { json: { email: flow.email }, ...step('forgot') })).status).toBe(200)
    const resetCode = lastCode(flow.email, 'reset_password')
    flow.codes.push(resetCode)
    const reset = await call('/api/auth/password/reset', { json: { email: flow.email, otp: resetCode, newPassword: p3 }, ...step('reset') })
    expect(reset.status).toBe(200)

    advance(61_000)
    const s4 = await login('s4', p3)
    advance(61_000)
    const s5 = await login('s5', p3)
    expect((await call(`/api/auth/sessions/${s4.sessionId}`, { method: 'DELETE', token: s5.accessToken, ...step('session-revoke') })).status).toBe(200)
    const all = await call('/api/auth/logout-all', { method: 'POST', token: s5.accessToken, ...step('logout-all') })
    expect(all.status).toBe(200)
    expect((await body(all)).data.revoked).toBe(1)

    advance(61_000)
    const s6 = await login('s6', p3)
    const deleted = await call('/api/user/profile', { method: 'DELETE', json: { password: p3 }, token: s6.accessToken, ...step('account-delete') })
    expect(deleted.status).toBe(200)

    // Admin actions on another account.
    const target = await register()
    flow.targetId = target.user.id
    expect((await call(`/api/admin/users/${flow.targetId}`, { method: 'PATCH', json: { role: 'admin' }, token: admin.accessToken, ...step('role-change') })).status).toBe(200)
    expect((await call(`/api/admin/users/${flow.targetId}`, { method: 'DELETE', token: admin.accessToken, ...step('admin-delete') })).status).toBe(200)

    // A failed login for an address no account holds.
    flow.unknownEmail = uniqueEmail('nobody-home')
    await expectError(await call('/api/auth/login', { json: { email: flow.unknownEmail, password: wrong }, ...step('login-unknown') }), 401, 'INVALID_CREDENTIALS')
    flow.endedAt = Date.now()
  } finally {
    vi.useRealTimers()
  }
})

/** The step each event of the audited user must come from, by type. */
const EXPECTED: [type: string, step: string][] = [
  ['register', 'register'],
  ['email_verified', 'verify-email'],
  ['login_failure', 'login-wrong'],
  ['otp_failure', 'otp-wrong'],
  ['login_success', 's1'],
  ['refresh', 'refresh'],
  ['refresh_token_reuse', 'reuse'],
  ['login_success', 's2'],
  ['logout', 'logout'],
  ['login_success', 's3'],
  ['profile_updated', 'profile'],
  ['password_changed', 'password-change'],
  ['password_reset_requested', 'forgot'],
  ['password_reset_completed', 'reset'],
  ['login_success', 's4'],
  ['login_success', 's5'],
  ['session_revoked', 'session-revoke'],
  ['logout_all', 'logout-all'],
  ['login_success', 's6'],
  ['account_deleted', 'account-delete'],
]

describe('GET /api/admin/audit', () => {
  it('is for admins only: 403 FORBIDDEN for a user, 401 TOKEN_MISSING without a token', async () => {
    const user = await signIn()
    await expectError(await call(`/api/admin/audit?userId=${user.userId}`, { token: user.accessToken }), 403, 'FORBIDDEN')
    await expectError(await call('/api/admin/audit'), 401, 'TOKEN_MISSING')
  })

  it('records every account event of a user, each with the request it came from', async () => {
    const data = await adminGet(`/api/admin/audit?userId=${flow.userId}&limit=100`)
    expect(data.nextCursor).toBeNull()
    const events = data.events

    for (const [type, name] of EXPECTED) {
      const trace = flow.steps.get(name)!
      const matches = events.filter((event) => event.type === type && event.requestId === trace.requestId)
      expect({ type, name, count: matches.length }).toEqual({ type, name, count: 1 })
      const [event] = matches
      expect({ type, userId: event!.userId, actorId: event!.actorId, ip: event!.ip }).toEqual({
        type,
        userId: flow.userId,
        actorId: flow.userId,
        ip: trace.ip,
      })
    }
    // Nothing else was recorded for this user (the 'refresh' step is one rotation, and so on).
    const expectedTypes = EXPECTED.map(([type]) => type).sort()
    expect(events.map((event) => event.type).sort()).toEqual(expectedTypes)
  })

  it('ties session events to their session, and flags refresh-token reuse as an alert', async () => {
    const events = (await adminGet(`/api/admin/audit?userId=${flow.userId}&limit=100`)).events
    const byStep = (name: string) => events.find((event) => event.requestId === flow.steps.get(name)!.requestId)!
    const [s1, s2, s3, s4, s5, s6] = flow.sessionIds
    expect(byStep('s1').sessionId).toBe(s1)
    expect(byStep('refresh').sessionId).toBe(s1)
    expect(byStep('reuse').sessionId).toBe(s1)
    expect(byStep('s2').sessionId).toBe(s2)
    expect(byStep('logout').sessionId).toBe(s2)
    expect(byStep('s3').sessionId).toBe(s3)
    expect(byStep('password-change').sessionId).toBe(s3)
    expect(byStep('session-revoke').sessionId).toBe(s4)
    expect(byStep('logout-all').sessionId).toBe(s5)
    expect(byStep('account-delete').sessionId).toBe(s6)
    expect(new Set(flow.sessionIds).size).toBe(6)

    const reuse = events.filter((event) => event.type === 'refresh_token_reuse')
    expect(reuse).toHaveLength(1)
    expect(reuse[0]!.alert).toBe(true)
    for (const event of events.filter((e) => e.type !== 'refresh_token_reuse')) expect({ type: event.type, alert: event.alert }).toEqual({ type: event.type, alert: false })

    expect(byStep('login-wrong').detail).toMatchObject({ reason: 'wrong_password' })
    expect(byStep('otp-wrong').detail).toMatchObject({ attemptsLeft: 4 })
  })

  it('records admin actions with the admin as actor', async () => {
    const events = await allEvents({ userId: flow.targetId, limit: '100' })
    const roleChanged = events.filter((event) => event.type === 'role_changed')
    expect(roleChanged).toHaveLength(1)
    expect(roleChanged[0]).toMatchObject({
      userId: flow.targetId,
      actorId: admin.userId,
      requestId: flow.steps.get('role-change')!.requestId,
      ip: flow.steps.get('role-change')!.ip,
      detail: { from: 'user', to: 'admin' },
    })
    const deleted = events.filter((event) => event.type === 'admin_user_deleted')
    expect(deleted).toHaveLength(1)
    expect(deleted[0]).toMatchObject({
      userId: flow.targetId,
      actorId: admin.userId,
      requestId: flow.steps.get('admin-delete')!.requestId,
      ip: flow.steps.get('admin-delete')!.ip,
    })
  })

  it('records a failed login for an unknown email with userId null and an email digest, never the email', async () => {
    const requestId = flow.steps.get('login-unknown')!.requestId
    const failures = await allEvents({ type: 'login_failure', limit: '100' })
    const matches = failures.filter((event) => event.requestId === requestId)
    expect(matches).toHaveLength(1)
    const [event] = matches
    expect(event!.userId).toBeNull()
    expect(event!.actorId).toBeNull()
    expect(event!.ip).toBe(flow.steps.get('login-unknown')!.ip)
    expect(event!.detail).toEqual(expect.objectContaining({ emailDigest: expect.any(String) }))
    const digest = event!.detail!.emailDigest as string
    expect(digest.length).toBeGreaterThanOrEqual(16)
    const serialized = JSON.stringify(event).toLowerCase()
    expect(serialized).not.toContain(flow.unknownEmail.toLowerCase())
    expect(serialized).not.toContain(flow.unknownEmail.split('@')[0]!.toLowerCase())
    expect(digest).not.toBe(flow.unknownEmail)
  })

  it('gives every event its time, client address and request id', async () => {
    const events = [
      ...(await adminGet(`/api/admin/audit?userId=${flow.userId}&limit=100`)).events,
      ...(await allEvents({ userId: flow.targetId, limit: '100' })),
    ]
    expect(events.length).toBeGreaterThanOrEqual(EXPECTED.length + 3)
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(EVENT_KEYS)
      expect(event.at).toMatch(ISO)
      expect(typeof event.ip).toBe('string')
      expect(event.ip!.length).toBeGreaterThan(0)
      expect(typeof event.requestId).toBe('string')
      expect(event.requestId!.length).toBeGreaterThan(0)
    }
    for (const event of events.filter((e) => e.userId === flow.userId)) {
      const at = Date.parse(event.at)
      expect(at).toBeGreaterThanOrEqual(flow.startedAt)
      expect(at).toBeLessThanOrEqual(flow.endedAt)
    }
  })

  it('never holds a password, a token or a one-time code', async () => {
    const responses = [
      await call(`/api/admin/audit?userId=${flow.userId}&limit=100`, { token: admin.accessToken }),
      await call(`/api/admin/audit?userId=${flow.targetId}&limit=100`, { token: admin.accessToken }),
      await call(`/api/admin/audit?userId=${admin.userId}&limit=100`, { token: admin.accessToken }),
    ]
    let serialized = ''
    for (const response of responses) {
      expect(response.status).toBe(200)
      serialized += await response.text()
    }
    expect(flow.passwords).toHaveLength(4)
    for (const password of flow.passwords) expect(serialized).not.toContain(password)
    expect(flow.tokens.length).toBeGreaterThanOrEqual(2 * 6 + 2)
    for (const token of flow.tokens) {
      expect(serialized).not.toContain(token)
      // Not even its signature.
      expect(serialized).not.toContain(token.split('.')[2]!)
    }
    // Ids are UUIDs whose hex may hold six digits in a row by chance: set them aside before looking for codes.
    const withoutIds = serialized.replace(UUID_ANYWHERE, '<uuid>')
    expect(flow.codes.length).toBe(1 + 6 + 1 + 1)
    for (const code of flow.codes) {
      expect(code).toMatch(/^\d{6}$/)
      expect(withoutIds).not.toContain(code)
    }
  })

  it('filters by type', async () => {
    const logins = await adminGet(`/api/admin/audit?userId=${flow.userId}&type=login_success`)
    expect(logins.events.map((event) => event.sessionId).sort()).toEqual([...flow.sessionIds].sort())
    for (const event of logins.events) expect(event.type).toBe('login_success')

    const reuse = await adminGet(`/api/admin/audit?userId=${flow.userId}&type=refresh_token_reuse`)
    expect(reuse.events.map((event) => event.requestId)).toEqual([flow.steps.get('reuse')!.requestId])

    const roleChanges = await adminGet('/api/admin/audit?type=role_changed&limit=5')
    expect(roleChanges.events.length).toBeGreaterThan(0)
    for (const event of roleChanges.events) expect(event.type).toBe('role_changed')

    const none = await adminGet(`/api/admin/audit?userId=${flow.userId}&type=role_changed`)
    expect(none.events).toEqual([])
    expect(none.nextCursor).toBeNull()
  })

  it('pages newest first with a cursor: no duplicates, no gaps', async () => {
    const whole = (await adminGet(`/api/admin/audit?userId=${flow.userId}&limit=100`)).events
    expect(whole).toHaveLength(EXPECTED.length)
    // Newest first; events of one instant (the clock is frozen between steps) in a stable order by id.
    const times = whole.map((event) => Date.parse(event.at))
    expect(times).toEqual([...times].sort((a, b) => b - a))
    expect(times[0]).toBeGreaterThan(times[times.length - 1]!)
    const keyed = [...whole].sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    expect(whole.map((event) => event.id)).toEqual(keyed.map((event) => event.id))
    expect(new Set(times).size).toBeLessThan(times.length)

    const paged: AuditEvent[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const data = await adminGet(`/api/admin/audit?${new URLSearchParams({ userId: flow.userId, limit: '3', ...(cursor ? { cursor } : {}) })}`)
      expect(data.events.length).toBeLessThanOrEqual(3)
      paged.push(...data.events)
      cursor = data.nextCursor
      pages++
      expect(pages).toBeLessThanOrEqual(10)
    } while (cursor)
    expect(pages).toBe(Math.ceil(EXPECTED.length / 3))
    expect(paged.map((event) => event.id)).toEqual(whole.map((event) => event.id))

    // Cursor and type together.
    const first = await adminGet(`/api/admin/audit?userId=${flow.userId}&type=login_success&limit=4`)
    expect(first.events).toHaveLength(4)
    const second = await adminGet(`/api/admin/audit?userId=${flow.userId}&type=login_success&limit=4&cursor=${first.nextCursor}`)
    expect(second.events).toHaveLength(2)
    expect(second.nextCursor).toBeNull()
    expect([...first.events, ...second.events].map((event) => event.id)).toEqual(
      whole.filter((event) => event.type === 'login_success').map((event) => event.id),
    )
  })

  it('refuses an unknown type, a bad limit or cursor and unknown parameters with 400 VALIDATION_ERROR', async () => {
    const bad = ['type=password_leaked', 'type=', 'limit=0', 'limit=101', 'limit=abc', 'cursor=not-a-cursor!', 'actorId=x']
    for (const query of bad) {
      const response = await call(`/api/admin/audit?${query}`, { token: admin.accessToken })
      expect({ query, status: response.status }).toEqual({ query, status: 400 })
      await expectError(response, 400, 'VALIDATION_ERROR')
    }
  })
})
