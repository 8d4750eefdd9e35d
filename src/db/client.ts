import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1'

/** No relational schema is registered: every query goes through the builders, so construction stays cheap. */
export type Db = DrizzleD1Database

/** A drizzle client over a D1 binding or one of its sessions (same prepare/batch interface). */
export function getDb(d1: D1Database | D1DatabaseSession): Db {
  return drizzle(d1 as D1Database)
}

/** The request header a client echoes to read its own writes from a replica, and the response header that carries it. */
export const BOOKMARK_HEADER = 'X-D1-Bookmark'

/**
 * D1 access for one request through the Sessions API. `primary` carries every write and
 * every security decision (rotation, code tries, revocation, lockout, and the session check
 * unless `SESSION_CHECK` says otherwise). `replica` is for reads that tolerate replica lag
 * (session and admin lists, the session check with `SESSION_CHECK=replica`); it starts from
 * the client's bookmark when one is sent, so a client reads its own writes.
 */
export class RequestDb {
  readonly #binding: D1Database
  readonly #bookmark: () => string | undefined
  #primary?: { readonly session: D1DatabaseSession; readonly db: Db }
  #replica?: { readonly session: D1DatabaseSession; readonly db: Db }

  /** `bookmark`: the client's bookmark, asked for only when a replica session opens. */
  constructor(binding: D1Database, bookmark: () => string | undefined) {
    this.#binding = binding
    this.#bookmark = bookmark
  }

  get primary(): Db {
    return this.#openPrimary().db
  }

  /** The primary session itself, for the hot-path statements written as plain SQL. */
  get primarySession(): D1DatabaseSession {
    return this.#openPrimary().session
  }

  #openPrimary() {
    if (!this.#primary) {
      const session = this.#binding.withSession('first-primary')
      // The drizzle client is built on first use: the session check and rotation use plain SQL.
      let db: Db | undefined
      this.#primary = {
        session,
        get db() {
          return (db ??= getDb(session))
        },
      }
    }
    return this.#primary
  }

  get replica(): Db {
    return this.#openReplica().db
  }

  /** The replica session itself, for the session check with `SESSION_CHECK=replica`. */
  get replicaSession(): D1DatabaseSession {
    return this.#openReplica().session
  }

  #openReplica() {
    if (!this.#replica) {
      const session = this.#binding.withSession(this.#bookmark() ?? 'first-unconstrained')
      // The drizzle client is built on first use: the session check reads with plain SQL.
      let db: Db | undefined
      this.#replica = {
        session,
        get db() {
          return (db ??= getDb(session))
        },
      }
    }
    return this.#replica
  }

  /**
   * The newest bookmark this request saw, for the client to send back; undefined if D1 was not
   * used. A request may read a replica (the session check) and then write on the primary (a
   * logout): the later of the two positions is the one that shows the client its own write.
   */
  bookmark(): string | undefined {
    const replica = this.#replica?.session.getBookmark() ?? undefined
    const primary = this.#primary?.session.getBookmark() ?? undefined
    // Bookmarks are fixed-width hex positions in the database's history: the greater is the later.
    if (replica && primary) return replica > primary ? replica : primary
    return replica ?? primary
  }
}
