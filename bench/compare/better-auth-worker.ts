/**
 * better-auth (bench/compare/package.json pins it) as a worker on the same runtime as the
 * service, for the side-by-side table of `npm run bench -- --compare`: email and password,
 * D1 through better-auth's own Kysely D1 dialect (`database: env.DB`), default settings
 * otherwise (cookie sessions read from D1 on each `get-session`, scrypt password hashes),
 * rate limiting and telemetry off. Bench only.
 */
import { betterAuth, type BetterAuthOptions } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'

interface CompareEnv {
  DB: D1Database
  BETTER_AUTH_SECRET: string
  BASE_URL: string
}

let auth: ReturnType<typeof betterAuth> | undefined
let options: BetterAuthOptions | undefined

function optionsFor(env: CompareEnv): BetterAuthOptions {
  options ??= {
    database: env.DB,
    secret: env.BETTER_AUTH_SECRET,
    baseURL: env.BASE_URL,
    trustedOrigins: [env.BASE_URL],
    emailAndPassword: { enabled: true },
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
  }
  return options
}

export default {
  async fetch(request: Request, env: CompareEnv): Promise<Response> {
    const url = new URL(request.url)
    if (url.pathname === '/__bench/migrate' && request.method === 'POST') {
      const { runMigrations } = await getMigrations(optionsFor(env))
      await runMigrations()
      return Response.json({ ok: true })
    }
    auth ??= betterAuth(optionsFor(env))
    return auth.handler(request)
  },
} satisfies ExportedHandler<CompareEnv>
