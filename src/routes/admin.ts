import { Hono } from 'hono'
import { deps } from '../http/deps'
import { ok } from '../http/respond'
import { validate } from '../http/validate'
import { requireAuth } from '../middleware/require-auth'
import { requireRole } from '../middleware/require-role'
import { AuditQuery, RoleChangeBody, UserIdParams, UserListQuery } from '../schemas/admin'
import { encodeCursor } from '../schemas/common'
import { adminDeleteUser, changeRole, getUser, listUsers, toAdminUser } from '../services/admin'
import { listAuditEvents } from '../services/audit'
import type { AppEnv } from '../types'

/** User administration and the audit trail, mounted at /api/admin. Admins only. */
export const adminRoutes = new Hono<AppEnv>()
  .get('/users', requireAuth(), requireRole('admin'), validate('query', UserListQuery), async (c) => {
    const page = await listUsers(deps(c), c.req.valid('query'))
    return ok(c, { users: page.users, nextCursor: page.next ? encodeCursor(page.next) : null })
  })

  .get('/users/:id', requireAuth(), requireRole('admin'), validate('param', UserIdParams), async (c) => {
    return ok(c, { user: toAdminUser(await getUser(deps(c), c.req.valid('param').id)) })
  })

  .patch('/users/:id', requireAuth(), requireRole('admin'), validate('param', UserIdParams), validate('json', RoleChangeBody), async (c) => {
    const user = await changeRole(deps(c), c.get('auth').userId, c.req.valid('param').id, c.req.valid('json').role)
    return ok(c, { user: toAdminUser(user) }, 200, 'Role updated.')
  })

  .delete('/users/:id', requireAuth(), requireRole('admin'), validate('param', UserIdParams), async (c) => {
    await adminDeleteUser(deps(c), c.get('auth').userId, c.req.valid('param').id)
    return ok(c, {}, 200, 'User deleted.')
  })

  .get('/audit', requireAuth(), requireRole('admin'), validate('query', AuditQuery), async (c) => {
    const page = await listAuditEvents(deps(c).readDb, c.req.valid('query'))
    return ok(c, { events: page.events, nextCursor: page.next ? encodeCursor(page.next) : null })
  })
