import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { build } from 'esbuild'
import { defineConfig } from 'vitest/config'

/** Test secrets are pinned here; a developer's .dev.vars is never read by the suite. */
export const TEST_BINDINGS = {
  ENVIRONMENT: 'test',
  ACCESS_TOKEN_SECRET: 'test-access-secret-0123456789abcdef0123456789',
  REFRESH_TOKEN_SECRET: 'test-refresh-secret-0123456789abcdef012345678',
  PASSWORD_PEPPER: '',
  JWT_ISSUER: 'https://auth.test',
  JWT_AUDIENCE: 'api',
  LOGIN_OTP: 'required',
  REQUIRE_EMAIL_VERIFICATION: 'false',
  CORS_ORIGINS: 'https://app.test',
  ADMIN_EMAILS: 'admin@example.com',
}

/** The project's name, and so the name of the worker the pool runs this service in. */
const PROJECT = 'edge-auth'
const RUNNER = `vitest-plugin-runner-${PROJECT}`

/**
 * Every setting .dev.vars.example names, blanked (so its default applies) unless pinned above:
 * a developer's .dev.vars, which wrangler loads, can never change what the tests see.
 */
const blanked = Object.fromEntries(
  readFileSync(path.join(import.meta.dirname, '.dev.vars.example'), 'utf8')
    .split('\n')
    .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined)
    .map((name) => [name, '']),
)

/**
 * The example resource server (examples/notes-worker), bundled for the pool as an auxiliary
 * worker. Its AUTH binding reaches this service's AuthService entrypoint in the worker under
 * test, so its tests see the same D1, the same mailbox and the same sessions.
 */
async function notesWorker() {
  const outfile = path.join(import.meta.dirname, '.wrangler/test-aux/notes-worker.mjs')
  mkdirSync(path.dirname(outfile), { recursive: true })
  await build({
    entryPoints: [path.join(import.meta.dirname, 'examples/notes-worker/src/index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*'],
    alias: { 'edge-auth/hono': path.join(import.meta.dirname, 'src/hono/index.ts') },
    logLevel: 'warning',
  })
  return {
    name: 'notes-worker',
    modules: true,
    scriptPath: outfile,
    compatibilityDate: '2026-04-01',
    kvNamespaces: ['NOTES'],
    serviceBindings: { AUTH: { name: RUNNER, entrypoint: 'AuthService' } },
  }
}

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'))
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: { ...blanked, ...TEST_BINDINGS, TEST_MIGRATIONS: migrations },
          // Test-only: the example worker, called by its tests as env.NOTES_WORKER.
          serviceBindings: { NOTES_WORKER: 'notes-worker' },
          workers: [await notesWorker()],
        },
      }),
    ],
    test: {
      name: PROJECT,
      include: ['test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
      setupFiles: ['./test/setup.ts'],
      // The app logs a JSON line per request; keep test output readable.
      onConsoleLog: (log: string) => (process.env.TEST_LOGS ? undefined : log.includes('"level":"error"') ? undefined : false),
      testTimeout: 30_000,
    },
  }
})
