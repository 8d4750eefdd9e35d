import { Hono } from 'hono'
import { deps } from '../http/deps'
import { clearRefreshCookie, ok } from '../http/respond'
import { validate } from '../http/validate'
import { requireAuth } from '../middleware/require-auth'
import { DeleteAccountBody, ProfileUpdateBody } from '../schemas/user'
import { deleteOwnAccount, toPublicUser, updateProfile } from '../services/accounts'
import type { AppEnv } from '../types'

const update = validate('json', ProfileUpdateBody)

/** The signed-in user's own account, mounted at /api/user. */
export const userRoutes = new Hono<AppEnv>()
  .get('/profile', requireAuth(), (c) => ok(c, { user: toPublicUser(c.get('auth').user) }))

  .put('/profile', requireAuth(), update, async (c) => {
    const user = await updateProfile(deps(c), c.get('auth').userId, c.req.valid('json'))
    return ok(c, { user: toPublicUser(user) }, 200, 'Profile updated.')
  })

  .patch('/profile', requireAuth(), update, async (c) => {
    const user = await updateProfile(deps(c), c.get('auth').userId, c.req.valid('json'))
    return ok(c, { user: toPublicUser(user) }, 200, 'Profile updated.')
  })

  .delete('/profile', requireAuth(), validate('json', DeleteAccountBody), async (c) => {
    await deleteOwnAccount(deps(c), c.get('auth'), c.req.valid('json').password)
    clearRefreshCookie(c)
    return ok(c, {}, 200, 'Account deleted.')
  })
