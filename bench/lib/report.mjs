// Judging and writing a run: ratios against the baseline, the targets (reported pass or
// fail, never thrown), bench/results/<date>.json and latest.json, and BENCHMARKS.md.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { renderCompare } from './compare.mjs'
import { renderCost } from './cost.mjs'
import { renderLatency } from './latency.mjs'
import { ROOT, fmt, readJson, round } from './util.mjs'

/** @typedef {import('./measure.mjs').Measured} Measured */

export const TARGETS = {
  profileVsVerify: 0.8,
  refreshVsOk: 0.4,
  singleVsHash: 1.05,
  /** The session check behind `SESSION_CHECK=cached:5` against the primary check (req/s). */
  cachedVsPrimary: 3,
  /** A refresh against the primary session check (req/s), and its D1 round trips. */
  refreshVsProfile: 0.6,
  refreshRoundTrips: 1,
  bundleGzipKiB: 160, // scripts/check-bundle.mjs BUDGET_KIB: the ceiling set for passkeys, apps and providers
  /** Late-window RSS may exceed the early window by this share (or MEMORY_SLACK_MIB) and still be flat. */
  memoryGrowth: 0.05,
  /** The service's /health CPU per request against the bare middleware every request needs. */
  healthCpuVsOkHeaders: 1.05,
  /** The service's session check against the same work done bare. */
  profileVsSessionCheck: 0.95,
}
export const MEMORY_SLACK_MIB = 4

/**
 * Ratios and targets of the standard scenarios.
 * @param {Awaited<ReturnType<typeof import('./scenarios.mjs').runStandard>> & { refreshRoundTrips?: number }} standard
 * @param {{ gzipKiB: number, totalKiB: number }} bundle
 * @param {number} soakSeconds
 */
export function judge(standard, bundle, soakSeconds) {
  const { scenarios, chains, singleConnection, memory, refresh, pairs } = standard
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
      cpuMsPerRequest: (x.workerdCpuMsPerRequest + y.workerdCpuMsPerRequest) / 2,
      drift: round(y.requests.average / x.requests.average - 1, 3),
    }
  }
  const ok = baselineOf('baseline /ok (before)', 'baseline /ok (after)')
  const okHeaders = baselineOf('baseline /ok-headers (before)', 'baseline /ok-headers (after)')
  const verify = baselineOf('baseline /verify (before)', 'baseline /verify (after)')
  /** @param {Measured} m */
  const single = (m) => ({ rps: m.requests.average, p50: m.latency.p50, p99: m.latency.p99, cpuMsPerRequest: m.workerdCpuMsPerRequest })
  const d1Base = single(get('baseline /d1'))
  const sessionCheck = baselineOf('baseline /session-check (before)', 'baseline /session-check (after)')
  /** @param {string} name @param {{ rps: number, p50: number, p99: number, cpuMsPerRequest: number }} base @param {string} against */
  const ratio = (name, base, against) => {
    const m = get(name)
    return {
      against,
      rps: round(m.requests.average / base.rps, 3),
      p50: round(m.latency.p50 / base.p50, 2),
      p99: round(m.latency.p99 / base.p99, 2),
      cpu: round(m.workerdCpuMsPerRequest / base.cpuMsPerRequest, 2),
    }
  }
  const ratios = {
    health: ratio('health', ok, 'baseline /ok'),
    healthVsOkHeaders: ratio('health', okHeaders, 'baseline /ok-headers'),
    profile: ratio('profile', verify, 'baseline /verify'),
    profileVsSessionCheck: ratio('profile', sessionCheck, 'baseline /session-check'),
    refresh: ratio('refresh', ok, 'baseline /ok'),
    /** Not a target: the service's one-read route against a bare one-read worker. */
    profileVsD1: ratio('profile', d1Base, 'baseline /d1'),
    /** Not a target: the floor any route with one D1 read per request meets in this harness. */
    d1VsVerify: ratio('baseline /d1', verify, 'baseline /verify'),
    sessionCheckVsVerify: ratio('baseline /session-check (before)', verify, 'baseline /verify'),
    cachedVsPrimary: scenarios['profile (cached:5)'] ? ratio('profile (cached:5)', single(get('profile')), 'profile (primary)') : undefined,
    refreshVsProfile: ratio('refresh', single(get('profile')), 'profile (primary)'),
    /** Not a target: one JSON line per request, on top of the headers. */
    okLogVsOkHeaders: scenarios['baseline /ok-log'] ? ratio('baseline /ok-log', okHeaders, 'baseline /ok-headers') : undefined,
    healthProductionVsOkHeaders: scenarios['health (production)'] ? ratio('health (production)', okHeaders, 'baseline /ok-headers') : undefined,
  }

  const dirty = Object.entries(scenarios).filter(([, m]) => m.errors > 0 || m.timeouts > 0 || m.fiveXx > 0)
  for (const pair of Object.values(pairs)) {
    for (const side of [pair.a, pair.b]) {
      if (side.errors > 0 || side.fiveXx > 0) {
        dirty.push([`${side.name} (interleaved)`, /** @type {any} */ ({ errors: side.errors, timeouts: 0, fiveXx: side.fiveXx, errorKinds: {} })])
      }
    }
  }
  const { profileVsSessionCheck: profilePair, healthVsOkHeaders: healthPair } = pairs
  const health = get('health')
  const targets = [
    {
      target: `profile ≥ ${TARGETS.profileVsVerify} × baseline /verify (req/s)`,
      figure: `${ratios.profile.rps}× (${round(get('profile').requests.average, 0)} vs ${round(verify.rps, 0)} req/s)`,
      pass: ratios.profile.rps >= TARGETS.profileVsVerify,
    },
    {
      target: `profile (primary session check) ≥ ${TARGETS.profileVsSessionCheck} × baseline /session-check (req/s, interleaved)`,
      figure: `${profilePair.rps}× (${round(profilePair.a.rps, 0)} vs ${round(profilePair.b.rps, 0)} req/s; slices ${profilePair.rpsRange.join('–')}×; CPU/req ${profilePair.cpu}×); one after the other: ${ratios.profileVsSessionCheck.rps}×`,
      pass: profilePair.rps >= TARGETS.profileVsSessionCheck,
    },
    {
      // Judged as deployed (ENVIRONMENT=production: no request line for an anonymous success); development logs every request.
      target: `health workerd CPU/req ≤ ${TARGETS.healthCpuVsOkHeaders} × baseline /ok-headers (ENVIRONMENT=production)`,
      figure: ratios.healthProductionVsOkHeaders
        ? `${ratios.healthProductionVsOkHeaders.cpu}× (${get('health (production)').workerdCpuMsPerRequest} vs ${round(okHeaders.cpuMsPerRequest, 3)} ms); ` +
          `in development, with a request line per request, ${ratios.healthVsOkHeaders.cpu}× (${health.workerdCpuMsPerRequest} ms)` +
          (ratios.okLogVsOkHeaders ? `, and one bare log line (baseline /ok-log) ${ratios.okLogVsOkHeaders.cpu}×` : '')
        : `${ratios.healthVsOkHeaders.cpu}× (${health.workerdCpuMsPerRequest} vs ${round(okHeaders.cpuMsPerRequest, 3)} ms, development)`,
      pass: (ratios.healthProductionVsOkHeaders ?? ratios.healthVsOkHeaders).cpu <= TARGETS.healthCpuVsOkHeaders,
    },
    {
      target: `profile with SESSION_CHECK=cached:5 ≥ ${TARGETS.cachedVsPrimary} × profile with primary (req/s)`,
      figure: ratios.cachedVsPrimary
        ? `${ratios.cachedVsPrimary.rps}× (${round(get('profile (cached:5)').requests.average, 0)} vs ${round(get('profile').requests.average, 0)} req/s; CPU/req ${ratios.cachedVsPrimary.cpu}×)`
        : 'not run',
      pass: ratios.cachedVsPrimary ? ratios.cachedVsPrimary.rps >= TARGETS.cachedVsPrimary : null,
    },
    {
      target: `refresh ≥ ${TARGETS.refreshVsProfile} × profile (primary session check) req/s, ${TARGETS.refreshRoundTrips} D1 round trip, every chain unbroken`,
      figure:
        `${ratios.refreshVsProfile.rps}× (${round(refresh.requests.average, 0)} vs ${round(get('profile').requests.average, 0)} req/s; CPU/req ${ratios.refreshVsProfile.cpu}×); ` +
        `round trips per refresh: ${standard.refreshRoundTrips ?? 'see the latency model'}; errors ${refresh.errors}, non-2xx ${refresh.non2xx}; ${chains.unbroken}/${chains.count} chains unbroken`,
      pass:
        ratios.refreshVsProfile.rps >= TARGETS.refreshVsProfile &&
        (standard.refreshRoundTrips === undefined || standard.refreshRoundTrips <= TARGETS.refreshRoundTrips) &&
        refresh.errors === 0 &&
        refresh.non2xx === 0 &&
        chains.broken.length === 0 &&
        chains.unbroken === chains.count,
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
      figure: `${singleConnection.login.ms} ms vs ${singleConnection.pbkdf2.medianMs} ms = ${singleConnection.login.vsHash}× (CPU ${singleConnection.login.cpuVsHash}×)`,
      pass: singleConnection.login.vsHash <= TARGETS.singleVsHash,
    },
    {
      target: `register at 1 connection ≤ ${TARGETS.singleVsHash} × one PBKDF2 hash`,
      figure: `${singleConnection.register.ms} ms vs ${singleConnection.pbkdf2.medianMs} ms = ${singleConnection.register.vsHash}× (CPU ${singleConnection.register.cpuVsHash}×)`,
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
      target: `workerd memory flat over ${soakSeconds} s of profile`,
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
  return { baseline: { ok, okHeaders, verify, d1: d1Base, sessionCheck }, ratios, targets }
}

/**
 * Writes the results JSON (and, for a full run, latest.json and BENCHMARKS.md).
 * @param {Record<string, any>} results @param {{ dir: string, quick: boolean, markdown: boolean, json?: boolean }} opts
 */
export function writeResults(results, opts) {
  const stamp = results.date.slice(0, 10)
  const jsonFile = path.join(opts.dir, opts.quick ? 'quick.json' : `${stamp}.json`)
  /** @type {string[]} */
  const written = []
  if (opts.json !== false) {
    writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`)
    written.push(path.relative(ROOT, jsonFile))
  }
  if (!opts.quick) {
    writeFileSync(path.join(opts.dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
    written.push('bench/results/latest.json')
  }
  if (opts.markdown) {
    // bench/NOTES.md is written by hand (what each change bought, what the figures mean) and kept with every run.
    const notes = existsSync(path.join(ROOT, 'bench', 'NOTES.md')) ? `\n${readFileSync(path.join(ROOT, 'bench', 'NOTES.md'), 'utf8')}` : ''
    writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), `${renderMarkdown(results, previousSoak(results.memory, opts.dir))}${notes}`)
    written.push('BENCHMARKS.md')
  }
  return written
}

/**
 * Without --soak, the last soak on record (if any) is mentioned in BENCHMARKS.md for reference.
 * @param {Record<string, any> | null} memory @param {string} dir
 * @returns {Record<string, any> | null}
 */
function previousSoak(memory, dir) {
  if (memory) return null
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d{4}-\d\d-\d\d\.json$/.test(f)).sort().reverse() : []
  for (const file of files) {
    try {
      const earlier = readJson(path.join(dir, file))
      if (earlier.memory) return { ...earlier.memory, file: `bench/results/${file}` }
    } catch {
      // Unreadable: skip it.
    }
  }
  return null
}

/**
 * @param {Record<string, any>} r  the results object
 * @param {Record<string, any> | null} earlierSoak
 */
export function renderMarkdown(r, earlierSoak) {
  const s = /** @type {Record<string, Measured>} */ (r.scenarios ?? {})
  const ratioOf = /** @type {Record<string, { against: string, rps: number, p50: number, p99: number, cpu: number }>} */ (r.ratios ?? {})
  /** @param {string} name */
  const row = (name) => {
    const m = s[name]
    if (!m) return ''
    const ratio = /** @type {Record<string, any>} */ ({
      health: ratioOf.health,
      profile: ratioOf.profile,
      refresh: ratioOf.refresh,
      'baseline /d1': ratioOf.d1VsVerify,
      'baseline /session-check (before)': ratioOf.sessionCheckVsVerify,
    })[name]
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
    '<!-- Written by `npm run bench` (bench/run.mjs and bench/lib/). Edit the scripts, not this file. -->',
    '',
    `- **Date**: ${r.date}`,
    `- **Command**: \`${r.command}\` (took ${r.totalSeconds} s)`,
    `- **Code**: commit ${r.commit}${r.uncommittedChanges ? ` with ${r.uncommittedChanges} uncommitted change(s) under src/ or config` : ''}`,
    `- **Machine**: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB RAM, ${r.machine.os}, Node ${r.machine.node}`,
    `- **Load average** (1/5/15 min) at start ${r.machine.loadAverage.start.join(' / ')}, at end ${r.machine.loadAverage.end.join(' / ')}` +
      (busy ? ' — other work was running on this machine, so absolute figures are noisy; the ratios (same run) and CPU per request hold up better.' : ''),
    `- **Runtime**: workerd ${r.versions.workerd} through Miniflare ${r.versions.miniflare} (wrangler ${r.versions.wrangler}); load from autocannon ${r.versions.autocannon} in a separate Node process`,
    '',
  ]
  if (r.scenarios) {
    lines.push(
      '## How it is measured',
      '',
      `The production bundle (\`wrangler deploy --dry-run\`) runs in its own workerd through the Miniflare API, with a local D1`,
      `(migrations applied), KV, fresh secrets, \`LOGIN_OTP=off\`, \`ENVIRONMENT=development\`, \`EMAIL_DELIVERY=console\` and the six`,
      `\`RL_*\` limits of wrangler.toml raised to ${r.settings.rateLimitsRaisedTo.toLocaleString('en-US')}. Beside it, in another workerd started the same way,`,
      `the baseline worker \`bench/baseline.ts\` (Hono: \`/ok\`; \`/ok-headers\`, \`/ok\` behind hono/request-id and hono/secure-headers with src/app.ts's options; \`/ok-log\`, that plus one JSON log line;`,
      `\`/verify\` of an HS256 token with jose; \`/d1\` one \`SELECT 1\` through a local D1; \`/session-check\`, \`/verify\`'s check then one D1 point read`,
      `of the session joined to its account; \`/pbkdf2\` one password hash).`,
      `Each scenario: ${r.settings.warmupSeconds} s warm-up, then ${r.settings.durationSeconds} s at ${r.settings.connections} connections, from a child Node process running autocannon.`,
      `The baseline's \`/ok\`, \`/ok-headers\`, \`/verify\` and \`/session-check\` run before and after the service's scenarios; ratios use the mean of the two.`,
      `"workerd CPU/req" is the CPU time (all threads) of the target's workerd during the measured span, divided by the requests completed.`,
      `Latencies are those of the answers received in the measured span; "answers per conn" (fewest–most) shows how evenly`,
      `the connections were served ("idle": connections with no answer in the span, whose waits are missing from p99).`,
      '',
      '- `health`: `GET /health`. `profile`: `GET /api/user/profile` with a valid access token (signature and session check on the D1 primary, the default `SESSION_CHECK=primary`).',
      '- `profile (cached:5)`: the same against a second service workerd started with `SESSION_CHECK=cached:5` (one account, one token: after the first read every check is a cache hit for up to 5 s).',
      '- `health (production)`: `GET /health` against a third service workerd with `ENVIRONMENT=production`, whose request line carries only the request id, user and error code (Workers Logs records the rest), and is not written for an anonymous success.',
      `- \`refresh\`: ${r.chains.count} sessions (login with \`tokenTransport: body\`); connection *i* rotates chain *i*, always with the latest token of its own chain.`,
      `- \`login\`: each connection logs in to its own pre-registered account with the right password. \`register\`: a new email per request.`,
      '',
      '## Results',
      '',
      '| scenario | conns | req/s | p50 ms | p99 ms | errors | non-2xx | 5xx | workerd CPU ms/req | answers per conn | vs baseline (req/s / p50 / p99) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...Object.keys(s).map(row).filter(Boolean),
      '',
      `Baseline drift between its two runs: /ok ${fmt(r.baseline.ok.drift * 100)} %, /ok-headers ${fmt(r.baseline.okHeaders.drift * 100)} %, /verify ${fmt(r.baseline.verify.drift * 100)} %, /session-check ${fmt(r.baseline.sessionCheck.drift * 100)} %.`,
      `Control, not a target: \`baseline /d1\` (a bare worker, one local D1 read per request) reaches ${ratioOf.d1VsVerify?.rps}× of /verify;`,
      `\`profile\` (one D1 read per request, as the contract requires) reaches ${ratioOf.profileVsD1?.rps}× of it, and ${ratioOf.profileVsSessionCheck?.rps}× of`,
      `\`baseline /session-check\` (the same work bare) at ${ratioOf.profileVsSessionCheck?.cpu}× its workerd CPU per request.`,
      `\`health\` costs ${ratioOf.healthVsOkHeaders?.cpu}× the workerd CPU per request of \`baseline /ok-headers\` (${ratioOf.health?.cpu}× of bare \`/ok\`).`,
      ...(ratioOf.okLogVsOkHeaders
        ? [`One JSON log line per request (\`baseline /ok-log\`) costs ${ratioOf.okLogVsOkHeaders.cpu}× the workerd CPU of \`/ok-headers\` (${fmt(s['baseline /ok-log']?.workerdCpuMsPerRequest ?? 0, 3)} vs ${fmt(r.baseline.okHeaders.cpuMsPerRequest, 3)} ms).`]
        : []),
      '',
      ...(r.pairs
        ? [
            '### Interleaved pairs (the figures the bare-work targets use)',
            '',
            `Each pair is measured again in ${r.pairs.profileVsSessionCheck.slices} alternating slices of ${r.pairs.profileVsSessionCheck.secondsPerSlice} s per side (A B, B A, ...), each slice with its own 1 s warm-up,`,
            'so that a change in the other load on this shared machine weighs on both sides alike; the slice range shows how far single',
            'slices disagree.',
            '',
            '| pair | A | B | A/B req/s | slices | A/B CPU per request | slices |',
            '| --- | --- | --- | ---: | --- | ---: | --- |',
            ...Object.values(r.pairs).map(
              (/** @type {any} */ p) =>
                `| ${p.a.name} vs ${p.b.name} | ${fmt(p.a.rps, 0)} req/s, ${fmt(p.a.cpuMsPerRequest, 3)} ms CPU | ${fmt(p.b.rps, 0)} req/s, ${fmt(p.b.cpuMsPerRequest, 3)} ms CPU | ${p.rps}× | ${p.rpsRange.join('–')} | ${p.cpu}× | ${p.cpuRange.join('–')} |`,
            ),
            '',
          ]
        : []),
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
    )
  }
  if (r.latency) lines.push(...renderLatency(r.latency), '')
  if (r.cost) lines.push(...renderCost(r.cost), '')
  if (r.compare?.scenarios) lines.push(...renderCompare(r.compare), '')
  else if (r.compare?.error) {
    lines.push('## Side by side: better-auth on the same runtime', '', `Not measured in this run: ${r.compare.error}`, '')
  }
  if (r.targets) {
    lines.push(
      '## Targets',
      '',
      '| target | this run | result |',
      '| --- | --- | --- |',
      ...r.targets.map((/** @type {{ target: string, figure: string, pass: boolean | null }} */ t) => `| ${t.target} | ${t.figure} | ${mark(t.pass)} |`),
      '',
    )
  }
  lines.push(
    `Raw figures: \`bench/results/latest.json\`. Worker output during the run: ${r.workerdOutput.lines.toLocaleString('en-US')} lines (read and dropped),`,
    `${r.workerdOutput.emails.toLocaleString('en-US')} console-mailer lines, ${r.workerdOutput.errorLines} error-level lines.`,
    '',
  )
  return lines.join('\n')
}
