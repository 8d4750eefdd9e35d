import type * as z from 'zod'
import { accessTokenJwkSet } from '../crypto/tokens'
import { ping } from '../db/health'
import { ApiError } from '../errors'
import { routes } from '../http/registry'
import * as R from '../schemas/responses'
import { HealthQuery } from '../schemas/service'
import { DOCS_CSP, DOCS_PAGE } from './docs-page'

type Check = { ok: boolean; latencyMs: number }

async function probe(work: () => Promise<unknown>): Promise<Check> {
  const started = Date.now()
  try {
    await work()
    return { ok: true, latencyMs: Date.now() - started }
  } catch {
    return { ok: false, latencyMs: Date.now() - started }
  }
}

/**
 * Health and service documents, mounted at the root. `document` builds the OpenAPI document of
 * the app these routes are mounted in (the app passes it, since only it knows all its routes).
 */
export const serviceRoutes = (document: () => Record<string, unknown>) =>
  routes()
    .openapi(
      {
        method: 'get', path: '/health', operationId: 'health', tag: 'Service', security: 'public',
        summary: 'Liveness; ?deep=1 also touches D1 and KV',
        request: { query: HealthQuery },
        responses: { 200: { description: 'The service is up (and, with deep, so are D1 and KV).', data: R.Health } },
      },
      async (c) => {
        if (!c.req.valid('query').deep) return c.json({ success: true as const, data: { status: 'ok' as const } }, 200)
        const [d1, kv] = await Promise.all([
          probe(() => ping(c.get('d1').primary)),
          probe(() => c.env.OTP_KV.get('health:probe')),
        ])
        if (!d1.ok || !kv.ok) {
          const details = Object.entries({ d1, kv })
            .filter(([, check]) => !check.ok)
            .map(([path]) => ({ path, message: 'is unreachable' }))
          throw new ApiError('SERVICE_UNAVAILABLE', { details })
        }
        return c.json({ success: true as const, data: { status: 'ok' as const, checks: { d1, kv } } }, 200)
      },
    )
    .openapi(
      {
        method: 'get', path: '/openapi.json', operationId: 'openApiDocument', tag: 'Service', security: 'public',
        summary: 'This document (OpenAPI 3.1)',
        responses: { 200: { description: 'The OpenAPI 3.1 document.', json: R.OpenApiDocument } },
      },
      (c) => {
        c.header('Cache-Control', 'public, max-age=300')
        return c.json(document(), 200)
      },
    )
    .openapi(
      {
        method: 'get', path: '/docs', operationId: 'apiReference', tag: 'Service', security: 'public',
        summary: 'Interactive API reference (HTML)',
        responses: { 200: { description: 'The reference page.', html: true } },
      },
      (c) => {
        c.header('Content-Security-Policy', DOCS_CSP)
        c.header('Cache-Control', 'public, max-age=300')
        return c.html(DOCS_PAGE)
      },
    )
    .openapi(
      {
        method: 'get', path: '/.well-known/jwks.json', operationId: 'jwks', tag: 'Service', security: 'public',
        summary: 'Public keys of EdDSA-signed access tokens',
        description: 'Only when access tokens are signed with Ed25519; with a shared secret this answers 404.',
        responses: { 200: { description: 'The JSON Web Key Set.', json: R.Jwks } },
        errors: ['NOT_FOUND'],
      },
      async (c) => {
        const jwks = await accessTokenJwkSet(c.get('config'))
        if (!jwks) throw new ApiError('NOT_FOUND', { message: 'Access tokens are signed with a shared secret; there are no public keys.' })
        c.header('Cache-Control', 'public, max-age=300')
        // jose types every JWK member optional; the keys built here always carry kty and kid.
        return c.json(jwks as z.output<typeof R.Jwks>, 200)
      },
    )
