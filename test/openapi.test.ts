import Ajv2020 from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { describe, expect, it } from 'vitest'
import openApi31 from '../node_modules/@seriousme/openapi-schema-validator/schemas/v3.1/schema.json'
import { body, call } from './helpers'

/** Every "METHOD /path" row of API.md, with `:id` written as OpenAPI's `{id}`. */
const CONTRACT = [
  'post /api/auth/register', 'post /api/auth/verify-email', 'post /api/auth/login', 'post /api/auth/verify-otp',
  'post /api/auth/resend-otp', 'post /api/auth/refresh', 'post /api/auth/logout', 'post /api/auth/password/forgot',
  'post /api/auth/password/reset', 'get /api/auth/profile', 'get /api/user/profile', 'put /api/user/profile',
  'patch /api/user/profile', 'delete /api/user/profile', 'post /api/auth/password/change', 'post /api/auth/logout-all',
  'get /api/auth/sessions', 'delete /api/auth/sessions/{id}', 'get /api/admin/users', 'get /api/admin/users/{id}',
  'patch /api/admin/users/{id}', 'delete /api/admin/users/{id}', 'get /api/admin/audit', 'get /health',
  'get /openapi.json', 'get /docs', 'get /.well-known/jwks.json',
]

type Doc = {
  openapi: string
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, unknown> }>>
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> }
}

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
  it('documents every path and method of the contract', async () => {
    const doc = (await body(await call('/openapi.json'))) as Doc
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`))
    for (const row of CONTRACT) expect(documented).toContain(row)
  })

  it('validates against the OpenAPI 3.1 schema', async () => {
    const doc = (await body(await call('/openapi.json'))) as Doc
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
    const doc = (await body(await call('/openapi.json'))) as Doc
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.components.securitySchemes).toHaveProperty('bearer')
    expect(doc.components.securitySchemes).toHaveProperty('refreshCookie')
    for (const ref of refs(doc)) {
      expect(ref).toMatch(/^#\/components\/schemas\//)
      expect(doc.components.schemas).toHaveProperty(ref.split('/').pop()!)
    }
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0)
        for (const status of Object.keys(op.responses)) expect(status).toMatch(/^[1-5]\d\d$/)
      }
    }
  })

  it('derives request bodies from the validators: strict objects and their fields', async () => {
    const doc = (await body(await call('/openapi.json'))) as Doc
    const register = doc.paths['/api/auth/register']!.post!.requestBody!.content['application/json']!.schema as {
      properties: Record<string, unknown>
      required: string[]
      additionalProperties: boolean
    }
    expect(Object.keys(register.properties).sort()).toEqual(['email', 'mobile', 'name', 'password'])
    expect(register.required.sort()).toEqual(['email', 'name', 'password'])
    expect(register.additionalProperties).toBe(false)
    const profile = doc.paths['/api/user/profile']!.patch!.requestBody!.content['application/json']!.schema as { properties: Record<string, unknown> }
    expect(Object.keys(profile.properties).sort()).toEqual(['mobile', 'name'])
  })

  it('documents the error envelope with every error code', async () => {
    const doc = (await body(await call('/openapi.json'))) as Doc
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
