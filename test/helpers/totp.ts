/**
 * A TOTP generator for the tests, written from the RFCs rather than from the service's code, so
 * the two check each other:
 *
 * - RFC 4226 (HOTP): HMAC-SHA-1 over the 8-byte big-endian counter; "dynamic truncation" takes the
 *   low nibble of the last MAC byte as an offset and reads 31 bits from there; the code is that
 *   number modulo 10^digits, left-padded with zeros.
 * - RFC 6238 (TOTP): the counter is the time step, floor((unix seconds - T0) / X), with T0 = 0 and
 *   X = 30 s here. A verifier accepts a small window of steps around its own (this service: the
 *   previous, the current and the next) and never the same step twice.
 * - The secret travels as base32 (RFC 4648, no padding) in `otpauth://totp/...?secret=`.
 *
 * Appendix B of RFC 6238 gives 8-digit SHA-1 vectors for the ASCII secret "12345678901234567890"
 * (see test/totp-unit.test.ts).
 */

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 (padding and case ignored) to bytes. */
export function fromBase32(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '').toUpperCase()
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const char of clean) {
    const index = BASE32.indexOf(char)
    if (index < 0) throw new Error(`not base32: ${char}`)
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return new Uint8Array(out)
}

/** RFC 4226 HOTP(K, C), `digits` long. */
export async function hotpCode(key: Uint8Array, counter: number, digits = 6): Promise<string> {
  const message = new Uint8Array(8)
  let c = counter
  for (let i = 7; i >= 0; i--) {
    message[i] = c & 0xff
    c = Math.floor(c / 256)
  }
  const hmac = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-1' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', hmac, message))
  const offset = mac[19]! & 0xf
  const number = ((mac[offset]! & 0x7f) * 2 ** 24) + (mac[offset + 1]! << 16) + (mac[offset + 2]! << 8) + mac[offset + 3]!
  return String(number % 10 ** digits).padStart(digits, '0')
}

/** RFC 6238 TOTP at `ms` (default now), `stepOffset` steps away (-1: the previous, 1: the next). */
export async function totpCode(secret: string | Uint8Array, options: { at?: number; stepOffset?: number; digits?: number } = {}): Promise<string> {
  const key = typeof secret === 'string' ? fromBase32(secret) : secret
  const step = Math.floor((options.at ?? Date.now()) / 1000 / 30) + (options.stepOffset ?? 0)
  return hotpCode(key, step, options.digits ?? 6)
}

/** The secret of an otpauth URI. */
export const secretOf = (otpauthUri: string) => new URL(otpauthUri).searchParams.get('secret') ?? ''
