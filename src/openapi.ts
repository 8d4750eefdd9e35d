import * as z from 'zod'
import type { RouterRoute } from 'hono/types'
import { errorCodes, errorEntry, type ErrorCode } from './errors'
import { declarationOf, TAGS, type ResponseHeader, type ResponseSpec, type RouteConfig, type Security } from './http/registry'
import * as R from './schemas/responses'

/** Named schemas (`.meta({ id })`) met while converting, for `components.schemas`. */
type Components = Record<string, unknown>

/** JSON Schema of a zod schema; named parts become `#/components/schemas/<id>` references. */
function schema(named: Components, type: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(type, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>
  const { $defs, $schema: _dialect, ...rest } = json
  const toComponents = (value: unknown) => JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, unknown>
  Object.assign(named, toComponents($defs ?? {}))
  // A named schema converted on its own comes back as a plain object: keep it under its id too.
  const id = z.globalRegistry.get(type)?.id
  if (id) {
    if (!('$ref' in rest)) named[id] = toComponents(rest)
    return { $ref: `#/components/schemas/${id}` }
  }
  return toComponents(rest)
}

const INPUT_ERRORS: ErrorCode[] = ['VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE']
const BEARER_ERRORS: ErrorCode[] = ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED']
/** What every operation can answer: a wrong method on its path, and the failures of the platform. */
const ALWAYS: ErrorCode[] = ['METHOD_NOT_ALLOWED', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE', 'CONFIG_ERROR']

/** The errors a declaration implies, beside the ones it lists. */
function errorsOf(route: RouteConfig): ErrorCode[] {
  const { params, query, body } = route.request ?? {}
  const implied: ErrorCode[] = [
    ...(body ? INPUT_ERRORS : params || query ? ['VALIDATION_ERROR' as const] : []),
    ...(route.security === 'bearer' || route.security === 'admin' ? BEARER_ERRORS : []),
    ...(route.security === 'admin' ? ['FORBIDDEN' as const] : []),
    ...(route.security === 'refresh' ? ['CSRF_REJECTED' as const] : []),
  ]
  return [...new Set([...implied, ...(route.errors ?? []), ...ALWAYS])]
}

const SECURITY: Record<Security, unknown[]> = {
  public: [],
  bearer: [{ bearer: [] }],
  admin: [{ bearer: [] }],
  // The browser's cookie, or (native apps) the token in the body, which needs no scheme.
  refresh: [{ refreshCookie: [] }, {}],
}

const ref = (kind: 'headers', name: string) => ({ $ref: `#/components/${kind}/${name}` })

/** Headers of every response, and of every response to an authenticated request. */
function headersOf(route: RouteConfig, extra: readonly ResponseHeader[] = [], success = false): Record<string, unknown> {
  const authenticated = success && (route.security === 'bearer' || route.security === 'admin')
  return {
    'X-Request-Id': ref('headers', 'X-Request-Id'),
    ...(authenticated ? { 'X-D1-Bookmark': ref('headers', 'X-D1-Bookmark') } : {}),
    ...Object.fromEntries(extra.map((name) => [name, ref('headers', name)])),
  }
}

function successResponse(named: Components, route: RouteConfig, spec: ResponseSpec) {
  if ('redirect' in spec) return { description: spec.description, headers: headersOf(route, spec.headers, true) }
  const content =
    'html' in spec
      ? { 'text/html': { schema: { type: 'string' } } }
      : { 'application/json': { schema: schema(named, 'data' in spec ? R.envelope(spec.data) : spec.json, 'output') } }
  return { description: spec.description, headers: headersOf(route, spec.headers, true), content }
}

function errorResponse(route: RouteConfig, codes: ErrorCode[]) {
  const status = errorEntry(codes[0]!)[0]
  const headers = {
    ...headersOf(route),
    ...(status === 405 ? { Allow: ref('headers', 'Allow') } : {}),
    ...(status === 429 || status === 503 ? { 'Retry-After': ref('headers', 'Retry-After') } : {}),
  }
  const description = status === 405 ? 'METHOD_NOT_ALLOWED: the path does not take this method; `Allow` lists the ones it takes.' : codes.join(', ')
  return { description, headers, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
}

/** OpenAPI path parameters from a Hono path (`:id` is `{id}`). */
const openApiPath = (path: string) => path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')

function operation(named: Components, route: RouteConfig, path: string) {
  const { params, query, body, bodyRequired } = route.request ?? {}
  const parameters: Record<string, unknown>[] = []
  const pathSchema = params ? (schema(named, params, 'input') as { properties?: Record<string, unknown> }) : {}
  for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
    parameters.push({ name, in: 'path', required: true, schema: pathSchema.properties?.[name!] ?? { type: 'string' } })
  }
  if (query) {
    const json = schema(named, query, 'input') as { properties?: Record<string, { description?: string }>; required?: string[] }
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      const { description, ...rest } = property
      parameters.push({ name, in: 'query', required: json.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest })
    }
  }
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of errorsOf(route)) byStatus.set(errorEntry(code)[0], [...(byStatus.get(errorEntry(code)[0]) ?? []), code])
  const responses: Record<string, unknown> = {}
  for (const [status, spec] of Object.entries(route.responses)) responses[status] = successResponse(named, route, spec)
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) responses[String(status)] = errorResponse(route, codes)
  return {
    tags: [route.tag],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    operationId: route.operationId,
    security: SECURITY[route.security],
    ...(parameters.length ? { parameters } : {}),
    ...(body
      ? { requestBody: { required: bodyRequired ?? true, content: { 'application/json': { schema: schema(named, body, 'input') } } } }
      : {}),
    responses,
  }
}

const HEADERS = {
  'X-Request-Id': { description: 'The request id: echoed from the request when it is a sane value, else generated.', schema: { type: 'string' } },
  'X-D1-Bookmark': { description: 'The D1 bookmark of this request; send it back to read your own writes through replicas.', schema: { type: 'string' } },
  'Set-Cookie': {
    description: '`__Host-refresh_token=<jwt>; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=<seconds>` (cookie transport), or its deletion.',
    schema: { type: 'string' },
  },
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } },
  Allow: { description: 'The methods this path takes.', schema: { type: 'string' } },
  Location: { description: 'Where the browser goes next.', schema: { type: 'string', format: 'uri' } },
} satisfies Record<string, unknown> & Record<ResponseHeader, unknown>

/**
 * The OpenAPI 3.1 document of the declared routes among `routes` (an app's `.routes`: the
 * middleware entries and each route's guard entries carry no declaration and are skipped).
 */
export function openApiDocument(routes: readonly RouterRoute[]): Record<string, unknown> {
  const named: Components = {}
  const paths: Record<string, Record<string, unknown>> = {}
  for (const entry of routes) {
    const route = declarationOf(entry)
    if (!route) continue
    const path = openApiPath(entry.path)
    ;(paths[path] ??= {})[route.method] = operation(named, route, path)
  }
  schema(named, R.ErrorEnvelope, 'output')
  // The codes sign-in methods registered (MFA_ALREADY_ENABLED, ...) exist only at run time.
  const errorField = (named.Error as { properties?: { error?: { enum?: unknown[] } } } | undefined)?.properties?.error
  if (errorField) errorField.enum = errorCodes()
  return {
    openapi: '3.1.0',
    info: {
      title: 'edge-auth',
      version: '1.0.0',
      description: 'Accounts and sessions on Cloudflare Workers. Every error is `{success:false, message, error, details?}`.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/', description: 'The origin serving this document.' }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token (typ at+jwt).' },
        refreshCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: '__Host-refresh_token',
          description: 'The refresh token of a browser session; native apps send {refreshToken} in the body instead.',
        },
      },
      headers: HEADERS,
      schemas: named,
    },
  }
}
