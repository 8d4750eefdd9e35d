#!/usr/bin/env node
// `npm run bench [-- --soak] [-- --quick] [-- --no-model] [-- --latency [primary=120,replica=4]]`:
// the service's benchmark.
//
// 1. Builds the production bundle exactly as deploy does (`wrangler deploy --dry-run`), the
//    baseline worker (bench/baseline.ts) and the model's wrapper entry with esbuild.
// 2. Runs each in its own workerd through the Miniflare API: local D1 (migrations applied) and
//    KV, benchmark secrets, the RL_* rate limits of wrangler.toml with their limits raised.
// 3. Drives them over loopback from a second Node process (bench/load.mjs, autocannon's API):
//    32 connections, 2 s warm-up, 10 s measured, per scenario; then login and register at one
//    connection against the cost of one PBKDF2 hash; with --soak, 60 s of profile while the
//    service's workerd RSS is sampled every second.
// 4. The model (skipped with --no-model): the cost of each request type (D1 rows, KV operations,
//    CPU) and a month at 100 k and 10 M users; the session check and a refresh with D1 delays
//    per round trip, for each SESSION_CHECK mode and both placements of the user.
// 5. Side by side (skipped with --no-compare): better-auth (bench/compare/) bundled into a worker on
//    the same runtime: session check, health, sign-in at one connection.
// 6. Writes bench/results/<date>.json, bench/results/latest.json and BENCHMARKS.md.
//
// --quick: short runs for trying the harness; results go to bench/.tmp/ and BENCHMARKS.md is
// left alone. --latency [spec]: only the latency model (spec: primary=<ms>,replica=<ms>, several
// separated by ';'; default: the two placements of bench/lib/latency.mjs); results go to
// bench/results/latency-<date>.json. --render: BENCHMARKS.md again from bench/results/latest.json
// (after editing bench/NOTES.md), nothing measured. Nothing here asserts: targets are reported, never thrown.
//
// Layout: bench/lib/runtime.mjs (builds, workerd through Miniflare), processes.mjs (children,
// /proc), measure.mjs (one load run), scenarios.mjs (the standard run), latency.mjs (B),
// cost.mjs (D), model.mjs (the wrapped service both use), compare.mjs (E), report.mjs (targets,
// JSON, markdown); bench/worker/model-entry.ts is the model's wrapper entry.
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runCompare } from './lib/compare.mjs'
import { costModel, measureCost } from './lib/cost.mjs'
import { DEFAULT_PLACEMENTS, parsePlacements, renderLatency, runLatencyModel } from './lib/latency.mjs'
import { run, stopAll } from './lib/processes.mjs'
import { MEMORY_SLACK_MIB, TARGETS, judge, writeResults } from './lib/report.mjs'
import { RAISED_LIMIT, TMP, buildModelEntry, buildService, disposeAll, loadMiniflare, readWranglerConfig, workerdOutput } from './lib/runtime.mjs'
import { runStandard } from './lib/scenarios.mjs'
import { ROOT, elapsedSeconds, loadAverage, readJson, round, step, versionOf } from './lib/util.mjs'

process.chdir(ROOT)

const USAGE =
  'Usage: npm run bench [-- --soak] [-- --quick] [-- --no-model] [-- --no-compare] [-- --latency [primary=<ms>,replica=<ms>[;...]]] [-- --render]'
const argv = process.argv.slice(2)
let SOAK = false
let QUICK = false
let NO_MODEL = false
let NO_COMPARE = false
let RENDER = false
/** @type {string | null} */
let LATENCY = null
for (let i = 0; i < argv.length; i++) {
  const arg = /** @type {string} */ (argv[i])
  if (arg === '--soak') SOAK = true
  else if (arg === '--quick') QUICK = true
  else if (arg === '--no-model') NO_MODEL = true
  else if (arg === '--no-compare') NO_COMPARE = true
  else if (arg === '--render') RENDER = true
  else if (arg === '--latency' || arg.startsWith('--latency=')) {
    const inline = arg.startsWith('--latency=') ? arg.slice('--latency='.length) : undefined
    const next = argv[i + 1]
    LATENCY = inline ?? (next && !next.startsWith('--') ? (i++, next) : '')
  } else {
    console.error(`Unknown option ${arg}. ${USAGE}`)
    process.exit(2)
  }
}
let placements = DEFAULT_PLACEMENTS
try {
  if (LATENCY) placements = parsePlacements(LATENCY)
} catch (error) {
  console.error(`${error instanceof Error ? error.message : error}. ${USAGE}`)
  process.exit(2)
}

const settings = {
  connections: 32,
  duration: QUICK ? 3 : 10,
  warmup: QUICK ? 1 : 2,
  singleDuration: QUICK ? 2 : 5,
  singleWarmup: 1,
  soak: SOAK,
  soakDuration: QUICK ? 10 : 60,
  pairSlices: QUICK ? 2 : 4,
  pairSeconds: QUICK ? 2 : 4,
  pbkdf2Samples: QUICK ? 6 : 16,
  memoryGrowth: TARGETS.memoryGrowth,
  memorySlackMiB: MEMORY_SLACK_MIB,
}
const model = {
  checks: QUICK ? 20 : 100,
  refreshes: QUICK ? 8 : 30,
  cost: QUICK ? { slow: 4, fast: 30 } : { slow: 10, fast: 200 },
}
const RESULTS = QUICK ? TMP : path.join(ROOT, 'bench/results')

async function main() {
  if (RENDER) {
    // BENCHMARKS.md again from the last full run's figures (after an edit of bench/NOTES.md or of the report code).
    const results = readJson(path.join(RESULTS, 'latest.json'))
    console.log(`wrote ${writeResults(results, { dir: RESULTS, quick: true, markdown: true, json: false }).join(', ')} from bench/results/latest.json (${results.date})`)
    return
  }
  mkdirSync(TMP, { recursive: true })
  mkdirSync(RESULTS, { recursive: true })
  const loadAtStart = loadAverage()

  step('building the production bundle (wrangler deploy --dry-run)')
  const { script: serviceScript, bundle } = await buildService()
  step(`bundle: ${bundle.totalKiB} KiB, gzip ${bundle.gzipKiB} KiB`)
  const config = readWranglerConfig()
  const mf = await loadMiniflare()

  const modelOnly = LATENCY !== null
  const standard = modelOnly ? null : await runStandard({ mf, config, serviceScript, settings })

  /** @type {Record<string, any> | null} */
  let cost = null
  /** @type {Record<string, any> | null} */
  let latency = null
  if (modelOnly || !NO_MODEL) {
    step('building the model entry (bench/worker/model-entry.ts in front of the production bundle)')
    await buildModelEntry()
    if (!modelOnly) cost = costModel(await measureCost({ mf, config, n: model.cost }), standard?.scenarios)
    latency = await runLatencyModel({ mf, config, placements, checks: model.checks, refreshes: model.refreshes })
  }
  /** @type {Record<string, any> | null} */
  let compare = null
  if (!modelOnly && !NO_COMPARE) {
    try {
      compare = await runCompare({ mf, config, serviceScript, ...settings })
    } catch (error) {
      // The comparison is a side table: if better-auth cannot be installed or run here, say so and keep the run.
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
      step(`side-by-side with better-auth skipped: ${reason}`)
      compare = { error: reason }
    }
  }
  await disposeAll()

  const cpus = os.cpus()
  const date = new Date()
  const git = await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT })
  const gitStatus = await run('git', ['status', '--porcelain', '--', 'src', 'wrangler.toml', 'package.json'], { cwd: ROOT })
  // D1 round trips per refresh, as the latency model's wrapper counted them (the most of any mode and placement).
  const refreshTrips = latency?.rows?.length ? Math.max(...latency.rows.map((/** @type {any} */ r) => r.refresh.perOperation.primary + r.refresh.perOperation.replica)) : undefined
  const judged = standard ? judge({ ...standard, refreshRoundTrips: refreshTrips }, bundle, settings.soakDuration) : null
  const results = {
    date: date.toISOString(),
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    commit: git.output.trim(),
    uncommittedChanges: gitStatus.output.trim().split('\n').filter(Boolean).length,
    totalSeconds: round(elapsedSeconds(), 1),
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
      connections: settings.connections,
      durationSeconds: settings.duration,
      warmupSeconds: settings.warmup,
      singleConnectionSeconds: settings.singleDuration,
      soakSeconds: SOAK ? settings.soakDuration : null,
      pbkdf2Samples: settings.pbkdf2Samples,
      rateLimitsRaisedTo: RAISED_LIMIT,
      serviceVars: { LOGIN_OTP: 'off', ENVIRONMENT: 'development', EMAIL_DELIVERY: 'console' },
      model: modelOnly || !NO_MODEL ? model : null,
    },
    bundle,
    ...(standard && judged
      ? {
          scenarios: Object.fromEntries(Object.entries(standard.scenarios).map(([name, m]) => [name, { ...m, chains: undefined }])),
          baseline: judged.baseline,
          ratios: judged.ratios,
          chains: { ...standard.chains, broken: standard.chains.broken.slice(0, 10) },
          singleConnection: standard.singleConnection,
          memory: standard.memory,
          pairs: standard.pairs,
        }
      : {}),
    latency,
    cost,
    compare,
    workerdOutput,
    ...(judged ? { targets: judged.targets } : {}),
  }

  if (modelOnly) {
    const file = path.join(RESULTS, QUICK ? 'latency-quick.json' : `latency-${results.date.slice(0, 10)}.json`)
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
    console.log(`\n${renderLatency(/** @type {any} */ (latency)).join('\n')}`)
    console.log(`\nwrote ${path.relative(ROOT, file)} in ${results.totalSeconds} s`)
    return
  }
  const written = writeResults(results, { dir: RESULTS, quick: QUICK, markdown: !QUICK })
  console.log('')
  for (const t of judged?.targets ?? []) console.log(`${t.pass === null ? 'SKIP' : t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.figure}`)
  console.log(`\nwrote ${written.join(', ')} in ${results.totalSeconds} s`)
}

main()
  .catch(async (error) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error)
    process.exitCode = 1
  })
  .finally(async () => {
    await disposeAll()
    await stopAll()
  })
