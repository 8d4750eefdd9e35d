import type { Env, Hono } from 'hono'
import type { MergeSchemaPath, Schema } from 'hono/types'
import type { RouteGroup } from '../http/registry'
import type { SignInMethod } from './types'

/** Where every method's routes live. */
export const METHODS_PATH = '/api/auth'

type GroupSchema<G> = G extends RouteGroup<infer S> ? S : never
/** The union of the route schemas of a list of methods (those without routes add nothing). */
type MethodsSchema<M extends readonly SignInMethod[]> = GroupSchema<NonNullable<M[number]['routes']>>

/**
 * Mounts every method's routes at /api/auth in one loop, keeping their types for `hono/client`:
 * the result is typed as if each had been chained with `.route('/api/auth', routes)`.
 */
export function mountMethods<E extends Env, S extends Schema, B extends string, const M extends readonly SignInMethod[]>(
  app: Hono<E, S, B>,
  methods: M,
): Hono<E, S | MergeSchemaPath<MethodsSchema<M>, typeof METHODS_PATH>, B> {
  for (const method of methods) if (method.routes) app.route(METHODS_PATH, method.routes as unknown as Hono<E>)
  return app as never
}
