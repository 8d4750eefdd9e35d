/** A D1 double that fails the N-th statement, for the fault tests (failure atomicity, 503 paths). */
export const INJECTED = 'D1_ERROR: injected failure'

/** One statement the double has seen, in execution order (1-based `n`). */
export interface Executed {
  n: number
  sql: string
  /** Which db.batch() call it was part of; null for a statement run alone. */
  batch: number | null
}

/** A D1 test double over the real binding that throws at the `failAt`-th statement. */
export interface FailingD1 {
  prepare(query: string): unknown
  batch(statements: unknown[]): Promise<D1Result[]>
  exec(query: string): Promise<D1ExecResult>
  dump(): Promise<ArrayBuffer>
  withSession(constraint?: string): unknown
  /** Statements executed (or attempted) so far, the failing one included. */
  readonly count: number
  readonly log: readonly Executed[]
}

const REAL = Symbol('real statement')

/**
 * Wraps a D1 binding so that the `failAt`-th statement (counting single statements and each
 * statement of a batch) throws `D1_ERROR: injected failure` instead of running. A batch that
 * contains the failing statement fails as a whole, before anything reaches the database, as
 * D1's atomic batch would. `failAt = Infinity` is a dry run that only counts.
 */
export function failingD1(real: D1Database, failAt: number): FailingD1 {
  let count = 0
  let batches = 0
  const log: Executed[] = []

  const take = (sql: string, batch: number | null) => {
    count += 1
    log.push({ n: count, sql, batch })
    return count === failAt
  }

  const wrap = (statement: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const single =
      <K extends 'run' | 'all' | 'first' | 'raw'>(method: K) =>
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async (...args: any[]) => {
        if (take(sql, null)) throw new Error(INJECTED)
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        return (statement[method] as any)(...args)
      }
    return {
      [REAL]: statement,
      __sql: sql,
      bind: (...values: unknown[]) => wrap(statement.bind(...values), sql),
      run: single('run'),
      all: single('all'),
      first: single('first'),
      raw: single('raw'),
    } as unknown as D1PreparedStatement
  }

  const unwrap = (statement: unknown) => ((statement as Record<symbol, D1PreparedStatement>)[REAL] ?? statement) as D1PreparedStatement
  const sqlOf = (statement: unknown) => ((statement as { __sql?: string }).__sql ?? '')

  /** prepare() and batch() over the binding or one of its sessions, all counted together. */
  const counting = (target: Pick<D1Database, 'prepare' | 'batch'>) => ({
    prepare: (query: string) => wrap(target.prepare(query), query),
    async batch(statements: unknown[]) {
      const id = ++batches
      let fails = false
      for (const statement of statements) if (take(sqlOf(statement), id)) fails = true
      if (fails) throw new Error(INJECTED)
      return target.batch(statements.map(unwrap))
    },
  })

  const double: FailingD1 = {
    ...counting(real),
    exec: (query: string) => real.exec(query),
    dump: () => (real as unknown as { dump(): Promise<ArrayBuffer> }).dump(),
    // The Sessions API: a session's statements go through the same counter.
    withSession(constraint?: string) {
      const session = real.withSession(constraint)
      return { ...counting(session), getBookmark: () => session.getBookmark() }
    },
    get count() {
      return count
    },
    get log() {
      return log
    },
  }
  return double
}
