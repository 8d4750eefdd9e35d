/**
 * RFC 4226 HOTP and RFC 6238 TOTP with WebCrypto (HMAC-SHA-1, the algorithm every authenticator
 * app supports), base32 for the shared secret (RFC 4648, no padding), and the recovery-code
 * alphabet. No dependency: a dozen lines of HMAC and truncation.
 */

export const TOTP_PERIOD = 30
export const TOTP_DIGITS = 6
/** Steps accepted around the current one: the previous, the current and the next (clock drift). */
export const TOTP_WINDOW = 1

/** The time step of a moment (ms since the epoch). */
export const stepAt = (ms: number) => Math.floor(ms / 1000 / TOTP_PERIOD)

/** RFC 4226: the `digits`-digit code of an 8-byte big-endian counter under HMAC-SHA-1. */
export async function hotp(secret: Uint8Array, counter: number, digits = TOTP_DIGITS): Promise<string> {
  const message = new Uint8Array(8)
  new DataView(message.buffer).setBigUint64(0, BigInt(counter))
  const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-1' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, message))
  // Dynamic truncation: 31 bits from the offset the last nibble names.
  const offset = mac[mac.length - 1]! & 0x0f
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!
  return String(binary % 10 ** digits).padStart(digits, '0')
}

/**
 * The step among the previous, current and next whose code is `code`, later than `after` (the
 * last step accepted for the account), or undefined. Every candidate is computed, so the time
 * taken does not say which one matched.
 */
export async function matchingStep(secret: Uint8Array, code: string, now: number, after: number): Promise<number | undefined> {
  const current = stepAt(now)
  let found: number | undefined
  for (let step = current - TOTP_WINDOW; step <= current + TOTP_WINDOW; step++) {
    const expected = await hotp(secret, step)
    if (expected === code && step > after && found === undefined) found = step
  }
  return found
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 without padding, as otpauth URIs carry secrets. */
export function base32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

/** No 0/O, 1/I/L or U: nothing a person can misread when typing a recovery code from paper. */
export const RECOVERY_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ'
export const RECOVERY_CODE_LENGTH = 10
export const RECOVERY_CODES_PER_SET = 10

/** A recovery code from a CSPRNG, without modulo bias, shown as `XXXXX-XXXXX`. */
export function recoveryCode(): string {
  const size = RECOVERY_ALPHABET.length
  const ceiling = Math.floor(256 / size) * size
  let code = ''
  const byte = new Uint8Array(1)
  while (code.length < RECOVERY_CODE_LENGTH) {
    crypto.getRandomValues(byte)
    if (byte[0]! < ceiling) code += RECOVERY_ALPHABET[byte[0]! % size]
  }
  return `${code.slice(0, 5)}-${code.slice(5)}`
}

/** A recovery code as typed, compared form: dashes and spaces dropped, upper case. */
export const normalizeRecoveryCode = (typed: string) => typed.replace(/[\s-]/g, '').toUpperCase()
