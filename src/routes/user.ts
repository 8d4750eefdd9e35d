import type { Context } from 'hono'
import type * as z from 'zod'
import { deps } from '../http/deps'
import { routes, type RouteConfig } from '../http/registry'
import { clearRefreshCookie, ok } from '../http/respond'
import * as R from '../schemas/responses'
import { DeleteAccountBody, ProfileUpdateBody } from '../schemas/user'
import { deleteOwnAccount, toPublicUser, updateProfile } from '../services/accounts'
import type { AppEnv } from '../types'

/** What GET /api/user/profile and GET /api/auth/profile share; each adds its method, path and operationId. */
export const profileResponse = {
  tag: 'Profile',
  security: 'bearer',
  responses: { 200: { description: 'The caller.', data: R.UserData } },
} as const satisfies Partial<RouteConfig>

/** The caller as the session check read it. */
export const readProfile = (c: Context<AppEnv>) => ok(c, { user: toPublicUser(c.get('auth').user) })

/** PUT and PATCH take the same partial body (API.md: `{name?, mobile?}`). */
const editProfile = {
  path: '/profile',
  tag: 'Profile',
  security: 'bearer',
  summary: 'Edit name and mobile',
  request: { body: ProfileUpdateBody },
  responses: { 200: { description: 'The updated user.', data: R.UserData } },
} as const satisfies Partial<RouteConfig>

const updateOwnProfile = async (c: Context<AppEnv, '/profile', { out: { json: z.output<typeof ProfileUpdateBody> } }>) => {
  const user = await updateProfile(deps(c), c.get('auth').userId, c.req.valid('json'))
  return ok(c, { user: toPublicUser(user) }, 200, 'Profile updated.')
}

/** The signed-in user's own account, mounted at /api/user. */
export const userRoutes = routes()
  .openapi({ ...profileResponse, method: 'get', path: '/profile', operationId: 'getProfile', summary: 'The signed-in user' }, readProfile)
  .openapi({ ...editProfile, method: 'put', operationId: 'replaceProfile' }, updateOwnProfile)
  .openapi({ ...editProfile, method: 'patch', operationId: 'updateProfile' }, updateOwnProfile)

  .openapi(
    {
      method: 'delete', path: '/profile', operationId: 'deleteAccount', tag: 'Profile', security: 'bearer',
      summary: 'Delete the account (password required when it has one)',
      description: 'A soft delete: every session is revoked and the email is free for a new account. An account without a password sends `{}` from a session signed in within the last 5 minutes (else 403 FORBIDDEN).',
      request: { body: DeleteAccountBody },
      responses: { 200: { description: 'The account was deleted; the cookie is cleared.', data: R.Empty, headers: ['Set-Cookie'] } },
      errors: ['INVALID_CREDENTIALS', 'FORBIDDEN', 'RATE_LIMITED'],
    },
    async (c) => {
      await deleteOwnAccount(deps(c), c.get('auth'), c.req.valid('json').password)
      clearRefreshCookie(c)
      return ok(c, {}, 200, 'Account deleted.')
    },
  )
