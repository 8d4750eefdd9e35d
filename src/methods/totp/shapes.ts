import * as z from 'zod'
import { id, otp, passwordAttempt, tokenTransport } from '../../schemas/common'
import { RECOVERY_ALPHABET } from './otp'

/** Request and response shapes of the authenticator-app routes (strict objects, as everywhere). */

/** Six digits from the app. */
const totpCode = otp
/** A recovery code as typed: its alphabet, dashes and spaces (ignored), any case. */
const recoveryCode = z
  .string()
  .max(64)
  .refine((value) => new RegExp(`^[${RECOVERY_ALPHABET}\\s-]{10,}$`, 'i').test(value), 'is not a recovery code')
/** Either: what removing the app accepts. */
const anyCode = z.string().min(1, 'is required').max(64)

export const MfaVerifyBody = z.discriminatedUnion('method', [
  z.strictObject({ challengeId: id, method: z.literal('totp'), code: totpCode, tokenTransport }),
  z.strictObject({ challengeId: id, method: z.literal('recovery_code'), code: recoveryCode, tokenTransport }),
])

/** `{password}`; an account without a password sends no body (or `{}`). */
export const EnrollBody = z.strictObject({ password: passwordAttempt.optional() })
export const ActivateBody = z.strictObject({ code: totpCode })
export const RemoveTotpBody = z.strictObject({ code: anyCode })
export const RegenerateBody = z.strictObject({ code: totpCode })

const isoTime = z.iso.datetime()

export const MfaStatus = z.object({
  totp: z.object({ enabled: z.boolean(), createdAt: isoTime }).nullable(),
  recoveryCodesLeft: z.number().int(),
  passkeys: z.number().int(),
})

export const Enrolment = z.object({
  secret: z.string().describe('The shared secret, base32 (RFC 4648, no padding), for typing into an app.'),
  otpauthUri: z.string().describe('otpauth://totp/<issuer>:<email>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30, for a QR code.'),
  expiresIn: z.number().int().describe('Seconds the enrolment waits for activation.'),
})

export const RecoveryCodes = z.object({ recoveryCodes: z.array(z.string()).describe('Ten single-use codes, shown this once.') })
