// One-time codes read from wrangler dev's log: the console mailer writes one JSON line per mail.
import { sleep } from '../../scripts/lib/processes.mjs'

/**
 * The code of the `email.sent` line for `to` and `purpose` that appears after `after` lines.
 * @param {string[]} logLines
 * @param {string} to
 * @param {string} purpose
 * @param {number} after
 */
export async function codeFromLog(logLines, to, purpose, after) {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const code = findCode(logLines.slice(after), to, purpose)
    if (code) return code
    await sleep(100)
  }
  throw new Error(`no ${purpose} code for ${to} in the wrangler dev log`)
}

/**
 * The newest matching code in `lines`, if any.
 * @param {string[]} lines
 * @param {string} to
 * @param {string} purpose
 */
export function findCode(lines, to, purpose) {
  for (const line of [...lines].reverse()) {
    if (!line.includes('"email.sent"')) continue
    try {
      const sent = JSON.parse(line.slice(line.indexOf('{')))
      if (sent.to === to && sent.purpose === purpose && typeof sent.code === 'string') return /** @type {string} */ (sent.code)
    } catch {
      // not a whole JSON line
    }
  }
  return undefined
}
