import { base64url, fromBase64url, randomBytes, timingSafeEqual } from './random'

/**
 * Deployed Workers refuse PBKDF2 above 100,000 iterations (local workerd does not),
 * so this is both the target and the ceiling. Every hash records its own parameters.
 */
export const PBKDF2_ITERATIONS = 100_000
export const PBKDF2_MAX_ITERATIONS = 100_000
const ALGORITHM = 'pbkdf2-sha512'
const SALT_BYTES = 16
const HASH_BITS = 512

const encoder = new TextEncoder()
const pepperKeys = new Map<string, Promise<CryptoKey>>()

interface ParsedHash {
  iterations: number
  peppered: boolean
  salt: Uint8Array
  hash: string
}

function parse(stored: string): ParsedHash | undefined {
  // $pbkdf2-sha512$i=100000,p=1$<salt>$<hash>
  const match = /^\$pbkdf2-sha512\$i=(\d+),p=([01])\$([\w-]+)\$([\w-]+)$/.exec(stored)
  if (!match) return undefined
  try {
    // A corrupted record fails the check rather than the request.
    return { iterations: Number(match[1]), peppered: match[2] === '1', salt: fromBase64url(match[3]!), hash: match[4]! }
  } catch {
    return undefined
  }
}

/** With a pepper, the password is first MACed with it, so a stolen database alone cannot be cracked. */
async function material(password: string, pepper: string | undefined): Promise<Uint8Array> {
  const bytes = encoder.encode(password)
  if (!pepper) return bytes
  let key = pepperKeys.get(pepper)
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(pepper), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    pepperKeys.set(pepper, key)
  }
  return new Uint8Array(await crypto.subtle.sign('HMAC', await key, bytes))
}

async function derive(password: string, pepper: string | undefined, salt: Uint8Array, iterations: number) {
  const key = await crypto.subtle.importKey('raw', await material(password, pepper), 'PBKDF2', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt, iterations }, key, HASH_BITS)
  return base64url(bits)
}

/** Hashes a password into one self-describing string. */
export async function hashPassword(password: string, pepper?: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const hash = await derive(password, pepper, salt, PBKDF2_ITERATIONS)
  return `$${ALGORITHM}$i=${PBKDF2_ITERATIONS},p=${pepper ? 1 : 0}$${base64url(salt)}$${hash}`
}

export interface PasswordCheck {
  valid: boolean
  /** The stored parameters differ from today's: store a fresh hash after a successful login. */
  needsRehash: boolean
}

/** Verifies a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string, pepper?: string): Promise<PasswordCheck> {
  const parsed = parse(stored)
  if (!parsed || parsed.iterations > PBKDF2_MAX_ITERATIONS || (parsed.peppered && !pepper)) {
    return { valid: false, needsRehash: false }
  }
  const hash = await derive(password, parsed.peppered ? pepper : undefined, parsed.salt, parsed.iterations)
  const valid = timingSafeEqual(hash, parsed.hash)
  return { valid, needsRehash: valid && (parsed.iterations !== PBKDF2_ITERATIONS || parsed.peppered !== Boolean(pepper)) }
}

/**
 * A well-formed hash with today's parameters that no password matches (random salt and hash
 * bytes). Checking a password against it costs what a real check costs, so an unknown email
 * answers as slowly as a known one, from the first request of an isolate on.
 */
const DUMMY_HASH = `$${ALGORITHM}$i=${PBKDF2_ITERATIONS},p=0$btSoijN3cEjaMIFz0P9ntw$l-5RupJpSmtaORr775B0QAK-XXbuIA5yWF6lz6RklGTkqQ8N9jvyVIQhHF1dDTi2F1lhR__8_7BUoIPE6LMgAQ`

export const dummyPasswordHash = (): string => DUMMY_HASH
