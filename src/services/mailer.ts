import type { Config } from '../config'
import type { OtpPurpose } from '../db/schema'
import type { Logger } from '../log'

/** A one-time code on its way to its owner. */
export interface CodeMessage {
  to: string
  purpose: OtpPurpose
  code: string
  /** Seconds the code stays valid. */
  expiresIn: number
}

/** The one way mail leaves the service. Callers send after the response (`waitUntil`). */
export interface Mailer {
  send(message: CodeMessage): Promise<void>
}

/**
 * Development delivery: one JSON log line with the code, so a developer (or a script)
 * can read it from `wrangler dev`. Refused in production by the config check.
 */
export const consoleMailer: Mailer = {
  async send(message) {
    console.log(JSON.stringify({ level: 'info', event: 'email.sent', time: new Date().toISOString(), ...message }))
  },
}

/** The mailer the configuration asks for. */
export function createMailer(config: Config, _log: Logger): Mailer {
  switch (config.emailDelivery) {
    case 'console':
      return consoleMailer
  }
}
