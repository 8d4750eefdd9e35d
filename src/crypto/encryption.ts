import { base64url, fromBase64url } from './random'

/**
 * AES-256-GCM under a key derived (HKDF-SHA-256, separated by `label`) from a configured secret.
 * The associated data binds a ciphertext to its owner (an account id): the same bytes stored in
 * another row do not decrypt. Sealed text is `v1.<iv>.<ciphertext+tag>`, base64url.
 */

const encoder = new TextEncoder()
const keys = new Map<string, Promise<CryptoKey>>()

/** The AES-GCM key of a secret and label, derived once per isolate. */
function aesKey(secret: string, label: string): Promise<CryptoKey> {
  const cacheKey = `${label}\u0000${secret}`
  let key = keys.get(cacheKey)
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey'])
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode(label) },
        base,
        { name: 'AES-GCM', length: 256 },
        false,
        ['encrypt', 'decrypt'],
      )
    })()
    keys.set(cacheKey, key)
  }
  return key
}

/** Encrypts `plaintext` bound to `associatedData`; a fresh 96-bit IV every time. */
export async function seal(secret: string, label: string, plaintext: Uint8Array, associatedData: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(associatedData) }, await aesKey(secret, label), plaintext)
  return `v1.${base64url(iv)}.${base64url(sealed)}`
}

/** Decrypts what `seal` produced for the same secret, label and associated data; throws on anything else. */
export async function open(secret: string, label: string, sealed: string, associatedData: string): Promise<Uint8Array> {
  const [version, iv, data] = sealed.split('.')
  if (version !== 'v1' || !iv || !data) throw new Error('not a sealed value')
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64url(iv), additionalData: encoder.encode(associatedData) },
    await aesKey(secret, label),
    fromBase64url(data),
  )
  return new Uint8Array(plain)
}
