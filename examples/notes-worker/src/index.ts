/**
 * A notes API for signed-in users: each note belongs to `c.get('user').id`. Who is calling is
 * decided by edge-auth itself, through the `AUTH` service binding (`AuthService.verify`).
 */
import { Hono } from 'hono'
import { authenticate, requireAal, requireRole, type AuthBinding, type AuthVariables } from 'edge-auth/hono'

export interface NotesEnv {
  AUTH: AuthBinding
  NOTES: KVNamespace
}

interface Note {
  id: string
  text: string
  createdAt: string
}

/** KV metadata holds at most 1024 bytes: a note is short. */
const MAX_TEXT = 280
const noteKey = (userId: string, noteId = '') => `note:${userId}:${noteId}`

const app = new Hono<{ Bindings: NotesEnv; Variables: AuthVariables }>()

// Every /api route needs a signed-in user; this is all the auth code the worker has.
app.use('/api/*', authenticate({ binding: 'AUTH' }))

app.get('/api/notes', async (c) => {
  const userId = c.get('user').id
  const listed = await c.env.NOTES.list<Note>({ prefix: noteKey(userId) })
  const notes = listed.keys.flatMap((key) => (key.metadata ? [key.metadata] : []))
  notes.sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  return c.json({ success: true as const, data: { notes } })
})

app.post('/api/notes', async (c) => {
  const body: unknown = await c.req.json().catch(() => null)
  const text = body && typeof body === 'object' ? (body as { text?: unknown }).text : undefined
  if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_TEXT) {
    return c.json({ success: false as const, message: 'The request is invalid.', error: 'VALIDATION_ERROR', details: [{ path: 'text', message: `1 to ${MAX_TEXT} characters` }] }, 400)
  }
  const note: Note = { id: crypto.randomUUID(), text, createdAt: new Date().toISOString() }
  if (new TextEncoder().encode(JSON.stringify(note)).length > 1024) {
    return c.json({ success: false as const, message: 'The request is invalid.', error: 'VALIDATION_ERROR', details: [{ path: 'text', message: 'is too long' }] }, 400)
  }
  // The note rides in the key's metadata too, so a list is one KV call.
  await c.env.NOTES.put(noteKey(c.get('user').id, note.id), JSON.stringify(note), { metadata: note })
  return c.json({ success: true as const, data: { note } }, 201)
})

// Deleting needs a session that went through a second step.
app.delete('/api/notes/:id', requireAal('aal2'), async (c) => {
  await c.env.NOTES.delete(noteKey(c.get('user').id, c.req.param('id')))
  return c.json({ success: true as const, data: {} })
})

// Admins only: the role is the account's current one, as the auth service read it.
app.get('/api/admin/whoami', requireRole('admin'), (c) => c.json({ success: true as const, data: { user: c.get('user'), session: c.get('session') } }))

app.notFound((c) => c.json({ success: false as const, message: 'Not found.', error: 'NOT_FOUND' }, 404))

export default app
