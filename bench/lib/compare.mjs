// E. Side by side: this service and better-auth (pinned in bench/compare/package.json, bundled
// with esbuild into a worker) on the same workerd, each with its own local D1, driven by the
// same load generator: session check, health and sign-in at one connection.
import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import * as esbuild from 'esbuild'
import { PASSWORD, call, loginAccount, registerAccount } from './http.mjs'
import { interleaved, measure, summary } from './measure.mjs'
import { freePort, run } from './processes.mjs'
import { SERVICE_OUT, STATE, TMP, secret, startService, startWorkerd, stopWorkerd } from './runtime.mjs'
import { ROOT, fmt, readJson, round, step } from './util.mjs'

const COMPARE_DIR = path.join(ROOT, 'bench/compare')
const OUT = path.join(TMP, 'better-auth')

/** Installs bench/compare's pinned packages when missing (npm ci), then bundles the worker. */
async function buildBetterAuth() {
  if (!existsSync(path.join(COMPARE_DIR, 'node_modules/better-auth'))) {
    step('installing bench/compare (npm ci: better-auth at its pinned version)')
    const install = await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: COMPARE_DIR })
    if (install.code !== 0) throw new Error(`npm ci in bench/compare failed:\n${install.output}`)
  }
  const script = path.join(OUT, 'index.js')
  await esbuild.build({
    entryPoints: [path.join(COMPARE_DIR, 'better-auth-worker.ts')],
    outfile: script,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    minify: true,
    logLevel: 'error',
    // node:crypto (its native scrypt) comes from workerd's nodejs_compat, as better-auth's docs set it up on Workers.
    external: ['node:*'],
  })
  return { script, version: /** @type {string} */ (readJson(path.join(COMPARE_DIR, 'node_modules/better-auth/package.json')).version) }
}

/**
 * @param {{ mf: Awaited<ReturnType<typeof import('./runtime.mjs').loadMiniflare>>, config: any, serviceScript: string,
 *   connections: number, duration: number, warmup: number, singleDuration: number, pairSlices: number, pairSeconds: number }} opts
 */
export async function runCompare(opts) {
  step('building better-auth into a worker (esbuild)')
  const { script, version } = await buildBetterAuth()
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const ba = await startWorkerd(
    opts.mf.module,
    'better-auth',
    {
      name: 'better-auth',
      // Listed, not discovered: Miniflare would otherwise follow the bundle's dynamic imports of other SQLite drivers.
      modules: [{ type: 'ESModule', path: script }],
      modulesRoot: OUT,
      compatibilityDate: opts.config.compatibility_date,
      compatibilityFlags: [...(opts.config.compatibility_flags ?? []), 'nodejs_compat'],
      bindings: { BETTER_AUTH_SECRET: secret(), BASE_URL: origin },
      d1Databases: { DB: 'better-auth' },
    },
    { port, d1Persist: path.join(STATE, 'better-auth-d1') },
  )
  const migrated = await call(ba.origin, 'POST', '/__bench/migrate')
  if (migrated.status !== 200) throw new Error(`better-auth migrations: ${migrated.status} ${migrated.text}`)
  const service = await startService(opts.mf.module, opts.config, { label: 'service (compare)', scriptPath: opts.serviceScript, stateDir: path.join(STATE, 'compare-service') })
  step(`better-auth ${version} at ${ba.origin} (workerd pid ${ba.pid}); the service at ${service.origin} (workerd pid ${service.pid})`)

  const tag = Date.now().toString(36)
  const originHeader = { Origin: origin }
  /** @param {string} email */
  const baSignUp = async (email) => {
    const response = await call(ba.origin, 'POST', '/api/auth/sign-up/email', { email, password: PASSWORD, name: 'Bench' }, originHeader)
    if (response.status !== 200) throw new Error(`better-auth sign-up: ${response.status} ${response.text}`)
  }
  const baCheckEmail = `ba-check-${tag}@bench.test`
  const baLoginEmail = `ba-login-${tag}@bench.test`
  await baSignUp(baCheckEmail)
  await baSignUp(baLoginEmail)
  const signIn = await call(ba.origin, 'POST', '/api/auth/sign-in/email', { email: baCheckEmail, password: PASSWORD }, originHeader)
  if (signIn.status !== 200) throw new Error(`better-auth sign-in: ${signIn.status} ${signIn.text}`)
  const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  const probe = await call(ba.origin, 'GET', '/api/auth/get-session', undefined, { Cookie: cookie })
  if (probe.status !== 200 || !probe.json?.session) throw new Error(`better-auth get-session: ${probe.status} ${probe.text}`)

  const checkEmail = `cmp-check-${tag}@bench.test`
  const loginEmail = `cmp-login-${tag}@bench.test`
  await registerAccount(service.origin, checkEmail)
  await registerAccount(service.origin, loginEmail)
  const token = (await loginAccount(service.origin, checkEmail)).accessToken

  const common = { connections: opts.connections, duration: opts.duration, warmup: opts.warmup }
  const single = { connections: 1, duration: opts.singleDuration, warmup: 1 }
  const svc = { pid: service.pid, label: 'service' }
  const bat = { pid: ba.pid, label: 'better-auth' }
  /** @type {Record<string, import('./measure.mjs').Measured>} */
  const m = {}
  /** @param {string} key @param {import('./measure.mjs').LoadSpec} spec @param {{ pid: number, label: string }} target */
  const scenario = async (key, spec, target) => {
    step(`${key}: ${spec.warmup} s warm-up + ${spec.duration} s at ${spec.connections} connection(s)`)
    m[key] = await measure(spec, target)
    step(summary(m[key]))
  }
  // Sign-in first, while both workerds are fresh (as the standard run does with its hash runs).
  await scenario(
    'service sign-in',
    { ...single, name: 'service login', origin: service.origin, method: 'POST', path: '/api/auth/login', kind: 'login', headers: { 'content-type': 'application/json' }, accounts: [{ email: loginEmail, password: PASSWORD }] },
    svc,
  )
  await scenario(
    'better-auth sign-in',
    { ...single, name: 'better-auth sign-in', origin: ba.origin, method: 'POST', path: '/api/auth/sign-in/email', kind: 'login', headers: { 'content-type': 'application/json', ...originHeader }, accounts: [{ email: baLoginEmail, password: PASSWORD }] },
    bat,
  )
  // At 32 connections in alternating slices, as the standard run's bare-work pairs (one after the other, the other load on this machine decides).
  const slices = { slices: opts.pairSlices, seconds: opts.pairSeconds, warmup: 1 }
  step(`session check, this service and better-auth: ${slices.slices} alternating slices of ${slices.seconds} s each`)
  const sessionCheck = await interleaved(
    { spec: { ...common, name: 'service profile', origin: service.origin, method: 'GET', path: '/api/user/profile', kind: 'fixed', headers: { Authorization: `Bearer ${token}` } }, target: svc },
    { spec: { ...common, name: 'better-auth get-session', origin: ba.origin, method: 'GET', path: '/api/auth/get-session', kind: 'fixed', headers: { Cookie: cookie } }, target: bat },
    slices,
  )
  step(`  ${sessionCheck.a.rps} vs ${sessionCheck.b.rps} req/s: ${sessionCheck.rps}× (slices ${sessionCheck.rpsRange.join('–')})`)
  step(`health, this service and better-auth: ${slices.slices} alternating slices of ${slices.seconds} s each`)
  const health = await interleaved(
    { spec: { ...common, name: 'service health', origin: service.origin, method: 'GET', path: '/health', kind: 'fixed' }, target: svc },
    { spec: { ...common, name: 'better-auth ok', origin: ba.origin, method: 'GET', path: '/api/auth/ok', kind: 'fixed' }, target: bat },
    slices,
  )
  step(`  ${health.a.rps} vs ${health.b.rps} req/s: ${health.rps}× (slices ${health.rpsRange.join('–')})`)
  await stopWorkerd(service.instance)
  await stopWorkerd(ba.instance)
  const bundleKiB = round(statSync(script).size / 1024, 1)
  const serviceBundleKiB = round(statSync(path.join(SERVICE_OUT, 'index.js')).size / 1024, 1)
  return { betterAuthVersion: version, bundleKiB, serviceBundleKiB, scenarios: m, pairs: { sessionCheck, health }, connections: opts.connections }
}

/** @param {Record<string, any>} compare @returns {string[]} */
export function renderCompare(compare) {
  const s = compare.scenarios
  /** @param {string} label @param {Record<string, any> | undefined} p  an interleaved pair (A: this service, B: better-auth) */
  const pairRow = (label, p) => {
    if (!p) return `| ${label} | – | – | |`
    const cell = (/** @type {any} */ x) => `${fmt(x.rps, 0)} req/s, p50 ${x.p50} / p99 ${x.p99} ms, ${fmt(x.cpuMsPerRequest, 2)} ms CPU`
    const errors = p.a.errors + p.a.non2xx + p.b.errors + p.b.non2xx
    return `| ${label} | ${cell(p.a)} | ${cell(p.b)} | ${fmt(p.rps, 2)}× better-auth's rate (slices ${p.rpsRange.join('–')}), ${fmt(p.cpu, 2)}× its CPU per request${errors ? ` (errors or non-2xx: ${errors})` : ''} |`
  }
  /** @param {string} label @param {string} a @param {string} b @param {boolean} single */
  const row = (label, a, b, single) => {
    const x = s[a]
    const y = s[b]
    if (!x || !y) return `| ${label} | – | – | |`
    const cell = (/** @type {any} */ m) =>
      single
        ? `${fmt(m.latency.mean, 1)} ms per request (p50 ${m.latency.p50}), ${fmt(m.workerdCpuMsPerRequest, 1)} ms CPU`
        : `${fmt(m.requests.average, 0)} req/s, p50 ${m.latency.p50} / p99 ${m.latency.p99} ms, ${fmt(m.workerdCpuMsPerRequest, 2)} ms CPU`
    const ratio = single
      ? `${fmt(x.latency.mean / y.latency.mean, 2)}× better-auth's time, ${fmt(x.workerdCpuMsPerRequest / y.workerdCpuMsPerRequest, 2)}× its CPU`
      : `${fmt(x.requests.average / y.requests.average, 2)}× better-auth's rate, ${fmt(x.workerdCpuMsPerRequest / y.workerdCpuMsPerRequest, 2)}× its CPU per request`
    const errors = x.errors + x.timeouts + x.non2xx + y.errors + y.timeouts + y.non2xx
    return `| ${label} | ${cell(x)} | ${cell(y)} | ${ratio}${errors ? ` (errors or non-2xx: ${errors})` : ''} |`
  }
  return [
    '## Side by side: better-auth on the same runtime',
    '',
    `better-auth ${compare.betterAuthVersion} (\`bench/compare/\`: its own package.json and lock file, so the service never installs it), bundled with esbuild`,
    `into a worker (${fmt(compare.bundleKiB, 0)} KiB minified, against the service's ${fmt(compare.serviceBundleKiB, 0)} KiB) with email and password on, D1 through better-auth's own`,
    "Kysely D1 dialect (`database: env.DB`, tables from its `getMigrations`), `nodejs_compat` for its native scrypt, rate limiting and telemetry off,",
    'everything else at its defaults: its session check is `GET /api/auth/get-session` with the session cookie (no cookie cache, so it reads the',
    "session and its user from D1 on every request, as ours does), its health `GET /api/auth/ok`. Both run in this step, each in its own workerd with",
    'its own local D1: sign-in one after the other, at one connection; the 32-connection pairs in alternating slices (A B, B A, ...) as above.',
    '',
    '| scenario | this service | better-auth | this service against better-auth |',
    '| --- | --- | --- | --- |',
    ...(compare.pairs
      ? [pairRow(`session check (${compare.connections} connections)`, compare.pairs.sessionCheck), pairRow(`health (${compare.connections} connections)`, compare.pairs.health)]
      : [
          row(`session check (${s['service session check']?.connections ?? 32} connections)`, 'service session check', 'better-auth session check', false),
          row(`health (${s['service health']?.connections ?? 32} connections)`, 'service health', 'better-auth health', false),
        ]),
    row('sign-in (1 connection)', 'service sign-in', 'better-auth sign-in', true),
    '',
    "Sign-in compares different password hashes (ours PBKDF2-SHA-512 at 100,000 iterations, better-auth's scrypt N=16384, r=16), so it",
    'measures each default, not the code around it. The session checks do the same job (is this session live, whose is it) with',
    'different credentials: ours verifies a signed JWT and then reads D1 once, better-auth checks an HMAC-signed cookie and reads D1.',
  ]
}
