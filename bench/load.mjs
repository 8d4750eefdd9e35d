// The load generator of `npm run bench`: a separate Node process (forked by bench/run.mjs)
// that drives one scenario with autocannon's API over loopback and sends the result back
// over IPC. Keeping it out of the process that hosts Miniflare means the generator's CPU
// never competes with the parent's event loop.
//
// One message in ({ spec }), one message out ({ result } or { error }), then exit.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/**
 * @typedef {object} LoadSpec
 * @property {string} name
 * @property {string} origin  base URL, e.g. http://127.0.0.1:8787
 * @property {'GET' | 'POST'} method
 * @property {string} path
 * @property {Record<string, string>} [headers]
 * @property {string} [body]
 * @property {'fixed' | 'refresh' | 'login' | 'register'} kind
 *   fixed: the same request every time; refresh: connection i rotates chain i (`tokens[i]`);
 *   login: connection i logs in as `accounts[i]`; register: a new email per request.
 * @property {number} connections
 * @property {number} duration  seconds measured
 * @property {number} warmup  seconds run first and discarded
 * @property {number} [drain]  seconds (at least 1) the connections keep running after the measured span
 *   (refresh: each chain's request in flight completes, then the connection idles on /health,
 *   so every chain ends with a token whose answer was read)
 * @property {string[]} [tokens]  refresh: one refresh token per connection
 * @property {{ email: string, password: string }[]} [accounts]  login: one account per connection
 * @property {string} [emailPrefix]  register: unique emails are `${emailPrefix}-${n}@bench.test`
 * @property {string} [password]  register: the password of every new account
 */

/**
 * @typedef {object} AutocannonResult  the fields of autocannon's result this file reads
 * @property {{ average: number, mean: number, p50: number, p99: number, max: number }} latency
 * @property {{ average: number, total: number }} requests
 * @property {number} errors
 * @property {number} timeouts
 * @property {number} non2xx
 * @property {number} duration
 * @property {Record<string, { count: number }>} statusCodeStats
 */

/**
 * @typedef {object} AutocannonRequest
 * @property {string} [method]
 * @property {string} [path]
 * @property {Record<string, string>} [headers]
 * @property {string} [body]
 * @property {(req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest | null} [setupRequest]
 * @property {(status: number, body: string, context: Record<string, unknown>) => void} [onResponse]
 */

/**
 * @typedef {object} AutocannonClient  the internals used to bind a connection to its own state
 * @property {{ initialContext: Record<string, unknown>, resetContext(): void, rebuildRequest(): void }} requestIterator
 */

/** @type {(opts: Record<string, unknown>, cb: (error: Error | null, result: AutocannonResult) => void) => unknown} */
const autocannon = require('autocannon')

/**
 * Per-run state shared by the request hooks. Each autocannon connection is bound to an index
 * through `setupClient`; autocannon resets a connection's context after every request, so the
 * index lives in the context's initial value and the chains live here.
 */
class Scenario {
  /** @param {LoadSpec} spec */
  constructor(spec) {
    this.spec = spec
    /** refresh: the latest token of each chain. */
    this.tokens = [...(spec.tokens ?? [])]
    /** refresh: chains that got a non-2xx answer (a broken chain), with the status. */
    /** @type {{ chain: number, status: number, body: string }[]} */
    this.broken = []
    /** refresh: the token each chain has in flight, if any. */
    /** @type {(string | undefined)[]} */
    this.inFlight = []
    this.rotations = 0
    this.registered = 0
    this.nextConnection = 0
    /** Set while the measured span runs, and when it is over (the drain, if any, follows). */
    this.measuring = false
    this.ended = false
    /** Responses each connection completed in the measured span: how evenly the server served them. */
    /** @type {number[]} */
    this.completed = Array.from({ length: spec.connections }, () => 0)
  }

  /** Gives each new connection of a run its own index (0..connections-1). */
  setupClient = (/** @type {AutocannonClient} */ client) => {
    const iterator = client.requestIterator
    iterator.initialContext = { connection: this.nextConnection++ % this.spec.connections }
    iterator.resetContext()
    // The first request was built before this hook ran, without the index: build it again.
    iterator.rebuildRequest()
  }

  /**
   * The request every connection sends, counting each connection's answers.
   * @returns {AutocannonRequest}
   */
  request() {
    const request = this.scenarioRequest()
    const own = request.onResponse
    return {
      ...request,
      onResponse: (status, body, context) => {
        const connection = context.connection
        if (this.measuring && typeof connection === 'number') this.completed[connection] = (this.completed[connection] ?? 0) + 1
        own?.(status, body, context)
      },
    }
  }

  /** @returns {AutocannonRequest} */
  scenarioRequest() {
    const { spec } = this
    const headers = { ...spec.headers }
    const base = { method: spec.method, path: spec.path, headers }
    switch (spec.kind) {
      case 'fixed':
        return { ...base, ...(spec.body !== undefined ? { body: spec.body } : {}) }
      case 'refresh':
        return {
          ...base,
          setupRequest: (req, context) => {
            const chain = /** @type {number | undefined} */ (context.connection)
            // Built once before setupClient assigns the index; replaced before it is sent.
            if (chain === undefined) return { ...req, body: '{}' }
            // Draining: the chain rests at its latest token; the connection idles on /health.
            if (this.ended) return { ...req, method: 'GET', path: '/health', headers: {}, body: '' }
            const token = this.tokens[chain]
            this.inFlight[chain] = token
            return { ...req, body: JSON.stringify({ refreshToken: token }) }
          },
          onResponse: (status, body, context) => {
            const chain = /** @type {number} */ (context.connection)
            if (this.inFlight[chain] === undefined) return // a drain request to /health
            this.inFlight[chain] = undefined
            /** @type {unknown} */
            let next
            try {
              next = JSON.parse(body)?.data?.refreshToken
            } catch {
              next = undefined
            }
            if (status === 200 && typeof next === 'string') {
              this.tokens[chain] = next
              this.rotations++
            } else if (this.broken.length < 100) {
              this.broken.push({ chain, status, body: body.slice(0, 300) })
            }
          },
        }
      case 'login':
        return {
          ...base,
          setupRequest: (req, context) => {
            const account = spec.accounts?.[/** @type {number} */ (context.connection) ?? 0]
            if (!account) throw new Error('login: fewer accounts than connections')
            return { ...req, body: JSON.stringify({ email: account.email, password: account.password, tokenTransport: 'body' }) }
          },
        }
      case 'register':
        return {
          ...base,
          setupRequest: (req) => {
            const n = this.registered++
            const email = `${spec.emailPrefix}-${n}@bench.test`
            return { ...req, body: JSON.stringify({ email, password: spec.password, name: `Bench ${n}` }) }
          },
        }
    }
  }

  /**
   * One autocannon run of warm-up plus measured time. Only responses that arrive after the
   * warm-up count; the run is not interrupted in between, so no request of the warm-up is
   * cut off and left running in the worker while the measurement starts.
   */
  async run() {
    const { spec } = this
    const warmupMs = spec.warmup * 1000
    const durationMs = spec.duration * 1000
    /** @type {number[]} */
    const latencies = []
    /** @type {Record<string, number>} */
    const statusCodes = {}
    const warm = { requests: 0, errors: 0, non2xx: 0 }
    let errors = 0
    let timeouts = 0
    /** @type {Record<string, number>} */
    const errorKinds = {}
    let measuring = false
    let measureStart = 0
    let elapsed = 0
    let cpuBefore = process.cpuUsage()
    let cpu = process.cpuUsage()
    const total = await new Promise((resolve, reject) => {
      const tracker = /** @type {import('node:events').EventEmitter} */ (
        autocannon(
          {
            url: spec.origin,
            connections: spec.connections,
            pipelining: 1,
            // At least a second past the measured span, so the span always closes before autocannon stops.
            duration: spec.warmup + spec.duration + Math.max(1, spec.drain ?? 0),
            timeout: 30,
            setupClient: this.setupClient,
            requests: [this.request()],
          },
          (error, result) => (error ? reject(error) : resolve(result)),
        )
      )
      tracker.on('start', () => {
        setTimeout(() => {
          // The parent samples workerd (CPU time, memory) from this mark to the end mark.
          process.send?.({ mark: 'start' })
          measuring = true
          this.measuring = true
          measureStart = performance.now()
          cpuBefore = process.cpuUsage()
        }, warmupMs)
        setTimeout(() => {
          measuring = false
          this.measuring = false
          this.ended = true
          elapsed = (performance.now() - measureStart) / 1000
          cpu = process.cpuUsage(cpuBefore)
          process.send?.({ mark: 'end' })
        }, warmupMs + durationMs)
      })
      tracker.on('response', (/** @type {unknown} */ _client, /** @type {number} */ status, /** @type {number} */ _bytes, /** @type {number} */ ms) => {
        if (this.ended) return
        if (!measuring) {
          warm.requests++
          if (status < 200 || status > 299) warm.non2xx++
          return
        }
        latencies.push(ms)
        statusCodes[status] = (statusCodes[status] ?? 0) + 1
      })
      tracker.on('reqError', (/** @type {Error & { code?: string }} */ error) => {
        if (this.ended) return
        const key = error.code ?? error.message
        errorKinds[key] = (errorKinds[key] ?? 0) + 1
        if (!measuring) warm.errors++
        else if (error.message === 'request timed out') timeouts++
        else errors++
      })
    })
    return { latencies, statusCodes, warm, errors, timeouts, errorKinds, elapsed, cpu, total: /** @type {AutocannonResult} */ (total) }
  }
}

/**
 * The value below which `share` of the sorted values lie (nearest rank).
 * @param {number[]} sorted @param {number} share
 */
const percentile = (sorted, share) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))] ?? NaN

/** @param {number} value */
const ms = (value) => Math.round(value * 100) / 100

/** @param {LoadSpec} spec */
async function main(spec) {
  const scenario = new Scenario(spec)
  const run = await scenario.run()
  const sorted = [...run.latencies].sort((a, b) => a - b)
  const count = sorted.length
  const non2xx = Object.entries(run.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0)
  return {
    name: spec.name,
    connections: spec.connections,
    /** Seconds from the end of the warm-up to the end of the run. */
    elapsed: ms(run.elapsed),
    requests: { average: ms(count / run.elapsed), total: count },
    latency: {
      p50: ms(percentile(sorted, 0.5)),
      p99: ms(percentile(sorted, 0.99)),
      mean: ms(sorted.reduce((sum, value) => sum + value, 0) / (count || 1)),
      max: ms(sorted[count - 1] ?? NaN),
    },
    errors: run.errors,
    timeouts: run.timeouts,
    /** What the errors were (warm-up included): error code or message, and how many. */
    errorKinds: run.errorKinds,
    non2xx,
    statusCodes: run.statusCodes,
    warmup: run.warm,
    perConnection: {
      min: Math.min(...scenario.completed),
      max: Math.max(...scenario.completed),
      /** Connections that completed nothing in the measured span (starved, or one request longer than it). */
      idle: scenario.completed.filter((n) => n === 0).length,
    },
    generatorCpuMs: ms((run.cpu.user + run.cpu.system) / 1000),
    ...(spec.kind === 'refresh'
      ? {
          chains: {
            tokens: scenario.tokens,
            rotations: scenario.rotations,
            broken: scenario.broken,
            // Requests cut off when autocannon stopped: their answer was never read.
            cutInFlight: scenario.inFlight.filter((token) => token !== undefined).length,
          },
        }
      : {}),
    ...(spec.kind === 'register' ? { registered: scenario.registered } : {}),
  }
}

/** @typedef {Awaited<ReturnType<typeof main>>} LoadResult */

process.once('message', (/** @type {{ spec: LoadSpec }} */ message) => {
  main(message.spec).then(
    (result) => process.send?.({ result }, () => process.exit(0)),
    (error) => process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1)),
  )
})
