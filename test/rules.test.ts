import { env } from 'cloudflare:workers'
import { sql } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { sessions } from '../src/db/schema'
import { insertWhere, liveSession, liveUser } from '../src/db/sql'
import { liveUserById, updateLiveUser } from '../src/db/users'
import { ApiError } from '../src/errors'
import type { SecondStep } from '../src/methods/types'
import { codeKey, issueCode, OTP_MAX_TRIES, redeemCode } from '../src/services/codes'
import { LOGIN_FAILURE_LIMIT, takeLoginAttempt } from '../src/services/login-attempts'
import { signIn } from '../src/services/sign-in'
import { register, testDeps, uniqueEmail, wrongCode } from './helpers'

afterEach(() => {
  vi.useRealTimers()
})

/** The error a promise rejects with, for assertions on its code and details. */
async function rejection(work: Promise<unknown>): Promise<ApiError> {
  try {
    await work
  } catch (error) {
    if (error instanceof ApiError) return error
    throw error
  }
  throw new Error('expected a rejection')
}

describe('db/sql liveness fragments', () => {
  it('renders one rule as fixed SQL text and as drizzle SQL with now bound', () => {
    expect(liveSession.text('s', '?3')).toBe('s.revoked_at IS NULL AND s.expires_at > ?3')
    const query = testDeps().deps.db.select().from(sessions).where(liveSession.sql(1234)).toSQL()
    expect(query.sql).toContain('sessions.revoked_at IS NULL AND sessions.expires_at > ?')
    expect(query.params).toEqual([1234])
    expect(liveUser.text('u', '')).toBe('u.deleted_at IS NULL')
  })

  it('names insert values by field, in the table order, with column defaults for the rest', () => {
    const { db } = testDeps().deps
    const statement = db
      .insert(sessions)
      .select(insertWhere(sessions, { id: 's1', userId: 'u1', createdAt: 1, lastUsedAt: 1, expiresAt: 2, amr: ['pwd'] }, sql`1 = 1`))
      .toSQL()
    // id, user_id, created_at, last_used_at, expires_at, revoked_at, revoked_reason, user_agent, ip, aal, amr
    expect(statement.params).toEqual(['s1', 'u1', 1, 1, 2, 'aal1', '["pwd"]'])
    expect(statement.sql).toMatch(/select \?, \?, \?, \?, \?, NULL, NULL, NULL, NULL, \?, \? WHERE 1 = 1/i)
  })
})

describe('services/login-attempts', () => {
  it('takes one attempt per call and refuses past the limit, whether or not an account holds the email', async () => {
    const { deps } = testDeps()
    const email = uniqueEmail('attempts')
    const now = Date.now()
    for (let i = 0; i < LOGIN_FAILURE_LIMIT; i++) expect((await takeLoginAttempt(deps, email, now)).user).toBeUndefined()
    const refused = await rejection(takeLoginAttempt(deps, email, now))
    expect(refused.code).toBe('RATE_LIMITED')
    expect(refused.retryAfter).toBe(15 * 60)
  })

  it('gives an attempt back with the statement it returns', async () => {
    const { deps } = testDeps()
    const email = uniqueEmail('give-back')
    const now = Date.now()
    for (let i = 0; i < LOGIN_FAILURE_LIMIT - 1; i++) await takeLoginAttempt(deps, email, now)
    const last = await takeLoginAttempt(deps, email, now)
    await last.giveBack
    // The given-back attempt can be taken again; the one after is refused.
    await takeLoginAttempt(deps, email, now)
    expect((await rejection(takeLoginAttempt(deps, email, now))).code).toBe('RATE_LIMITED')
  })
})

describe('services/codes redeemCode', () => {
  async function pendingCode() {
    const { user: { id: userId }, email } = await register()
    const { deps, sent } = testDeps()
    const key = codeKey.account('reset_password', userId)
    await issueCode(deps, { userId, email, purpose: 'reset_password', key })
    const mailed = sent.at(-1)
    if (!mailed || mailed.purpose === 'security_notice') throw new Error('no code was mailed')
    return { deps, userId, key, code: mailed.code }
  }

  it('spends a try on a wrong code and reports the tries left', async () => {
    const { deps, userId, key, code } = await pendingCode()
    const error = await rejection(redeemCode(deps, { key, purpose: 'reset_password', userId }, wrongCode(code), Date.now(), () => []))
    expect(error.code).toBe('OTP_INVALID')
    expect(error.details?.[0]?.attemptsLeft).toBe(OTP_MAX_TRIES - 1)
  })

  it('refuses a code of another purpose or owner as expired, without spending a try', async () => {
    const { deps, userId, key, code } = await pendingCode()
    expect((await rejection(redeemCode(deps, { key, purpose: 'verify_email', userId }, code, Date.now(), () => []))).code).toBe('OTP_EXPIRED')
    expect((await rejection(redeemCode(deps, { key, purpose: 'reset_password', userId: 'someone-else' }, code, Date.now(), () => []))).code).toBe('OTP_EXPIRED')
    // Still usable by its owner for its purpose.
    await redeemCode(deps, { key, purpose: 'reset_password', userId }, code, Date.now(), () => [])
  })

  it('runs the authorised writes with the spend, once', async () => {
    const { deps, userId, key, code } = await pendingCode()
    const target = { key, purpose: 'reset_password', userId } as const
    const { results } = await redeemCode(deps, target, code, Date.now(), (spent) => [updateLiveUser(deps.db, userId, { name: 'Redeemed' }, spent)] as const)
    expect(results[0][0]?.name).toBe('Redeemed')
    expect((await rejection(redeemCode(deps, target, code, Date.now(), () => []))).code).toBe('OTP_EXPIRED')
  })

  it('leaves the code unspent when the authorised writes fail', async () => {
    const { deps, userId, key, code } = await pendingCode()
    const target = { key, purpose: 'reset_password', userId } as const
    const failing = () => [deps.db.run(sql`SELECT no_such_column FROM users`)] as const
    await expect(redeemCode(deps, target, code, Date.now(), failing)).rejects.toThrow()
    const { results } = await redeemCode(deps, target, code, Date.now(), (spent) => [updateLiveUser(deps.db, userId, { name: 'Second try' }, spent)] as const)
    expect(results[0][0]?.name).toBe('Second try')
  })
})

describe('services/sign-in', () => {
  async function account() {
    const { user: { id: userId } } = await register()
    const { deps } = testDeps()
    const [user] = await liveUserById(deps.db, userId)
    return user!
  }

  /** A second step that records whether it was asked and opens a fixed challenge. */
  const fakeStep = (due: boolean): SecondStep & { asked: number } => ({
    asked: 0,
    methods: ['totp', 'recovery_code'],
    due() {
      this.asked++
      return due
    },
    open: async () => ({ challengeId: 'challenge-1', expiresIn: 300 }),
  })

  it('opens the challenge of the first second step that is due', async () => {
    const user = await account()
    const first = fakeStep(true)
    const second = fakeStep(true)
    const { deps } = testDeps({ secondSteps: [first, second] })
    const result = await signIn(deps, { user, amr: ['pwd'] })
    expect(result).toEqual({ kind: 'challenge', challengeId: 'challenge-1', expiresIn: 300, methods: ['totp', 'recovery_code'] })
    expect(second.asked).toBe(0)
  })

  it('opens a session recording amr and aal when no step is due', async () => {
    const user = await account()
    const { deps } = testDeps({ secondSteps: [fakeStep(false)] })
    const result = await signIn(deps, { user, amr: ['pwd'] })
    if (result.kind !== 'tokens') throw new Error('expected tokens')
    const row = await env.DB.prepare('SELECT aal, amr FROM sessions WHERE id = ?').bind(result.tokens.sessionId).first()
    expect(row).toEqual({ aal: 'aal1', amr: '["pwd"]' })
  })

  it('asks no second step after a factor that is already aal2', async () => {
    const user = await account()
    const step = fakeStep(true)
    const { deps } = testDeps({ secondSteps: [step] })
    const result = await signIn(deps, { user, amr: ['passkey'], aal: 'aal2' })
    expect(result.kind).toBe('tokens')
    expect(step.asked).toBe(0)
  })
})
