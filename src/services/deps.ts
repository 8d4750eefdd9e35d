import type { Config } from '../config'
import type { Db } from '../db/client'
import type { Logger } from '../log'
import type { RequestMeta } from '../types'
import type { SecondStep, SignInMethod } from '../methods/types'
import type { Mailer } from './mailer'

/** What a service function may touch. Routes build it from the request; tests may build their own. */
export interface Deps {
  /** Primary: writes and security decisions. */
  db: Db
  /** The same primary session, for the hot-path statements of db/hot-path.ts. */
  d1: D1Database | D1DatabaseSession
  /** Reads that tolerate replica lag (lists); the client's bookmark keeps its own writes visible. */
  readDb: Db
  kv: KVNamespace
  config: Config
  mailer: Mailer
  log: Logger
  meta: RequestMeta
  /** The registered second steps, in priority order (methods/index.ts). */
  secondSteps: readonly SecondStep[]
  /** Every registered sign-in method (ways in, admin summaries). */
  methods: readonly SignInMethod[]
  /** Runs work after the response has gone (`waitUntil`); failures are logged, never thrown. */
  defer(work: Promise<unknown>): void
}
