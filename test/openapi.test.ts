import Ajv2020 from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { describe, expect, it } from 'vitest'
import openApi31 from '../node_modules/@seriousme/openapi-schema-validator/schemas/v3.1/schema.json'
import { createApp } from '../src/app'
import { body, call } from './helpers'

/** Every route the app mounts, as "method /path" with `:id` written as OpenAPI's `{id}` (middleware entries are method ALL). */
function mountedRoutes(): string[] {
  const routes = createApp().routes.filter((route) => route.method !== 'ALL')
  return [...new Set(routes.map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`))].sort()
}

type Header = { $ref?: string }
type Response = { description: string; headers?: Record<string, Header>; content?: Record<string, { schema: Record<string, unknown> }> }
type Operation = {
  operationId: string
  security?: unknown[]
  parameters?: { name: string; in: string }[]
  requestBody?: { content: Record<string, { schema: unknown }> }
  responses: Record<string, Response>
}

type Doc = {
  openapi: string
  servers?: { url: string }[]
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown>; headers: Record<string, unknown> }
}

/** Every operation of the document, with its method and path. */
const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method, path, op })))

const getDoc = async () => (await body(await call('/openapi.json'))) as Doc

/** Every `$ref` in the document, to check that each one resolves. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => refs(item, found))
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') found.push(item)
      else refs(item, found)
    }
  }
  return found
}

describe('GET /openapi.json', () => {
  it('documents every route the app mounts, with its methods, and nothing else', async () => {
    const doc = await getDoc()
    const documented = operations(doc).map(({ method, path }) => `${method} ${path}`).sort()
    expect(documented).toEqual(mountedRoutes())
    // The walk is not vacuous: it sees the routes of every group.
    expect(documented).toEqual(expect.arrayContaining(['post /api/auth/login', 'patch /api/user/profile', 'delete /api/admin/users/{id}', 'get /health']))
  })

  it('gives every operation a unique operationId, a summary and a tag', async () => {
    const ops = operations(await getDoc())
    expect(new Set(ops.map(({ op }) => op.operationId)).size).toBe(ops.length)
    for (const { method, path, op } of ops) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/)
      expect((op as Operation & { summary?: string }).summary, `${method} ${path}`).toBeTruthy()
      expect((op as Operation & { tags?: string[] }).tags, `${method} ${path}`).toHaveLength(1)
    }
  })

  it('marks public operations security: [] and guarded ones with their scheme', async () => {
    const doc = await getDoc()
    expect(doc.servers?.[0]?.url).toBe('/')
    expect(doc.paths['/api/auth/login']!.post!.security).toEqual([])
    expect(doc.paths['/health']!.get!.security).toEqual([])
    expect(doc.paths['/api/user/profile']!.get!.security).toEqual([{ bearer: [] }])
    expect(doc.paths['/api/admin/users']!.get!.security).toEqual([{ bearer: [] }])
    expect(doc.paths['/api/auth/refresh']!.post!.security).toEqual([{ refreshCookie: [] }, {}])
    for (const { op } of operations(doc)) expect(op.security).toBeDefined()
  })

  it('documents 405 with Allow on every operation, and the headers the app sends', async () => {
    const doc = await getDoc()
    for (const { method, path, op } of operations(doc)) {
      const where = `${method} ${path}`
      expect(op.responses['405']?.headers, where).toHaveProperty('Allow')
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.headers, `${where} ${status}`).toHaveProperty('X-Request-Id')
        if (status === '429' || status === '503') expect(response.headers, `${where} ${status}`).toHaveProperty('Retry-After')
      }
      // Social sign-in's start and callback are browser navigations: their success is a 302.
      const success = op.responses['200'] ?? op.responses['201'] ?? op.responses['302']!
      // A logout that ended a session also answers its bookmark: the caller proved it holds that session.
      const authenticated = JSON.stringify(op.security).includes('bearer') || where === 'post /api/auth/logout'
      expect(Object.keys(success.headers!).includes('X-D1-Bookmark'), where).toBe(authenticated)
    }
    for (const path of ['/api/auth/verify-otp', '/api/auth/refresh', '/api/auth/logout', '/api/auth/login']) {
      expect(doc.paths[path]!.post!.responses['200']!.headers, path).toHaveProperty('Set-Cookie')
    }
    for (const ref of refs(doc).filter((ref) => ref.startsWith('#/components/headers/'))) {
      expect(doc.components.headers).toHaveProperty(ref.split('/').pop()!)
    }
  })

  it('documents the deep query of /health and the path parameters', async () => {
    const doc = await getDoc()
    expect(doc.paths['/health']!.get!.parameters).toEqual([expect.objectContaining({ name: 'deep', in: 'query', required: false })])
    expect(doc.paths['/api/admin/users/{id}']!.get!.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })])
  })

  it('requires refreshToken in the body-transport token response, and documents attemptsLeft', async () => {
    const doc = await getDoc()
    const body = doc.components.schemas.BodyTokenResponse as { required: string[] }
    const cookie = doc.components.schemas.TokenResponse as { required: string[]; properties: Record<string, unknown> }
    expect(body.required).toContain('refreshToken')
    expect(cookie.properties).not.toHaveProperty('refreshToken')
    const data = JSON.stringify(doc.paths['/api/auth/verify-otp']!.post!.responses['200']!.content!['application/json']!.schema)
    expect(data).toContain('#/components/schemas/BodyTokenResponse')
    expect(data).toContain('#/components/schemas/TokenResponse')
    const detail = doc.components.schemas.ErrorDetail as { properties: Record<string, unknown> }
    expect(detail.properties).toHaveProperty('attemptsLeft')
  })

  it('validates against the OpenAPI 3.1 schema', async () => {
    const doc = await getDoc()
    // The official 3.1 schema, compiled as @seriousme/openapi-schema-validator does (its loader needs node:fs).
    const ajv = new Ajv2020({ strict: false, allErrors: true })
    addFormats(ajv)
    ajv.addFormat('media-range', true)
    const validate = ajv.compile(openApi31)
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true)
    // The validator is not a rubber stamp: a document without `info` fails it.
    const { info: _info, ...withoutInfo } = doc as Doc & { info: unknown }
    expect(validate(withoutInfo)).toBe(false)
  })

  it('is an OpenAPI 3.1 document whose references all resolve', async () => {
    const doc = await getDoc()
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.components.securitySchemes).toHaveProperty('bearer')
    expect(doc.components.securitySchemes).toHaveProperty('refreshCookie')
    for (const ref of refs(doc)) {
      const [, kind, name] = /^#\/components\/(schemas|headers)\/(.+)$/.exec(ref) ?? []
      expect(kind, ref).toBeDefined()
      expect(doc.components[kind as 'schemas' | 'headers']).toHaveProperty(name!)
    }
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0)
        for (const status of Object.keys(op.responses)) expect(status).toMatch(/^[1-5]\d\d$/)
      }
    }
  })

  it('derives request bodies from the validators: strict objects and their fields', async () => {
    const doc = await getDoc()
    const register = doc.paths['/api/auth/register']!.post!.requestBody!.content['application/json']!.schema as {
      properties: Record<string, unknown>
      required: string[]
      additionalProperties: boolean
    }
    expect(Object.keys(register.properties).sort()).toEqual(['email', 'mobile', 'name', 'password', 'turnstileToken'])
    expect(register.required.sort()).toEqual(['email', 'name', 'password'])
    expect(register.additionalProperties).toBe(false)
    const profile = doc.paths['/api/user/profile']!.patch!.requestBody!.content['application/json']!.schema as { properties: Record<string, unknown> }
    expect(Object.keys(profile.properties).sort()).toEqual(['mobile', 'name'])
  })

  it('documents the error envelope with every error code', async () => {
    const doc = await getDoc()
    const error = doc.components.schemas.Error as { properties: { error: { enum: string[] } } }
    expect(error.properties.error.enum).toEqual(expect.arrayContaining(['VALIDATION_ERROR', 'TOKEN_REUSED', 'CSRF_REJECTED', 'CONFIG_ERROR']))
    const refresh = doc.paths['/api/auth/refresh']!.post!.responses
    expect(refresh).toHaveProperty('401')
    expect(refresh).toHaveProperty('403')
  })
})

describe('GET /docs', () => {
  it('serves the reference page with a policy that allows only its own origin', async () => {
    const response = await call('/docs')
    expect(response.status).toBe(200)
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/)
    const csp = response.headers.get('Content-Security-Policy')!
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain("'unsafe-eval'")
    // No other host anywhere: the page works offline.
    expect(csp).not.toMatch(/https?:/)
    const html = await response.text()
    expect(html).toContain('data-url="/openapi.json"')
    expect(html).toContain('<script src="/assets/scalar/standalone.js"></script>')
    expect(html).not.toMatch(/https?:\/\//)
    // Readable without the script: a visible link to the document, and a noscript line.
    expect(html).toMatch(/<p class="spec-link">[^<]*<a href="\/openapi.json">/)
    expect(html).toMatch(/<noscript>.*\/openapi.json.*<\/noscript>/)
  })
})
