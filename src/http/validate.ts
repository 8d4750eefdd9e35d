import { zValidator } from '@hono/zod-validator'
import type { MiddlewareHandler, ValidationTargets } from 'hono'
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

/**
 * The query's validation, with the answer for a request without a query string worked out once
 * (`GET /health` is called bare by every probe): the same result zod gives for `{}`.
 */
export function validateQuery<Schema extends z.ZodType>(schema: Schema): MiddlewareHandler {
  const full = validate('query', schema)
  let bare: { data: unknown } | undefined
  return async function validateQuery(c, next) {
    if (c.req.url.includes('?')) return full(c, next)
    if (!bare) {
      const parsed = schema.safeParse({})
      // A schema that refuses an empty query answers through the full path, with its details.
      if (!parsed.success) return full(c, next)
      bare = { data: Object.freeze(parsed.data) }
    }
    c.req.addValidatedData('query', bare.data as Record<string, unknown>)
    await next()
  }
}

/** zod validation of one request part; failures become `400 VALIDATION_ERROR` with details. */
export const validate = <Target extends keyof ValidationTargets, Schema extends z.ZodType>(target: Target, schema: Schema) =>
  zValidator(target, schema, (result) => {
    if (!result.success) throw new ApiError('VALIDATION_ERROR', { details: issueDetails(result.error.issues) })
  })
