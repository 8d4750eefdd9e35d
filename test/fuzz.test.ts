import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { call, signIn } from './helpers'

const PATHS = [
  '/api/auth/register',
  '/api/auth/verify-email',
  '/api/auth/login',
  '/api/auth/verify-otp',
  '/api/auth/resend-otp',
  '/api/auth/refresh',
  '/api/auth/logout',
  '/api/auth/logout-all',
  '/api/auth/password/forgot',
  '/api/auth/password/reset',
  '/api/auth/password/change',
  '/api/auth/profile',
  '/api/auth/sessions',
  '/api/auth/sessions/00000000-0000-0000-0000-000000000000',
  '/api/user/profile',
  '/api/admin/users',
  '/api/admin/users/x',
  '/api/admin/audit',
  '/health',
  '/.well-known/jwks.json',
  '/nope',
]

const LEAKS = /\bat \S+:\d+|SQLITE|D1_|UNIQUE constraint|FOREIGN KEY|Failed query|password_hash|stack/i

const jsonValue = fc.oneof(
  fc.json(),
  fc.dictionary(
    fc.constantFrom('email', 'password', 'name', 'otp', 'challengeId', 'refreshToken', 'role', '__proto__', 'constructor', 'tokenTransport', 'mobile', 'newPassword'),
    fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.string()), fc.object()),
  ).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
)

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
  path: fc.oneof(fc.constantFrom(...PATHS), fc.webPath()),
  query: fc.option(fc.webQueryParameters(), { nil: undefined }),
  body: fc.option(jsonValue, { nil: undefined }),
  contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', undefined),
  authorization: fc.option(fc.oneof(fc.string(), fc.string().map((value) => `Bearer ${value}`)), { nil: undefined }),
  cookie: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
  origin: fc.option(fc.constantFrom('https://auth.test', 'https://app.test', 'https://evil.test', 'null'), { nil: undefined }),
})

describe('fuzzing every endpoint', () => {
  it('never answers 5xx, always the envelope, never a leak', async () => {
    const session = await signIn()
    await fc.assert(
      fc.asyncProperty(request, fc.boolean(), async (input, useRealToken) => {
        const headers = new Headers()
        if (input.contentType) headers.set('Content-Type', input.contentType)
        if (useRealToken) headers.set('Authorization', `Bearer ${session.accessToken}`)
        else if (input.authorization !== undefined) headers.set('Authorization', input.authorization)
        if (input.cookie !== undefined) headers.set('Cookie', `__Host-refresh_token=${encodeURIComponent(input.cookie)}`)
        if (input.origin) headers.set('Origin', input.origin)
        const hasBody = input.body !== undefined && input.method !== 'GET'
        const path = input.path.startsWith('/') ? input.path : `/${input.path}`
        const response = await call(`${path}${input.query ?? ''}`, {
          method: input.method,
          headers,
          body: hasBody ? input.body : null,
        })
        expect(response.status).toBeLessThan(500)
        expect(response.headers.get('X-Request-Id')).toBeTruthy()
        if (response.status === 204) return
        const text = await response.text()
        expect(text).not.toMatch(LEAKS)
        const json = JSON.parse(text) as { success: boolean; error?: string; message?: string }
        if (path === '/.well-known/jwks.json' && response.status === 200) return
        expect(typeof json.success).toBe('boolean')
        if (!json.success) {
          expect(typeof json.error).toBe('string')
          expect(typeof json.message).toBe('string')
        }
      }),
      { numRuns: 400 },
    )
  })
})
