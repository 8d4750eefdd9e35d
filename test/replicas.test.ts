import { describe, expect, it } from 'vitest'
import { body, call, signIn } from './helpers'

describe('D1 sessions and bookmarks', () => {
  it('answers with a bookmark the client can send back to read its own writes', async () => {
    const session = await signIn()
    await signIn({ email: session.email, password: session.password })
    const listed = await call('/api/auth/sessions', { token: session.accessToken })
    const before = listed.headers.get('X-D1-Bookmark')
    expect(before).toBeTruthy()
    const ids = (await body(listed)).data.sessions.map((s: { id: string }) => s.id) as string[]
    expect(ids).toHaveLength(2)
    const otherId = ids.find((id) => id !== JSON.parse(atob(session.accessToken.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sid)!
    const revoked = await call(`/api/auth/sessions/${otherId}`, { method: 'DELETE', token: session.accessToken })
    expect(revoked.status).toBe(200)
    const bookmark = revoked.headers.get('X-D1-Bookmark')
    // Bookmarks are fixed-width hex positions in the database's history: the write moved it forward.
    expect(bookmark! > before!).toBe(true)
    const after = await call('/api/auth/sessions', { token: session.accessToken, headers: { 'X-D1-Bookmark': bookmark! } })
    expect(after.status).toBe(200)
    expect(after.headers.get('X-D1-Bookmark')).toBeTruthy()
    expect((await body(after)).data.sessions.map((s: { id: string }) => s.id)).toEqual(ids.filter((id) => id !== otherId))
  })

  it('ignores a bookmark that is not one, rather than failing the request', async () => {
    const session = await signIn()
    for (const junk of ['junk', "'; DROP TABLE sessions;--", 'x'.repeat(300)]) {
      const response = await call('/api/auth/sessions', { token: session.accessToken, headers: { 'X-D1-Bookmark': junk } })
      expect(response.status).toBe(200)
    }
  })
})
