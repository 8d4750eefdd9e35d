import * as z from 'zod'
import { isAuditType } from '../services/audit'
import { cursor } from './common'

const limit = z.coerce.number().int().min(1).max(100).default(20)

export const UserListQuery = z.strictObject({
  limit,
  cursor: cursor.optional(),
  q: z.string().trim().max(200).optional(),
  includeDeleted: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
})

export const UserIdParams = z.object({ id: z.string() })

/** A ban: why (shown to admins, never to the user), and an optional end. */
export const BanBody = z.strictObject({
  reason: z.string().trim().min(1, 'is required').max(500).refine((value) => !/[\u0000-\u001f\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/u.test(value), 'must be plain text'),
  until: z.iso.datetime({ offset: true }).optional(),
})

export const RoleChangeBody = z.strictObject({ role: z.enum(['user', 'admin']) })

export const AuditQuery = z.strictObject({
  userId: z.string().max(64).optional(),
  type: z.string().refine(isAuditType, 'is not an audit event type').optional(),
  limit,
  cursor: cursor.optional(),
})
