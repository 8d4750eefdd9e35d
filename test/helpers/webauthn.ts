/**
 * A software WebAuthn authenticator, for driving the passkey routes as a browser and a platform
 * authenticator would. It documents the protocol the service checks:
 *
 * - registration (`navigator.credentials.create`): the authenticator makes a key pair (ES256 by
 *   default; EdDSA and RS256 on request) and
 *   returns an attestation object, the CBOR map `{fmt: "none", attStmt: {}, authData}`, where
 *   authData = SHA-256(rpId) | flags | signCount (4 bytes) | AAGUID | credential id length | id |
 *   the public key as a COSE map;
 * - sign-in (`navigator.credentials.get`): authData = SHA-256(rpId) | flags | signCount, and the
 *   signature is over authData || SHA-256(clientDataJSON): for ES256 ECDSA P-256 / SHA-256,
 *   DER-encoded; for EdDSA Ed25519; for RS256 RSASSA-PKCS1-v1_5 / SHA-256;
 * - clientDataJSON is what the browser adds: `{type, challenge, origin, crossOrigin}`.
 *
 * Results are the JSON forms a browser's `credential.toJSON()` gives (binary as base64url).
 */
import { b64url } from './codes'

/** Authenticator-data flags (WebAuthn §6.1). */
export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const

// A minimal CBOR encoder (RFC 8949): the unsigned and negative integers, byte and text strings,
// arrays and maps WebAuthn needs.
function head(major: number, value: number): number[] {
  if (value < 24) return [(major << 5) | value]
  if (value < 0x100) return [(major << 5) | 24, value]
  if (value < 0x10000) return [(major << 5) | 25, value >> 8, value & 0xff]
  return [(major << 5) | 26, (value >>> 24) & 0xff, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]
}
export type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor>
export function cbor(value: Cbor): Uint8Array {
  const out: number[] = []
  const put = (v: Cbor): void => {
    if (typeof v === 'number') out.push(...(v >= 0 ? head(0, v) : head(1, -1 - v)))
    else if (typeof v === 'string') {
      const bytes = new TextEncoder().encode(v)
      out.push(...head(3, bytes.length), ...bytes)
    } else if (v instanceof Uint8Array) out.push(...head(2, v.length), ...v)
    else if (Array.isArray(v)) {
      out.push(...head(4, v.length))
      v.forEach(put)
    } else {
      out.push(...head(5, v.size))
      for (const [k, item] of v) (put(k), put(item))
    }
  }
  put(value)
  return Uint8Array.from(out)
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) (out.set(part, at), (at += part.length))
  return out
}
const sha256 = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
const fromB64url = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
const uint32 = (n: number) => Uint8Array.of((n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)

/** WebCrypto's r || s as the DER SEQUENCE of two INTEGERs that authenticators send. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const int = (bytes: Uint8Array) => {
    let i = 0
    while (i < bytes.length - 1 && bytes[i] === 0) i++
    const trimmed = bytes.subarray(i)
    const body = trimmed[0]! & 0x80 ? concat(Uint8Array.of(0), trimmed) : trimmed
    return concat(Uint8Array.of(0x02, body.length), body)
  }
  const seq = concat(int(raw.subarray(0, 32)), int(raw.subarray(32)))
  return concat(Uint8Array.of(0x30, seq.length), seq)
}

/** What a test may bend to make a response that a real browser or authenticator would not send. */
export interface Tamper {
  origin?: string
  rpId?: string
  type?: string
  challenge?: string
  /** Flags to write instead of UP | UV (| AT): e.g. `FLAGS.UP` alone has no user verification. */
  flags?: number
  /** The signature counter to report (default: one more than the last). */
  counter?: number
  /** Sign with this credential (default: the newest). */
  credential?: SoftCredential
  userHandle?: string | null
  /** Register this existing credential (its id and key) again, as a cloned authenticator would. */
  reuse?: SoftCredential
}

export type SoftAlgorithm = 'ES256' | 'EdDSA' | 'RS256'

export interface SoftCredential {
  id: string
  keys: CryptoKeyPair
  userHandle: string
  algorithm: SoftAlgorithm
}

/** Per algorithm: how the key is made, its COSE_Key map, and how it signs. */
const KINDS: Record<SoftAlgorithm, { generate: Parameters<SubtleCrypto['generateKey']>[0]; cose(jwk: JsonWebKey): Map<number, Cbor>; sign(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> }> = {
  // kty EC2 (1: 2), alg ES256 (3: -7), crv P-256 (-1: 1), x (-2), y (-3).
  ES256: {
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    cose: (jwk) => new Map<number, Cbor>([[1, 2], [3, -7], [-1, 1], [-2, fromB64url(jwk.x!)], [-3, fromB64url(jwk.y!)]]),
    sign: async (key, data) => rawToDer(new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data))),
  },
  // kty OKP (1: 1), alg EdDSA (3: -8), crv Ed25519 (-1: 6), x (-2).
  EdDSA: {
    generate: { name: 'Ed25519' },
    cose: (jwk) => new Map<number, Cbor>([[1, 1], [3, -8], [-1, 6], [-2, fromB64url(jwk.x!)]]),
    sign: async (key, data) => new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, data)),
  },
  // kty RSA (1: 3), alg RS256 (3: -257), n (-1), e (-2).
  RS256: {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: 'SHA-256' },
    cose: (jwk) => new Map<number, Cbor>([[1, 3], [3, -257], [-1, fromB64url(jwk.n!)], [-2, fromB64url(jwk.e!)]]),
    sign: async (key, data) => new Uint8Array(await crypto.subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, key, data)),
  },
}

/** One authenticator with its own key pairs, at one browser origin (the page's). */
export class SoftAuthenticator {
  counter = 0
  readonly credentials: SoftCredential[] = []

  constructor(
    readonly origin: string,
    readonly algorithm: SoftAlgorithm = 'ES256',
  ) {}

  #clientData(type: string, challenge: string, t: Tamper) {
    const json = JSON.stringify({ type: t.type ?? type, challenge: t.challenge ?? challenge, origin: t.origin ?? this.origin, crossOrigin: false })
    return new TextEncoder().encode(json)
  }

  async #authData(rpId: string, flags: number, counter: number, attested?: Uint8Array) {
    return concat(await sha256(new TextEncoder().encode(rpId)), Uint8Array.of(flags), uint32(counter), attested ?? new Uint8Array())
  }

  /** `navigator.credentials.create({ publicKey: options })`, then `toJSON()`. */
  async register(options: { rp: { id?: string }; user: { id: string }; challenge: string }, t: Tamper = {}) {
    const algorithm = t.reuse?.algorithm ?? this.algorithm
    const keys = t.reuse?.keys ?? ((await crypto.subtle.generateKey(KINDS[algorithm].generate, true, ['sign', 'verify'])) as CryptoKeyPair)
    const jwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as JsonWebKey
    const idBytes = t.reuse ? fromB64url(t.reuse.id) : crypto.getRandomValues(new Uint8Array(16))
    const credential: SoftCredential = { id: b64url(idBytes), keys, userHandle: options.user.id, algorithm }
    const coseKey = cbor(KINDS[algorithm].cose(jwk))
    const attested = concat(new Uint8Array(16), Uint8Array.of(idBytes.length >> 8, idBytes.length & 0xff), idBytes, coseKey)
    const rpId = t.rpId ?? options.rp.id ?? new URL(this.origin).hostname
    const authData = await this.#authData(rpId, (t.flags ?? FLAGS.UP | FLAGS.UV) | FLAGS.AT, t.counter ?? this.counter, attested)
    const attestationObject = cbor(new Map<string, Cbor>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]))
    this.credentials.push(credential)
    return {
      credential,
      json: {
        id: credential.id,
        rawId: credential.id,
        type: 'public-key' as const,
        response: {
          clientDataJSON: b64url(this.#clientData('webauthn.create', options.challenge, t)),
          attestationObject: b64url(attestationObject),
          transports: ['internal'],
        },
        authenticatorAttachment: 'platform' as const,
        clientExtensionResults: {},
      },
    }
  }

  /** `navigator.credentials.get({ publicKey: options })` with a discoverable credential, then `toJSON()`. */
  async login(options: { rpId: string; challenge: string }, t: Tamper = {}) {
    const credential = t.credential ?? this.credentials.at(-1)
    if (!credential) throw new Error('the authenticator holds no credential')
    const counter = t.counter ?? ++this.counter
    const authData = await this.#authData(t.rpId ?? options.rpId, t.flags ?? FLAGS.UP | FLAGS.UV, counter)
    const clientDataJSON = this.#clientData('webauthn.get', options.challenge, t)
    const signed = concat(authData, await sha256(clientDataJSON))
    const signature = await KINDS[credential.algorithm].sign(credential.keys.privateKey, signed)
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(t.userHandle === null ? {} : { userHandle: t.userHandle ?? credential.userHandle }),
      },
      authenticatorAttachment: 'platform' as const,
      clientExtensionResults: {},
    }
  }
}
