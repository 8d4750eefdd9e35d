import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  addPasskey,
  APP_ORIGIN,
  body,
  call,
  expectError,
  FLAGS,
  loginOptions,
  mailedTo,
  ORIGIN,
  passkeyLogin,
  register,
  registerOptions,
  signIn,
  SoftAuthenticator,
  uniqueEmail,
  type Session,
} from './helpers'

const b64urlBytes = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
const notices = (email: string) => mailedTo(email).flatMap((m) => ('notice' in m ? [(m as { notice: string }).notice] : []))
const passkeyRow = (id: string) => env.DB.prepare('SELECT counter, last_used_at, name FROM passkeys WHERE id = ?').bind(id).first<{ counter: number; last_used_at: number | null; name: string }>()
const auditOf = (userId: string, type: string) =>
  env.DB.prepare('SELECT alert, detail FROM audit_events WHERE user_id = ? AND type = ?').bind(userId, type).all<{ alert: number; detail: string }>()

afterEach(() => void vi.useRealTimers())

describe('POST /api/auth/passkeys/register/options', () => {
  it('answers creation options: RP from config, an opaque user handle, resident key and user verification required', async () => {
    const s = await signIn()
    const { challengeId, options } = await registerOptions(s.accessToken)
    expect(challengeId).toMatch(/^[0-9a-f-]{36}$/)
    expect(options.rp).toEqual({ id: 'auth.test', name: 'edge-auth' })
    expect(b64urlBytes(options.challenge)).toHaveLength(32)
    expect(b64urlBytes(options.user.id)).toHaveLength(32)
    expect(options.user.id).not.toContain(s.userId)
    expect(new TextDecoder().decode(b64urlBytes(options.user.id))).not.toContain(s.email)
    expect(options.user.name).toBe(s.email)
    expect(options).toMatchObject({
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }, { type: 'public-key', alg: -8 }, { type: 'public-key', alg: -257 }],
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      attestation: 'none',
      excludeCredentials: [],
      timeout: 300_000,
    })
    // The same account keeps one handle; the challenge changes.
    const again = await registerOptions(s.accessToken)
    expect(again.options.user.id).toBe(options.user.id)
    expect(again.options.challenge).not.toBe(options.challenge)
  })

  it('excludes the passkeys the account already has', async () => {
    const s = await signIn()
    const { credentialId } = await addPasskey(s)
    const { options } = await registerOptions(s.accessToken)
    expect(options.excludeCredentials).toEqual([{ type: 'public-key', id: credentialId, transports: ['internal'] }])
  })

  it('stores only a hash of the challenge', async () => {
    const s = await signIn()
    const { challengeId, options } = await registerOptions(s.accessToken)
    const row = await env.DB.prepare('SELECT * FROM webauthn_challenges WHERE id = ?').bind(challengeId).first()
    expect(JSON.stringify(row)).not.toContain(options.challenge)
  })

  it('needs a bearer token', async () => {
    await expectError(await call('/api/auth/passkeys/register/options', { json: {} }), 401, 'TOKEN_MISSING')
  })
})

describe('POST /api/auth/passkeys/register/verify', () => {
  it('adds a passkey, lists it, and tells the owner', async () => {
    const s = await signIn()
    const { passkey } = await addPasskey(s, undefined, 'Laptop')
    expect(passkey).toEqual({ id: expect.any(String), name: 'Laptop', createdAt: expect.any(String), lastUsedAt: null, backedUp: false })
    const list = await call('/api/auth/passkeys', { token: s.accessToken })
    expect((await body(list)).data.passkeys).toEqual([passkey])
    expect(notices(s.email)).toContain('passkey_added')
  })

  it('names an unnamed passkey by its number', async () => {
    const s = await signIn()
    expect((await addPasskey(s)).passkey.name).toBe('Passkey 1')
    expect((await addPasskey(s)).passkey.name).toBe('Passkey 2')
  })

  const refused = async (tamper: Parameters<SoftAuthenticator['register']>[1], code = 'PASSKEY_INVALID', status = 401) => {
    const s = await signIn()
    const { challengeId, options } = await registerOptions(s.accessToken)
    const { json } = await new SoftAuthenticator(ORIGIN).register(options, tamper)
    await expectError(await call('/api/auth/passkeys/register/verify', { token: s.accessToken, json: { challengeId, credential: json } }), status, code)
    expect((await body(await call('/api/auth/passkeys', { token: s.accessToken }))).data.passkeys).toEqual([])
  }

  it('refuses a response from an origin not in WEBAUTHN_ORIGINS', () => refused({ origin: 'https://evil.test' }))
  it('refuses a response for another RP id', () => refused({ rpId: 'evil.test' }))
  it('refuses a response without the user-verified flag', () => refused({ flags: FLAGS.UP }))
  it('refuses a response without the user-present flag', () => refused({ flags: FLAGS.UV }))
  it('refuses a sign-in response offered as a registration', () => refused({ type: 'webauthn.get' }))
  it('refuses a response to another challenge', () => refused({ challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }))

  it('accepts the origins of CORS_ORIGINS by default', async () => {
    const s = await signIn()
    const { challengeId, options } = await registerOptions(s.accessToken)
    const { json } = await new SoftAuthenticator(APP_ORIGIN).register(options)
    expect((await call('/api/auth/passkeys/register/verify', { token: s.accessToken, json: { challengeId, credential: json } })).status).toBe(201)
  })

  it('spends the challenge once: a replayed response is CHALLENGE_EXPIRED', async () => {
    const s = await signIn()
    const { challengeId, options } = await registerOptions(s.accessToken)
    const { json } = await new SoftAuthenticator(ORIGIN).register(options)
    const send = () => call('/api/auth/passkeys/register/verify', { token: s.accessToken, json: { challengeId, credential: json } })
    expect((await send()).status).toBe(201)
    await expectError(await send(), 401, 'CHALLENGE_EXPIRED')
  })

  it('spends the challenge on a failed response too', async () => {
    const s = await signIn()
    const { challengeId, options } = await registerOptions(s.accessToken)
    const authenticator = new SoftAuthenticator(ORIGIN)
    const bad = await authenticator.register(options, { origin: 'https://evil.test' })
    await expectError(await call('/api/auth/passkeys/register/verify', { token: s.accessToken, json: { challengeId, credential: bad.json } }), 401, 'PASSKEY_INVALID')
    const good = await authenticator.register(options)
    await expectError(await call('/api/auth/passkeys/register/verify', { token: s.accessToken, json: { challengeId, credential: good.json } }), 401, 'CHALLENGE_EXPIRED')
  })

  it("refuses another account's registration challenge", async () => {
    const a = await signIn()
    const b = await signIn()
    const { challengeId, options } = await registerOptions(a.accessToken)
    const { json } = await new SoftAuthenticator(ORIGIN).register(options)
    await expectError(await call('/api/auth/passkeys/register/verify', { token: b.accessToken, json: { challengeId, credential: json } }), 401, 'CHALLENGE_EXPIRED')
    // Refused without spending it: its owner can still finish.
    expect((await call('/api/auth/passkeys/register/verify', { token: a.accessToken, json: { challengeId, credential: json } })).status).toBe(201)
  })

  it('refuses a challenge older than 5 minutes', async () => {
    const s = await signIn()
    const { challengeId, options } = await registerOptions(s.accessToken)
    const { json } = await new SoftAuthenticator(ORIGIN).register(options)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1)
    const response = await call('/api/auth/passkeys/register/verify', { token: s.accessToken, json: { challengeId, credential: json } })
    vi.useRealTimers()
    await expectError(response, 401, 'CHALLENGE_EXPIRED')
  })

  it('refuses a credential another account has registered, and one whose id is not the attested one', async () => {
    const a = await signIn()
    const b = await signIn()
    const { authenticator } = await addPasskey(a)
    const stolen = authenticator.credentials[0]!
    const first = await registerOptions(b.accessToken)
    const cloned = await authenticator.register(first.options, { reuse: stolen })
    await expectError(await call('/api/auth/passkeys/register/verify', { token: b.accessToken, json: { challengeId: first.challengeId, credential: cloned.json } }), 401, 'PASSKEY_INVALID')
    const second = await registerOptions(b.accessToken)
    const { json } = await authenticator.register(second.options)
    const swapped = { ...json, id: stolen.id, rawId: stolen.id }
    await expectError(await call('/api/auth/passkeys/register/verify', { token: b.accessToken, json: { challengeId: second.challengeId, credential: swapped } }), 401, 'PASSKEY_INVALID')
    expect((await body(await call('/api/auth/passkeys', { token: b.accessToken }))).data.passkeys).toEqual([])
  })

  it('answers bad input with the validation envelope', async () => {
    const s = await signIn()
    const { challengeId, options } = await registerOptions(s.accessToken)
    const { json } = await new SoftAuthenticator(ORIGIN).register(options)
    const send = (payload: unknown) => call('/api/auth/passkeys/register/verify', { token: s.accessToken, json: payload })
    await expectError(await send({ challengeId, credential: json, role: 'admin' }), 400, 'VALIDATION_ERROR')
    await expectError(await send({ challengeId, credential: { ...json, response: { ...json.response, clientDataJSON: 'not base64url!' } } }), 400, 'VALIDATION_ERROR')
    await expectError(await send({ challengeId: 'nope', credential: json }), 400, 'VALIDATION_ERROR')
    await expectError(await send({ challengeId, credential: json, name: '' }), 400, 'VALIDATION_ERROR')
    // Garbage that is base64url is a refused passkey, not a 500.
    const garbage = { ...json, response: { ...json.response, attestationObject: 'AAAA' } }
    await expectError(await send({ challengeId, credential: garbage }), 401, 'PASSKEY_INVALID')
    expect((await body(await call('/api/auth/passkeys', { token: s.accessToken }))).data.passkeys).toEqual([])
  })
})

describe('POST /api/auth/passkeys/login/options', () => {
  it('asks for a discoverable credential with user verification', async () => {
    const { options } = await loginOptions()
    expect(options).toEqual({ challenge: expect.any(String), timeout: 300_000, rpId: 'auth.test', userVerification: 'required' })
    expect(options).not.toHaveProperty('allowCredentials')
  })
})

describe('POST /api/auth/passkeys/login/verify', () => {
  it('signs in with no email and no password: the token response, a session with amr ["passkey"] and aal2', async () => {
    const s = await signIn()
    const { authenticator, passkey } = await addPasskey(s)
    const { response } = await passkeyLogin(authenticator)
    expect(response.status).toBe(200)
    const data = (await body(response)).data
    expect(data.user.id).toBe(s.userId)
    expect(response.headers.getSetCookie().join()).toContain('__Host-refresh_token=')
    const sessions = (await body(await call('/api/auth/sessions', { token: data.accessToken }))).data.sessions as { current: boolean; aal: string; amr: string[] }[]
    expect(sessions.find((x) => x.current)).toMatchObject({ aal: 'aal2', amr: ['passkey'] })
    const row = await passkeyRow(passkey.id)
    expect(row).toMatchObject({ counter: 1, last_used_at: expect.any(Number) })
  })

  it.each(['EdDSA', 'RS256'] as const)('registers and signs in with an %s passkey', async (algorithm) => {
    const s = await signIn()
    const { authenticator, passkey } = await addPasskey(s, new SoftAuthenticator(ORIGIN, algorithm))
    expect((await passkeyLogin(authenticator)).response.status).toBe(200)
    const row = await env.DB.prepare('SELECT algorithm FROM passkeys WHERE id = ?').bind(passkey.id).first<{ algorithm: number }>()
    expect(row?.algorithm).toBe(algorithm === 'EdDSA' ? -8 : -257)
    // A signature by another key of the same kind does not verify.
    const other = new SoftAuthenticator(ORIGIN, algorithm)
    await other.register({ rp: { id: 'auth.test' }, user: { id: 'AAAA' }, challenge: 'AAAA' })
    const mine = authenticator.credentials[0]!
    const forged = { ...other.credentials[0]!, id: mine.id, userHandle: mine.userHandle }
    await expectError((await passkeyLogin(authenticator, { credential: forged })).response, 401, 'PASSKEY_INVALID')
  })

  it('hands the refresh token in the body with tokenTransport "body"', async () => {
    const s = await signIn()
    const { authenticator } = await addPasskey(s)
    const { response } = await passkeyLogin(authenticator, {}, { tokenTransport: 'body' })
    expect(response.status).toBe(200)
    expect((await body(response)).data.refreshToken).toEqual(expect.any(String))
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it('accepts an authenticator that keeps no counter (always zero)', async () => {
    const s = await signIn()
    const { authenticator } = await addPasskey(s)
    expect((await passkeyLogin(authenticator, { counter: 0 })).response.status).toBe(200)
    expect((await passkeyLogin(authenticator, { counter: 0 })).response.status).toBe(200)
  })

  const refusedLogin = async (tamper: Parameters<SoftAuthenticator['login']>[1]) => {
    const s = await signIn()
    const { authenticator, passkey } = await addPasskey(s)
    const before = await passkeyRow(passkey.id)
    await expectError((await passkeyLogin(authenticator, tamper)).response, 401, 'PASSKEY_INVALID')
    // Nothing changed: the counter and last use are as they were, and a right response still works.
    expect(await passkeyRow(passkey.id)).toEqual(before)
    expect((await passkeyLogin(authenticator)).response.status).toBe(200)
  }

  it('refuses a response from an origin not in WEBAUTHN_ORIGINS', () => refusedLogin({ origin: 'https://auth.test.evil.test' }))
  it('refuses a response for another RP id', () => refusedLogin({ rpId: 'evil.test' }))
  it('refuses a response without the user-verified flag', () => refusedLogin({ flags: FLAGS.UP }))
  it('refuses a registration response type offered as a sign-in', () => refusedLogin({ type: 'webauthn.create' }))
  it("refuses a user handle that is not the credential's account's", () => refusedLogin({ userHandle: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }))

  it('refuses a signature that does not verify', async () => {
    const s = await signIn()
    const { authenticator } = await addPasskey(s)
    const { challengeId, options } = await loginOptions()
    const credential = await authenticator.login(options)
    // Another key's signature over the same data: a valid DER signature, the wrong signer.
    const other = new SoftAuthenticator(ORIGIN)
    await other.register({ rp: { id: 'auth.test' }, user: { id: 'x' }, challenge: 'x' })
    const forged = await other.login(options, { credential: { ...other.credentials[0]!, id: credential.id } })
    forged.response.authenticatorData = credential.response.authenticatorData
    await expectError(await call('/api/auth/passkeys/login/verify', { json: { challengeId, credential: { ...credential, response: { ...credential.response, signature: forged.response.signature } } } }), 401, 'PASSKEY_INVALID')
  })

  it('spends the challenge once: a replayed assertion is CHALLENGE_EXPIRED', async () => {
    const s = await signIn()
    const { authenticator } = await addPasskey(s)
    const { response, challengeId, credential } = await passkeyLogin(authenticator)
    expect(response.status).toBe(200)
    await expectError(await call('/api/auth/passkeys/login/verify', { json: { challengeId, credential } }), 401, 'CHALLENGE_EXPIRED')
  })

  it('lets only one of ten parallel presentations of one assertion through', async () => {
    const s = await signIn()
    const { authenticator } = await addPasskey(s)
    const { challengeId, options } = await loginOptions()
    const credential = await authenticator.login(options)
    const responses = await Promise.all(Array.from({ length: 10 }, () => call('/api/auth/passkeys/login/verify', { json: { challengeId, credential } })))
    expect(responses.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(401)])
  })

  it("refuses a registration challenge (another ceremony's)", async () => {
    const s = await signIn()
    const { authenticator } = await addPasskey(s)
    const { challengeId, options } = await registerOptions(s.accessToken)
    const credential = await authenticator.login({ rpId: 'auth.test', challenge: options.challenge })
    await expectError(await call('/api/auth/passkeys/login/verify', { json: { challengeId, credential } }), 401, 'CHALLENGE_EXPIRED')
  })

  it('refuses a counter that does not increase, and writes an alert', async () => {
    const s = await signIn()
    const { authenticator, passkey } = await addPasskey(s)
    expect((await passkeyLogin(authenticator, { counter: 5 })).response.status).toBe(200)
    await expectError((await passkeyLogin(authenticator, { counter: 5 })).response, 401, 'PASSKEY_INVALID')
    await expectError((await passkeyLogin(authenticator, { counter: 3 })).response, 401, 'PASSKEY_INVALID')
    expect((await passkeyRow(passkey.id))?.counter).toBe(5)
    const alerts = (await auditOf(s.userId, 'passkey_counter_regressed')).results
    expect(alerts).toHaveLength(2)
    expect(alerts[0]!.alert).toBe(1)
    expect(JSON.parse(alerts[0]!.detail)).toEqual({ passkeyId: passkey.id, stored: 5, presented: 5 })
    expect((await passkeyLogin(authenticator, { counter: 6 })).response.status).toBe(200)
  })

  it('refuses an unknown credential', async () => {
    const stranger = new SoftAuthenticator(ORIGIN)
    await stranger.register({ rp: { id: 'auth.test' }, user: { id: 'AAAA' }, challenge: 'AAAA' })
    await expectError((await passkeyLogin(stranger)).response, 401, 'PASSKEY_INVALID')
  })

  it("refuses a deleted account's passkey", async () => {
    const s = await signIn()
    const { authenticator } = await addPasskey(s)
    expect((await call('/api/user/profile', { method: 'DELETE', token: s.accessToken, json: { password: s.password } })).status).toBe(200)
    await expectError((await passkeyLogin(authenticator)).response, 401, 'PASSKEY_INVALID')
  })

  it("answers ACCOUNT_BANNED for a banned account's passkey", async () => {
    const adminEmail = uniqueEmail('admin')
    const adminEnv = { ADMIN_EMAILS: adminEmail }
    await register({ email: adminEmail, env: adminEnv })
    const admin: Session = await signIn({ email: adminEmail, env: adminEnv })
    const s = await signIn()
    const { authenticator } = await addPasskey(s)
    expect((await call(`/api/admin/users/${s.userId}/ban`, { token: admin.accessToken, json: { reason: 'spam' }, env: adminEnv })).status).toBe(200)
    await expectError((await passkeyLogin(authenticator)).response, 403, 'ACCOUNT_BANNED')
  })

  it('answers bad input with the validation envelope', async () => {
    const { challengeId } = await loginOptions()
    await expectError(await call('/api/auth/passkeys/login/verify', { json: { challengeId } }), 400, 'VALIDATION_ERROR')
    await expectError(await call('/api/auth/passkeys/login/verify', { json: { challengeId, credential: { id: 'x' }, email: 'a@b.c' } }), 400, 'VALIDATION_ERROR')
    await expectError(await call('/api/auth/passkeys/login/options', { json: { extra: 1 } }), 400, 'VALIDATION_ERROR')
  })
})

describe('PATCH and DELETE /api/auth/passkeys/:id', () => {
  it('renames a passkey', async () => {
    const s = await signIn()
    const { passkey } = await addPasskey(s)
    const response = await call(`/api/auth/passkeys/${passkey.id}`, { method: 'PATCH', token: s.accessToken, json: { name: '  Work phone ' } })
    expect(response.status).toBe(200)
    expect((await body(response)).data.passkey).toEqual({ ...passkey, name: 'Work phone' })
  })

  it("answers 404 for another account's passkey and leaves it alone", async () => {
    const a = await signIn()
    const b = await signIn()
    const { passkey } = await addPasskey(a, undefined, 'Mine')
    await expectError(await call(`/api/auth/passkeys/${passkey.id}`, { method: 'PATCH', token: b.accessToken, json: { name: 'Yours' } }), 404, 'NOT_FOUND')
    await expectError(await call(`/api/auth/passkeys/${passkey.id}`, { method: 'DELETE', token: b.accessToken }), 404, 'NOT_FOUND')
    await expectError(await call('/api/auth/passkeys/nope', { method: 'DELETE', token: b.accessToken }), 404, 'NOT_FOUND')
    expect((await passkeyRow(passkey.id))?.name).toBe('Mine')
    expect((await body(await call('/api/auth/passkeys', { token: b.accessToken }))).data.passkeys).toEqual([])
  })

  it('removes a passkey, tells the owner, and it signs in no more', async () => {
    const s = await signIn()
    const { passkey, authenticator } = await addPasskey(s)
    const response = await call(`/api/auth/passkeys/${passkey.id}`, { method: 'DELETE', token: s.accessToken })
    expect(response.status).toBe(200)
    expect(notices(s.email)).toContain('passkey_removed')
    expect((await body(await call('/api/auth/passkeys', { token: s.accessToken }))).data.passkeys).toEqual([])
    await expectError((await passkeyLogin(authenticator)).response, 401, 'PASSKEY_INVALID')
  })

  it('refuses a name that is not one', async () => {
    const s = await signIn()
    const { passkey } = await addPasskey(s)
    await expectError(await call(`/api/auth/passkeys/${passkey.id}`, { method: 'PATCH', token: s.accessToken, json: { name: 'a\u202Eb' } }), 400, 'VALIDATION_ERROR')
    await expectError(await call(`/api/auth/passkeys/${passkey.id}`, { method: 'PATCH', token: s.accessToken, json: { name: 'x'.repeat(65) } }), 400, 'VALIDATION_ERROR')
  })
})

describe('the admin user object', () => {
  it('counts the passkeys in mfa.passkeys', async () => {
    const adminEmail = uniqueEmail('admin')
    const adminEnv = { ADMIN_EMAILS: adminEmail }
    await register({ email: adminEmail, env: adminEnv })
    const admin = await signIn({ email: adminEmail, env: adminEnv })
    const s = await signIn()
    await addPasskey(s)
    await addPasskey(s)
    const response = await call(`/api/admin/users/${s.userId}`, { token: admin.accessToken, env: adminEnv })
    expect((await body(response)).data.user.mfa).toMatchObject({ passkeys: 2 })
  })
})

describe('secrets in logs and audit details', () => {
  it('never writes a challenge or a client data blob to the log or the audit trail', async () => {
    // Spies that call through (the mailbox helper reads console.log too) and keep every line.
    const spies = (['log', 'info', 'warn', 'error'] as const).map((level) => vi.spyOn(console, level))
    try {
      const s = await signIn()
      const { challengeId, options } = await registerOptions(s.accessToken)
      const authenticator = new SoftAuthenticator(ORIGIN)
      const { json } = await authenticator.register(options)
      expect((await call('/api/auth/passkeys/register/verify', { token: s.accessToken, json: { challengeId, credential: json } })).status).toBe(201)
      const login = await loginOptions()
      const assertion = await authenticator.login(login.options, { counter: 0 })
      await call('/api/auth/passkeys/login/verify', { json: { challengeId: login.challengeId, credential: assertion } })
      // A refused one too: its reason is logged, never its material.
      const again = await loginOptions()
      const stale = await authenticator.login(again.options, { origin: 'https://evil.test' })
      await call('/api/auth/passkeys/login/verify', { json: { challengeId: again.challengeId, credential: stale } })
      const audit = await env.DB.prepare('SELECT detail FROM audit_events WHERE user_id = ?').bind(s.userId).all<{ detail: string | null }>()
      const lines = spies.flatMap((spy) => spy.mock.calls.map((args: unknown[]) => args.map(String).join(' ')))
      const written = [...lines, ...audit.results.map((row) => row.detail ?? '')].join('\n')
      for (const secret of [options.challenge, login.options.challenge, again.options.challenge, json.response.clientDataJSON, assertion.response.signature]) {
        expect(written).not.toContain(secret)
      }
      // The refusal's reason is recorded, in words.
      expect(written).toContain('an origin that is not allowed')
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
  })
})
