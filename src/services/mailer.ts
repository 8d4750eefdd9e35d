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

const SUBJECTS: Record<OtpPurpose, string> = {
  verify_email: 'Confirm your email address',
  login: 'Your sign-in code',
  reset_password: 'Reset your password',
}

const LEADS: Record<OtpPurpose, string> = {
  verify_email: 'Use this code to confirm your email address:',
  login: 'Use this code to finish signing in:',
  reset_password: 'Use this code to set a new password:',
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!)

/** The text and HTML bodies of a code message. */
export function renderCodeMessage(message: CodeMessage) {
  const minutes = Math.max(1, Math.round(message.expiresIn / 60))
  const lifetime = `It expires in ${minutes} minute${minutes === 1 ? '' : 's'}.`
  const ignore = 'If you did not ask for it, you can ignore this email.'
  const subject = SUBJECTS[message.purpose]
  const text = `${LEADS[message.purpose]}\n\n${message.code}\n\n${lifetime} ${ignore}\n`
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
<p>${escapeHtml(LEADS[message.purpose])}</p>
<p style="font-size:28px;font-weight:bold;letter-spacing:6px">${escapeHtml(message.code)}</p>
<p>${escapeHtml(lifetime)} ${escapeHtml(ignore)}</p>
</body></html>`
  return { subject, text, html }
}

export const RESEND_ENDPOINT = 'https://api.resend.com/emails'

/**
 * Delivery through Resend's HTTP API. A failed send is logged and tried once more; it never
 * reaches the caller (the send runs after the response), and the log never holds the code.
 */
export function resendMailer(apiKey: string, from: string, log: Logger): Mailer {
  const attempt = async (message: CodeMessage) => {
    const { subject, text, html } = renderCodeMessage(message)
    const response = await fetch(RESEND_ENDPOINT, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from, to: [message.to], subject, text, html }),
    })
    if (!response.ok) throw new Error(`Resend answered ${response.status}`)
  }
  return {
    async send(message) {
      for (let tries = 1; ; tries++) {
        try {
          await attempt(message)
          log.info('email.sent', { provider: 'resend', purpose: message.purpose })
          return
        } catch (error) {
          log.error('email.failed', { provider: 'resend', purpose: message.purpose, tries, error: error instanceof Error ? error.message : String(error) })
          if (tries >= 2) return
        }
      }
    },
  }
}

/** The mailer the configuration asks for. */
export function createMailer(config: Config, log: Logger): Mailer {
  switch (config.emailDelivery) {
    case 'console':
      return consoleMailer
    case 'resend':
      return resendMailer(config.resendApiKey!, config.emailFrom!, log)
  }
}
