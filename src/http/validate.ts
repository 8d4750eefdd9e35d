import { zValidator } from '@hono/zod-validator'
import type { ValidationTargets } from 'hono'
import type { z } from 'zod'
import { ApiError, type ErrorDetail } from '../errors'

/** Turns zod issues into the envelope's `details`, one per field. */
export function issueDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return { path: issue.keys.join(', '), message: 'is not an accepted field' }
    }
    return { path: issue.path.map(String).join('.') || '(body)', message: issue.message }
  })
}

/** zod validation of one request part; failures become `400 VALIDATION_ERROR` with details. */
export const validate = <Target extends keyof ValidationTargets, Schema extends z.ZodType>(target: Target, schema: Schema) =>
  zValidator(target, schema, (result) => {
    if (!result.success) throw new ApiError('VALIDATION_ERROR', { details: issueDetails(result.error.issues) })
  })
