/** Structured JSON logging: one line per event, never a password, token or code. */
export type LogFields = Record<string, unknown>

export interface Logger {
  info(event: string, fields?: LogFields): void
  warn(event: string, fields?: LogFields): void
  error(event: string, fields?: LogFields): void
}

/** A logger whose every line carries `base` (the request id, for one). */
export function createLogger(base: LogFields = {}): Logger {
  const write = (level: 'info' | 'warn' | 'error', event: string, fields?: LogFields) => {
    const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...base, ...fields })
    if (level === 'error') console.error(line)
    else if (level === 'warn') console.warn(line)
    else console.log(line)
  }
  return {
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
  }
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
