import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import worker from '../../src/index'

export const ORIGIN = 'https://auth.test'
export const APP_ORIGIN = 'https://app.test'
export const PASSWORD = 'Correct-horse-9'

/** Every `email.sent` line the console mailer has written in this isolate. */
interface SentCode {
  to: string
  purpose: string
  code: string
  expiresIn: number
}
const mailbox: SentCode[] = []
const consoleLog = console.log.bind(console)
console.log = (...args: unknown[]) => {
  const [first] = args
  if (typeof first === 'string' && first.includes('"email.sent"')) mailbox.push(JSON.parse(first) as SentCode)
  consoleLog(...args)
}

export interface CallInit extends Omit<RequestInit, 'body'> {
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown
  body?: BodyInit | null
  /** Overrides of the worker's environment for this call. */
  env?: Partial<Record<keyof Env, string>>
  /** The client address (`CF-Connecting-IP`); a fresh one per call unless given. */
  ip?: string
  /** Bearer access token. */
  token?: string
  /** Refresh cookie value. */
  cookie?: string
}

let ipCounter = 0
export const freshIp = () => `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}`

/** One request through the worker's fetch handler, with its post-response work awaited. */
export async function call(path: string, init: CallInit = {}): Promise<Response> {
  const { json, env: overrides, ip, token, cookie, headers: extra, ...rest } = init
  const headers = new Headers(extra)
  if (!headers.has('CF-Connecting-IP')) headers.set('CF-Connecting-IP', ip ?? freshIp())
  if (json !== undefined) headers.set('Content-Type', 'application/json')
  if (token) headers.set('Authorization', `Bearer ${token}`)
  if (cookie) {
    headers.set('Cookie', `__Host-refresh_token=${cookie}`)
    if (!headers.has('Origin')) headers.set('Origin', ORIGIN)
  }
  const request = new Request(path.startsWith('/') ? `${ORIGIN}${path}` : path, {
    method: json !== undefined ? 'POST' : 'GET',
    ...rest,
    headers,
    body: json !== undefined ? JSON.stringify(json) : (init.body ?? null),
  })
  const ctx = createExecutionContext()
  const response = await worker.fetch(request, { ...env, ...overrides } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

/** The parsed JSON body, typed loosely for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const body = async (response: Response): Promise<any> => response.clone().json()

/** Asserts the error envelope and its code. */
export async function expectError(response: Response, status: number, code: string) {
  const json = await body(response)
  expect({ status: response.status, error: json.error }).toEqual({ status, error: code })
  expect(json.success).toBe(false)
  expect(typeof json.message).toBe('string')
  return json
}

/** The newest code mailed to `to` for `purpose`. */
export function lastCode(to: string, purpose: 'verify_email' | 'login' | 'reset_password'): string {
  for (let i = mailbox.length - 1; i >= 0; i--) {
    const sent = mailbox[i]!
    if (sent.to === to && sent.purpose === purpose) return sent.code
  }
  throw new Error(`no ${purpose} code was sent to ${to}`)
}

export const mailedTo = (to: string) => mailbox.filter((sent) => sent.to === to)

let emailCounter = 0
export const uniqueEmail = (prefix = 'user') => `${prefix}-${Date.now().toString(36)}-${emailCounter++}@example.com`

/** The refresh token set by a response's `Set-Cookie`, if any. */
export function refreshCookie(response: Response): string | undefined {
  const header = response.headers.getSetCookie().find((line) => line.startsWith('__Host-refresh_token='))
  return header?.split(';')[0]!.slice('__Host-refresh_token='.length) || undefined
}

export async function register(options: { email?: string; password?: string; name?: string; env?: CallInit['env'] } = {}) {
  const email = options.email ?? uniqueEmail()
  const password = options.password ?? PASSWORD
  const response = await call('/api/auth/register', {
    json: { email, password, name: options.name ?? 'Test User' },
    env: options.env,
  })
  expect(response.status).toBe(201)
  const user = (await body(response)).data.user as { id: string; email: string }
  return { email, password, user }
}

export async function startLogin(email: string, password: string, env?: CallInit['env']) {
  const response = await call('/api/auth/login', { json: { email, password }, env })
  expect(response.status).toBe(200)
  const data = (await body(response)).data as { challengeId: string; expiresIn: number }
  return { challengeId: data.challengeId, code: lastCode(email, 'login') }
}

export interface Session {
  email: string
  password: string
  userId: string
  accessToken: string
  refreshToken: string
}

/** Registers (unless an email is given) and completes the password + code login. */
export async function signIn(
  options: { email?: string; password?: string; transport?: 'cookie' | 'body'; env?: CallInit['env'] } = {},
): Promise<Session> {
  const account = options.email
    ? { email: options.email, password: options.password ?? PASSWORD }
    : await register({ password: options.password, env: options.env })
  const { challengeId, code } = await startLogin(account.email, account.password, options.env)
  const transport = options.transport ?? 'cookie'
  const response = await call('/api/auth/verify-otp', {
    json: { challengeId, otp: code, ...(transport === 'body' ? { tokenTransport: 'body' } : {}) },
    env: options.env,
  })
  expect(response.status).toBe(200)
  const data = (await body(response)).data
  const refreshToken = transport === 'body' ? data.refreshToken : refreshCookie(response)
  expect(refreshToken).toBeTruthy()
  return { email: account.email, password: account.password, userId: data.user.id, accessToken: data.accessToken, refreshToken }
}
