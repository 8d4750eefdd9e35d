import type * as z from 'zod'
import { deps } from '../http/deps'
import { routes } from '../http/registry'
import { ok } from '../http/respond'
import { AuditQuery, BanBody, RoleChangeBody, UserIdParams, UserListQuery } from '../schemas/admin'
import { encodeCursor } from '../schemas/common'
import * as R from '../schemas/responses'
import { adminDeleteUser, banUser, changeRole, getUser, listUsers, revokeSessionsOf, unbanUser, adminView } from '../services/admin'
import { listAuditEvents } from '../services/audit'
import { adminResetMfa } from '../methods/totp/rules'

/** User administration and the audit trail, mounted at /api/admin. Admins only (`security: 'admin'` installs the guard). */
export const adminRoutes = routes()
  .openapi(
    {
      method: 'get', path: '/users', operationId: 'listUsers', tag: 'Admin', security: 'admin',
      summary: 'List and search users, newest first',
      request: { query: UserListQuery },
      responses: { 200: { description: 'One page of users.', data: R.UserPage } },
    },
    async (c) => {
      const page = await listUsers(deps(c), c.req.valid('query'))
      return ok(c, { users: page.users, nextCursor: page.next ? encodeCursor(page.next) : null })
    },
  )

  .openapi(
    {
      method: 'get', path: '/users/:id', operationId: 'getUser', tag: 'Admin', security: 'admin',
      summary: 'One user, deleted or not',
      request: { params: UserIdParams },
      responses: { 200: { description: 'The user.', data: R.AdminUserData } },
      errors: ['NOT_FOUND'],
    },
    async (c) => {
      return ok(c, { user: await adminView(deps(c), await getUser(deps(c), c.req.valid('param').id)) })
    },
  )

  .openapi(
    {
      method: 'patch', path: '/users/:id', operationId: 'changeRole', tag: 'Admin', security: 'admin',
      summary: "Change the role (effective at the user's next refresh)",
      request: { params: UserIdParams, body: RoleChangeBody },
      responses: { 200: { description: 'The user with its new role.', data: R.AdminUserData } },
      errors: ['NOT_FOUND'],
    },
    async (c) => {
      const user = await changeRole(deps(c), c.get('auth').userId, c.req.valid('param').id, c.req.valid('json').role)
      return ok(c, { user: await adminView(deps(c), user) }, 200, 'Role updated.')
    },
  )

  .openapi(
    {
      method: 'delete', path: '/users/:id', operationId: 'deleteUser', tag: 'Admin', security: 'admin',
      summary: 'Soft-delete a user and end its sessions',
      description: 'An admin cannot delete itself (400 VALIDATION_ERROR).',
      request: { params: UserIdParams },
      responses: { 200: { description: 'The user was deleted.', data: R.Empty } },
      errors: ['NOT_FOUND'],
    },
    async (c) => {
      await adminDeleteUser(deps(c), c.get('auth').userId, c.req.valid('param').id)
      return ok(c, {}, 200, 'User deleted.')
    },
  )

  .openapi(
    {
      method: 'post', path: '/users/:id/ban', operationId: 'banUser', tag: 'Admin', security: 'admin',
      summary: 'Ban a user (until lifted, or until a time); every session ends',
      description: 'An admin cannot ban itself (400 VALIDATION_ERROR). A ban past its `until` lifts by itself.',
      request: { params: UserIdParams, body: BanBody },
      responses: { 200: { description: 'The banned user.', data: R.AdminUserData } },
      errors: ['NOT_FOUND'],
    },
    async (c) => {
      const user = await banUser(deps(c), c.get('auth').userId, c.req.valid('param').id, c.req.valid('json'))
      return ok(c, { user: await adminView(deps(c), user) }, 200, 'User banned.')
    },
  )

  .openapi(
    {
      method: 'delete', path: '/users/:id/ban', operationId: 'unbanUser', tag: 'Admin', security: 'admin',
      summary: 'Lift a ban',
      request: { params: UserIdParams },
      responses: { 200: { description: 'The user, no longer banned.', data: R.AdminUserData } },
      errors: ['NOT_FOUND'],
    },
    async (c) => {
      const user = await unbanUser(deps(c), c.get('auth').userId, c.req.valid('param').id)
      return ok(c, { user: await adminView(deps(c), user) }, 200, 'Ban lifted.')
    },
  )

  .openapi(
    {
      method: 'post', path: '/users/:id/sessions/revoke', operationId: 'revokeUserSessions', tag: 'Admin', security: 'admin',
      summary: "End every session of a user; the account stays",
      request: { params: UserIdParams },
      responses: { 200: { description: 'How many sessions ended.', data: R.Revoked } },
      errors: ['NOT_FOUND'],
    },
    async (c) => {
      const revoked = await revokeSessionsOf(deps(c), c.get('auth').userId, c.req.valid('param').id)
      return ok(c, { revoked }, 200, 'Sessions ended.')
    },
  )

  .openapi(
    {
      method: 'delete', path: '/users/:id/mfa', operationId: 'resetUserMfa', tag: 'Admin', security: 'admin',
      summary: "Remove a user's authenticator app and recovery codes (lost phone); passkeys stay",
      request: { params: UserIdParams },
      responses: { 200: { description: 'The app and recovery codes were removed.', data: R.Empty } },
      errors: ['NOT_FOUND'],
    },
    async (c) => {
      await adminResetMfa(deps(c), c.get('auth').userId, c.req.valid('param').id)
      return ok(c, {}, 200, 'Authenticator app and recovery codes removed.')
    },
  )

  .openapi(
    {
      method: 'get', path: '/audit', operationId: 'listAuditEvents', tag: 'Admin', security: 'admin',
      summary: 'The audit trail, newest first',
      request: { query: AuditQuery },
      responses: { 200: { description: 'One page of audit events.', data: R.AuditPage } },
    },
    async (c) => {
      const page = await listAuditEvents(deps(c).readDb, c.req.valid('query'))
      // The column is text, but only AUDIT_TYPES are ever written (services/audit.ts), as the schema says.
      const events = page.events as z.output<typeof R.AuditEvent>[]
      return ok(c, { events, nextCursor: page.next ? encodeCursor(page.next) : null })
    },
  )
