// B. The latency model: the production bundle behind a wrapper that adds a delay to each D1
// round trip (primary or replica), so the session check and a refresh can be timed as a user
// far from the D1 primary would see them, for each SESSION_CHECK mode.
import { randomBytes } from 'node:crypto'
import { call, loginAccount, registerAccount } from './http.mjs'
import { setDelays, sequential, startModelService } from './model.mjs'
import { stopWorkerd } from './runtime.mjs'
import { fmt, step } from './util.mjs'

/** @typedef {{ name: string, who?: string, primary: number, replica: number }} Placement */

/** The default placements: a user in Sydney against a primary in Virginia, and one near the primary. */
export const DEFAULT_PLACEMENTS = /** @type {Placement[]} */ ([
  { name: 'Sydney user, Virginia primary', who: 'a user in Sydney against a primary in Virginia', primary: 120, replica: 4 },
  { name: 'user near the primary', who: 'a user near the primary', primary: 4, replica: 4 },
])
export const SESSION_CHECK_MODES = ['primary', 'replica', 'cached:5']

/**
 * Parses `primary=120,replica=4` (several placements separated by `;`).
 * @param {string} spec @returns {Placement[]}
 */
export function parsePlacements(spec) {
  return spec.split(';').filter(Boolean).map((part) => {
    const values = Object.fromEntries(
      part.split(',').map((pair) => {
        const [key, value] = pair.split('=')
        return [key?.trim(), Number(value)]
      }),
    )
    const primary = values.primary
    const replica = values.replica ?? primary
    if (!Number.isFinite(primary) || !Number.isFinite(replica) || primary < 0 || replica < 0) {
      throw new Error(`--latency: expected primary=<ms>,replica=<ms>, got "${part}"`)
    }
    return { name: `primary ${primary} ms, replica ${replica} ms`, primary, replica }
  })
}

/**
 * @param {{ mf: Awaited<ReturnType<typeof import('./runtime.mjs').loadMiniflare>>, config: any,
 *   placements: Placement[], modes?: string[], checks: number, refreshes: number }} opts
 */
export async function runLatencyModel(opts) {
  const modes = opts.modes ?? SESSION_CHECK_MODES
  /** @type {Record<string, any>[]} */
  const rows = []
  for (const mode of modes) {
    const service = await startModelService(opts.mf.module, opts.config, { label: `model ${mode}`, vars: { SESSION_CHECK: mode } })
    step(`latency model: SESSION_CHECK=${mode} at ${service.origin} (workerd pid ${service.pid})`)
    const email = `latency-${randomBytes(4).toString('hex')}@bench.test`
    await registerAccount(service.origin, email)
    for (const placement of opts.placements) {
      await setDelays(service.origin, placement)
      const session = await loginAccount(service.origin, email)
      const auth = { Authorization: `Bearer ${session.accessToken}` }
      // Warm the isolate (config parsed, keys imported, statements seen) before timing.
      for (let i = 0; i < 3; i++) await call(service.origin, 'GET', '/api/user/profile', undefined, auth)
      const check = await sequential(service, opts.checks, async () => {
        const response = await call(service.origin, 'GET', '/api/user/profile', undefined, auth)
        if (response.status !== 200) throw new Error(`profile: ${response.status} ${response.text}`)
      })
      let token = session.refreshToken
      const refresh = await sequential(service, opts.refreshes, async () => {
        const response = await call(service.origin, 'POST', '/api/auth/refresh', { refreshToken: token })
        if (response.status !== 200) throw new Error(`refresh: ${response.status} ${response.text}`)
        token = response.json.data.refreshToken
      })
      const row = { mode, placement: placement.name, who: placement.who ?? `a user ${placement.primary} ms from the primary`, delays: { primary: placement.primary, replica: placement.replica }, check, refresh }
      rows.push(row)
      step(
        `  ${placement.name}: session check p50 ${check.p50Ms} ms p99 ${check.p99Ms} ms (${check.perOperation.primary} primary + ${check.perOperation.replica} replica round trips); ` +
          `refresh p50 ${refresh.p50Ms} ms (${refresh.perOperation.primary} + ${refresh.perOperation.replica})`,
      )
    }
    await stopWorkerd(service.instance)
  }
  return { modes, placements: opts.placements, checks: opts.checks, refreshes: opts.refreshes, rows }
}

/** @param {number} primary @param {number} replica */
const trips = (primary, replica) => `${fmt(primary, 2)} P + ${fmt(replica, 2)} R`

/** @param {Record<string, any>} latency @returns {string[]} */
export function renderLatency(latency) {
  const rows = /** @type {Record<string, any>[]} */ (latency.rows)
  const far = rows.find((r) => r.mode === 'primary' && r.delays.primary > r.delays.replica)
  const near = rows.find((r) => r.mode === 'primary' && r !== far && r.delays.primary <= 10)
  const farReplica = rows.find((r) => r.mode === 'replica' && r.delays.primary > r.delays.replica)
  const farCached = rows.find((r) => r.mode === 'cached:5' && r.delays.primary > r.delays.replica)
  const modesDiffer = farReplica && far && farReplica.check.perOperation.primary < far.check.perOperation.primary
  return [
    '## Latency model: D1 far from the user',
    '',
    'This machine has D1 in the same process, so a round trip costs well under a millisecond. To plan for a deployed',
    'app, `bench/worker/model-entry.ts` sits in front of the production bundle (imported unchanged) and wraps `env.DB`:',
    'each round trip first waits the modelled network time: the **primary** delay for the binding itself and for',
    "`withSession('first-primary')` / `withSession()`, the **replica** delay for `withSession('first-unconstrained')` or",
    '`withSession(<bookmark>)`; a round trip is one `first`/`all`/`run`/`raw` of a statement, one `batch`, one `exec`.',
    'It counts round trips by kind (read back through `GET /__bench/counters`). Each figure: one user, one request in',
    `flight, ${latency.checks} session checks (\`GET /api/user/profile\` with a bearer token) and ${latency.refreshes} refreshes (\`POST /api/auth/refresh\`,`,
    'each with the token the previous one returned), timed from Node over loopback. `SESSION_CHECK` is passed as a var;',
    'P = primary round trips per request, R = replica round trips per request.',
    '',
    '| SESSION_CHECK | placement (primary / replica ms) | session check p50 ms | p99 ms | round trips | refresh p50 ms | p99 ms | round trips |',
    '| --- | --- | ---: | ---: | --- | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| \`${r.mode}\` | ${r.placement} (${r.delays.primary} / ${r.delays.replica}) | ${fmt(r.check.p50Ms, 1)} | ${fmt(r.check.p99Ms, 1)} | ${trips(r.check.perOperation.primary, r.check.perOperation.replica)} | ${fmt(r.refresh.p50Ms, 1)} | ${fmt(r.refresh.p99Ms, 1)} | ${trips(r.refresh.perOperation.primary, r.refresh.perOperation.replica)} |`,
    ),
    '',
    '### What it predicts for a global app',
    '',
    far
      ? `With \`SESSION_CHECK=primary\` every authenticated request pays one round trip to the primary: ${far.who ?? far.placement} (${far.delays.primary} ms a round trip)` +
        ` waits about ${fmt(far.check.p50Ms, 0)} ms (p50) for a session check, before the API does any work of its own, and about` +
        ` ${fmt(far.refresh.p50Ms, 0)} ms for a refresh (${trips(far.refresh.perOperation.primary, far.refresh.perOperation.replica)}).` +
        (near
          ? ` Near the primary (${near.delays.primary} ms) the same check takes ${fmt(near.check.p50Ms, 0)} ms and a refresh ${fmt(near.refresh.p50Ms, 0)} ms, the rest being this` +
            " machine's own time per request (loopback HTTP, workerd, the local D1): the far user's time is the distance times the round trips, not the code."
          : '')
      : 'No far placement in this run.',
    modesDiffer
      ? `\`SESSION_CHECK=replica\` moves the check to the nearest replica (${fmt(farReplica.check.p50Ms, 0)} ms p50 far away)` +
        (farCached ? ` and \`cached:5\` serves most checks from the isolate (${fmt(farCached.check.p50Ms, 0)} ms p50)` : '') +
        ', at the price the Configuration table states: a revocation takes effect within the replica lag or the cache time rather than at once.' +
        ' A refresh always writes to the primary (rotation must be one conditional write there), so its cost stays the distance to the primary times its round trips;' +
        ' every 15 minutes of activity that is one slow request, not one per call.'
      : 'In this run all three modes made the same primary round trips: the service does not implement `SESSION_CHECK` yet (another' +
        ' change adds it), so `replica` and `cached:5` still read the primary, as expected. Once it lands, `replica` should turn the far' +
        " user's one primary round trip into one replica round trip (a few ms), and `cached:5` into none for most checks, at the price the" +
        ' Configuration table states (a revocation acts within the replica lag, or within 5 s). A refresh always writes to the primary' +
        ' (rotation is one conditional write), so it keeps paying the distance to the primary per round trip, once per 15 minutes of activity.',
    'For a global app with one D1 primary this means: put the primary where most users are, keep the per-request path to one round trip,',
    'and let far users either accept one primary round trip per API call or take `replica`/`cached:N` with its bounded revocation delay.',
    '',
    'Run it alone: `npm run bench -- --latency` (the default placements above) or `npm run bench -- --latency primary=120,replica=4`',
    '(several: `"primary=120,replica=4;primary=80,replica=2"`); figures go to bench/results/latency-<date>.json, BENCHMARKS.md is left alone.',
  ]
}
