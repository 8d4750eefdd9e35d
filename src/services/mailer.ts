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

/** What a security notice reports (API.md "Security notices"). Never a code or a sign-in link. */
export type NoticeKind =
  | 'password_changed'
  | 'password_reset'
  | 'totp_enabled'
  | 'totp_removed'
  | 'recovery_codes_regenerated'
  | 'passkey_added'
  | 'passkey_removed'
  | 'identity_linked'
  | 'identity_unlinked'
  | 'banned'
  | 'new_device'

/** A notice to an account's owner after a change to the ways it can sign in. */
export interface NoticeMessage {
  to: string
  purpose: 'security_notice'
  notice: NoticeKind
  /** A short, secret-free detail shown in the mail: a device label, a provider's name. */
  detail?: string
}

export type MailMessage = CodeMessage | NoticeMessage

/** The one way mail leaves the service. Callers send after the response (`waitUntil`). */
export interface Mailer {
  send(message: MailMessage): Promise<void>
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

const NOTICES: Record<NoticeKind, [subject: string, lead: string]> = {
  password_changed: ['Your password was changed', 'The password of your account was just changed.'],
  password_reset: ['Your password was reset', 'The password of your account was just reset with a code sent to this address.'],
  totp_enabled: ['Authenticator app turned on', 'An authenticator app was just turned on for your account.'],
  totp_removed: ['Authenticator app removed', 'The authenticator app of your account was just removed.'],
  recovery_codes_regenerated: ['New recovery codes', 'New recovery codes were just made for your account; the old ones no longer work.'],
  passkey_added: ['Passkey added', 'A passkey was just added to your account.'],
  passkey_removed: ['Passkey removed', 'A passkey was just removed from your account.'],
  identity_linked: ['Sign-in provider linked', 'A sign-in provider was just linked to your account.'],
  identity_unlinked: ['Sign-in provider unlinked', 'A sign-in provider was just unlinked from your account.'],
  banned: ['Your account was suspended', 'Your account was suspended by an administrator.'],
  new_device: ['New sign-in', 'Your account was just signed in to from a device it has not used in the last 30 days.'],
}

/** The text and HTML bodies of a security notice. */
export function renderNotice(message: NoticeMessage) {
  const [subject, lead] = NOTICES[message.notice]
  const detail = message.detail ? `\n\n${message.detail}` : ''
  const tail = 'If this was you, there is nothing to do. If it was not, reset your password and review your account.'
  const text = `${lead}${detail}\n\n${tail}\n`
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
<p>${escapeHtml(lead)}</p>${message.detail ? `\n<p>${escapeHtml(message.detail)}</p>` : ''}
<p>${escapeHtml(tail)}</p>
</body></html>`
  return { subject, text, html }
}

/** Subject, text and HTML of any message. */
export const renderMessage = (message: MailMessage) => (message.purpose === 'security_notice' ? renderNotice(message) : renderCodeMessage(message))

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
  const attempt = async (message: MailMessage) => {
    const { subject, text, html } = renderMessage(message)
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
