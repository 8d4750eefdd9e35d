#!/usr/bin/env node
// `npm run bench [-- --soak] [-- --quick]`: the service's benchmark.
//
// 1. Builds the production bundle exactly as deploy does (`wrangler deploy --dry-run`) and the
//    baseline worker (bench/baseline.ts) with esbuild.
// 2. Runs each in its own workerd through the Miniflare API: local D1 (migrations applied) and
//    KV, benchmark secrets, the RL_* rate limits of wrangler.toml with their limits raised.
// 3. Drives them over loopback from a second Node process (bench/load.mjs, autocannon's API):
//    32 connections, 2 s warm-up, 10 s measured, per scenario; then login and register at one
//    connection against the cost of one PBKDF2 hash; with --soak, 60 s of profile while the
//    service's workerd RSS is sampled every second.
// 4. Writes bench/results/<date>.json, bench/results/latest.json and BENCHMARKS.md.
//
// --quick: short runs for trying the harness; results go to bench/.tmp/ and BENCHMARKS.md is
// left alone. Nothing here asserts: targets are reported, pass or fail, never thrown.
import { fork, spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as esbuild from 'esbuild'
import { SignJWT } from 'jose'
import { unstable_readConfig, unstable_splitSqlQuery } from 'wrangler'

const started = Date.now()
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
process.chdir(ROOT)
const require = createRequire(import.meta.url)

const args = new Set(process.argv.slice(2))
const SOAK = args.has('--soak')
const QUICK = args.has('--quick')
for (const arg of args) {
  if (arg !== '--soak' && arg !== '--quick') {
    console.error(`Unknown option ${arg}. Usage: npm run bench [-- --soak] [-- --quick]`)
    process.exit(2)
  }
}

const CONNECTIONS = 32
const DURATION = QUICK ? 3 : 10
const WARMUP = QUICK ? 1 : 2
const SINGLE_DURATION = QUICK ? 2 : 5
const SINGLE_WARMUP = 1
const SOAK_DURATION = QUICK ? 10 : 60
const PBKDF2_SAMPLES = QUICK ? 6 : 16
/** The rate limits are raised to this so the load is measured, not refused. */
const RAISED_LIMIT = 1_000_000_000
const PASSWORD = 'Bench-pass-1!'

const TMP = path.join(ROOT, 'bench/.tmp')
const SERVICE_OUT = path.join(TMP, 'service')
const BASELINE_OUT = path.join(TMP, 'baseline')
const STATE = path.join(TMP, 'state')
const RESULTS = QUICK ? TMP : path.join(ROOT, 'bench/results')

const TARGETS = {
  profileVsVerify: 0.8,
  refreshVsOk: 0.4,
  singleVsHash: 1.15,
  bundleGzipKiB: 120,
  /** Late-window RSS may exceed the early window by this share (or MEMORY_SLACK_MIB) and still be flat. */
  memoryGrowth: 0.05,
}
const MEMORY_SLACK_MIB = 4

// ---------------------------------------------------------------------------------------------
// Small helpers

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** @param {number} value @param {number} [digits] */
const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] ?? NaN : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
}

/** @param {string} message */
const step = (message) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`)

/**
 * Runs a command, collecting its output.
 * @param {string} command @param {string[]} argv
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function run(command, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: ROOT,
      env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

/** @param {string} file */
const readJson = (file) => /** @type {Record<string, any>} */ (JSON.parse(readFileSync(file, 'utf8')))

/** @param {string} name  a package's version as installed */
function versionOf(name) {
  try {
    return /** @type {string} */ (readJson(path.join(ROOT, 'node_modules', name, 'package.json')).version)
  } catch {
    return 'unknown'
  }
}

// ---------------------------------------------------------------------------------------------
// workerd processes: found as children of this process, read through /proc

/** @returns {Map<number, string>} pid -> comm of this process's direct children */
function children() {
  const found = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const ppid = Number(stat.slice(close + 2).split(' ')[1])
      if (ppid === process.pid) found.set(Number(entry), comm)
    } catch {
      // The process ended while we looked.
    }
  }
  return found
}

/** CPU time (user + system, all threads) of a process, in ms. USER_HZ is 100 on Linux. */
function cpuMs(/** @type {number} */ pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Resident set size of a process, in MiB. */
function rssMiB(/** @type {number} */ pid) {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match ? round(Number(match[1]) / 1024, 1) : NaN
}

const loadAverage = () => os.loadavg().map((value) => round(value, 2))

// ---------------------------------------------------------------------------------------------
// Miniflare

/** Every Miniflare started, so a failed run still stops its workerd processes. */
/** @type {import('miniflare').Miniflare[]} */
const running = []

/**
 * Miniflare 4 (the one wrangler 4.86 runs). node_modules/miniflare normally is it; if a
 * different major is hoisted there, wrangler's own copy is used.
 */
async function loadMiniflare() {
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
 * Error-level and non-JSON lines are kept (a few) for the report.
 */
const workerdOutput = { lines: 0, emails: 0, errorLines: 0, notable: /** @type {string[]} */ ([]) }

/** @param {import('node:stream').Readable} stream @param {string} label */
function drain(stream, label) {
  let tail = ''
  stream.setEncoding('utf8')
  stream.on('data', (/** @type {string} */ chunk) => {
    const lines = (tail + chunk).split('\n')
    tail = lines.pop() ?? ''
    for (const line of lines) {
      workerdOutput.lines++
      if (line.includes('"event":"email.sent"')) workerdOutput.emails++
      const error = line.includes('"level":"error"')
      if (error) workerdOutput.errorLines++
      if ((error || (!line.startsWith('{') && line.trim())) && workerdOutput.notable.length < 40) {
        workerdOutput.notable.push(`${label}: ${line.slice(0, 400)}`)
      }
    }
  })
}

/**
 * Starts one worker in its own workerd and finds that workerd among this process's children.
 * @param {typeof import('miniflare')} mf
 * @param {string} label
 * @param {import('miniflare').WorkerOptions} worker
 * @param {Partial<import('miniflare').MiniflareOptions>} [shared]
 */
async function startWorkerd(mf, label, worker, shared = {}) {
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
  return { instance, origin: url.origin, pid }
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers for seeding and checks (Node's fetch; not part of any measurement)

/**
 * @param {string} origin @param {'GET' | 'POST'} method @param {string} pathname
 * @param {unknown} [body] @param {Record<string, string>} [headers]
 */
async function call(origin, method, pathname, body, headers = {}) {
  const response = await fetch(new URL(pathname, origin), {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await response.text()
  /** @type {any} */
  let json
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, json, text }
}

/**
 * @template T, R
 * @param {T[]} items @param {number} concurrency @param {(item: T, index: number) => Promise<R>} work
 * @returns {Promise<R[]>}
 */
async function pool(items, concurrency, work) {
  /** @type {R[]} */
  const results = []
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++
        results[index] = await work(/** @type {T} */ (items[index]), index)
      }
    }),
  )
  return results
}

/** @param {string} origin @param {string} email */
async function registerAccount(origin, email) {
  const response = await call(origin, 'POST', '/api/auth/register', { email, password: PASSWORD, name: 'Bench' })
  if (response.status !== 201) throw new Error(`register ${email}: ${response.status} ${response.text}`)
}

/**
 * @param {string} origin @param {string} email
 * @returns {Promise<{ accessToken: string, refreshToken: string }>}
 */
async function loginAccount(origin, email) {
  const response = await call(origin, 'POST', '/api/auth/login', { email, password: PASSWORD, tokenTransport: 'body' })
  if (response.status !== 200 || !response.json?.data?.refreshToken) throw new Error(`login ${email}: ${response.status} ${response.text}`)
  return { accessToken: response.json.data.accessToken, refreshToken: response.json.data.refreshToken }
}

// ---------------------------------------------------------------------------------------------
// Load runs

/** @typedef {import('./load.mjs').LoadSpec} LoadSpec */
/** @typedef {import('./load.mjs').LoadResult} LoadResult */

/**
 * @typedef {LoadResult & {
 *   target: string,
 *   workerdCpuMs: number,
 *   workerdCpuMsPerRequest: number,
 *   fiveXx: number,
 *   loadAverage: number[],
 *   rss?: { t: number, mib: number }[],
 * }} Measured
 */

/**
 * Runs one scenario in a fresh load-generator process and samples the target's workerd
 * between the child's start and end marks (CPU time always; RSS every second when asked).
 * @param {LoadSpec} spec @param {{ pid: number, label: string }} target @param {{ sampleRss?: boolean }} [options]
 * @returns {Promise<Measured>}
 */
function measure(spec, target, options = {}) {
  const child = fork(path.join(ROOT, 'bench/load.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let cpuStart = 0
  let cpuEnd = 0
  let sampledFrom = 0
  /** @type {{ t: number, mib: number }[]} */
  const rss = []
  /** @type {NodeJS.Timeout | undefined} */
  let sampler
  const sample = () => rss.push({ t: round((Date.now() - sampledFrom) / 1000, 1), mib: rssMiB(target.pid) })
  return new Promise((resolve, reject) => {
    let settled = false
    child.on('message', (/** @type {any} */ message) => {
      if (message.mark === 'start') {
        cpuStart = cpuMs(target.pid)
        if (options.sampleRss) {
          sampledFrom = Date.now()
          sample()
          sampler = setInterval(sample, 1000)
        }
      } else if (message.mark === 'end') {
        cpuEnd = cpuMs(target.pid)
        if (sampler) {
          clearInterval(sampler)
          sample()
        }
      } else if (message.result) {
        settled = true
        const result = /** @type {LoadResult} */ (message.result)
        const workerdCpuMs = cpuEnd - cpuStart
        const fiveXx = Object.entries(result.statusCodes)
          .filter(([code]) => code.startsWith('5'))
          .reduce((sum, [, count]) => sum + count, 0)
        resolve({
          ...result,
          target: target.label,
          workerdCpuMs,
          workerdCpuMsPerRequest: result.requests.total ? round(workerdCpuMs / result.requests.total, 3) : NaN,
          fiveXx,
          loadAverage: loadAverage(),
          ...(options.sampleRss ? { rss } : {}),
        })
      } else if (message.error) {
        settled = true
        reject(new Error(`${spec.name}: ${message.error}`))
      }
    })
    child.on('exit', (code) => {
      if (sampler) clearInterval(sampler)
      if (!settled) reject(new Error(`${spec.name}: load generator exited with ${code}`))
    })
    child.send({ spec })
  })
}

/**
 * Start, end, extremes and trend of RSS samples; flat when the median of the last 10 s is at
 * most TARGETS.memoryGrowth (or MEMORY_SLACK_MIB) above the median of seconds 3–10.
 * @param {{ t: number, mib: number }[]} samples
 */
function memoryOf(samples) {
  const values = samples.map((s) => s.mib)
  const early = median(values.slice(3, 11))
  const late = median(values.slice(-10))
  const n = samples.length
  const meanT = samples.reduce((sum, s) => sum + s.t, 0) / n
  const meanV = values.reduce((sum, v) => sum + v, 0) / n
  const slope = samples.reduce((sum, s) => sum + (s.t - meanT) * (s.mib - meanV), 0) / samples.reduce((sum, s) => sum + (s.t - meanT) ** 2, 0)
  const allowed = Math.max(early * TARGETS.memoryGrowth, MEMORY_SLACK_MIB)
  return {
    seconds: round(samples[n - 1]?.t ?? 0, 0),
    samples,
    startMiB: values[0],
    endMiB: values[n - 1],
    maxMiB: Math.max(...values),
    minMiB: Math.min(...values),
    earlyMedianMiB: early,
    lateMedianMiB: late,
    growthMiB: round(late - early, 1),
    slopeMiBPerMinute: round(slope * 60, 1),
    allowedGrowthMiB: round(allowed, 1),
    flat: late - early <= allowed,
  }
}

/** @param {Measured} m */
const summary = (m) =>
  `${m.name.padEnd(22)} ${String(round(m.requests.average, 1)).padStart(9)} req/s  p50 ${String(m.latency.p50).padStart(5)} ms  p99 ${String(m.latency.p99).padStart(5)} ms  errors ${m.errors}  non-2xx ${m.non2xx}  workerd ${m.workerdCpuMsPerRequest} ms CPU/req  per connection ${m.perConnection.min}–${m.perConnection.max}`

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  mkdirSync(TMP, { recursive: true })
  mkdirSync(RESULTS, { recursive: true })
  const loadAtStart = loadAverage()

  // 1. The production bundle, as `wrangler deploy` builds it.
  step('building the production bundle (wrangler deploy --dry-run)')
  rmSync(SERVICE_OUT, { recursive: true, force: true })
  const wrangler = path.join(ROOT, 'node_modules/.bin/wrangler')
  const build = await run(wrangler, ['deploy', '--dry-run', '--outdir', path.relative(ROOT, SERVICE_OUT)])
  if (build.code !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${build.output}`)
  const upload = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(build.output)
  if (!upload) throw new Error(`no "gzip:" figure in the dry-run output:\n${build.output}`)
  const bundle = { totalKiB: Number(upload[1]), gzipKiB: Number(upload[2]) }
  const serviceScript = path.join(SERVICE_OUT, 'index.js')
  step(`bundle: ${bundle.totalKiB} KiB, gzip ${bundle.gzipKiB} KiB`)

  // 2. The baseline worker.
  step('building the baseline worker (esbuild)')
  const baselineScript = path.join(BASELINE_OUT, 'index.js')
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'bench/baseline.ts')],
    outfile: baselineScript,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    minify: true,
    logLevel: 'warning',
  })

  // 3. Both workers, each in its own workerd.
  /**
   * The parts of wrangler.toml (as wrangler reads it) that the service's workerd needs.
   * @type {{
   *   name?: string, compatibility_date?: string, compatibility_flags: string[], vars: Record<string, unknown>,
   *   d1_databases: { binding: string, database_id?: string, migrations_dir?: string }[],
   *   kv_namespaces: { binding: string, id?: string }[],
   *   ratelimits: { name: string, simple: { limit: number, period: 10 | 60 } }[],
   * }}
   */
  const config = unstable_readConfig({ config: path.join(ROOT, 'wrangler.toml') }, { hideWarnings: true })
  const mf = await loadMiniflare()
  rmSync(STATE, { recursive: true, force: true })
  const vars = Object.fromEntries(Object.entries(config.vars).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]))
  const secret = () => randomBytes(48).toString('base64url')
  const compatibility = { compatibilityDate: config.compatibility_date, compatibilityFlags: config.compatibility_flags }

  step(`starting the service in workerd (miniflare ${mf.version}, workerd ${mf.workerd})`)
  const service = await startWorkerd(
    mf.module,
    'service',
    {
      name: config.name ?? 'edge-auth',
      modules: true,
      scriptPath: serviceScript,
      modulesRoot: SERVICE_OUT,
      ...compatibility,
      bindings: {
        ...vars,
        ENVIRONMENT: 'development',
        LOGIN_OTP: 'off',
        EMAIL_DELIVERY: 'console',
        ACCESS_TOKEN_SECRET: secret(),
        REFRESH_TOKEN_SECRET: secret(),
      },
      d1Databases: Object.fromEntries(config.d1_databases.map((db) => [db.binding, db.database_id ?? db.binding])),
      kvNamespaces: Object.fromEntries(config.kv_namespaces.map((kv) => [kv.binding, kv.id ?? kv.binding])),
      ratelimits: Object.fromEntries(
        config.ratelimits.map((limiter) => [
          limiter.name,
          { simple: { limit: RAISED_LIMIT, period: /** @type {any} */ (limiter.simple.period) } },
        ]),
      ),
    },
    { d1Persist: path.join(STATE, 'd1'), kvPersist: path.join(STATE, 'kv') },
  )

  const db = await service.instance.getD1Database(config.d1_databases[0]?.binding ?? 'DB')
  const migrationsDir = path.join(ROOT, config.d1_databases[0]?.migrations_dir ?? 'migrations')
  const migrations = readdirSync(migrationsDir).filter((file) => file.endsWith('.sql')).sort()
  for (const file of migrations) {
    const statements = unstable_splitSqlQuery(readFileSync(path.join(migrationsDir, file), 'utf8'))
    await db.batch(statements.map((statement) => db.prepare(statement)))
  }
  step(`service at ${service.origin} (workerd pid ${service.pid}); migrations applied: ${migrations.join(', ')}`)

  const baselineSecret = secret()
  const baselineIssuer = 'https://bench.baseline'
  const baseline = await startWorkerd(
    mf.module,
    'baseline',
    {
      name: 'baseline',
      modules: true,
      scriptPath: baselineScript,
      modulesRoot: BASELINE_OUT,
      ...compatibility,
      bindings: { BENCH_JWT_SECRET: baselineSecret, BENCH_JWT_ISSUER: baselineIssuer, BENCH_JWT_AUDIENCE: 'api' },
      d1Databases: { BENCH_DB: 'bench-baseline' },
    },
    { d1Persist: path.join(STATE, 'baseline-d1') },
  )
  step(`baseline at ${baseline.origin} (workerd pid ${baseline.pid})`)

  // A token shaped like the service's access tokens, for the baseline's /verify.
  const baselineToken = await new SignJWT({ sid: randomUUID(), role: 'user', email: 'bench@bench.test' })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'bench-kid-000000' })
    .setIssuer(baselineIssuer)
    .setAudience('api')
    .setSubject(randomUUID())
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(baselineSecret))
  const verifyCheck = await call(baseline.origin, 'GET', '/verify', undefined, { Authorization: `Bearer ${baselineToken}` })
  if (verifyCheck.status !== 200) throw new Error(`baseline /verify refused its token: ${verifyCheck.text}`)

  // 4. Accounts and sessions, through the public API.
  const run_ = randomBytes(4).toString('hex')
  const profileEmail = `profile-${run_}@bench.test`
  const refreshEmail = `refresh-${run_}@bench.test`
  const singleLoginEmail = `login-single-${run_}@bench.test`
  const loginEmails = Array.from({ length: CONNECTIONS }, (_, i) => `login-${i}-${run_}@bench.test`)
  step(`seeding ${loginEmails.length + 3} accounts and ${CONNECTIONS} refresh sessions`)
  await pool([profileEmail, refreshEmail, singleLoginEmail, ...loginEmails], 4, (email) => registerAccount(service.origin, email))
  // Two at a time: a login takes one of the email's five attempts until it succeeds.
  const sessions = await pool(Array.from({ length: CONNECTIONS }), 2, () => loginAccount(service.origin, refreshEmail))
  let profileToken = (await loginAccount(service.origin, profileEmail)).accessToken
  const profileCheck = await call(service.origin, 'GET', '/api/user/profile', undefined, { Authorization: `Bearer ${profileToken}` })
  if (profileCheck.status !== 200) throw new Error(`profile check failed: ${profileCheck.text}`)

  const serviceTarget = { pid: service.pid, label: 'service' }
  const baselineTarget = { pid: baseline.pid, label: 'baseline' }
  const common = { connections: CONNECTIONS, duration: DURATION, warmup: WARMUP }
  /** @type {(name: string, path: string) => LoadSpec} */
  const baselineSpec = (name, pathname) => ({
    ...common,
    name,
    origin: baseline.origin,
    method: 'GET',
    path: pathname,
    kind: 'fixed',
    headers: /** @type {Record<string, string>} */ (pathname === '/verify' ? { Authorization: `Bearer ${baselineToken}` } : {}),
  })

  /** @type {Record<string, Measured>} */
  const scenarios = {}
  /** @param {string} key @param {LoadSpec} spec @param {{ pid: number, label: string }} target */
  const scenario = async (key, spec, target) => {
    step(`${key}: ${spec.warmup} s warm-up + ${spec.duration} s at ${spec.connections} connection(s)`)
    const measured = await measure(spec, target)
    scenarios[key] = measured
    step(summary(measured))
    return measured
  }

  // 5. One connection: login and register against the cost of one PBKDF2 hash. First, while
  //    both workerds are fresh: after heavy load their heaps are large and background GC
  //    threads would blur both the timings and the CPU figures.
  /** @type {{ inWorkerMs: number, roundTripMs: number }[]} */
  const hashSamples = []
  let hashCpuMs = 0
  let iterations = 0
  /** Times `count` hashes, one at a time, on the baseline's /pbkdf2. @param {number} count */
  const sampleHashes = async (count) => {
    const cpuStart = cpuMs(baseline.pid)
    for (let i = 0; i < count; i++) {
      const t0 = performance.now()
      const response = await call(baseline.origin, 'GET', '/pbkdf2')
      const roundTripMs = performance.now() - t0
      iterations = response.json.iterations
      hashSamples.push({ inWorkerMs: response.json.ms, roundTripMs: round(roundTripMs) })
    }
    hashCpuMs += cpuMs(baseline.pid) - cpuStart
  }
  // Half the samples before the one-connection runs and half after, so a passing disturbance
  // on the machine weighs on both sides of the comparison alike.
  step(`one PBKDF2-SHA-512 hash in workerd: ${PBKDF2_SAMPLES} samples, half before and half after the one-connection runs`)
  await sleep(1000)
  await call(baseline.origin, 'GET', '/pbkdf2')
  await sampleHashes(Math.ceil(PBKDF2_SAMPLES / 2))

  const single = { connections: 1, duration: SINGLE_DURATION, warmup: SINGLE_WARMUP }
  const loginSingle = await scenario(
    'login (1 connection)',
    {
      ...single,
      name: 'login (1 conn)',
      origin: service.origin,
      method: 'POST',
      path: '/api/auth/login',
      kind: 'login',
      headers: { 'content-type': 'application/json' },
      accounts: [{ email: singleLoginEmail, password: PASSWORD }],
    },
    serviceTarget,
  )
  const registerSingle = await scenario(
    'register (1 connection)',
    {
      ...single,
      name: 'register (1 conn)',
      origin: service.origin,
      method: 'POST',
      path: '/api/auth/register',
      kind: 'register',
      headers: { 'content-type': 'application/json' },
      emailPrefix: `register-single-${run_}`,
      password: PASSWORD,
    },
    serviceTarget,
  )
  await sampleHashes(Math.floor(PBKDF2_SAMPLES / 2))
  const pbkdf2 = {
    iterations,
    samples: hashSamples,
    medianMs: round(median(hashSamples.map((s) => s.inWorkerMs))),
    medianRoundTripMs: round(median(hashSamples.map((s) => s.roundTripMs))),
    workerdCpuMsPerHash: round(hashCpuMs / hashSamples.length),
  }
  step(`one hash: median ${pbkdf2.medianMs} ms in the worker, ${pbkdf2.medianRoundTripMs} ms round trip, ${pbkdf2.workerdCpuMsPerHash} ms workerd CPU`)
  /** @param {Measured} m */
  const perRequest = (m) => {
    // Time per request at one connection: its mean round trip (one request in flight at a time).
    const ms = m.latency.mean
    return {
      ms: round(ms),
      p50Ms: m.latency.p50,
      vsHash: round(ms / pbkdf2.medianMs),
      cpuMs: round(m.workerdCpuMsPerRequest, 1),
      cpuVsHash: round(m.workerdCpuMsPerRequest / pbkdf2.workerdCpuMsPerHash),
    }
  }
  const singleConnection = { pbkdf2, login: perRequest(loginSingle), register: perRequest(registerSingle) }

  // 6. 32 connections. The baseline runs before and after the service's scenarios; ratios
  //    use the mean of both, which also shows how steady the machine was.
  await scenario('baseline /ok (before)', baselineSpec('baseline /ok', '/ok'), baselineTarget)
  await scenario('baseline /verify (before)', baselineSpec('baseline /verify', '/verify'), baselineTarget)
  await scenario('baseline /d1', baselineSpec('baseline /d1', '/d1'), baselineTarget)
  await scenario('health', { ...common, name: 'health', origin: service.origin, method: 'GET', path: '/health', kind: 'fixed' }, serviceTarget)
  await scenario(
    'profile',
    {
      ...common,
      name: 'profile',
      origin: service.origin,
      method: 'GET',
      path: '/api/user/profile',
      kind: 'fixed',
      headers: { Authorization: `Bearer ${profileToken}` },
    },
    serviceTarget,
  )
  const refresh = await scenario(
    'refresh',
    {
      ...common,
      name: 'refresh',
      origin: service.origin,
      method: 'POST',
      path: '/api/auth/refresh',
      kind: 'refresh',
      headers: { 'content-type': 'application/json' },
      tokens: sessions.map((session) => session.refreshToken),
      // After the measured span each chain's last request completes before the load stops.
      drain: 3,
    },
    serviceTarget,
  )
  // Every chain must still be alive: its final token refreshes once more.
  const finalTokens = refresh.chains?.tokens ?? []
  const chainChecks = await pool(finalTokens, 8, async (token) => {
    const response = await call(service.origin, 'POST', '/api/auth/refresh', { refreshToken: token })
    return response.status === 200 ? 200 : `${response.status} ${response.json?.error ?? response.text.slice(0, 100)}`
  })
  const chains = {
    count: finalTokens.length,
    rotations: refresh.chains?.rotations ?? 0,
    broken: refresh.chains?.broken ?? [],
    cutInFlight: refresh.chains?.cutInFlight ?? 0,
    finalRefreshStatuses: chainChecks,
    unbroken: chainChecks.filter((status) => status === 200).length,
    /** Chains whose final token is not a string (its last answer had no token). */
    missingTokens: finalTokens.filter((token) => typeof token !== 'string').length,
  }
  step(`refresh chains: ${chains.unbroken}/${chains.count} final tokens still refresh; ${chains.broken.length} non-2xx on the chains`)

  // Login and register at 32 connections: they saturate the worker with password hashes.
  await scenario(
    'login',
    {
      ...common,
      name: 'login',
      origin: service.origin,
      method: 'POST',
      path: '/api/auth/login',
      kind: 'login',
      headers: { 'content-type': 'application/json' },
      accounts: loginEmails.map((email) => ({ email, password: PASSWORD })),
    },
    serviceTarget,
  )
  await scenario(
    'register',
    {
      ...common,
      name: 'register',
      origin: service.origin,
      method: 'POST',
      path: '/api/auth/register',
      kind: 'register',
      headers: { 'content-type': 'application/json' },
      emailPrefix: `register-${run_}`,
      password: PASSWORD,
    },
    serviceTarget,
  )
  await scenario('baseline /ok (after)', baselineSpec('baseline /ok', '/ok'), baselineTarget)
  await scenario('baseline /verify (after)', baselineSpec('baseline /verify', '/verify'), baselineTarget)

  // 7. Memory: 60 s of profile while the service's workerd RSS is sampled every second; then
  //    the same on the baseline's /d1 (one local D1 read per request) as a control.
  /** @type {Record<string, any> | null} */
  let memory = null
  if (SOAK) {
    profileToken = (await loginAccount(service.origin, profileEmail)).accessToken
    step(`soak: ${SOAK_DURATION} s of profile at ${CONNECTIONS} connections, service workerd RSS every second`)
    const soak = await measure(
      {
        name: 'profile (soak)',
        origin: service.origin,
        method: 'GET',
        path: '/api/user/profile',
        kind: 'fixed',
        headers: { Authorization: `Bearer ${profileToken}` },
        connections: CONNECTIONS,
        duration: SOAK_DURATION,
        warmup: WARMUP,
      },
      serviceTarget,
      { sampleRss: true },
    )
    scenarios['profile (soak)'] = soak
    step(summary(soak))
    const serviceMemory = memoryOf(soak.rss ?? [])
    step(
      `service workerd RSS: start ${serviceMemory.startMiB} MiB, end ${serviceMemory.endMiB} MiB, max ${serviceMemory.maxMiB} MiB; ` +
        `${serviceMemory.flat ? 'flat' : 'NOT flat'} (growth ${serviceMemory.growthMiB} MiB)`,
    )

    step(`control: ${SOAK_DURATION} s of baseline /d1, baseline workerd RSS every second`)
    const controlRun = await measure({ ...baselineSpec('baseline /d1 (soak)', '/d1'), duration: SOAK_DURATION }, baselineTarget, { sampleRss: true })
    scenarios['baseline /d1 (soak)'] = controlRun
    step(summary(controlRun))
    const control = memoryOf(controlRun.rss ?? [])
    step(`baseline workerd RSS: start ${control.startMiB} MiB, end ${control.endMiB} MiB, max ${control.maxMiB} MiB; growth ${control.growthMiB} MiB`)
    memory = { ...serviceMemory, control, at: new Date().toISOString() }
  }

  await Promise.all(running.splice(0).map((instance) => instance.dispose()))

  // 8. Ratios, targets, results.
  /** @param {string} name */
  const get = (name) => /** @type {Measured} */ (scenarios[name])
  /** @param {string} a @param {string} b */
  const baselineOf = (a, b) => {
    const x = get(a)
    const y = get(b)
    return {
      rps: (x.requests.average + y.requests.average) / 2,
      p50: (x.latency.p50 + y.latency.p50) / 2,
      p99: (x.latency.p99 + y.latency.p99) / 2,
      drift: round(y.requests.average / x.requests.average - 1, 3),
    }
  }
  const ok = baselineOf('baseline /ok (before)', 'baseline /ok (after)')
  const verify = baselineOf('baseline /verify (before)', 'baseline /verify (after)')
  const d1 = get('baseline /d1')
  const d1Base = { rps: d1.requests.average, p50: d1.latency.p50, p99: d1.latency.p99 }
  /** @param {string} name @param {{ rps: number, p50: number, p99: number }} base @param {string} against */
  const ratio = (name, base, against) => {
    const m = get(name)
    return {
      against,
      rps: round(m.requests.average / base.rps, 3),
      p50: round(m.latency.p50 / base.p50, 2),
      p99: round(m.latency.p99 / base.p99, 2),
    }
  }
  const ratios = {
    health: ratio('health', ok, 'baseline /ok'),
    profile: ratio('profile', verify, 'baseline /verify'),
    refresh: ratio('refresh', ok, 'baseline /ok'),
    /** Not a target: the service's one-read route against a bare one-read worker. */
    profileVsD1: ratio('profile', d1Base, 'baseline /d1'),
    /** Not a target: the floor any route with one D1 read per request meets in this harness. */
    d1VsVerify: ratio('baseline /d1', verify, 'baseline /verify'),
  }

  const dirty = Object.entries(scenarios).filter(([, m]) => m.errors > 0 || m.timeouts > 0 || m.fiveXx > 0)
  const targets = [
    {
      target: `profile ≥ ${TARGETS.profileVsVerify} × baseline /verify (req/s)`,
      figure: `${ratios.profile.rps}× (${round(get('profile').requests.average, 0)} vs ${round(verify.rps, 0)} req/s)`,
      pass: ratios.profile.rps >= TARGETS.profileVsVerify,
    },
    {
      target: `refresh ≥ ${TARGETS.refreshVsOk} × baseline /ok, zero errors, every chain unbroken`,
      figure: `${ratios.refresh.rps}× (${round(refresh.requests.average, 0)} vs ${round(ok.rps, 0)} req/s); errors ${refresh.errors}, non-2xx ${refresh.non2xx}; ${chains.unbroken}/${chains.count} chains unbroken`,
      pass:
        ratios.refresh.rps >= TARGETS.refreshVsOk &&
        refresh.errors === 0 &&
        refresh.non2xx === 0 &&
        chains.broken.length === 0 &&
        chains.unbroken === chains.count,
    },
    {
      target: `login at 1 connection ≤ ${TARGETS.singleVsHash} × one PBKDF2 hash`,
      figure: `${singleConnection.login.ms} ms vs ${pbkdf2.medianMs} ms = ${singleConnection.login.vsHash}× (CPU ${singleConnection.login.cpuVsHash}×)`,
      pass: singleConnection.login.vsHash <= TARGETS.singleVsHash,
    },
    {
      target: `register at 1 connection ≤ ${TARGETS.singleVsHash} × one PBKDF2 hash`,
      figure: `${singleConnection.register.ms} ms vs ${pbkdf2.medianMs} ms = ${singleConnection.register.vsHash}× (CPU ${singleConnection.register.cpuVsHash}×)`,
      pass: singleConnection.register.vsHash <= TARGETS.singleVsHash,
    },
    {
      target: 'zero errors and zero 5xx in every scenario',
      figure: dirty.length
        ? dirty
            .map(([name, m]) => {
              const kinds = Object.entries(m.errorKinds).map(([kind, n]) => `${kind} ×${n}`).join(', ')
              return `${name}: ${m.errors} errors, ${m.timeouts} timeouts, ${m.fiveXx} 5xx${kinds ? ` (${kinds}, warm-up included)` : ''}`
            })
            .join('; ')
        : 'none',
      pass: dirty.length === 0,
    },
    {
      target: `workerd memory flat over ${SOAK_DURATION} s of profile`,
      figure: memory
        ? `start ${memory.startMiB}, end ${memory.endMiB}, max ${memory.maxMiB} MiB; growth ${memory.growthMiB} MiB (allowed ${memory.allowedGrowthMiB})`
        : 'not run (npm run bench -- --soak)',
      pass: memory ? Boolean(memory.flat) : null,
    },
    {
      target: `production bundle < ${TARGETS.bundleGzipKiB} KiB gzip`,
      figure: `${bundle.gzipKiB} KiB gzip (${bundle.totalKiB} KiB)`,
      pass: bundle.gzipKiB < TARGETS.bundleGzipKiB,
    },
  ]

  const cpus = os.cpus()
  const date = new Date()
  const git = await run('git', ['rev-parse', '--short', 'HEAD'])
  const gitStatus = await run('git', ['status', '--porcelain', '--', 'src', 'wrangler.toml', 'package.json'])
  const results = {
    date: date.toISOString(),
    command: `npm run bench${args.size ? ` -- ${[...args].join(' ')}` : ''}`,
    commit: git.output.trim(),
    uncommittedChanges: gitStatus.output.trim().split('\n').filter(Boolean).length,
    totalSeconds: round((Date.now() - started) / 1000, 1),
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      loadAverage: { start: loadAtStart, end: loadAverage() },
    },
    versions: {
      wrangler: versionOf('wrangler'),
      miniflare: mf.version,
      workerd: mf.workerd,
      autocannon: versionOf('autocannon'),
      hono: versionOf('hono'),
      jose: versionOf('jose'),
      'drizzle-orm': versionOf('drizzle-orm'),
    },
    settings: {
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      warmupSeconds: WARMUP,
      singleConnectionSeconds: SINGLE_DURATION,
      soakSeconds: SOAK ? SOAK_DURATION : null,
      pbkdf2Samples: PBKDF2_SAMPLES,
      rateLimitsRaisedTo: RAISED_LIMIT,
      serviceVars: { LOGIN_OTP: 'off', ENVIRONMENT: 'development', EMAIL_DELIVERY: 'console' },
    },
    bundle,
    scenarios: Object.fromEntries(Object.entries(scenarios).map(([name, m]) => [name, { ...m, chains: undefined }])),
    baseline: { ok, verify, d1: d1Base },
    ratios,
    chains: { ...chains, broken: chains.broken.slice(0, 10) },
    singleConnection,
    memory,
    workerdOutput,
    targets,
  }

  const stamp = date.toISOString().slice(0, 10)
  const jsonFile = path.join(RESULTS, QUICK ? 'quick.json' : `${stamp}.json`)
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`)
  if (!QUICK) {
    writeFileSync(path.join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
    // bench/NOTES.md is written by hand (what each change bought, what the figures mean) and kept with every run.
    const notes = existsSync(path.join(ROOT, 'bench', 'NOTES.md')) ? `\n${readFileSync(path.join(ROOT, 'bench', 'NOTES.md'), 'utf8')}` : ''
    writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), `${renderMarkdown(results, previousSoak(memory))}${notes}`)
  }

  console.log('')
  for (const t of targets) console.log(`${t.pass === null ? 'SKIP' : t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.figure}`)
  console.log(`\nwrote ${path.relative(ROOT, jsonFile)}${QUICK ? '' : ', bench/results/latest.json, BENCHMARKS.md'} in ${results.totalSeconds} s`)
}

/**
 * Without --soak, the last soak on record (if any) is mentioned in BENCHMARKS.md for reference.
 * @param {Record<string, any> | null} memory
 * @returns {Record<string, any> | null}
 */
function previousSoak(memory) {
  if (memory) return null
  const files = existsSync(RESULTS) ? readdirSync(RESULTS).filter((f) => /^\d{4}-\d\d-\d\d\.json$/.test(f)).sort().reverse() : []
  for (const file of files) {
    try {
      const earlier = readJson(path.join(RESULTS, file))
      if (earlier.memory) return { ...earlier.memory, file: `bench/results/${file}` }
    } catch {
      // Unreadable: skip it.
    }
  }
  return null
}

/** @param {number | undefined} value @param {number} [digits] */
const fmt = (value, digits = 1) => (value === undefined || Number.isNaN(value) ? '–' : round(value, digits).toLocaleString('en-US'))

/**
 * @param {Record<string, any>} r  the results object
 * @param {Record<string, any> | null} earlierSoak
 */
function renderMarkdown(r, earlierSoak) {
  const s = /** @type {Record<string, Measured>} */ (r.scenarios)
  const ratioOf = /** @type {Record<string, { against: string, rps: number, p50: number, p99: number }>} */ (r.ratios)
  /** @param {string} name */
  const row = (name) => {
    const m = s[name]
    if (!m) return ''
    const ratio = { health: ratioOf.health, profile: ratioOf.profile, refresh: ratioOf.refresh, 'baseline /d1': ratioOf.d1VsVerify }[name]
    const vs = ratio ? `${ratio.rps}× / ${ratio.p50}× / ${ratio.p99}× ${ratio.against}` : ''
    return `| ${name} | ${m.connections} | ${fmt(m.requests.average, 0)} | ${m.latency.p50} | ${m.latency.p99} | ${m.errors + m.timeouts} | ${m.non2xx} | ${m.fiveXx} | ${fmt(m.workerdCpuMsPerRequest, 2)} | ${m.perConnection.min}–${m.perConnection.max}${m.perConnection.idle ? ` (${m.perConnection.idle} idle)` : ''} | ${vs} |`
  }
  const mark = (/** @type {boolean | null} */ pass) => (pass === null ? 'not run' : pass ? '**pass**' : '**FAIL**')
  const mem = r.memory
  const single = r.singleConnection
  const busy = Math.max(...r.machine.loadAverage.start, ...r.machine.loadAverage.end) > r.machine.cores
  const lines = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/run.mjs). Edit the script, not this file. -->',
    '',
    `- **Date**: ${r.date}`,
    `- **Command**: \`${r.command}\` (took ${r.totalSeconds} s)`,
    `- **Code**: commit ${r.commit}${r.uncommittedChanges ? ` with ${r.uncommittedChanges} uncommitted change(s) under src/ or config` : ''}`,
    `- **Machine**: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB RAM, ${r.machine.os}, Node ${r.machine.node}`,
    `- **Load average** (1/5/15 min) at start ${r.machine.loadAverage.start.join(' / ')}, at end ${r.machine.loadAverage.end.join(' / ')}` +
      (busy ? ' — other work was running on this machine, so absolute figures are noisy; the ratios (same run) and CPU per request hold up better.' : ''),
    `- **Runtime**: workerd ${r.versions.workerd} through Miniflare ${r.versions.miniflare} (wrangler ${r.versions.wrangler}); load from autocannon ${r.versions.autocannon} in a separate Node process`,
    '',
    '## How it is measured',
    '',
    `The production bundle (\`wrangler deploy --dry-run\`) runs in its own workerd through the Miniflare API, with a local D1`,
    `(migrations applied), KV, fresh secrets, \`LOGIN_OTP=off\`, \`ENVIRONMENT=development\`, \`EMAIL_DELIVERY=console\` and the six`,
    `\`RL_*\` limits of wrangler.toml raised to ${r.settings.rateLimitsRaisedTo.toLocaleString('en-US')}. Beside it, in another workerd started the same way,`,
    `the baseline worker \`bench/baseline.ts\` (Hono: \`/ok\`, \`/verify\` of an HS256 token with jose, \`/d1\` one \`SELECT 1\` through a local D1,`,
    `\`/pbkdf2\` one password hash).`,
    `Each scenario: ${r.settings.warmupSeconds} s warm-up, then ${r.settings.durationSeconds} s at ${r.settings.connections} connections, from a child Node process running autocannon.`,
    `The baseline runs before and after the service's scenarios; ratios use the mean of the two.`,
    `"workerd CPU/req" is the CPU time (all threads) of the target's workerd during the measured span, divided by the requests completed.`,
    `Latencies are those of the answers received in the measured span; "answers per conn" (fewest–most) shows how evenly`,
    `the connections were served ("idle": connections with no answer in the span, whose waits are missing from p99).`,
    '',
    '- `health`: `GET /health`. `profile`: `GET /api/user/profile` with a valid access token (signature and session check).',
    `- \`refresh\`: ${r.chains.count} sessions (login with \`tokenTransport: body\`); connection *i* rotates chain *i*, always with the latest token of its own chain.`,
    `- \`login\`: each connection logs in to its own pre-registered account with the right password. \`register\`: a new email per request.`,
    '',
    '## Results',
    '',
    '| scenario | conns | req/s | p50 ms | p99 ms | errors | non-2xx | 5xx | workerd CPU ms/req | answers per conn | vs baseline (req/s / p50 / p99) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...Object.keys(s).map(row).filter(Boolean),
    '',
    `Baseline drift between its two runs: /ok ${fmt(r.baseline.ok.drift * 100)} %, /verify ${fmt(r.baseline.verify.drift * 100)} %.`,
    `Control, not a target: \`baseline /d1\` (a bare worker, one local D1 read per request) reaches ${ratioOf.d1VsVerify?.rps}× of /verify;`,
    `\`profile\` (one D1 read per request, as the contract requires) reaches ${ratioOf.profileVsD1?.rps}× of it.`,
    '',
    `Refresh chains: ${r.chains.unbroken} of ${r.chains.count} final tokens still refresh afterwards; ${r.chains.rotations.toLocaleString('en-US')} rotations;`,
    `${r.chains.broken.length} non-2xx answers on the chains. After the measured span the connections drain for 3 s (no new refresh),`,
    `so each chain ends on a token whose answer was read; ${r.chains.cutInFlight} chain(s) still had a refresh in flight when the load stopped.`,
    '',
    'Login and register at 32 connections saturate the worker with password hashes (one core: about 1000 / hash ms per second).',
    'Watch "answers per conn" and p99 there: how evenly workerd serves the waiting connections, and errors (ECONNRESET) if it drops some.',
    '',
    '## One connection: login and register against one password hash',
    '',
    `One PBKDF2-HMAC-SHA-512 hash (${single.pbkdf2.iterations.toLocaleString('en-US')} iterations, key import included) in the baseline's workerd, median of ${single.pbkdf2.samples.length}`,
    `(half taken before the one-connection runs, half after; each run: ${r.settings.singleConnectionSeconds} s after a 1 s warm-up, on workerds not yet loaded):`,
    `**${single.pbkdf2.medianMs} ms** timed inside the worker (${single.pbkdf2.medianRoundTripMs} ms round trip; ${single.pbkdf2.workerdCpuMsPerHash} ms workerd CPU per request).`,
    '',
    '| scenario | time per request (mean) | × one hash | p50 ms | workerd CPU ms/req | CPU × one hash CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    `| login (1 connection) | ${single.login.ms} ms | ${single.login.vsHash}× | ${single.login.p50Ms} | ${single.login.cpuMs} | ${single.login.cpuVsHash}× |`,
    `| register (1 connection) | ${single.register.ms} ms | ${single.register.vsHash}× | ${single.register.p50Ms} | ${single.register.cpuMs} | ${single.register.cpuVsHash}× |`,
    '',
    '## Memory',
    '',
    ...(mem
      ? [
          `Service workerd RSS, sampled every second through ${mem.seconds} s of \`profile\` at ${r.settings.connections} connections:`,
          `start **${mem.startMiB} MiB**, end **${mem.endMiB} MiB**, max **${mem.maxMiB} MiB** (min ${mem.minMiB}); median of seconds 3–10 ${mem.earlyMedianMiB} MiB,`,
          `of the last 10 s ${mem.lateMedianMiB} MiB: growth ${mem.growthMiB} MiB, trend ${mem.slopeMiBPerMinute} MiB/min → **${mem.flat ? 'flat' : 'not flat'}**`,
          `(flat = late median at most ${TARGETS.memoryGrowth * 100} % or ${MEMORY_SLACK_MIB} MiB above the early one).`,
          '',
          `Samples (MiB): ${mem.samples.map((/** @type {{ mib: number }} */ x) => x.mib).join(', ')}`,
          ...(mem.control
            ? [
                '',
                `Control: the baseline's workerd through ${mem.control.seconds} s of \`/d1\` (a bare worker, one \`SELECT 1\` per request) right after:`,
                `start ${mem.control.startMiB} MiB, end ${mem.control.endMiB} MiB, max ${mem.control.maxMiB} MiB, growth ${mem.control.growthMiB} MiB,`,
                `trend ${mem.control.slopeMiBPerMinute} MiB/min (${mem.control.flat ? 'flat' : 'not flat'}).`,
                mem.control.growthMiB >= mem.growthMiB
                  ? 'The bare D1 worker grows at least as much as the service: the growth comes from the runtime and its local D1, not from the service code.'
                  : 'The service grows more than the bare D1 worker: look for memory kept per request in the service.',
              ]
            : []),
        ]
      : [
          'Not measured in this run (`npm run bench -- --soak` runs the 60 s soak).',
          ...(earlierSoak
            ? [
                '',
                `Last soak on record (${earlierSoak.file}, ${earlierSoak.at}): start ${earlierSoak.startMiB}, end ${earlierSoak.endMiB}, max ${earlierSoak.maxMiB} MiB, ${earlierSoak.flat ? 'flat' : 'not flat'}.`,
              ]
            : []),
        ]),
    '',
    '## Targets',
    '',
    '| target | this run | result |',
    '| --- | --- | --- |',
    ...r.targets.map((/** @type {{ target: string, figure: string, pass: boolean | null }} */ t) => `| ${t.target} | ${t.figure} | ${mark(t.pass)} |`),
    '',
    `Raw figures: \`bench/results/latest.json\`. Worker output during the run: ${r.workerdOutput.lines.toLocaleString('en-US')} lines (read and dropped),`,
    `${r.workerdOutput.emails.toLocaleString('en-US')} console-mailer lines, ${r.workerdOutput.errorLines} error-level lines.`,
    '',
  ]
  return lines.join('\n')
}

main().catch(async (error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error)
  await Promise.allSettled(running.map((instance) => instance.dispose()))
  process.exit(1)
})
