import { Hono } from 'hono'
import { createFactory } from 'hono/factory'
import { deps } from '../http/deps'
import { clearRefreshCookie, ok } from '../http/respond'
import { validate } from '../http/validate'
import { requireAuth } from '../middleware/require-auth'
import { DeleteAccountBody, ProfileUpdateBody } from '../schemas/user'
import { deleteOwnAccount, toPublicUser, updateProfile } from '../services/accounts'
import type { AppEnv } from '../types'

const factory = createFactory<AppEnv>()

/** GET /api/user/profile and GET /api/auth/profile: the caller as the session check read it. */
export const readProfile = factory.createHandlers(requireAuth(), (c) => ok(c, { user: toPublicUser(c.get('auth').user) }))

/** PUT and PATCH take the same partial body (API.md: `{name?, mobile?}`). */
const editProfile = factory.createHandlers(requireAuth(), validate('json', ProfileUpdateBody), async (c) => {
  const user = await updateProfile(deps(c), c.get('auth').userId, c.req.valid('json'))
  return ok(c, { user: toPublicUser(user) }, 200, 'Profile updated.')
})

/** The signed-in user's own account, mounted at /api/user. */
export const userRoutes = new Hono<AppEnv>()
  .get('/profile', ...readProfile)
  .put('/profile', ...editProfile)
  .patch('/profile', ...editProfile)

  .delete('/profile', requireAuth(), validate('json', DeleteAccountBody), async (c) => {
    await deleteOwnAccount(deps(c), c.get('auth'), c.req.valid('json').password)
    clearRefreshCookie(c)
    return ok(c, {}, 200, 'Account deleted.')
  })
