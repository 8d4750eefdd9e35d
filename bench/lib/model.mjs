// The model's service: the production bundle behind bench/worker/model-entry.ts (D1 delays
// per round trip, round trips, D1 rows and KV operations counted), plus the client-side helpers
// the latency and cost runs share: sequential requests timed one by one, the wrapper's counters.
import path from 'node:path'
import { call } from './http.mjs'
import { cpuMs } from './processes.mjs'
import { MODEL_ENTRY, SERVICE_OUT, TMP, startService } from './runtime.mjs'
import { percentile, round, sleep } from './util.mjs'

/**
 * @typedef {{ primary: number, replica: number, statements: number, rowsRead: number, rowsWritten: number,
 *   sizeAfter: number, kvRead: number, kvWrite: number, kvDelete: number, kvList: number, requests: number }} Counters
 */

/**
 * @param {typeof import('miniflare')} mf @param {ReturnType<typeof import('./runtime.mjs').readWranglerConfig>} config
 * @param {{ label: string, vars: Record<string, string>, delays?: { primary: number, replica: number } }} opts
 */
export async function startModelService(mf, config, opts) {
  const stateDir = path.join(TMP, 'model-state', opts.label.replace(/[^a-z0-9]+/gi, '-'))
  const service = await startService(mf, config, {
    label: opts.label,
    scriptPath: path.join(SERVICE_OUT, MODEL_ENTRY),
    stateDir,
    alsoModules: [path.join(SERVICE_OUT, 'index.js')],
    vars: {
      ...opts.vars,
      BENCH_D1_PRIMARY_MS: String(opts.delays?.primary ?? 0),
      BENCH_D1_REPLICA_MS: String(opts.delays?.replica ?? 0),
    },
  })
  return service
}

/** @param {string} origin @param {{ primary: number, replica: number }} delays */
export async function setDelays(origin, delays) {
  const response = await call(origin, 'POST', `/__bench/delays?primary=${delays.primary}&replica=${delays.replica}`)
  if (response.status !== 200) throw new Error(`set delays: ${response.status} ${response.text}`)
}

/** @param {string} origin */
export async function resetCounters(origin) {
  await call(origin, 'POST', '/__bench/reset')
}

/** @param {string} origin @returns {Promise<Counters>} */
export async function readCounters(origin) {
  const response = await call(origin, 'GET', '/__bench/counters')
  if (response.status !== 200) throw new Error(`counters: ${response.status} ${response.text}`)
  return response.json.counters
}

/**
 * Runs `count` operations one after another (one user, one request in flight), timing each,
 * with the wrapper's counters and the workerd's CPU taken around the whole run. After the last
 * one the run waits `settleMs` so post-response work (waitUntil: mail, audit) is counted too.
 * Whatever an operation needs beforehand (a session to log out of) is prepared by the caller.
 * @param {{ origin: string, pid: number }} service
 * @param {number} count
 * @param {(i: number) => Promise<void>} operation  one operation (may be several requests)
 * @param {{ settleMs?: number }} [opts]
 */
export async function sequential(service, count, operation, opts = {}) {
  /** @type {number[]} */
  const times = []
  await sleep(opts.settleMs ?? 150)
  await resetCounters(service.origin)
  const cpu0 = cpuMs(service.pid)
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    await operation(i)
    times.push(performance.now() - t0)
  }
  await sleep(opts.settleMs ?? 150)
  const cpu = cpuMs(service.pid) - cpu0
  const counters = await readCounters(service.origin)
  const perOperation = /** @type {Record<keyof Counters, number>} */ (
    Object.fromEntries(Object.entries(counters).map(([key, value]) => [key, key === 'sizeAfter' ? value : round(value / count, 2)]))
  )
  return {
    count,
    p50Ms: round(percentile(times, 0.5)),
    p99Ms: round(percentile(times, 0.99)),
    meanMs: round(times.reduce((sum, t) => sum + t, 0) / count),
    /** workerd CPU per operation (the wrapper's own reset and counter requests fall outside the span). */
    cpuMs: round(cpu / count, 3),
    perOperation,
  }
}
