#!/usr/bin/env node
// Checks the package as a consumer gets it: builds dist/, packs the tarball, installs it into
// a scratch project in a temporary directory (with hono and typescript from the registry),
// imports both entry points from plain Node, and type-checks consumer files that hold the
// README's examples verbatim, under moduleResolution Bundler and NodeNext.
//
//   npm run check:package            (CI runs it; KEEP=1 keeps the scratch project)
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const started = Date.now()
const scratch = mkdtempSync(path.join(tmpdir(), 'edge-auth-consumer-'))
const say = (/** @type {string} */ message) => console.log(`[check-package] ${message}`)

/**
 * @param {string} command
 * @param {string[]} args
 * @param {string} cwd
 */
function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } })
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}) in ${cwd}\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

/** The version installed here, so the scratch project checks against what the repo uses. */
const versionOf = (/** @type {string} */ name) => JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version

/** The README's ```ts blocks that follow `<!-- check-package: NAME -->`, by name. */
function readmeExamples() {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
  const blocks = new Map()
  for (const m of readme.matchAll(/<!-- check-package: ([a-z-]+) -->\s*```ts\n([\s\S]*?)```/g)) blocks.set(m[1], m[2])
  return blocks
}

try {
  say('building dist/')
  run(process.execPath, ['scripts/build-package.mjs'], root)

  say('packing')
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], root))
  const tarball = path.join(scratch, packed.filename)
  const files = /** @type {{path: string, size: number}[]} */ (packed.files)
  for (const file of files.sort((a, b) => a.path.localeCompare(b.path))) console.log(`  ${String(file.size).padStart(7)}  ${file.path}`)
  console.log(`  ${files.length} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`)
  const stray = files.map((f) => f.path).filter((p) => !/^(dist\/(client|hono)\/[^/]+\.(js|d\.ts)|package\.json|README\.md)$/.test(p))
  assert.deepEqual(stray, [], 'the tarball holds files a consumer does not need')
  for (const entry of ['dist/client/index.js', 'dist/client/index.d.ts', 'dist/hono/index.js', 'dist/hono/index.d.ts']) {
    assert.ok(files.some((f) => f.path === entry), `the tarball lacks ${entry}`)
  }

  say(`installing it into ${scratch} with hono@${versionOf('hono')} and typescript@${versionOf('typescript')}`)
  writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2))
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, `hono@${versionOf('hono')}`, `typescript@${versionOf('typescript')}`], scratch)
  for (const serverOnly of ['drizzle-orm', 'zod', '@hono/zod-validator', '@cloudflare/workers-types']) {
    assert.ok(!existsSync(path.join(scratch, 'node_modules', serverOnly)), `installing the package pulled in ${serverOnly}`)
  }

  say('importing both entry points from plain Node')
  const smoke = `
    import assert from 'node:assert/strict'
    import { createAuthClient, AuthClientError } from 'edge-auth/client'
    import { authenticate, requireRole, requireAal } from 'edge-auth/hono'
    import { Hono } from 'hono'
    const auth = createAuthClient({ baseUrl: 'https://auth.example.com', fetch: async () => Response.json({ success: false, message: 'no', error: 'TOKEN_EXPIRED' }, { status: 401 }) })
    assert.equal(auth.state, 'signed-out')
    await assert.rejects(auth.profile(), (e) => e instanceof AuthClientError && e.code === 'TOKEN_EXPIRED')
    const binding = { verify: async (token) => token === 'good'
      ? { ok: true, user: { id: 'u1', role: 'user' }, session: { id: 's1', aal: 'aal1', amr: ['pwd'] } }
      : { ok: false, error: 'TOKEN_REVOKED' }, user: async () => null }
    const app = new Hono().use(authenticate({ binding })).get('/', (c) => c.text(c.get('user').id)).get('/admin', requireRole('admin'), (c) => c.text('no')).get('/mfa', requireAal('aal2'), (c) => c.text('no'))
    const get = (path, token) => app.request(path, { headers: { Authorization: 'Bearer ' + token } })
    assert.equal(await (await get('/', 'good')).text(), 'u1')
    assert.deepEqual(await (await get('/', 'bad')).json(), { success: false, message: 'The session has ended.', error: 'TOKEN_REVOKED' })
    assert.equal((await get('/admin', 'good')).status, 403)
    assert.equal((await (await get('/mfa', 'good')).json()).error, 'MFA_REQUIRED')
    console.log('  edge-auth/client and edge-auth/hono load and run in Node ' + process.version)
  `
  writeFileSync(path.join(scratch, 'smoke.mjs'), smoke)
  process.stdout.write(run(process.execPath, ['smoke.mjs'], scratch))

  say("type-checking the README's examples (Bundler and NodeNext)")
  const examples = readmeExamples()
  for (const name of ['client', 'hono', 'hono-jwks']) assert.ok(examples.has(name), `README.md has no <!-- check-package: ${name} --> example`)
  // What the client example leaves to the app.
  const givens = 'declare const email: string, password: string, codeFromEmail: string, currentPassword: string, newPassword: string\ndeclare function showLogin(): void\n'
  writeFileSync(path.join(scratch, 'client-example.ts'), `${givens}${examples.get('client')}`)
  writeFileSync(path.join(scratch, 'worker-example.ts'), examples.get('hono'))
  writeFileSync(path.join(scratch, 'worker-jwks-example.ts'), examples.get('hono-jwks'))
  // Proof that the types are real (an `any` would let these through).
  writeFileSync(
    path.join(scratch, 'types-are-real.ts'),
    `import { createAuthClient, type User } from 'edge-auth/client'
import { authenticate, type AuthUser, type AuthBinding } from 'edge-auth/hono'
const auth = createAuthClient({ baseUrl: 'https://auth.example.com' })
// @ts-expect-error: login needs a password
void auth.login({ email: 'a@example.com' })
const user: User | null = auth.user
const role: 'user' | 'admin' | undefined = user?.role
// @ts-expect-error: the user object has no password hash
void user?.passwordHash
const profile = await auth.api.api.user.profile.$get()
if (profile.ok) { const body = await profile.json(); const id: string = body.data.user.id; void id }
// @ts-expect-error: no such route
void auth.api.api.nothing
const binding: AuthBinding = { verify: async () => ({ ok: false, error: 'TOKEN_REVOKED' }), user: async (): Promise<AuthUser | null> => null }
// @ts-expect-error: not an error the service answers
const wrong: AuthBinding = { verify: async () => ({ ok: false, error: 'NOPE' }), user: async () => null }
void authenticate({ binding }); void role; void wrong
`,
  )
  const common = { target: 'es2022', lib: ['es2023', 'dom', 'dom.iterable'], strict: true, noEmit: true, skipLibCheck: false, types: [] }
  const configs = {
    'tsconfig.bundler.json': { ...common, module: 'esnext', moduleResolution: 'bundler' },
    'tsconfig.nodenext.json': { ...common, module: 'nodenext', moduleResolution: 'nodenext' },
  }
  for (const [file, compilerOptions] of Object.entries(configs)) {
    writeFileSync(path.join(scratch, file), JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2))
    run(path.join(scratch, 'node_modules/.bin/tsc'), ['-p', file], scratch)
    console.log(`  ${file}: no errors`)
  }
  say(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
} catch (error) {
  console.error(`[check-package] FAILED: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
} finally {
  if (process.env.KEEP) console.log(`[check-package] kept ${scratch}`)
  else rmSync(scratch, { recursive: true, force: true })
}
