#!/usr/bin/env node
// `npm run dev`: creates .dev.vars with fresh secrets when it is missing (and adds a missing
// secret to an existing one), checks the configuration with the Worker's own schema and stops
// with every problem in plain words, applies the migrations to the local D1, then starts
// `wrangler dev` (whose [build] command builds the demo's client bundle) and prints its log:
// one short line per request and event, or the JSON lines themselves with LOG_FORMAT=json.
// Every JSON line also goes to .wrangler/dev-log.jsonl, for scripts (the README's curl walk-through).
//
//   npm run dev [-- wrangler dev options]      e.g. npm run dev -- --port 8788
//   node scripts/dev.mjs --check [--env-file F] only check the configuration (exit 1 on a problem)
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import { describeProblems, devVars, envArguments, loadConfigModule } from './lib/dev-config.mjs'
import { classify, humanLine } from './lib/dev-log.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const checkOnly = args.includes('--check')
const wranglerArgs = args.filter((arg) => arg !== '--check')
const { envFiles, vars } = envArguments(wranglerArgs)
const devVarsPath = path.join(root, '.dev.vars')
const secret = () => randomBytes(48).toString('base64url')
/** The secrets `npm run dev` makes up when .dev.vars lacks them. */
const GENERATED = ['ACCESS_TOKEN_SECRET', 'REFRESH_TOKEN_SECRET', 'MFA_ENCRYPTION_KEY']

// With --env-file the developer chose the file: it is checked, never written.
if (envFiles.length === 0) {
  if (!existsSync(devVarsPath)) {
    let text = readFileSync(path.join(root, '.dev.vars.example'), 'utf8')
    for (const name of GENERATED) text = text.replace(new RegExp(`^${name}=.*$`, 'm'), `${name}=${secret()}`)
    writeFileSync(devVarsPath, text, { mode: 0o600 })
    console.log('Created .dev.vars with fresh development secrets.')
  } else {
    const current = parseEnv(readFileSync(devVarsPath, 'utf8'))
    const missing = GENERATED.filter((name) => !current[name])
    if (missing.length > 0) {
      let text = readFileSync(devVarsPath, 'utf8')
      for (const name of missing) {
        const line = `${name}=${secret()}`
        text = new RegExp(`^${name}=.*$`, 'm').test(text) ? text.replace(new RegExp(`^${name}=.*$`, 'm'), line) : `${text.replace(/\n?$/, '\n')}${line}\n`
      }
      writeFileSync(devVarsPath, text, { mode: 0o600 })
      console.log(`Added ${missing.join(', ')} (fresh random) to .dev.vars.`)
    }
  }
}

const { checkConfig } = await loadConfigModule(root)
const problems = checkConfig(await devVars(root, { envFiles, vars }))
const source = envFiles.length ? `${envFiles.join(', ')} (over wrangler.toml [vars])` : '.dev.vars (over wrangler.toml [vars])'
if (problems.length > 0) {
  console.error(describeProblems(problems, source))
  process.exit(1)
}
if (checkOnly) {
  console.log(`npm run dev: the configuration in ${source} is fine.`)
  process.exit(0)
}

const wrangler = path.join(root, 'node_modules/.bin/wrangler')
const migrate = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local'], { cwd: root, stdio: 'inherit', env: { ...process.env, CI: 'true' } })
if (migrate.status !== 0) process.exit(migrate.status ?? 1)

const json = process.env.LOG_FORMAT === 'json'
const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR
const logFile = path.join(root, '.wrangler/dev-log.jsonl')
mkdirSync(path.dirname(logFile), { recursive: true })
writeFileSync(logFile, '')

// stdout is piped (to rewrite the log), so wrangler's keyboard shortcuts are off; Ctrl-C stops it.
const dev = spawn(wrangler, ['dev', '--show-interactive-dev-session=false', ...wranglerArgs], {
  cwd: root,
  stdio: ['inherit', 'pipe', 'pipe'],
  env: { ...process.env, ...(colour ? { FORCE_COLOR: '1' } : {}) },
})
for (const [stream, out] of /** @type {const} */ ([[dev.stdout, process.stdout], [dev.stderr, process.stderr]])) {
  createInterface({ input: stream }).on('line', (raw) => {
    const line = classify(raw)
    if (line.kind === 'drop') return
    if (line.kind === 'text') return void out.write(`${line.text}\n`)
    appendFileSync(logFile, `${line.json}\n`)
    out.write(`${json ? line.json : humanLine(line.event, { colour })}\n`)
  })
}
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => dev.kill(signal))
dev.on('exit', (code) => process.exit(code ?? 0))
