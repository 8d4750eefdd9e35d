import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { getDb } from '../src/db/client'
import { purgeExpired } from '../src/db/purge'
import { insertChallenge } from '../src/methods/passkey/queries'
import { liveUserById } from '../src/db/users'
import { ApiError } from '../src/errors'
import { removePasskey } from '../src/methods/passkey/rules'
import type { SignInMethod } from '../src/methods/types'
import { waysIn } from '../src/services/ways-in'
import { addPasskey, signIn, testDeps } from './helpers'

/**
 * LAST_SIGN_IN_METHOD through the waysIn sum: every account has a password today, so these tests
 * run the rule with a password method that counts none, as for an account made by a provider.
 */
function withoutPassword() {
  const made = testDeps()
  const methods = made.deps.methods.map((m): SignInMethod => (m.name === 'password' ? { ...m, waysIn: () => 0 } : m))
  return { ...made, deps: { ...made.deps, methods } }
}

async function accountWithPasskeys(n: number) {
  const s = await signIn()
  const passkeys = []
  for (let i = 0; i < n; i++) passkeys.push((await addPasskey(s)).passkey)
  const { deps } = withoutPassword()
  const [user] = await liveUserById(deps.db, s.userId)
  return { deps, auth: { user: user!, sessionId: 'test-session' }, passkeys }
}

const codeOf = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: unknown) => (error instanceof ApiError ? error.code : String(error)))

describe('removePasskey (rules)', () => {
  it('counts passkeys as ways in, beside the password', async () => {
    const s = await signIn()
    await addPasskey(s)
    await addPasskey(s)
    const { deps } = testDeps()
    const [user] = await liveUserById(deps.db, s.userId)
    expect(await waysIn(deps, user!)).toBe(3)
  })

  it('refuses to remove the only passkey of an account with no other way in', async () => {
    const { deps, auth, passkeys } = await accountWithPasskeys(1)
    expect(await codeOf(removePasskey(deps, auth, passkeys[0]!.id))).toBe('LAST_SIGN_IN_METHOD')
  })

  it('removes one of two, then refuses the last', async () => {
    const { deps, auth, passkeys } = await accountWithPasskeys(2)
    expect(await codeOf(removePasskey(deps, auth, passkeys[0]!.id))).toBe('ok')
    expect(await codeOf(removePasskey(deps, auth, passkeys[1]!.id))).toBe('LAST_SIGN_IN_METHOD')
  })

  it('lets one of two concurrent removals of the last two passkeys win', async () => {
    const { deps, auth, passkeys } = await accountWithPasskeys(2)
    const results = await Promise.all(passkeys.map((p) => codeOf(removePasskey(deps, auth, p.id))))
    expect(results.sort()).toEqual(['LAST_SIGN_IN_METHOD', 'ok'])
  })

  it('removes the only passkey when a password remains', async () => {
    const s = await signIn()
    const { passkey } = await addPasskey(s)
    const { deps } = testDeps()
    const [user] = await liveUserById(deps.db, s.userId)
    expect(await codeOf(removePasskey(deps, { user: user!, sessionId: 'x' }, passkey.id))).toBe('ok')
  })
})

describe('the nightly clean-up', () => {
  it('deletes WebAuthn challenges past their end and keeps open ones', async () => {
    const db = getDb(env.DB)
    const now = Date.now()
    const old = crypto.randomUUID()
    const open = crypto.randomUUID()
    await insertChallenge(db, { id: old, challengeHash: 'x', ceremony: 'authentication', userId: null, createdAt: now - 600_000, expiresAt: now - 300_000 })
    await insertChallenge(db, { id: open, challengeHash: 'y', ceremony: 'authentication', userId: null, createdAt: now, expiresAt: now + 300_000 })
    const report = await purgeExpired(db, now, 90)
    expect(report.webauthnChallenges).toBeGreaterThanOrEqual(1)
    const left = await env.DB.prepare('SELECT id FROM webauthn_challenges WHERE id IN (?, ?)').bind(old, open).all<{ id: string }>()
    expect(left.results.map((r) => r.id)).toEqual([open])
  })
})
