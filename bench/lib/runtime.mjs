// The runtime side of the benchmark: the production bundle built exactly as deploy builds it,
// the baseline worker and the latency/cost model's wrapper entry built with esbuild, and each
// worker started in its own workerd through the Miniflare API (the one wrangler 4.86 runs).
import { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import * as esbuild from 'esbuild'
import { unstable_readConfig, unstable_splitSqlQuery } from 'wrangler'
import { children, run } from './processes.mjs'
import { ROOT, readJson } from './util.mjs'

const require = createRequire(import.meta.url)

export const TMP = path.join(ROOT, 'bench/.tmp')
export const SERVICE_OUT = path.join(TMP, 'service')
export const BASELINE_OUT = path.join(TMP, 'baseline')
export const STATE = path.join(TMP, 'state')
/** The rate limits are raised to this so the load is measured, not refused. */
export const RAISED_LIMIT = 1_000_000_000
/** The wrapper entry of the latency and cost model, written beside the production bundle. */
export const MODEL_ENTRY = 'bench-model-entry.js'

const buildEnv = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' }

/** Builds the production bundle with `wrangler deploy --dry-run`; returns its size. */
export async function buildService() {
  rmSync(SERVICE_OUT, { recursive: true, force: true })
  const wrangler = path.join(ROOT, 'node_modules/.bin/wrangler')
  const build = await run(wrangler, ['deploy', '--dry-run', '--outdir', path.relative(ROOT, SERVICE_OUT)], { cwd: ROOT, env: buildEnv })
  if (build.code !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${build.output}`)
  const upload = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(build.output)
  if (!upload) throw new Error(`no "gzip:" figure in the dry-run output:\n${build.output}`)
  return { script: path.join(SERVICE_OUT, 'index.js'), bundle: { totalKiB: Number(upload[1]), gzipKiB: Number(upload[2]) } }
}

/** @param {string} entry @param {string} outfile @param {Partial<esbuild.BuildOptions>} [extra] */
async function bundleWorker(entry, outfile, extra = {}) {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    minify: true,
    logLevel: 'warning',
    ...extra,
  })
}

/** Builds bench/baseline.ts. */
export async function buildBaseline() {
  const script = path.join(BASELINE_OUT, 'index.js')
  await bundleWorker(path.join(ROOT, 'bench/baseline.ts'), script)
  return { script }
}

/**
 * Builds the model's wrapper entry (bench/worker/model-entry.ts) into the service's output
 * folder. It imports the production bundle (`./index.js`) as it is, unbundled, so the
 * service's code is byte for byte what deploy uploads.
 */
export async function buildModelEntry() {
  const script = path.join(SERVICE_OUT, MODEL_ENTRY)
  await bundleWorker(path.join(ROOT, 'bench/worker/model-entry.ts'), script, {
    external: ['./index.js'],
    plugins: [
      {
        name: 'production-bundle',
        setup(build) {
          // The wrapper's source imports '@service' for the production bundle beside it.
          build.onResolve({ filter: /^@service$/ }, () => ({ path: './index.js', external: true }))
        },
      },
    ],
  })
  return { script }
}

/**
 * Miniflare 4 (the one wrangler 4.86 runs). node_modules/miniflare normally is it; if a
 * different major is hoisted there, wrangler's own copy is used.
 */
export async function loadMiniflare() {
  const top = path.join(ROOT, 'node_modules/miniflare')
  const nested = path.join(ROOT, 'node_modules/wrangler/node_modules/miniflare')
  const dir = readJson(path.join(top, 'package.json')).version.startsWith('4.') ? top : nested
  const version = /** @type {string} */ (readJson(path.join(dir, 'package.json')).version)
  if (!version.startsWith('4.')) throw new Error(`Miniflare 4 not found (found ${version})`)
  const entry = dir === top ? require.resolve('miniflare') : path.join(dir, readJson(path.join(dir, 'package.json')).main)
  const module = /** @type {typeof import('miniflare')} */ (await import(pathToFileURL(entry).href))
  const workerd = createRequire(entry)('workerd/package.json').version
  return { module, version, workerd: /** @type {string} */ (workerd) }
}

/**
 * What workerd prints (the service logs one JSON line per request, the console mailer one per
 * code): read and counted, never echoed, so it cannot flood this process or the terminal.
 * Error-level and non-JSON lines are kept (a few) for the report. The codes the console mailer
 * writes are kept in `mailbox` (the model's login with a mailed code reads them from there, as
 * a user reads their inbox).
 */
export const workerdOutput = { lines: 0, emails: 0, errorLines: 0, notable: /** @type {string[]} */ ([]) }
/** @type {Map<string, string>} `${to}|${purpose}` -> latest code */
const mailbox = new Map()

/** @param {import('node:stream').Readable} stream @param {string} label */
function drain(stream, label) {
  let tail = ''
  stream.setEncoding('utf8')
  stream.on('data', (/** @type {string} */ chunk) => {
    const lines = (tail + chunk).split('\n')
    tail = lines.pop() ?? ''
    for (const line of lines) {
      workerdOutput.lines++
      if (line.includes('"event":"email.sent"')) {
        workerdOutput.emails++
        try {
          const mail = JSON.parse(line.slice(line.indexOf('{')))
          if (mail.to && mail.code) mailbox.set(`${mail.to}|${mail.purpose}`, String(mail.code))
        } catch {
          // Not one JSON line: counted, not kept.
        }
      }
      const error = line.includes('"level":"error"')
      if (error) workerdOutput.errorLines++
      if ((error || (!line.startsWith('{') && line.trim())) && workerdOutput.notable.length < 40) {
        workerdOutput.notable.push(`${label}: ${line.slice(0, 400)}`)
      }
    }
  })
}

/**
 * The latest code mailed to `to` for `purpose`, waiting up to `timeoutMs` for one that differs
 * from `previous` (delivery runs after the response, in waitUntil).
 * @param {string} to @param {string} purpose @param {string | undefined} [previous] @param {number} [timeoutMs]
 */
export async function waitForCode(to, purpose, previous, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const code = mailbox.get(`${to}|${purpose}`)
    if (code && code !== previous) {
      mailbox.delete(`${to}|${purpose}`)
      return code
    }
    if (Date.now() > until) throw new Error(`no ${purpose} code mailed to ${to}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Every Miniflare started, so a failed run still stops its workerd processes. */
/** @type {import('miniflare').Miniflare[]} */
const running = []

/**
 * Starts one worker in its own workerd and finds that workerd among this process's children.
 * @param {typeof import('miniflare')} mf
 * @param {string} label
 * @param {import('miniflare').WorkerOptions} worker
 * @param {Partial<import('miniflare').MiniflareOptions>} [shared]
 */
export async function startWorkerd(mf, label, worker, shared = {}) {
  const before = children()
  const instance = new mf.Miniflare({
    host: '127.0.0.1',
    port: 0,
    cf: false,
    logRequests: false,
    log: new mf.Log(mf.LogLevel.WARN),
    handleRuntimeStdio: (/** @type {import('node:stream').Readable} */ stdout, /** @type {import('node:stream').Readable} */ stderr) => {
      drain(stdout, label)
      drain(stderr, label)
    },
    ...shared,
    workers: [worker],
  })
  running.push(instance)
  const url = await instance.ready
  const pid = [...children()].find(([child, comm]) => comm === 'workerd' && !before.has(child))?.[0]
  if (!pid) throw new Error(`${label}: workerd process not found among the children of ${process.pid}`)
  return { instance, origin: url.origin, pid, label }
}

/** Stops one workerd. @param {import('miniflare').Miniflare} instance */
export async function stopWorkerd(instance) {
  const index = running.indexOf(instance)
  if (index >= 0) running.splice(index, 1)
  await instance.dispose()
}

/** Stops every workerd still running. */
export async function disposeAll() {
  await Promise.allSettled(running.splice(0).map((instance) => instance.dispose()))
}

/**
 * The parts of wrangler.toml (as wrangler reads it) that the service's workerd needs.
 * @returns {{
 *   name?: string, compatibility_date?: string, compatibility_flags: string[], vars: Record<string, unknown>,
 *   d1_databases: { binding: string, database_id?: string, migrations_dir?: string }[],
 *   kv_namespaces: { binding: string, id?: string }[],
 *   ratelimits: { name: string, simple: { limit: number, period: 10 | 60 } }[],
 * }}
 */
export function readWranglerConfig() {
  return /** @type {any} */ (unstable_readConfig({ config: path.join(ROOT, 'wrangler.toml') }, { hideWarnings: true }))
}

export const secret = () => randomBytes(48).toString('base64url')

/**
 * Starts the service's workerd: wrangler.toml's vars and bindings, benchmark secrets, the rate
 * limits raised, a local D1 with the migrations applied.
 * @param {typeof import('miniflare')} mf
 * @param {ReturnType<typeof readWranglerConfig>} config
 * @param {{ label: string, scriptPath: string, vars?: Record<string, string>, stateDir: string, alsoModules?: string[] }} opts
 *   alsoModules: further ES modules the entry imports, listed rather than found by Miniflare
 *   (its parser cannot read the production bundle when it has to look inside it for imports)
 */
export async function startService(mf, config, opts) {
  rmSync(opts.stateDir, { recursive: true, force: true })
  const vars = Object.fromEntries(Object.entries(config.vars).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]))
  const service = await startWorkerd(
    mf,
    opts.label,
    {
      name: config.name ?? 'edge-auth',
      ...(opts.alsoModules
        ? { modules: [opts.scriptPath, ...opts.alsoModules].map((file) => ({ type: /** @type {const} */ ('ESModule'), path: file })) }
        : { modules: true, scriptPath: opts.scriptPath }),
      modulesRoot: SERVICE_OUT,
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      bindings: {
        ...vars,
        ENVIRONMENT: 'development',
        LOGIN_OTP: 'off',
        EMAIL_DELIVERY: 'console',
        ACCESS_TOKEN_SECRET: secret(),
        REFRESH_TOKEN_SECRET: secret(),
        ...opts.vars,
      },
      d1Databases: Object.fromEntries(config.d1_databases.map((db) => [db.binding, db.database_id ?? db.binding])),
      kvNamespaces: Object.fromEntries(config.kv_namespaces.map((kv) => [kv.binding, kv.id ?? kv.binding])),
      ratelimits: Object.fromEntries(
        config.ratelimits.map((limiter) => [limiter.name, { simple: { limit: RAISED_LIMIT, period: /** @type {any} */ (limiter.simple.period) } }]),
      ),
    },
    { d1Persist: path.join(opts.stateDir, 'd1'), kvPersist: path.join(opts.stateDir, 'kv') },
  )
  const db = await service.instance.getD1Database(config.d1_databases[0]?.binding ?? 'DB')
  const migrationsDir = path.join(ROOT, config.d1_databases[0]?.migrations_dir ?? 'migrations')
  const migrations = readdirSync(migrationsDir).filter((file) => file.endsWith('.sql')).sort()
  for (const file of migrations) {
    const statements = unstable_splitSqlQuery(readFileSync(path.join(migrationsDir, file), 'utf8'))
    await db.batch(statements.map((statement) => db.prepare(statement)))
  }
  return { ...service, migrations }
}
