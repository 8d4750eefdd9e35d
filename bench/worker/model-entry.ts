/**
 * The latency and cost model's entry: a thin worker in front of the production bundle
 * (imported as it is, `@service` → ./index.js beside this file in bench/.tmp/service) that
 * wraps the service's D1 and KV bindings before the service sees them.
 *
 * - Each D1 round trip waits first: `BENCH_D1_PRIMARY_MS` for the primary (the binding itself,
 *   `withSession()`, `withSession('first-primary')`), `BENCH_D1_REPLICA_MS` for a replica
 *   (`withSession('first-unconstrained')` or `withSession(<bookmark>)`). A round trip is one
 *   `first` / `all` / `run` / `raw` of a statement, one `batch`, or one `exec`.
 * - Round trips are counted by kind, and `meta.rows_read` / `meta.rows_written` of every result
 *   summed (D1's billing units); KV reads, writes, deletes and lists counted the same way.
 * - `GET /__bench/counters` answers the totals since the last `POST /__bench/reset`;
 *   `POST /__bench/delays?primary=<ms>&replica=<ms>` changes the delays at run time.
 *
 * `first` and `raw` are served from `all()` so that each result's meta is seen: the same single
 * round trip, the same rows (raw keeps the SELECT's column order; the service's drizzle queries
 * have no joins, so no two columns share a name). Bench only: never deployed.
 */
import service from '@service'

interface Counters {
  primary: number
  replica: number
  statements: number
  rowsRead: number
  rowsWritten: number
  sizeAfter: number
  kvRead: number
  kvWrite: number
  kvDelete: number
  kvList: number
  requests: number
}

type Kind = 'primary' | 'replica'
type ModelEnv = Env & { BENCH_D1_PRIMARY_MS?: string; BENCH_D1_REPLICA_MS?: string }

const fresh = (): Counters => ({
  primary: 0,
  replica: 0,
  statements: 0,
  rowsRead: 0,
  rowsWritten: 0,
  sizeAfter: 0,
  kvRead: 0,
  kvWrite: 0,
  kvDelete: 0,
  kvList: 0,
  requests: 0,
})

let counters = fresh()
let delays: Record<Kind, number> | undefined

/** One round trip of the given kind: counted, then the modelled network delay. */
async function roundTrip(kind: Kind): Promise<void> {
  counters[kind]++
  const ms = delays?.[kind] ?? 0
  if (ms > 0) await scheduler.wait(ms)
}

function account(results: D1Result | D1Result[]) {
  for (const result of Array.isArray(results) ? results : [results]) {
    counters.statements++
    counters.rowsRead += result.meta?.rows_read ?? 0
    counters.rowsWritten += result.meta?.rows_written ?? 0
    if (typeof result.meta?.size_after === 'number') counters.sizeAfter = result.meta.size_after
  }
}

/** The real statement behind a wrapped one, for `batch`. */
const REAL = Symbol('real statement')
type Wrapped = D1PreparedStatement & { [REAL]: D1PreparedStatement }

function wrapStatement(real: D1PreparedStatement, kind: Kind): Wrapped {
  const all = async () => {
    await roundTrip(kind)
    const result = await real.all()
    account(result)
    return result
  }
  const wrapped = {
    [REAL]: real,
    bind: (...values: unknown[]) => wrapStatement(real.bind(...values), kind),
    all,
    run: async () => {
      await roundTrip(kind)
      const result = await real.run()
      account(result)
      return result
    },
    first: async (column?: string) => {
      const row = (await all()).results[0] as Record<string, unknown> | undefined
      if (column === undefined) return row ?? null
      return row?.[column] ?? null
    },
    raw: async (options?: { columnNames?: boolean }) => {
      const rows = (await all()).results as Record<string, unknown>[]
      const values = rows.map((row) => Object.values(row))
      return options?.columnNames ? [Object.keys(rows[0] ?? {}), ...values] : values
    },
  }
  return wrapped as unknown as Wrapped
}

async function batch(target: D1Database | D1DatabaseSession, kind: Kind, statements: D1PreparedStatement[]) {
  await roundTrip(kind)
  const results = await target.batch(statements.map((statement) => (statement as Wrapped)[REAL] ?? statement))
  account(results)
  return results
}

function wrapSession(real: D1DatabaseSession, kind: Kind): D1DatabaseSession {
  return {
    prepare: (query: string) => wrapStatement(real.prepare(query), kind),
    batch: (statements: D1PreparedStatement[]) => batch(real, kind, statements),
    getBookmark: () => real.getBookmark(),
  } as unknown as D1DatabaseSession
}

function wrapDb(real: D1Database): D1Database {
  return {
    prepare: (query: string) => wrapStatement(real.prepare(query), 'primary'),
    batch: (statements: D1PreparedStatement[]) => batch(real, 'primary', statements),
    exec: async (query: string) => {
      await roundTrip('primary')
      return real.exec(query)
    },
    dump: () => real.dump(),
    withSession: (constraint?: string) => {
      const kind: Kind = constraint === undefined || constraint === 'first-primary' ? 'primary' : 'replica'
      return wrapSession(real.withSession(constraint as D1SessionConstraint), kind)
    },
  } as unknown as D1Database
}

function wrapKv(real: KVNamespace): KVNamespace {
  const keys = (key: unknown) => (Array.isArray(key) ? key.length : 1)
  return {
    get: (key: string, options?: unknown) => {
      counters.kvRead += keys(key)
      return real.get(key, options as never)
    },
    getWithMetadata: (key: string, options?: unknown) => {
      counters.kvRead += keys(key)
      return real.getWithMetadata(key, options as never)
    },
    put: (key: string, value: never, options?: KVNamespacePutOptions) => {
      counters.kvWrite++
      return real.put(key, value, options)
    },
    delete: (key: string) => {
      counters.kvDelete++
      return real.delete(key)
    },
    list: (options?: KVNamespaceListOptions) => {
      counters.kvList++
      return real.list(options)
    },
  } as unknown as KVNamespace
}

/** One wrapped env per env object, so the service's per-isolate caches keyed by env still hold. */
const wrappedEnvs = new WeakMap<object, Env>()

function wrapEnv(env: ModelEnv): Env {
  let wrapped = wrappedEnvs.get(env)
  if (!wrapped) {
    const { BENCH_D1_PRIMARY_MS, BENCH_D1_REPLICA_MS, ...rest } = env
    delays ??= { primary: Number(BENCH_D1_PRIMARY_MS ?? 0), replica: Number(BENCH_D1_REPLICA_MS ?? 0) }
    wrapped = { ...rest, DB: wrapDb(env.DB), OTP_KV: wrapKv(env.OTP_KV) } as Env
    wrappedEnvs.set(env, wrapped)
  }
  return wrapped
}

const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })

export default {
  async fetch(request: Request, env: ModelEnv, ctx: ExecutionContext) {
    const wrapped = wrapEnv(env)
    const url = new URL(request.url)
    if (url.pathname.startsWith('/__bench/')) {
      if (url.pathname === '/__bench/counters') return json({ counters, delays })
      if (url.pathname === '/__bench/reset' && request.method === 'POST') {
        counters = fresh()
        return json({ ok: true })
      }
      if (url.pathname === '/__bench/delays' && request.method === 'POST') {
        delays = { primary: Number(url.searchParams.get('primary') ?? 0), replica: Number(url.searchParams.get('replica') ?? 0) }
        return json({ ok: true, delays })
      }
      return new Response('not found', { status: 404 })
    }
    counters.requests++
    return service.fetch!(request as never, wrapped, ctx)
  },
  scheduled(controller: ScheduledController, env: ModelEnv, ctx: ExecutionContext) {
    return service.scheduled!(controller, wrapEnv(env), ctx)
  },
} satisfies ExportedHandler<ModelEnv>
