// What `npm run dev` prints of wrangler dev's output. The Worker writes one JSON line per event;
// here each becomes one short line a person can read (or stays JSON with LOG_FORMAT=json).
// wrangler's own per-request lines are dropped: the Worker's request line says more (the error
// code, why a token was refused), so every request is printed once.

/** `[wrangler:info] GET /health 200 OK (3ms)`: wrangler's own request line. */
const WRANGLER_REQUEST = /^\[wrangler:info\] [A-Z]+ \S+ \d{3}\b/
/** Colour and formatting escapes. */
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g
/** A prefix wrangler puts on console.warn / console.error lines (`✘ [ERROR] `, `▲ [WARNING] `). */
const WRANGLER_PREFIX = /^(?:✘ \[ERROR\]|▲ \[WARNING\]|X \[ERROR\]|\[ERROR\]|\[WARNING\])\s*/

/**
 * @typedef {Record<string, unknown>} LogLine
 * @typedef {{ kind: 'drop' } | { kind: 'text', text: string } | { kind: 'event', json: string, event: LogLine }} Classified
 */

/**
 * Sorts one line of wrangler dev's output.
 * @param {string} raw
 * @returns {Classified}
 */
export function classify(raw) {
  const plain = raw.replace(ANSI, '').replace(WRANGLER_PREFIX, '')
  if (WRANGLER_REQUEST.test(plain)) return { kind: 'drop' }
  if (plain.startsWith('{"level":')) {
    try {
      const event = /** @type {LogLine} */ (JSON.parse(plain))
      return { kind: 'event', json: plain, event }
    } catch {
      // not a whole JSON line: print it as it came
    }
  }
  return { kind: 'text', text: raw }
}

const COLOURS = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2 }

/**
 * @param {boolean} colour
 * @returns {(name: keyof typeof COLOURS, text: string) => string}
 */
const painter = (colour) => (name, text) => (colour ? `\u001b[${COLOURS[name]}m${text}\u001b[0m` : text)

/** @param {unknown} value */
const show = (value) => (typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value))

/**
 * One short line for a person: `12:00:01 POST /api/auth/login 401 INVALID_CREDENTIALS 52ms`,
 * `12:00:01 email.sent to=ann@example.com purpose=login code=123456`.
 * @param {LogLine} event
 * @param {{ colour?: boolean }} [options]
 */
export function humanLine(event, options = {}) {
  const paint = painter(options.colour ?? false)
  const time = typeof event.time === 'string' ? event.time.slice(11, 19) : ''
  const level = String(event.level ?? 'info')
  if (event.event === 'request') {
    const status = Number(event.status)
    const tone = status >= 500 ? 'red' : status >= 400 ? 'yellow' : 'green'
    const error = event.error ? ` ${event.error}${event.reason ? ` (${event.reason})` : ''}` : ''
    const user = event.userId ? paint('dim', ` user=${event.userId}`) : ''
    return `${paint('dim', time)} ${event.method} ${event.path} ${paint(tone, `${status}${error}`)} ${paint('dim', `${event.durationMs}ms`)}${user}`
  }
  const skip = new Set(['level', 'event', 'time', 'requestId', 'stack'])
  const fields = Object.entries(event)
    .filter(([key, value]) => !skip.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${show(value)}`)
    .join(' ')
  const tone = level === 'error' ? 'red' : level === 'warn' ? 'yellow' : 'cyan'
  const stack = typeof event.stack === 'string' && event.stack ? `\n${paint('dim', event.stack)}` : ''
  return `${paint('dim', time)} ${paint(tone, String(event.event))} ${fields}${stack}`
}
