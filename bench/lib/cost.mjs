// D. The cost model: per request type, what D1 (rows read and written, from each result's
// meta), KV (reads, writes, deletes, lists) and the Worker (requests, CPU) are charged, measured
// through bench/worker/model-entry.ts with no added delay; then a month at 100,000 and at
// 10,000,000 monthly active users at Cloudflare's published prices.
import { createHmac, randomBytes } from 'node:crypto'
import { PASSWORD, call, loginAccount, registerAccount } from './http.mjs'
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
  { key: 'sessionCheck', label: 'session check (`GET /api/user/profile`, bearer), `SESSION_CHECK=primary`' },
  { key: 'sessionCheckReplica', label: 'the same, `SESSION_CHECK=replica`' },
  { key: 'sessionCheckCached', label: 'the same, `SESSION_CHECK=cached:5` (one session, back-to-back checks)' },
  { key: 'logout', label: 'logout (`POST /api/auth/logout`)' },
])

/**
 * Measures each request type once through the counting wrapper (no delay), `LOGIN_OTP=required`.
 * @param {{ mf: Awaited<ReturnType<typeof import('./runtime.mjs').loadMiniflare>>, config: any, n: { slow: number, fast: number } }} opts
 */
export async function measureCost(opts) {
  const service = await startModelService(opts.mf.module, opts.config, {
    label: 'cost',
    vars: { LOGIN_OTP: 'required', SESSION_CHECK: 'primary', MFA_ENCRYPTION_KEY: randomBytes(48).toString('base64url') },
  })
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
  // Sign-in with an authenticator app: accounts with an active app (set up outside the measured
  // span), then password + app code. The app's code is for the next 30 s step: the one activation
  // used is accepted once only.
  /** @type {{ email: string, secret: string }[]} */
  const appAccounts = []
  for (let i = 0; i < opts.n.slow; i++) appAccounts.push(await withAuthenticatorApp(service.origin, `cost-totp-${i}-${tag}@bench.test`))
  const loginTotp = await sequential(service, appAccounts.length, async (i) => {
    const account = /** @type {{ email: string, secret: string }} */ (appAccounts[i])
    const login = await call(service.origin, 'POST', '/api/auth/login', { email: account.email, password: PASSWORD, tokenTransport: 'body' })
    if (login.status !== 200 || !login.json?.data?.methods?.includes('totp')) throw new Error(`login (app): ${login.status} ${login.text}`)
    const code = totpCode(account.secret, Date.now() + 30_000)
    const verify = await call(service.origin, 'POST', '/api/auth/mfa/verify', { challengeId: login.json.data.challengeId, method: 'totp', code, tokenTransport: 'body' })
    if (verify.status !== 200) throw new Error(`mfa/verify: ${verify.status} ${verify.text}`)
  })
  const dbBytes = Math.max(register.perOperation.sizeAfter, login.perOperation.sizeAfter, refresh.perOperation.sizeAfter, logout.perOperation.sizeAfter)
  await stopWorkerd(service.instance)
  // The session check in the other SESSION_CHECK modes, each in a service of its own.
  /** @param {string} mode */
  const checkIn = async (mode) => {
    const other = await startModelService(opts.mf.module, opts.config, { label: `cost ${mode}`, vars: { LOGIN_OTP: 'off', SESSION_CHECK: mode } })
    const email = `cost-${mode.replace(/\W/g, '')}-${tag}@bench.test`
    await registerAccount(other.origin, email)
    const bearer = { Authorization: `Bearer ${(await loginAccount(other.origin, email)).accessToken}` }
    for (let i = 0; i < 3; i++) await call(other.origin, 'GET', '/api/user/profile', undefined, bearer)
    const checks = await sequential(other, opts.n.fast, async () => {
      const response = await call(other.origin, 'GET', '/api/user/profile', undefined, bearer)
      if (response.status !== 200) throw new Error(`profile (${mode}): ${response.status} ${response.text}`)
    })
    await stopWorkerd(other.instance)
    return checks
  }
  const sessionCheckReplica = await checkIn('replica')
  const sessionCheckCached = await checkIn('cached:5')
  const measured = { register, login, loginTotp, refresh, sessionCheck, sessionCheckReplica, sessionCheckCached, logout }
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
 * An account with an active authenticator app: registered, signed in with its mailed code, the
 * app enrolled and activated with a code computed from the secret.
 * @param {string} origin @param {string} email
 */
async function withAuthenticatorApp(origin, email) {
  await registerAccount(origin, email)
  const { accessToken } = await loginWithCode(origin, email)
  const bearer = { Authorization: `Bearer ${accessToken}` }
  const enrolled = await call(origin, 'POST', '/api/auth/mfa/totp/enroll', { password: PASSWORD }, bearer)
  if (enrolled.status !== 200) throw new Error(`enroll ${email}: ${enrolled.status} ${enrolled.text}`)
  const secret = /** @type {string} */ (enrolled.json.data.secret)
  const activated = await call(origin, 'POST', '/api/auth/mfa/totp/activate', { code: totpCode(secret, Date.now()) }, bearer)
  if (activated.status !== 200) throw new Error(`activate ${email}: ${activated.status} ${activated.text}`)
  return { email, secret }
}

/**
 * RFC 6238 (SHA-1, 6 digits, 30 s steps) for the step that holds `at`.
 * @param {string} base32 @param {number} at
 */
function totpCode(base32, at) {
  let bits = ''
  for (const char of base32.replace(/=+$/, '').toUpperCase()) bits += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(char).toString(2).padStart(5, '0')
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((byte) => parseInt(byte, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)))
  const mac = createHmac('sha1', key).update(counter).digest()
  const offset = /** @type {number} */ (mac[mac.length - 1]) & 0x0f
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

/**
 * The monthly bill at `mau` monthly active users, from per-request figures.
 * @param {Record<string, { requests: number, cpuMs: number, cpuMsPriced?: number, rowsRead: number, rowsWritten: number, kvRead: number, kvWrite: number, kvDelete: number, kvList: number }>} perRequest
 * @param {number} mau
 */
export function monthlyCost(perRequest, mau, a = ASSUMPTIONS, p = PRICES) {
  const counts = monthlyPerMau(a)
  const total = { requests: 0, cpuMs: 0, rowsRead: 0, rowsWritten: 0, kvRead: 0, kvWrite: 0, kvDelete: 0, kvList: 0 }
  for (const [key, perMau] of Object.entries(counts)) {
    const figures = perRequest[key]
    if (!figures) continue
    for (const unit of /** @type {(keyof typeof total)[]} */ (Object.keys(total))) {
      // CPU: the standard run's per-request figure where it has one (steadier than 10 ms ticks over a few samples).
      const value = unit === 'cpuMs' ? (figures.cpuMsPriced ?? figures.cpuMs) : figures[unit]
      total[unit] += value * perMau * mau
    }
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

/**
 * @param {Awaited<ReturnType<typeof measureCost>>} measuredCost
 * @param {Record<string, { workerdCpuMsPerRequest: number }> | undefined} [scenarios]  the standard run's, for comparison
 */
export function costModel(measuredCost, scenarios) {
  /** The standard run's scenario that does the same request, for its CPU under load. */
  const underLoad = /** @type {Record<string, string>} */ ({
    sessionCheck: 'profile',
    sessionCheckCached: 'profile (cached:5)',
    refresh: 'refresh',
    register: 'register (1 connection)',
  })
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
      cpuMsStandardRun: scenarios?.[underLoad[key] ?? '']?.workerdCpuMsPerRequest ?? null,
    }
    perRequest[key].cpuMsPriced = perRequest[key].cpuMsStandardRun ?? m.cpuMs
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
    '| request type | Worker requests | CPU ms (upper bound) | CPU ms/req in the standard run | D1 round trips | D1 rows read | D1 rows written | KV reads | KV writes | KV deletes | per MAU per month |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...REQUEST_TYPES.map(({ key, label }) => {
      const r = cost.perRequest[key]
      if (!r) return `| ${label} | not built yet | | | | | | | | | |`
      return `| ${label} | ${fmt(r.requests, 2)} | ${fmt(r.cpuMs, 2)} | ${r.cpuMsStandardRun == null ? '' : fmt(r.cpuMsStandardRun, 2)} | ${fmt(r.d1RoundTrips, 2)} | ${fmt(r.rowsRead, 2)} | ${fmt(r.rowsWritten, 2)} | ${fmt(r.kvRead, 2)} | ${fmt(r.kvWrite, 2)} | ${fmt(r.kvDelete, 2)} | ${per[key] !== undefined ? fmt(per[key], 2) : key === 'loginTotp' ? 'instead of a mailed-code login' : 'instead of the primary check'} |`
    }),
    '',
    `Samples: ${REQUEST_TYPES.filter(({ key }) => cost.perRequest[key]).map(({ key }) => `${key} ${cost.perRequest[key].samples}`).join(', ')}. Figures are per operation (a mailed-code login is two requests).`,
    'With `replica` the check reads the same rows, on a replica (billed alike); with `cached:5` an isolate reads a session at most once per 5 s,',
    'so the back-to-back checks above read almost nothing. The month below prices the primary check: at the assumed 50 calls in a 30-minute',
    'active day (one every 36 s) most calls of one session are more than 5 s apart, so the cache saves reads mainly in bursts, and D1 reads',
    'stay far inside the included 25 billion whatever the mode. The cache pays in latency and CPU, not in the bill.',
    'CPU is counted in 10 ms ticks of the whole workerd, so the cheap rows are coarse; the standard run\'s CPU per request (32 connections,',
    'where one exists) is the steadier figure for them. Rows written include index entries, as D1 bills them.',
    `The local D1 held ${fmt(cost.localDbBytes / 1024, 0)} KiB after the cost run (D1's \`meta.size_after\`).`,
    '',
    'Assumptions per monthly active user (MAU), in `bench/lib/cost.mjs`:',
    `${a.registerPerMau} registrations (a tenth of a month's actives are new); ${a.loginsPerMau} sign-ins with a mailed code (a new device, or`,
    `a session idle past its 7-day refresh token); ${a.activeDaysPerMau} active days of ${a.activeMinutesPerDay} minutes, with a refresh every ${a.refreshIntervalMinutes} minutes of activity`,
    `(the access token's lifetime: ${per.refresh} refreshes) and ${a.apiCallsPerActiveDay} authenticated API calls per active day, each one session check (${per.sessionCheck});`,
    `${a.logoutsPerMau} explicit logouts; ${fmt(a.storageBytesPerMau / 1000, 0)} kB of D1 storage per user (about 1 kB of account and indexes, a few kB of live`,
    'sessions and refresh-token records, and 90 days of audit rows: some 25 a month, one per refresh, at about 400 B with indexes). Not priced: the Rate Limiting binding, the mail provider, egress, and the calls of',
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
    readingOf(cost),
  ]
}

/** What drives the bill, from the figures (so it changes with them). @param {Record<string, any>} cost */
function readingOf(cost) {
  const counts = /** @type {Record<string, number>} */ (cost.monthlyPerMau)
  /** @param {Record<string, any>} month */
  const drivers = (month) =>
    Object.entries(/** @type {Record<string, number>} */ (month.lines))
      .filter(([line, v]) => line !== 'Workers Paid plan' && v > 0)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 3)
      .map(([line, v]) => `${line} ${money(v)} (${fmt((v / month.total) * 100, 0)} %)`)
  /** Which request type brings most of a unit, and its share. @param {string} unit */
  const topSource = (unit) => {
    const parts = Object.entries(counts).map(([key, n]) => [key, n * (cost.perRequest[key]?.[unit] ?? 0)])
    const sum = parts.reduce((acc, [, v]) => acc + /** @type {number} */ (v), 0)
    const [key, v] = /** @type {[string, number]} */ (parts.sort((x, y) => /** @type {number} */ (y[1]) - /** @type {number} */ (x[1]))[0])
    return `${key} ${fmt(sum ? (v / sum) * 100 : 0, 0)} %`
  }
  return cost.months
    .map((/** @type {Record<string, any>} */ month) => {
      const top = drivers(month)
      return `At ${fmt(month.mau, 0)} MAU a month costs **${money(month.total)}**: the $${cost.prices.workers.monthly} plan${top.length ? ` plus ${top.join(', ')}` : ' and nothing past its allowances'}.`
    })
    .concat([
      `Where the units come from: requests ${topSource('requests')}, CPU ${topSource('cpuMs')}, D1 rows written ${topSource('rowsWritten')},`,
      `KV writes ${topSource('kvWrite')} (the request type with the largest share of each, per month). D1 reads stay far inside the included`,
      '25 billion; rows written (each refresh rotates a token, inserts its successor, touches the session and writes an audit row, with',
      'their index entries) and the request count are what grow the bill, so the refresh interval and the per-refresh audit row are the levers.',
      'CPU is priced at the standard run\'s figure per request where the run has one (session check, refresh, register), else at the upper bound above.',
    ])
    .join('\n')
}
