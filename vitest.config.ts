import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { build } from 'esbuild'
import { configDefaults, defineConfig } from 'vitest/config'
import { experimental_readRawConfig } from 'wrangler'

/** Test secrets are pinned here; a developer's .dev.vars is never read by the suite (see testWranglerConfig). */
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
  MFA_ENCRYPTION_KEY: 'test-mfa-key-0123456789abcdef0123456789abcdef',
}

/** The project's name, and so the name of the worker the pool runs this service in. */
const PROJECT = 'edge-auth'
const RUNNER = `vitest-plugin-runner-${PROJECT}`

/**
 * Every setting .dev.vars.example names, blanked (so its default applies) unless pinned above:
 * wrangler.toml's production [vars] (EMAIL_DELIVERY=resend, ...) never change what the tests see.
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

/**
 * wrangler.toml as JSON, its paths made absolute, in a directory of its own. Wrangler loads the
 * .dev.vars beside the config file it is given (and says so, once per test file); there is none
 * beside this copy, so the suite reads no developer secrets. The [build] step is left out: the
 * tests need no client assets.
 */
function testWranglerConfig(): string {
  const root = import.meta.dirname
  const { rawConfig } = experimental_readRawConfig({ config: path.join(root, 'wrangler.toml') })
  const { build: _build, ...config } = rawConfig
  const absolute = (file: string | undefined) => (file ? path.resolve(root, file) : file)
  const copy = {
    ...config,
    main: absolute(config.main),
    ...(config.assets ? { assets: { ...config.assets, directory: absolute(config.assets.directory) } } : {}),
    d1_databases: config.d1_databases?.map((db: { migrations_dir?: string }) => ({ ...db, migrations_dir: absolute(db.migrations_dir) })),
  }
  const file = path.join(root, 'node_modules/.cache/edge-auth-vitest/wrangler.json')
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(copy, null, 2))
  return file
}

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, 'migrations'))
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: testWranglerConfig() },
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
      // test/node/ holds Node-side tests of the scripts (`npm run test:node`), not Workers tests.
      exclude: [...configDefaults.exclude, 'test/node/**'],
      // The app logs a JSON line per request; keep test output readable.
      onConsoleLog: (log: string) => (process.env.TEST_LOGS ? undefined : log.includes('"level":"error"') ? undefined : false),
      testTimeout: 30_000,
    },
  }
})
