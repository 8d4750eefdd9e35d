import { Hono } from 'hono'
import { ok } from '../http/respond'
import { requireAuth } from '../middleware/require-auth'
import { toPublicUser } from '../services/accounts'
import type { AppEnv } from '../types'

/** The signed-in user's own account, mounted at /api/user. */
export const userRoutes = new Hono<AppEnv>()
  .use(requireAuth())
  .get('/profile', (c) => ok(c, { user: toPublicUser(c.var.auth.user) }))
