/** Structured JSON logging: one line per event, never a password, token or code. */
import { TokenRejected } from './crypto/tokens'
import type { ApiError } from './errors'

export type LogFields = Record<string, unknown>
export type LogLevel = 'info' | 'warn' | 'error'

export interface Logger {
  info(event: string, fields?: LogFields): void
  warn(event: string, fields?: LogFields): void
  error(event: string, fields?: LogFields): void
}

export interface LoggerOptions {
  /**
   * True when every line should go through console.log. Workers Logs takes the level from the
   * console method, so production keeps console.warn / console.error; `wrangler dev` wraps those
   * (`✘ [ERROR] {...}`), so development writes plain lines whose level is in the JSON.
   */
  singleStream?: () => boolean
}

/** A logger whose every line carries `base` (the request id, for one). */
export function createLogger(base: LogFields = {}, options: LoggerOptions = {}): Logger {
  const write = (level: LogLevel, event: string, fields?: LogFields) => {
    const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...base, ...fields })
    if (level === 'info' || options.singleStream?.()) console.log(line)
    else if (level === 'error') console.error(line)
    else console.warn(line)
  }
  return {
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
  }
}

/** What the one `request` line of a request says. */
export interface RequestSummary {
  method: string
  path: string
  status: number
  durationMs: number
  userId?: string | undefined
  /** The error code the response carried, if it is an error. */
  error?: string
  /** For a refused token, the check it failed (`iss`, `aud`, `signature`, `typ`, `exp`, ...); never the token. */
  reason?: string
}

/** The production request line: what Workers Logs does not record by itself. */
export type CompactRequestSummary = Pick<RequestSummary, 'userId' | 'error' | 'reason'>

/**
 * The fields and level of a request's log line; the failure, if any, is the ApiError that was
 * answered. `compact` (production): Workers Logs already records each invocation's method, URL,
 * status and CPU time, so the line carries only what it lacks: the request id (on every line
 * already), the user, and the error code with the check a refused token failed.
 */
export function requestSummary(
  request: { method: string; path: string; status: number; durationMs: number; userId?: string | undefined },
  failure?: ApiError,
  compact = false,
): { level: LogLevel; fields: RequestSummary | CompactRequestSummary } {
  const fields: RequestSummary | CompactRequestSummary = compact ? (request.userId === undefined ? {} : { userId: request.userId }) : { ...request }
  if (failure) {
    fields.error = failure.code
    if (failure.cause instanceof TokenRejected) fields.reason = failure.cause.check
  }
  const level: LogLevel = request.status >= 500 ? 'error' : request.status >= 400 ? 'warn' : 'info'
  return { level, fields }
}

/**
 * Drizzle puts a failed statement's bound values in its message (`params: ...`): emails,
 * password hashes, token hashes. They never reach the log.
 */
const redactParams = (text: string) => text.replace(/params:[^\n]*/g, 'params: [redacted]')

/** An error's name and message (and its causes') for the log, bound values redacted; never sent to a client. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause ? ` (cause: ${describeError(error.cause)})` : ''
    return redactParams(`${error.name}: ${error.message}`) + cause
  }
  return redactParams(String(error))
}

/** Only the frames of a stack: its first line repeats the message, bound values included. */
export const stackFrames = (error: unknown): string | undefined =>
  error instanceof Error && error.stack
    ? error.stack
        .split('\n')
        .filter((line) => /^\s+at /.test(line))
        .join('\n')
    : undefined
