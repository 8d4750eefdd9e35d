// The standard scenarios of `npm run bench`: seeding through the public API, then the
// one-connection runs against one password hash, the 32-connection runs against the baseline,
// and the optional soak. Returns the measured figures; bench/lib/report.mjs judges and writes them.
import { randomBytes, randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import { call, loginAccount, pool, registerAccount, PASSWORD } from './http.mjs'
import { interleaved, measure, memoryOf, summary } from './measure.mjs'
import { cpuMs } from './processes.mjs'
import { BASELINE_OUT, STATE, buildBaseline, startService, startWorkerd, stopWorkerd } from './runtime.mjs'
import { median, round, sleep, step } from './util.mjs'
import path from 'node:path'

/** @typedef {import('./measure.mjs').Measured} Measured */
/** @typedef {import('./measure.mjs').LoadSpec} LoadSpec */

/**
 * @typedef {object} Settings
 * @property {number} connections
 * @property {number} duration  seconds measured per scenario
 * @property {number} warmup
 * @property {number} singleDuration
 * @property {number} singleWarmup
 * @property {boolean} soak
 * @property {number} soakDuration
 * @property {number} pairSlices  interleaved pairs: slices of each side
 * @property {number} pairSeconds  interleaved pairs: seconds measured per slice
 * @property {number} pbkdf2Samples
 * @property {number} memoryGrowth
 * @property {number} memorySlackMiB
 */

/**
 * @param {{ mf: Awaited<ReturnType<typeof import('./runtime.mjs').loadMiniflare>>, config: ReturnType<typeof import('./runtime.mjs').readWranglerConfig>,
 *   serviceScript: string, settings: Settings }} ctx
 */
export async function runStandard({ mf, config, serviceScript, settings }) {
  const { connections: CONNECTIONS } = settings
  const compatibility = { compatibilityDate: config.compatibility_date, compatibilityFlags: config.compatibility_flags }

  step('building the baseline worker (esbuild)')
  const { script: baselineScript } = await buildBaseline()

  step(`starting the service in workerd (miniflare ${mf.version}, workerd ${mf.workerd})`)
  const service = await startService(mf.module, config, { label: 'service', scriptPath: serviceScript, stateDir: STATE })
  step(`service at ${service.origin} (workerd pid ${service.pid}); migrations applied: ${service.migrations.join(', ')}`)

  const baselineSecret = randomBytes(48).toString('base64url')
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

  // A token shaped like the service's access tokens, for the baseline's /verify and /session-check.
  const baselineSession = randomUUID()
  const baselineUser = randomUUID()
  const baselineToken = await new SignJWT({ sid: baselineSession, role: 'user', email: 'bench@bench.test' })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'bench-kid-000000' })
    .setIssuer(baselineIssuer)
    .setAudience('api')
    .setSubject(baselineUser)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(baselineSecret))
  const bearer = { Authorization: `Bearer ${baselineToken}` }
  const verifyCheck = await call(baseline.origin, 'GET', '/verify', undefined, bearer)
  if (verifyCheck.status !== 200) throw new Error(`baseline /verify refused its token: ${verifyCheck.text}`)
  // The two tables of the bare session check, with one live session (and some neighbours).
  const baselineDb = await baseline.instance.getD1Database('BENCH_DB')
  await baselineDb.batch([
    baselineDb.prepare('CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, created_at INTEGER NOT NULL, deleted_at INTEGER)'),
    baselineDb.prepare('CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, revoked_at INTEGER, expires_at INTEGER NOT NULL)'),
  ])
  const later = Date.now() + 86_400_000
  const rows = [[baselineSession, baselineUser], ...Array.from({ length: 100 }, () => [randomUUID(), randomUUID()])]
  await baselineDb.batch(
    rows.flatMap(([sid, uid]) => [
      baselineDb.prepare("INSERT INTO users (id, email, name, role, created_at) VALUES (?1, ?2, 'Bench', 'user', ?3)").bind(uid, `${uid}@bench.test`, Date.now()),
      baselineDb.prepare('INSERT INTO sessions (id, user_id, expires_at) VALUES (?1, ?2, ?3)').bind(sid, uid, later),
    ]),
  )
  const sessionCheck = await call(baseline.origin, 'GET', '/session-check', undefined, bearer)
  if (sessionCheck.status !== 200) throw new Error(`baseline /session-check: ${sessionCheck.status} ${sessionCheck.text}`)

  // Accounts and sessions, through the public API.
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
  const common = { connections: CONNECTIONS, duration: settings.duration, warmup: settings.warmup }
  /** @type {(name: string, path: string) => LoadSpec} */
  const baselineSpec = (name, pathname) => ({
    ...common,
    name,
    origin: baseline.origin,
    method: 'GET',
    path: pathname,
    kind: 'fixed',
    headers: /** @type {Record<string, string>} */ (pathname === '/verify' || pathname === '/session-check' ? bearer : {}),
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

  // One connection: login and register against the cost of one PBKDF2 hash. First, while
  // both workerds are fresh: after heavy load their heaps are large and background GC
  // threads would blur both the timings and the CPU figures.
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
  step(`one PBKDF2-SHA-512 hash in workerd: ${settings.pbkdf2Samples} samples, half before and half after the one-connection runs`)
  await sleep(1000)
  await call(baseline.origin, 'GET', '/pbkdf2')
  await sampleHashes(Math.ceil(settings.pbkdf2Samples / 2))

  const single = { connections: 1, duration: settings.singleDuration, warmup: settings.singleWarmup }
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
  await sampleHashes(Math.floor(settings.pbkdf2Samples / 2))
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

  // 32 connections. The baseline runs before and after the service's scenarios; ratios
  // use the mean of both, which also shows how steady the machine was.
  await scenario('baseline /ok (before)', baselineSpec('baseline /ok', '/ok'), baselineTarget)
  await scenario('baseline /ok-headers (before)', baselineSpec('baseline /ok-headers', '/ok-headers'), baselineTarget)
  await scenario('baseline /ok-log', baselineSpec('baseline /ok-log', '/ok-log'), baselineTarget)
  await scenario('baseline /verify (before)', baselineSpec('baseline /verify', '/verify'), baselineTarget)
  await scenario('baseline /d1', baselineSpec('baseline /d1', '/d1'), baselineTarget)
  await scenario('baseline /session-check (before)', baselineSpec('baseline /session-check', '/session-check'), baselineTarget)
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

  // The session check behind a per-isolate cache (SESSION_CHECK=cached:5), in a service of its
  // own started the same way, against the primary check of `profile` above.
  step('starting the service with SESSION_CHECK=cached:5')
  const cachedService = await startService(mf.module, config, {
    label: 'service cached:5',
    scriptPath: serviceScript,
    stateDir: path.join(STATE, 'cached'),
    vars: { SESSION_CHECK: 'cached:5' },
  })
  const cachedEmail = `profile-cached-${run_}@bench.test`
  await registerAccount(cachedService.origin, cachedEmail)
  const cachedToken = (await loginAccount(cachedService.origin, cachedEmail)).accessToken
  await scenario(
    'profile (cached:5)',
    {
      ...common,
      name: 'profile (cached:5)',
      origin: cachedService.origin,
      method: 'GET',
      path: '/api/user/profile',
      kind: 'fixed',
      headers: { Authorization: `Bearer ${cachedToken}` },
    },
    { pid: cachedService.pid, label: 'service cached:5' },
  )
  await stopWorkerd(cachedService.instance)

  // /health with ENVIRONMENT=production: the request line carries only what Workers Logs lacks.
  // (The other scenarios run in development, whose line also says method, path, status and time.)
  step('starting the service with ENVIRONMENT=production (health only)')
  const productionService = await startService(mf.module, config, {
    label: 'service production',
    scriptPath: serviceScript,
    stateDir: path.join(STATE, 'production'),
    vars: {
      ENVIRONMENT: 'production',
      EMAIL_DELIVERY: 'resend',
      RESEND_API_KEY: 're_bench_never_used',
      EMAIL_FROM: 'Bench <bench@bench.test>',
      JWT_ISSUER: 'https://bench.service',
    },
  })
  const productionHealth = await call(productionService.origin, 'GET', '/health')
  if (productionHealth.status !== 200) throw new Error(`production /health: ${productionHealth.status} ${productionHealth.text}`)
  await scenario(
    'health (production)',
    { ...common, name: 'health (production)', origin: productionService.origin, method: 'GET', path: '/health', kind: 'fixed' },
    { pid: productionService.pid, label: 'service production' },
  )
  await stopWorkerd(productionService.instance)

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
  await scenario('baseline /ok-headers (after)', baselineSpec('baseline /ok-headers', '/ok-headers'), baselineTarget)
  await scenario('baseline /verify (after)', baselineSpec('baseline /verify', '/verify'), baselineTarget)
  await scenario('baseline /session-check (after)', baselineSpec('baseline /session-check', '/session-check'), baselineTarget)

  // The two bare-work targets, measured again in alternating slices (the figures the targets use).
  const slices = { slices: settings.pairSlices, seconds: settings.pairSeconds, warmup: 1 }
  const profileSpec = /** @type {LoadSpec} */ ({
    ...common,
    name: 'profile',
    origin: service.origin,
    method: 'GET',
    path: '/api/user/profile',
    kind: 'fixed',
    headers: { Authorization: `Bearer ${profileToken}` },
  })
  step(`interleaved: profile and baseline /session-check, ${slices.slices} slices of ${slices.seconds} s each`)
  const profilePair = await interleaved(
    { spec: profileSpec, target: serviceTarget },
    { spec: baselineSpec('baseline /session-check', '/session-check'), target: baselineTarget },
    slices,
  )
  step(`  profile ${profilePair.a.rps} req/s vs ${profilePair.b.rps}: ${profilePair.rps}× (slices ${profilePair.rpsRange.join('–')})`)
  step(`interleaved: health and baseline /ok-headers, ${slices.slices} slices of ${slices.seconds} s each`)
  const healthPair = await interleaved(
    { spec: { ...common, name: 'health', origin: service.origin, method: 'GET', path: '/health', kind: 'fixed' }, target: serviceTarget },
    { spec: baselineSpec('baseline /ok-headers', '/ok-headers'), target: baselineTarget },
    slices,
  )
  step(`  health ${healthPair.a.cpuMsPerRequest} ms CPU/req vs ${healthPair.b.cpuMsPerRequest}: ${healthPair.cpu}× (slices ${healthPair.cpuRange.join('–')})`)
  const pairs = { profileVsSessionCheck: profilePair, healthVsOkHeaders: healthPair }

  // Memory: 60 s of profile while the service's workerd RSS is sampled every second; then
  // the same on the baseline's /d1 (one local D1 read per request) as a control.
  /** @type {Record<string, any> | null} */
  let memory = null
  if (settings.soak) {
    profileToken = (await loginAccount(service.origin, profileEmail)).accessToken
    step(`soak: ${settings.soakDuration} s of profile at ${CONNECTIONS} connections, service workerd RSS every second`)
    const soak = await measure(
      {
        name: 'profile (soak)',
        origin: service.origin,
        method: 'GET',
        path: '/api/user/profile',
        kind: 'fixed',
        headers: { Authorization: `Bearer ${profileToken}` },
        connections: CONNECTIONS,
        duration: settings.soakDuration,
        warmup: settings.warmup,
      },
      serviceTarget,
      { sampleRss: true },
    )
    scenarios['profile (soak)'] = soak
    step(summary(soak))
    const serviceMemory = memoryOf(soak.rss ?? [], settings.memoryGrowth, settings.memorySlackMiB)
    step(
      `service workerd RSS: start ${serviceMemory.startMiB} MiB, end ${serviceMemory.endMiB} MiB, max ${serviceMemory.maxMiB} MiB; ` +
        `${serviceMemory.flat ? 'flat' : 'NOT flat'} (growth ${serviceMemory.growthMiB} MiB)`,
    )

    step(`control: ${settings.soakDuration} s of baseline /d1, baseline workerd RSS every second`)
    const controlRun = await measure({ ...baselineSpec('baseline /d1 (soak)', '/d1'), duration: settings.soakDuration }, baselineTarget, { sampleRss: true })
    scenarios['baseline /d1 (soak)'] = controlRun
    step(summary(controlRun))
    const control = memoryOf(controlRun.rss ?? [], settings.memoryGrowth, settings.memorySlackMiB)
    step(`baseline workerd RSS: start ${control.startMiB} MiB, end ${control.endMiB} MiB, max ${control.maxMiB} MiB; growth ${control.growthMiB} MiB`)
    memory = { ...serviceMemory, control, at: new Date().toISOString() }
  }

  await stopWorkerd(service.instance)
  await stopWorkerd(baseline.instance)
  return { scenarios, chains, singleConnection, memory, refresh, pairs }
}
