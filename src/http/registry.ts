/**
 * The route registry: a route's input schemas, its responses and its handler are declared
 * together, and /openapi.json is generated from the declarations of the routes the app mounts.
 *
 * How to add a route group (say `src/methods/totp/routes.ts`, mounted at /api/auth/mfa):
 *
 * ```ts
 * export const totpRoutes = routes()
 *   .openapi(
 *     {
 *       method: 'post', path: '/totp/verify', operationId: 'verifyTotp', tag: 'MFA', security: 'public',
 *       summary: 'Complete a login challenge with an authenticator-app code',
 *       middleware: [rateLimit('RL_VERIFY', 'totp')],    // runs after the auth guard, before validation
 *       request: { body: TotpVerifyBody },                // zod, from src/schemas or the method's folder
 *       responses: { 200: { description: 'Signed in', data: R.TokenData, headers: ['Set-Cookie'] } },
 *       errors: ['OTP_INVALID', 'OTP_EXPIRED'],           // the route's own; input, auth, 405, 500, 503 are added
 *     },
 *     async (c) => ok(c, await verifyTotp(deps(c), c.req.valid('json'))),
 *   )
 * ```
 *
 * and mount it in src/app.ts with one line, `.route('/api/auth/mfa', totpRoutes)`. The tag, if
 * new, gets a line in TAGS below. `security: 'bearer'` (or `'admin'`) also installs the guard,
 * so what the document claims is what runs. The handler's typed responses must have a declared
 * status and a body of that status's schema, or the chain stops compiling (the next `.openapi`
 * or the mounting `.route` fails, with a `mismatch` or `undeclaredStatus` type naming it).
 * test/openapi.test.ts fails for any route mounted without a declaration.
 */
import { Hono, type Context, type Env, type MiddlewareHandler, type Next, type ValidationTargets } from 'hono'
import type { BlankSchema, HandlerResponse, RouterRoute, Schema, ToSchema, TypedResponse } from 'hono/types'
import { every } from 'hono/combine'
import type { InferInput } from 'hono/validator'
import type * as z from 'zod'
import type { ErrorCode } from '../errors'
import { requireAuth } from '../middleware/require-auth'
import { requireRole } from '../middleware/require-role'
import type { AppEnv } from '../types'
import { validate, validateQuery } from './validate'

/** The document's tags, in the order a reader meets them. */
export const TAGS = {
  Auth: 'Registration, sign-in and tokens.',
  Sessions: "The caller's sessions.",
  Passwords: 'Changing and resetting passwords.',
  MFA: 'Authenticator apps (TOTP) and recovery codes: the second step after a password or a provider.',
  Passkeys: 'WebAuthn passkeys: register and manage them, sign in with one.',
  Profile: "The caller's own account.",
  'Social sign-in': 'Signing in with GitHub, Google or any OpenID Connect provider, and linked identities.',
  Admin: 'User administration and the audit trail (role admin).',
  Service: 'Health and the service documents.',
} as const
export type Tag = keyof typeof TAGS

/**
 * Who may call: `public` (no credentials), `bearer` (an access token), `admin` (an access
 * token of an admin), `refresh` (the refresh cookie, or the refresh token in the body).
 */
export type Security = 'public' | 'bearer' | 'admin' | 'refresh'

/** Response headers the document describes (components.headers). */
/** Headers a route may declare beyond the ones every response carries (`X-D1-Bookmark`: a public route that writes the caller's own state). */
export type ResponseHeader = 'Set-Cookie' | 'Location' | 'X-D1-Bookmark'

/** One response: `data` is wrapped in the success envelope; `json` and `html` are sent as they are; `redirect` has no body (a `Location`). */
export type ResponseSpec = {
  description: string
  headers?: readonly ResponseHeader[]
} & ({ data: z.ZodType } | { json: z.ZodType } | { html: true } | { redirect: true })

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'

/** A route's declaration: everything the document says about it, and its guards and validation. */
export interface RouteConfig {
  method: Method
  /** Hono syntax: `/users/:id`. */
  path: string
  operationId: string
  summary: string
  description?: string
  tag: Tag
  security: Security
  /** Extra middleware (rate limits), run after the security guard and before validation. */
  middleware?: readonly MiddlewareHandler<AppEnv>[]
  request?: {
    params?: z.ZodType
    query?: z.ZodType
    body?: z.ZodType
    /** False when the body may be left out (refresh and logout with the cookie). */
    bodyRequired?: boolean
  }
  /** The success responses by status. */
  responses: { [status: number]: ResponseSpec }
  /** The route's own error codes; input, security, 405, 500 and 503 errors are added from the declaration. */
  errors?: readonly ErrorCode[]
}

// The validators' input types, as @hono/zod-validator computes them, so hono/client sees the same request types.
type HasUndefined<T> = undefined extends T ? true : false
type Part<Target extends keyof ValidationTargets, S> = S extends z.ZodType
  ? {
      in: HasUndefined<z.input<S>> extends true
        ? { [K in Target]?: [z.input<S>] extends [ValidationTargets[K]] ? z.input<S> : InferInput<z.input<S>, K> }
        : { [K in Target]: [z.input<S>] extends [ValidationTargets[K]] ? z.input<S> : InferInput<z.input<S>, K> }
      out: { [K in Target]: z.output<S> }
    }
  : {}
type Req<R extends RouteConfig> = NonNullable<R['request']>
/** What `c.req.valid(...)` returns in the route's handler, and what the typed client sends. */
export type RouteInput<R extends RouteConfig> = Part<'param', Req<R>['params']> & Part<'query', Req<R>['query']> & Part<'json', Req<R>['body']>

type MergeTypedResponse<T> = T extends Promise<void> ? T : T extends Promise<infer T2> ? (T2 extends TypedResponse ? T2 : TypedResponse) : T extends TypedResponse ? T : TypedResponse

/** The body a declared response sends: the envelope around `data`, the `json` schema's output, or HTML text. */
type DeclaredBody<Spec> = Spec extends { data: infer D extends z.ZodType }
  ? { success: true; message?: string; data: z.output<D> }
  : Spec extends { json: infer J extends z.ZodType }
    ? z.output<J>
    : Spec extends { redirect: true }
      ? undefined
      : string
/** The typed responses a handler returns (plain `Response`s, such as c.body, carry no type to check). */
type TypedOf<Res> = Extract<Awaited<Res>, TypedResponse>
/**
 * `[]` when every typed response of the handler has a declared status and a body of that
 * status's schema; otherwise a one-element tuple whose type names the mismatch, so the call fails
 * to compile.
 */
type ResponsesMatch<R extends RouteConfig, Res> = [TypedOf<Res>] extends [never]
  ? []
  : TypedOf<Res> extends infer T
    ? T extends TypedResponse<infer Body, infer Status>
      ? Status extends keyof R['responses']
        ? [Body] extends [DeclaredBody<R['responses'][Status]>]
          ? []
          : [mismatch: { status: Status; declared: DeclaredBody<R['responses'][Status]>; returned: Body }]
        : [undeclaredStatus: Status]
      : []
    : []

/** Declarations by the validation middleware the registry made for them (one per route, so unique). */
const declarations = new WeakMap<object, RouteConfig>()

/** The declaration behind a mounted route entry, if its handler is one the registry made. */
export const declarationOf = (route: RouterRoute): RouteConfig | undefined => declarations.get(route.handler)

const GUARDS: Record<Security, () => MiddlewareHandler<AppEnv>[]> = {
  public: () => [],
  refresh: () => [],
  bearer: () => [requireAuth()],
  admin: () => [requireAuth(), requireRole('admin')],
}

/** Validates params, query and body in that order, as separate zod validators did before. */
function requestValidator(route: RouteConfig): MiddlewareHandler<AppEnv> {
  const { params, query, body } = route.request ?? {}
  const steps: MiddlewareHandler[] = []
  if (params) steps.push(validate('param', params))
  if (query) steps.push(validateQuery(query))
  if (body) steps.push(validate('json', body))
  // A fresh function per route, so it can key the route's declaration; no combinator for one step or none.
  const [only] = steps
  const middleware: MiddlewareHandler = steps.length > 1 ? every(...steps) : only ? (c, next) => only(c, next) : (_c, next) => next()
  declarations.set(middleware, route)
  return middleware
}

/** A group of declared routes: a Hono app whose routes come only through `openapi()`. */
export class RouteGroup<S extends Schema = BlankSchema> extends Hono<AppEnv, S, '/'> {
  /** Declares a route and mounts its guard, middleware, validation and handler. */
  openapi<const R extends RouteConfig, Res extends HandlerResponse<unknown>>(
    route: R,
    handler: (c: Context<AppEnv, R['path'], RouteInput<R>>, next: Next) => Res,
  ): ResponsesMatch<R, Res> extends [] ? RouteGroup<S & ToSchema<R['method'], R['path'], RouteInput<R>, MergeTypedResponse<Res>>> : ResponsesMatch<R, Res> {
    const chain: MiddlewareHandler<Env>[] = [...GUARDS[route.security](), ...(route.middleware ?? []), requestValidator(route)] as MiddlewareHandler<Env>[]
    this.on([route.method], [route.path], ...chain, handler as unknown as MiddlewareHandler<Env>)
    return this as never
  }
}

/** A new, empty route group. */
export const routes = () => new RouteGroup()
