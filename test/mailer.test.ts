import { afterEach, describe, expect, it, vi } from 'vitest'
import { call, expectError, PASSWORD, uniqueEmail } from './helpers'

const RESEND = { EMAIL_DELIVERY: 'resend', RESEND_API_KEY: 're_test_key_123', EMAIL_FROM: 'Auth <auth@example.com>' }

interface Sent {
  url: string
  authorization: string | null
  body: { from: string; to: string[]; subject: string; text: string; html: string }
}

/** Intercepts the worker's outbound fetch (same isolate) and answers with `statuses` in turn. */
function interceptResend(statuses: number[]) {
  const sent: Sent[] = []
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input, init)
    sent.push({ url: request.url, authorization: request.headers.get('Authorization'), body: await request.json() })
    return new Response('{}', { status: statuses[Math.min(sent.length - 1, statuses.length - 1)] })
  })
  return { sent, spy }
}

afterEach(() => vi.restoreAllMocks())

describe('EMAIL_DELIVERY=resend', () => {
  it('sends the verify_email code through the Resend API with text and HTML bodies', async () => {
    const { sent } = interceptResend([200])
    const email = uniqueEmail()
    expect((await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'Ann' }, env: RESEND })).status).toBe(201)
    expect(sent).toHaveLength(1)
    const [message] = sent
    expect(message!.url).toBe('https://api.resend.com/emails')
    expect(message!.authorization).toBe('Bearer re_test_key_123')
    expect(message!.body.from).toBe('Auth <auth@example.com>')
    expect(message!.body.to).toEqual([email])
    expect(message!.body.subject).toMatch(/confirm/i)
    const code = /\b(\d{6})\b/.exec(message!.body.text)?.[1]
    expect(code).toMatch(/^\d{6}$/)
    expect(message!.body.text).toContain('5 minutes')
    expect(message!.body.html).toContain(code)
    // The code in the mail is the real one.
    const verified = await call('/api/auth/verify-email', { json: { email, otp: code }, env: RESEND })
    expect(verified.status).toBe(200)
  })

  it('sends each purpose with its own subject: login and reset_password', async () => {
    const { sent } = interceptResend([200])
    const email = uniqueEmail()
    await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'Ann' }, env: RESEND })
    await call('/api/auth/login', { json: { email, password: PASSWORD }, env: RESEND })
    await call('/api/auth/password/forgot', { json: { email }, env: RESEND })
    expect(sent.map((message) => message.body.subject)).toEqual([
      'Confirm your email address',
      'Your sign-in code',
      'Reset your password',
    ])
  })

  it('retries a failed send once and logs the failure, without telling the caller or logging the code', async () => {
    const { sent } = interceptResend([500, 200])
    const errors = vi.spyOn(console, 'error')
    const email = uniqueEmail()
    const response = await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'Ann' }, env: RESEND })
    expect(response.status).toBe(201)
    expect(sent).toHaveLength(2)
    const logged = errors.mock.calls.map((args) => String(args[0])).filter((line) => line.includes('email.failed'))
    expect(logged).toHaveLength(1)
    const code = /\b(\d{6})\b/.exec(sent[0]!.body.text)![1]!
    expect(logged[0]).not.toContain(code)
  })

  it('gives up after the second failure; the request still succeeded', async () => {
    const { sent } = interceptResend([503])
    const response = await call('/api/auth/password/forgot', { json: { email: uniqueEmail() }, env: RESEND })
    expect(response.status).toBe(200)
    expect(sent).toHaveLength(0)
    const email = uniqueEmail()
    expect((await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'Ann' }, env: RESEND })).status).toBe(201)
    expect(sent).toHaveLength(2)
  })

  it('refuses to start without its key or sender', async () => {
    await expectError(await call('/health', { env: { EMAIL_DELIVERY: 'resend', EMAIL_FROM: 'a@b.c' } }), 503, 'CONFIG_ERROR')
    await expectError(await call('/health', { env: { EMAIL_DELIVERY: 'resend', RESEND_API_KEY: 'k' } }), 503, 'CONFIG_ERROR')
  })

  it('is the delivery production accepts, where console is refused', async () => {
    await expectError(await call('/health', { env: { ENVIRONMENT: 'production', EMAIL_DELIVERY: 'console' } }), 503, 'CONFIG_ERROR')
    expect((await call('/health', { env: { ENVIRONMENT: 'production', ...RESEND } })).status).toBe(200)
  })
})
