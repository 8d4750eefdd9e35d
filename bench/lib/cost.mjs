// D. The cost model: per request type, what D1 (rows read and written, from each result's
// meta), KV (reads, writes, deletes, lists) and the Worker (requests, CPU) are charged, measured
// through bench/worker/model-entry.ts with no added delay; then a month at 100,000 and at
// 10,000,000 monthly active users at Cloudflare's published prices.
import { randomBytes } from 'node:crypto'
import { PASSWORD, call, registerAccount } from './http.mjs'
import { sequential, startModelService } from './model.mjs'
import { stopWorkerd, waitForCode } from './runtime.mjs'
import { fmt, round, step } from './util.mjs'

/**
 * List prices as published in 2026 (taken 2026-12-02, from the pages below); check before
 * relying on them.
 */
export const PRICES = {
  taken: '2026-12-02',
  sources: [
    'https://developers.cloudflare.com/workers/platform/pricing/',
    'https://developers.cloudflare.com/d1/platform/pricing/',
    'https://developers.cloudflare.com/kv/platform/pricing/',
  ],
  workers: { monthly: 5, includedRequests: 10e6, perMillionRequests: 0.3, includedCpuMs: 30e6, perMillionCpuMs: 0.02 },
  d1: { includedRowsRead: 25e9, perMillionRowsRead: 0.001, includedRowsWritten: 50e6, perMillionRowsWritten: 1.0, includedStorageGB: 5, perGBMonth: 0.75 },
  kv: { includedReads: 10e6, perMillionReads: 0.5, includedWrites: 1e6, perMillionWrites: 5, includedDeletes: 1e6, perMillionDeletes: 5, includedLists: 1e6, perMillionLists: 5 },
}

/** What one monthly active user does in a month (assumptions, written out in BENCHMARKS.md). */
export const ASSUMPTIONS = {
  /** New accounts per MAU per month (10 % of a month's active users are new). */
  registerPerMau: 0.1,
  /** Sign-ins with a mailed code per MAU per month (new device, or a session past its 7-day refresh token). */
  loginsPerMau: 2,
  /** Days with activity per MAU per month. */
  activeDaysPerMau: 10,
  /** Minutes of activity per active day. */
  activeMinutesPerDay: 30,
  /** The access token lives 15 min: one refresh per 15 minutes of activity. */
  refreshIntervalMinutes: 15,
  /** Authenticated API calls (each one session check) per active day. */
  apiCallsPerActiveDay: 50,
  /** Explicit logouts per MAU per month. */
  logoutsPerMau: 0.5,
  /** D1 storage per MAU: account and indexes, live sessions and refresh-token records, 90 days of audit rows. */
  storageBytesPerMau: 40_000,
}

/** Monthly count of each request type per MAU, from the assumptions. */
export function monthlyPerMau(a = ASSUMPTIONS) {
  return {
    register: a.registerPerMau,
    login: a.loginsPerMau,
    refresh: a.activeDaysPerMau * Math.floor(a.activeMinutesPerDay / a.refreshIntervalMinutes),
    sessionCheck: a.activeDaysPerMau * a.apiCallsPerActiveDay,
    logout: a.logoutsPerMau,
  }
}

export const REQUEST_TYPES = /** @type {const} */ ([
  { key: 'register', label: 'register (`POST /api/auth/register`)' },
  { key: 'login', label: 'login with a mailed code (`login` + `verify-otp`)' },
  { key: 'loginTotp', label: 'login with an authenticator app (`login` + `mfa/verify`)' },
  { key: 'refresh', label: 'refresh (`POST /api/auth/refresh`)' },
  { key: 'sessionCheck', label: 'session check (`GET /api/user/profile`, bearer)' },
  { key: 'logout', label: 'logout (`POST /api/auth/logout`)' },
])

/**
 * Measures each request type once through the counting wrapper (no delay), `LOGIN_OTP=required`.
 * @param {{ mf: Awaited<ReturnType<typeof import('./runtime.mjs').loadMiniflare>>, config: any, n: { slow: number, fast: number } }} opts
 */
export async function measureCost(opts) {
  const service = await startModelService(opts.mf.module, opts.config, { label: 'cost', vars: { LOGIN_OTP: 'required', SESSION_CHECK: 'primary' } })
  step(`cost model: service at ${service.origin} (workerd pid ${service.pid}), LOGIN_OTP=required`)
  const tag = randomBytes(4).toString('hex')
  // Warm the isolate (one account through the whole flow) before anything is measured.
  const warm = `cost-warm-${tag}@bench.test`
  await registerAccount(service.origin, warm)
  await loginWithCode(service.origin, warm)

  const emails = Array.from({ length: opts.n.slow }, (_, i) => `cost-${i}-${tag}@bench.test`)
  const register = await sequential(service, emails.length, async (i) => {
    const response = await call(service.origin, 'POST', '/api/auth/register', { email: emails[i], password: PASSWORD, name: 'Bench' })
    if (response.status !== 201) throw new Error(`register: ${response.status} ${response.text}`)
  })
  /** @type {{ accessToken: string, refreshToken: string }[]} */
  const sessions = []
  const login = await sequential(service, emails.length, async (i) => {
    sessions.push(await loginWithCode(service.origin, /** @type {string} */ (emails[i])))
  })
  const first = /** @type {{ accessToken: string, refreshToken: string }} */ (sessions[0])
  const auth = { Authorization: `Bearer ${first.accessToken}` }
  const sessionCheck = await sequential(service, opts.n.fast, async () => {
    const response = await call(service.origin, 'GET', '/api/user/profile', undefined, auth)
    if (response.status !== 200) throw new Error(`profile: ${response.status} ${response.text}`)
  })
  let token = /** @type {{ accessToken: string, refreshToken: string }} */ (sessions[1] ?? first).refreshToken
  const refresh = await sequential(service, opts.n.fast, async () => {
    const response = await call(service.origin, 'POST', '/api/auth/refresh', { refreshToken: token })
    if (response.status !== 200) throw new Error(`refresh: ${response.status} ${response.text}`)
    token = response.json.data.refreshToken
  })
  const toLogOut = sessions.slice(2)
  const logout = await sequential(service, toLogOut.length, async (i) => {
    const response = await call(service.origin, 'POST', '/api/auth/logout', { refreshToken: toLogOut[i]?.refreshToken })
    if (response.status !== 200) throw new Error(`logout: ${response.status} ${response.text}`)
  })
  const dbBytes = Math.max(register.perOperation.sizeAfter, login.perOperation.sizeAfter, refresh.perOperation.sizeAfter, logout.perOperation.sizeAfter)
  await stopWorkerd(service.instance)
  const measured = { register, login, refresh, sessionCheck, logout }
  for (const [key, m] of Object.entries(measured)) {
    const p = m.perOperation
    step(`  ${key}: ${p.requests} req, ${m.cpuMs} ms CPU, D1 ${p.primary + p.replica} round trips, ${p.rowsRead} rows read, ${p.rowsWritten} written; KV ${p.kvRead} r / ${p.kvWrite} w / ${p.kvDelete} d`)
  }
  return { measured, dbBytes }
}

/**
 * The mailed-code sign-in: password, then the code from the console mailer.
 * @param {string} origin @param {string} email
 */
async function loginWithCode(origin, email) {
  const login = await call(origin, 'POST', '/api/auth/login', { email, password: PASSWORD, tokenTransport: 'body' })
  if (login.status !== 200 || !login.json?.data?.challengeId) throw new Error(`login ${email}: ${login.status} ${login.text}`)
  const otp = await waitForCode(email, 'login')
  const verify = await call(origin, 'POST', '/api/auth/verify-otp', { challengeId: login.json.data.challengeId, otp, tokenTransport: 'body' })
  if (verify.status !== 200 || !verify.json?.data?.refreshToken) throw new Error(`verify-otp ${email}: ${verify.status} ${verify.text}`)
  return { accessToken: verify.json.data.accessToken, refreshToken: verify.json.data.refreshToken }
}

/**
 * The monthly bill at `mau` monthly active users, from per-request figures.
 * @param {Record<string, { requests: number, cpuMs: number, rowsRead: number, rowsWritten: number, kvRead: number, kvWrite: number, kvDelete: number, kvList: number }>} perRequest
 * @param {number} mau
 */
export function monthlyCost(perRequest, mau, a = ASSUMPTIONS, p = PRICES) {
  const counts = monthlyPerMau(a)
  const total = { requests: 0, cpuMs: 0, rowsRead: 0, rowsWritten: 0, kvRead: 0, kvWrite: 0, kvDelete: 0, kvList: 0 }
  for (const [key, perMau] of Object.entries(counts)) {
    const figures = perRequest[key]
    if (!figures) continue
    for (const unit of /** @type {(keyof typeof total)[]} */ (Object.keys(total))) total[unit] += figures[unit] * perMau * mau
  }
  const storageGB = (a.storageBytesPerMau * mau) / 1e9
  /** @param {number} used @param {number} included @param {number} perMillion */
  const over = (used, included, perMillion) => (Math.max(0, used - included) / 1e6) * perMillion
  const lines = {
    'Workers Paid plan': p.workers.monthly,
    'Workers requests': over(total.requests, p.workers.includedRequests, p.workers.perMillionRequests),
    'Workers CPU': over(total.cpuMs, p.workers.includedCpuMs, p.workers.perMillionCpuMs),
    'D1 rows read': over(total.rowsRead, p.d1.includedRowsRead, p.d1.perMillionRowsRead),
    'D1 rows written': over(total.rowsWritten, p.d1.includedRowsWritten, p.d1.perMillionRowsWritten),
    'D1 storage': Math.max(0, storageGB - p.d1.includedStorageGB) * p.d1.perGBMonth,
    'KV reads': over(total.kvRead, p.kv.includedReads, p.kv.perMillionReads),
    'KV writes': over(total.kvWrite, p.kv.includedWrites, p.kv.perMillionWrites),
    'KV deletes': over(total.kvDelete, p.kv.includedDeletes, p.kv.perMillionDeletes),
    'KV lists': over(total.kvList, p.kv.includedLists, p.kv.perMillionLists),
  }
  const dollars = Object.values(lines).reduce((sum, v) => sum + v, 0)
  return { mau, usage: { ...total, storageGB: round(storageGB, 2) }, lines: Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, round(v, 2)])), total: round(dollars, 2) }
}

/** @param {Awaited<ReturnType<typeof measureCost>>} measuredCost */
export function costModel(measuredCost) {
  /** @type {Record<string, any>} */
  const perRequest = {}
  for (const [key, m] of Object.entries(measuredCost.measured)) {
    const p = m.perOperation
    perRequest[key] = {
      requests: p.requests,
      cpuMs: m.cpuMs,
      d1RoundTrips: round(p.primary + p.replica, 2),
      statements: p.statements,
      rowsRead: p.rowsRead,
      rowsWritten: p.rowsWritten,
      kvRead: p.kvRead,
      kvWrite: p.kvWrite,
      kvDelete: p.kvDelete,
      kvList: p.kvList,
      samples: m.count,
    }
  }
  return {
    prices: PRICES,
    assumptions: ASSUMPTIONS,
    monthlyPerMau: monthlyPerMau(),
    perRequest,
    localDbBytes: measuredCost.dbBytes,
    months: [monthlyCost(perRequest, 100_000), monthlyCost(perRequest, 10_000_000)],
  }
}

/** @param {number} n */
const money = (n) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`
/** @param {number} n */
const big = (n) => (n >= 1e9 ? `${fmt(n / 1e9, 2)} B` : n >= 1e6 ? `${fmt(n / 1e6, 2)} M` : fmt(n, 0))

/** @param {Record<string, any>} cost @returns {string[]} */
export function renderCost(cost) {
  const a = cost.assumptions
  const per = cost.monthlyPerMau
  const p = cost.prices
  const [small, large] = cost.months
  return [
    '## Cost model',
    '',
    'Per request type, measured through the same wrapper as the latency model with no delay added (`LOGIN_OTP=required`,',
    'one user, one request at a time): D1 rows read and written are the sum of `meta.rows_read` / `meta.rows_written` of every',
    "result (D1's billing units, as the local SQLite counts them), KV operations are counted at the binding, and CPU is the",
    "workerd process's CPU time over the run divided by the operations. That CPU includes the local D1 and KV simulators",
    '(in the same process here, outside the Worker when deployed), so it is an upper bound of the billed Worker CPU.',
    '',
    '| request type | Worker requests | CPU ms (upper bound) | D1 round trips | D1 rows read | D1 rows written | KV reads | KV writes | KV deletes | per MAU per month |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...REQUEST_TYPES.map(({ key, label }) => {
      const r = cost.perRequest[key]
      if (!r) return `| ${label} | not built yet | | | | | | | | |`
      return `| ${label} | ${fmt(r.requests, 2)} | ${fmt(r.cpuMs, 2)} | ${fmt(r.d1RoundTrips, 2)} | ${fmt(r.rowsRead, 2)} | ${fmt(r.rowsWritten, 2)} | ${fmt(r.kvRead, 2)} | ${fmt(r.kvWrite, 2)} | ${fmt(r.kvDelete, 2)} | ${fmt(per[key], 2)} |`
    }),
    '',
    'Assumptions per monthly active user (MAU), in `bench/lib/cost.mjs`:',
    `${a.registerPerMau} registrations (a tenth of a month's actives are new); ${a.loginsPerMau} sign-ins with a mailed code (a new device, or`,
    `a session idle past its 7-day refresh token); ${a.activeDaysPerMau} active days of ${a.activeMinutesPerDay} minutes, with a refresh every ${a.refreshIntervalMinutes} minutes of activity`,
    `(the access token's lifetime: ${per.refresh} refreshes) and ${a.apiCallsPerActiveDay} authenticated API calls per active day, each one session check (${per.sessionCheck});`,
    `${a.logoutsPerMau} explicit logouts; ${fmt(a.storageBytesPerMau / 1000, 0)} kB of D1 storage per user (account and indexes, live sessions and refresh-token`,
    'records, 90 days of audit rows). Not priced: the Rate Limiting binding, the mail provider, egress, and the calls of',
    'other Workers through the RPC entrypoint. `GET /health` probes are left out.',
    '',
    `| month | ${fmt(small.mau, 0)} MAU | ${fmt(large.mau, 0)} MAU |`,
    '| --- | ---: | ---: |',
    `| Worker requests | ${big(small.usage.requests)} | ${big(large.usage.requests)} |`,
    `| Worker CPU-ms | ${big(small.usage.cpuMs)} | ${big(large.usage.cpuMs)} |`,
    `| D1 rows read / written | ${big(small.usage.rowsRead)} / ${big(small.usage.rowsWritten)} | ${big(large.usage.rowsRead)} / ${big(large.usage.rowsWritten)} |`,
    `| D1 storage | ${fmt(small.usage.storageGB, 1)} GB | ${fmt(large.usage.storageGB, 1)} GB |`,
    `| KV reads / writes / deletes | ${big(small.usage.kvRead)} / ${big(small.usage.kvWrite)} / ${big(small.usage.kvDelete)} | ${big(large.usage.kvRead)} / ${big(large.usage.kvWrite)} / ${big(large.usage.kvDelete)} |`,
    ...Object.keys(small.lines).map((line) => `| ${line} | ${money(small.lines[line])} | ${money(large.lines[line])} |`),
    `| **total per month** | **${money(small.total)}** | **${money(large.total)}** |`,
    `| per 1,000 MAU | ${money((small.total / small.mau) * 1000)} | ${money((large.total / large.mau) * 1000)} |`,
    '',
    `Prices as published in 2026 (taken ${p.taken}); check before relying on them: ${p.sources.join(', ')}.`,
    `Workers Paid $${p.workers.monthly}/month including ${big(p.workers.includedRequests)} requests and ${big(p.workers.includedCpuMs)} CPU-ms, then $${p.workers.perMillionRequests} per million requests`,
    `and $${p.workers.perMillionCpuMs} per million CPU-ms; D1 ${big(p.d1.includedRowsRead)} rows read included then $${p.d1.perMillionRowsRead}/million, ${big(p.d1.includedRowsWritten)} rows written`,
    `included then $${p.d1.perMillionRowsWritten.toFixed(2)}/million, ${p.d1.includedStorageGB} GB storage included then $${p.d1.perGBMonth}/GB-month; KV ${big(p.kv.includedReads)} reads included then`,
    `$${p.kv.perMillionReads}/million, ${big(p.kv.includedWrites)} writes, deletes and lists each included then $${p.kv.perMillionWrites.toFixed(2)}/million.`,
    '',
    'Reading it: the bill is driven by request count (session checks are nearly all of the requests) and, at the large end,',
    'by KV writes and deletes of one-time codes and D1 rows written by refresh rotations; CPU stays inside or near the',
    'included allowance even counting the local D1 in it, and D1 reads are far inside the included 25 billion.',
  ]
}
