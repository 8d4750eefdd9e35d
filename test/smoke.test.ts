import { describe, expect, it } from 'vitest'
import { body, call, signIn } from './helpers'

describe('smoke', () => {
  it('health answers', async () => {
    const res = await call('/health')
    expect(res.status).toBe(200)
    expect(await body(res)).toEqual({ success: true, data: { status: 'ok' } })
  })
  it('signs in', async () => {
    const s = await signIn()
    const res = await call('/api/user/profile', { token: s.accessToken })
    expect(res.status).toBe(200)
  })
})
