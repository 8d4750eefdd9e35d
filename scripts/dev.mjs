#!/usr/bin/env node
// `npm run dev`: creates .dev.vars with fresh secrets when it is missing, builds the client
// bundle for the demo page, applies the migrations to the local D1, then starts `wrangler dev`
// with local D1 and KV.
import { spawnSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'

const secret = () => randomBytes(48).toString('base64url')

if (!existsSync('.dev.vars')) {
  const vars = readFileSync('.dev.vars.example', 'utf8')
    .replace(/^ACCESS_TOKEN_SECRET=.*$/m, `ACCESS_TOKEN_SECRET=${secret()}`)
    .replace(/^REFRESH_TOKEN_SECRET=.*$/m, `REFRESH_TOKEN_SECRET=${secret()}`)
  writeFileSync('.dev.vars', vars, { mode: 0o600 })
  console.log('Created .dev.vars with fresh development secrets.')
}

// The demo page imports the bundled client (public/assets/auth-client.js): build it first.
const built = spawnSync(process.execPath, ['scripts/build-client.mjs'], { stdio: 'inherit' })
if (built.status !== 0) process.exit(built.status ?? 1)

const wrangler = process.platform === 'win32' ? 'npx.cmd' : 'npx'
const migrate = spawnSync(wrangler, ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local'], {
  stdio: 'inherit',
  env: { ...process.env, CI: 'true' },
})
if (migrate.status !== 0) process.exit(migrate.status ?? 1)

const dev = spawn(wrangler, ['wrangler', 'dev', ...process.argv.slice(2)], { stdio: 'inherit' })
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => dev.kill(signal))
dev.on('exit', (code) => process.exit(code ?? 0))
