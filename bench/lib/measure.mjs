// One measured load run: a fresh load-generator process (bench/load.mjs) drives the target
// while the target's workerd is sampled between the generator's start and end marks.
import path from 'node:path'
import { cpuMs, rssMiB, start } from './processes.mjs'
import { ROOT, loadAverage, median, round } from './util.mjs'

/** @typedef {import('../load.mjs').LoadSpec} LoadSpec */
/** @typedef {import('../load.mjs').LoadResult} LoadResult */

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
export function measure(spec, target, options = {}) {
  const { child } = start(path.join(ROOT, 'bench/load.mjs'), [], { fork: true })
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
 * most `growthShare` (or `slackMiB`) above the median of seconds 3–10.
 * @param {{ t: number, mib: number }[]} samples @param {number} growthShare @param {number} slackMiB
 */
export function memoryOf(samples, growthShare, slackMiB) {
  const values = samples.map((s) => s.mib)
  const early = median(values.slice(3, 11))
  const late = median(values.slice(-10))
  const n = samples.length
  const meanT = samples.reduce((sum, s) => sum + s.t, 0) / n
  const meanV = values.reduce((sum, v) => sum + v, 0) / n
  const slope = samples.reduce((sum, s) => sum + (s.t - meanT) * (s.mib - meanV), 0) / samples.reduce((sum, s) => sum + (s.t - meanT) ** 2, 0)
  const allowed = Math.max(early * growthShare, slackMiB)
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
export const summary = (m) =>
  `${m.name.padEnd(22)} ${String(round(m.requests.average, 1)).padStart(9)} req/s  p50 ${String(m.latency.p50).padStart(5)} ms  p99 ${String(m.latency.p99).padStart(5)} ms  errors ${m.errors}  non-2xx ${m.non2xx}  workerd ${m.workerdCpuMsPerRequest} ms CPU/req  per connection ${m.perConnection.min}–${m.perConnection.max}`

/**
 * Two scenarios measured in alternating slices (A B, B A, A B, ...), so that a change in the
 * machine's other load during the run weighs on both alike: on a shared machine, two 10 s runs
 * one after the other can differ 2–3× for that alone. Each slice is a fresh load run with its
 * own warm-up; the figures add up the slices.
 * @param {{ spec: LoadSpec, target: { pid: number, label: string } }} a
 * @param {{ spec: LoadSpec, target: { pid: number, label: string } }} b
 * @param {{ slices: number, seconds: number, warmup: number }} opts
 */
export async function interleaved(a, b, opts) {
  /** @type {{ a: Measured[], b: Measured[] }} */
  const runs = { a: [], b: [] }
  for (let i = 0; i < opts.slices; i++) {
    for (const key of i % 2 === 0 ? /** @type {const} */ (['a', 'b']) : /** @type {const} */ (['b', 'a'])) {
      const side = key === 'a' ? a : b
      runs[key].push(await measure({ ...side.spec, duration: opts.seconds, warmup: opts.warmup }, side.target))
    }
  }
  /** @param {Measured[]} ms */
  const total = (ms) => {
    const requests = ms.reduce((sum, m) => sum + m.requests.total, 0)
    const elapsed = ms.reduce((sum, m) => sum + m.elapsed, 0)
    const cpu = ms.reduce((sum, m) => sum + m.workerdCpuMs, 0)
    return {
      name: ms[0]?.name ?? '',
      requests,
      rps: round(requests / elapsed, 1),
      cpuMsPerRequest: round(cpu / requests, 3),
      p50: round(median(ms.map((m) => m.latency.p50)), 2),
      p99: round(median(ms.map((m) => m.latency.p99)), 2),
      errors: ms.reduce((sum, m) => sum + m.errors + m.timeouts, 0),
      non2xx: ms.reduce((sum, m) => sum + m.non2xx, 0),
      fiveXx: ms.reduce((sum, m) => sum + m.fiveXx, 0),
      slices: ms.map((m) => ({ rps: m.requests.average, cpuMsPerRequest: m.workerdCpuMsPerRequest })),
    }
  }
  const x = total(runs.a)
  const y = total(runs.b)
  const sliceRatios = runs.a.map((m, i) => round(m.requests.average / (runs.b[i]?.requests.average ?? NaN), 3))
  const sliceCpuRatios = runs.a.map((m, i) => round(m.workerdCpuMsPerRequest / (runs.b[i]?.workerdCpuMsPerRequest ?? NaN), 3))
  return {
    a: x,
    b: y,
    slices: opts.slices,
    secondsPerSlice: opts.seconds,
    rps: round(x.rps / y.rps, 3),
    cpu: round(x.cpuMsPerRequest / y.cpuMsPerRequest, 3),
    rpsRange: [Math.min(...sliceRatios), Math.max(...sliceRatios)],
    cpuRange: [Math.min(...sliceCpuRatios), Math.max(...sliceCpuRatios)],
  }
}
