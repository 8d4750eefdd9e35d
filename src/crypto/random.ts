import { base64url as jose64 } from 'jose'

const encoder = new TextEncoder()

/** Base64url without padding (jose's). */
export const base64url = (bytes: ArrayBuffer | Uint8Array): string => jose64.encode(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))

/** Decodes base64url (padding optional); throws on anything else. */
export const fromBase64url = (text: string): Uint8Array => jose64.decode(text)

export function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length))
}

/** `digits` decimal digits from a CSPRNG, without modulo bias. */
export function randomDigits(digits: number): string {
  const limit = 10 ** digits
  // Largest multiple of `limit` below 2^32; values above it are redrawn.
  const ceiling = Math.floor(0x1_0000_0000 / limit) * limit
  const word = new Uint32Array(1)
  for (;;) {
    crypto.getRandomValues(word)
    if (word[0]! < ceiling) return String(word[0]! % limit).padStart(digits, '0')
  }
}

export async function sha256(text: string): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

const hmacKeys = new Map<string, Promise<CryptoKey>>()

/**
 * HMAC-SHA-256 keyed by `secret` and separated by `label`, so one secret can serve
 * unrelated purposes without their hashes being comparable. Keys are derived once per isolate.
 */
export async function keyedHash(secret: string, label: string, text: string): Promise<string> {
  const cacheKey = `${label}\u0000${secret}`
  let key = hmacKeys.get(cacheKey)
  if (!key) {
    key = deriveHmacKey(secret, label)
    hmacKeys.set(cacheKey, key)
  }
  return base64url(await crypto.subtle.sign('HMAC', await key, encoder.encode(text)))
}

async function deriveHmacKey(secret: string, label: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey'])
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode(label) },
    base,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign'],
  )
}

/** Compares two strings in time that depends only on their length. */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a)
  const right = encoder.encode(b)
  if (left.length !== right.length) return false
  // workerd ships crypto.subtle.timingSafeEqual; keep a portable fallback for other runtimes.
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (x: Uint8Array, y: Uint8Array) => boolean }
  if (subtle.timingSafeEqual) return subtle.timingSafeEqual(left, right)
  let diff = 0
  for (let i = 0; i < left.length; i++) diff |= left[i]! ^ right[i]!
  return diff === 0
}
