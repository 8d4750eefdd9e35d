import { Hono } from 'hono'
import { sql } from 'drizzle-orm'
import { accessTokenJwkSet } from '../crypto/tokens'
import { openApiDocument } from '../openapi'
import { ApiError } from '../errors'
import { DOCS_CSP, DOCS_PAGE } from './docs-page'
import type { AppEnv } from '../types'

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

/** Health and service documents, mounted at the root. */
export const serviceRoutes = new Hono<AppEnv>().get('/health', async (c) => {
  if (!c.req.query('deep')) return c.json({ success: true as const, data: { status: 'ok' as const } })
  const [d1, kv] = await Promise.all([
    probe(() => c.get('d1').primary.get(sql`SELECT 1`)),
    probe(() => c.env.OTP_KV.get('health:probe')),
  ])
  if (!d1.ok || !kv.ok) {
    const details = Object.entries({ d1, kv })
      .filter(([, check]) => !check.ok)
      .map(([path]) => ({ path, message: 'is unreachable' }))
    throw new ApiError('SERVICE_UNAVAILABLE', { details })
  }
  return c.json({ success: true as const, data: { status: 'ok' as const, checks: { d1, kv } } })
})
  .get('/openapi.json', (c) => {
    c.header('Cache-Control', 'public, max-age=300')
    return c.json(openApiDocument())
  })
  .get('/docs', (c) => {
    c.header('Content-Security-Policy', DOCS_CSP)
    c.header('Cache-Control', 'public, max-age=300')
    return c.html(DOCS_PAGE)
  })
  /** Public keys for verifying access tokens elsewhere; only when they are signed with Ed25519. */
  .get('/.well-known/jwks.json', async (c) => {
    const jwks = await accessTokenJwkSet(c.get('config'))
    if (!jwks) throw new ApiError('NOT_FOUND', { message: 'Access tokens are signed with a shared secret; there are no public keys.' })
    c.header('Cache-Control', 'public, max-age=300')
    return c.json(jwks)
  })

