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
