import { getTableColumns, is, SQL, sql } from 'drizzle-orm'
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core'
import { sessions, users } from './schema'

/**
 * The rules that decide whether a session or an account is live, written once and rendered
 * two ways: as text for the fixed statements of the hot path (`text(alias, nowPlaceholder)`),
 * and as drizzle SQL with `now` bound (`sql(now)`), for everything else.
 */
function fragment(render: (table: string, now: string) => string, table: string) {
  return {
    text: render,
    sql(now = 0, alias = table): SQL {
      const [head = '', ...rest] = render(alias, '\u0000').split('\u0000')
      return sql.join([sql.raw(head), ...rest.flatMap((part) => [sql`${now}`, sql.raw(part)])])
    },
  }
}

const column = (col: SQLiteColumn) => col.name

/** A session that still works: not revoked, not past its absolute end. */
export const liveSession = fragment(
  (s, now) => `${s}.${column(sessions.revokedAt)} IS NULL AND ${s}.${column(sessions.expiresAt)} > ${now}`,
  'sessions',
)

/** An account that still exists: not (soft-)deleted. */
export const liveUser = fragment((u) => `${u}.${column(users.deletedAt)} IS NULL`, 'users')

/** `table.column` names of a table, prefixed for a join: `u.email AS u_email, ...`. */
export function selectColumns(table: SQLiteTable, alias: string): string {
  return Object.entries(getTableColumns(table))
    .map(([key, col]) => `${alias}.${col.name} AS ${alias}_${key}`)
    .join(', ')
}

/** Reads back a row selected with `selectColumns`, through each column's own driver mapping. */
export function rowOf<T extends SQLiteTable>(table: T, alias: string, row: Record<string, unknown>): T['$inferSelect'] {
  const out: Record<string, unknown> = {}
  for (const [key, col] of Object.entries(getTableColumns(table))) {
    const value = row[`${alias}_${key}`]
    out[key] = value === null || value === undefined ? null : col.mapFromDriverValue(value)
  }
  return out as T['$inferSelect']
}

/**
 * `INSERT ... SELECT <values> WHERE <guard>`: a row written only when the guard holds, in the
 * same statement. Values are named by field; the column list and order come from the table,
 * and a field left out gets its column default (or NULL).
 */
export function insertWhere<T extends SQLiteTable>(table: T, values: Partial<T['$inferInsert']>, guard: SQL): SQL {
  const given = values as Record<string, unknown>
  const list = Object.entries(getTableColumns(table)).map(([key, col]) => {
    const value = given[key]
    if (value !== undefined) return sql.param(value, col)
    if (col.default !== undefined) return is(col.default, SQL) ? col.default : sql.param(col.default, col)
    return sql`NULL`
  })
  return sql`SELECT ${sql.join(list, sql`, `)} WHERE ${guard}`
}
