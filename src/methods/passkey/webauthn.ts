import { decodeCBORToNativeValueNoLeftoverBytes } from '@oslojs/cbor'
import {
  AuthenticatorDataParseError,
  ClientDataParseError,
  ClientDataType,
  COSEKeyType,
  coseAlgorithmEdDSA,
  coseAlgorithmES256,
  coseAlgorithmRS256,
  coseEllipticCurveEd25519,
  coseEllipticCurveP256,
  parseAuthenticatorData,
  parseClientDataJSON,
  type AuthenticatorData,
  type COSEPublicKey,
} from '@oslojs/webauthn'
import { base64url, fromBase64url } from '../../crypto/random'
import { ApiError } from '../../errors'

/**
 * The relying party's side of WebAuthn (Level 3): parsing through @oslojs/webauthn, every check
 * and every signature through WebCrypto. Each refusal is PASSKEY_INVALID with the reason in
 * `cause` (logged, never answered).
 */

/** COSE algorithms this service accepts, in the order offered: ES256, EdDSA, RS256. */
export const ALGORITHMS = [coseAlgorithmES256, coseAlgorithmEdDSA, coseAlgorithmRS256] as const

/** Who the ceremony must have run for: the RP id, the origins allowed, the challenge issued. */
export interface Expected {
  rpId: string
  origins: readonly string[]
  /** SHA-256 of the challenge, base64url, as stored. */
  challengeHash: string
}

const refuse = (reason: string): never => {
  throw new ApiError('PASSKEY_INVALID', { cause: new Error(reason) })
}

const decode = (field: string, value: string): Uint8Array => {
  try {
    return fromBase64url(value)
  } catch {
    return refuse(`${field} is not base64url`)
  }
}

const sha256 = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))

/** Parses with one of the library's parsers, turning its parse errors into a refusal. */
function parse<T>(what: string, run: () => T): T {
  try {
    return run()
  } catch (error) {
    if (error instanceof ClientDataParseError || error instanceof AuthenticatorDataParseError) {
      return refuse(`${what}: ${error.message}`)
    }
    // Malformed CBOR and the like surface as plain errors from the parsers' dependencies.
    return refuse(`${what} is malformed`)
  }
}

/** clientDataJSON: the ceremony type, our challenge, an allowed origin, not embedded cross-origin. */
async function checkClientData(encoded: Uint8Array, type: ClientDataType, expected: Expected) {
  const clientData = parse('clientDataJSON', () => parseClientDataJSON(encoded))
  if (clientData.type !== type) refuse('clientDataJSON has the wrong type')
  if (base64url(await sha256(clientData.challenge)) !== expected.challengeHash) refuse('clientDataJSON has another challenge')
  if (!expected.origins.includes(clientData.origin)) refuse('clientDataJSON has an origin that is not allowed')
  if (clientData.crossOrigin === true) refuse('the ceremony ran in a cross-origin frame')
}

/** Authenticator data: our RP id's hash, and both the user-present and the user-verified flags. */
function checkAuthenticatorData(data: AuthenticatorData, expected: Expected) {
  if (!data.verifyRelyingPartyIdHash(expected.rpId)) refuse('authenticator data is for another RP id')
  if (!data.userPresent) refuse('the user-present flag is not set')
  if (!data.userVerified) refuse('the user-verified flag is not set')
}

/** The backup-state flag (bit 4), which @oslojs/webauthn leaves unparsed. */
const backedUp = (authenticatorData: Uint8Array) => ((authenticatorData[32] ?? 0) & 0x10) !== 0

const bigintBytes = (value: bigint, length?: number) => {
  let hex = value.toString(16)
  if (hex.length % 2) hex = `0${hex}`
  const bytes = Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16))
  if (length === undefined || bytes.length === length) return bytes
  if (bytes.length > length) return refuse('a key coordinate is too long')
  const padded = new Uint8Array(length)
  padded.set(bytes, length - bytes.length)
  return padded
}

/** A COSE public key as a JWK, for importKey; only the algorithms this service offers. */
function jwkOf(key: COSEPublicKey): { algorithm: number; jwk: JsonWebKey } {
  const algorithm = parse('the public key', () => key.algorithm())
  const type = key.type()
  if (algorithm === coseAlgorithmES256 && type === COSEKeyType.EC2) {
    const { curve, x, y } = parse('the EC2 key', () => key.ec2())
    if (curve !== coseEllipticCurveP256) refuse('an ES256 key not on P-256')
    return { algorithm, jwk: { kty: 'EC', crv: 'P-256', x: base64url(bigintBytes(x, 32)), y: base64url(bigintBytes(y, 32)) } }
  }
  if (algorithm === coseAlgorithmEdDSA && type === COSEKeyType.OKP) {
    const { curve, x } = parse('the OKP key', () => key.okp())
    if (curve !== coseEllipticCurveEd25519) refuse('an EdDSA key not on Ed25519')
    return { algorithm, jwk: { kty: 'OKP', crv: 'Ed25519', x: base64url(x) } }
  }
  if (algorithm === coseAlgorithmRS256 && type === COSEKeyType.RSA) {
    const { n, e } = parse('the RSA key', () => key.rsa())
    if (n.toString(2).length < 2048) refuse('an RSA key shorter than 2048 bits')
    return { algorithm, jwk: { kty: 'RSA', n: base64url(bigintBytes(n)), e: base64url(bigintBytes(e)) } }
  }
  return refuse(`algorithm ${algorithm} is not accepted`)
}

const IMPORT: Record<number, Parameters<SubtleCrypto['importKey']>[2]> = {
  [coseAlgorithmES256]: { name: 'ECDSA', namedCurve: 'P-256' },
  [coseAlgorithmEdDSA]: { name: 'Ed25519' },
  [coseAlgorithmRS256]: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
}
const VERIFY: Record<number, Parameters<SubtleCrypto['verify']>[0]> = {
  [coseAlgorithmES256]: { name: 'ECDSA', hash: 'SHA-256' },
  [coseAlgorithmEdDSA]: { name: 'Ed25519' },
  [coseAlgorithmRS256]: { name: 'RSASSA-PKCS1-v1_5' },
}

/** An ECDSA signature as WebAuthn sends it (DER: SEQUENCE of two INTEGERs) in WebCrypto's r || s form. */
export function derToRaw(der: Uint8Array, size = 32): Uint8Array {
  const bad = () => refuse('the ECDSA signature is not DER')
  let at = 0
  const byte = () => (at < der.length ? der[at++]! : bad())
  if (byte() !== 0x30) bad()
  const length = byte()
  if (length & 0x80 || length !== der.length - 2) bad()
  const out = new Uint8Array(size * 2)
  for (const offset of [0, size]) {
    if (byte() !== 0x02) bad()
    let n = byte()
    if (n === 0 || n > size + 1 || at + n > der.length) bad()
    // A leading zero only keeps the integer positive.
    while (n > size && der[at] === 0) (at++, n--)
    if (n > size) bad()
    out.set(der.subarray(at, at + n), offset + size - n)
    at += n
  }
  if (at !== der.length) bad()
  return out
}

/** What a verified registration gives the account. */
export interface NewCredential {
  credentialId: string
  publicKey: JsonWebKey
  algorithm: number
  counter: number
  backedUp: boolean
  aaguid: string
}

/** The parts of a RegistrationResponseJSON the checks read. */
export interface RegistrationInput {
  id: string
  rawId: string
  response: { clientDataJSON: string; attestationObject: string }
}

/** Verifies a registration response (`navigator.credentials.create()`, then `toJSON()`). */
export async function verifyRegistration(credential: RegistrationInput, expected: Expected): Promise<NewCredential> {
  await checkClientData(decode('clientDataJSON', credential.response.clientDataJSON), ClientDataType.Create, expected)
  const raw = parse('attestationObject', () => attestedAuthData(decode('attestationObject', credential.response.attestationObject)))
  const data = parse('authenticator data', () => parseAuthenticatorData(raw))
  checkAuthenticatorData(data, expected)
  if (!data.credential) return refuse('no attested credential data')
  const credentialId = base64url(data.credential.id)
  if (credentialId !== credential.id || credential.rawId !== credential.id) refuse('the credential id does not match the attested one')
  const { algorithm, jwk } = jwkOf(data.credential.publicKey)
  // Refuse now a key WebCrypto cannot use, rather than at the first sign-in.
  await crypto.subtle.importKey('jwk', jwk, IMPORT[algorithm]!, false, ['verify']).catch(() => refuse('the public key does not import'))
  const aaguid = [...data.credential.authenticatorAAGUID].map((b) => b.toString(16).padStart(2, '0')).join('')
  return {
    credentialId,
    publicKey: jwk,
    algorithm,
    counter: data.signatureCounter,
    backedUp: backedUp(raw),
    aaguid: `${aaguid.slice(0, 8)}-${aaguid.slice(8, 12)}-${aaguid.slice(12, 16)}-${aaguid.slice(16, 20)}-${aaguid.slice(20)}`,
  }
}

/**
 * The authenticator data inside an attestation object (a CBOR map `{fmt, attStmt, authData}`).
 * Only `authData` is read: attestation is `none` by policy, so a statement is not relied on.
 */
function attestedAuthData(object: Uint8Array): Uint8Array {
  const decoded: unknown = decodeCBORToNativeValueNoLeftoverBytes(object, 4)
  const authData = typeof decoded === 'object' && decoded !== null && 'authData' in decoded ? decoded.authData : undefined
  if (!(authData instanceof Uint8Array)) throw new Error('no authData')
  return authData
}

/** The parts of an AuthenticationResponseJSON the checks read. */
export interface AssertionInput {
  id: string
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string | null | undefined }
}

/** A stored credential, as the assertion check needs it. */
export interface StoredCredential {
  publicKey: JsonWebKey
  algorithm: number
}

/** Verifies an assertion (`navigator.credentials.get()`) against the stored public key. Returns the new counter and backup state. */
export async function verifyAssertion(credential: AssertionInput, stored: StoredCredential, expected: Expected) {
  const clientDataJSON = decode('clientDataJSON', credential.response.clientDataJSON)
  await checkClientData(clientDataJSON, ClientDataType.Get, expected)
  const authenticatorData = decode('authenticatorData', credential.response.authenticatorData)
  const data = parse('authenticatorData', () => parseAuthenticatorData(authenticatorData))
  checkAuthenticatorData(data, expected)
  const signature = decode('signature', credential.response.signature)
  const algorithm = IMPORT[stored.algorithm]
  if (!algorithm) return refuse(`stored algorithm ${stored.algorithm} is not accepted`)
  const key = await crypto.subtle.importKey('jwk', stored.publicKey, algorithm, false, ['verify'])
  // The signature covers authenticatorData || SHA-256(clientDataJSON).
  const message = new Uint8Array(authenticatorData.length + 32)
  message.set(authenticatorData)
  message.set(await sha256(clientDataJSON), authenticatorData.length)
  const sig = stored.algorithm === coseAlgorithmES256 ? derToRaw(signature) : signature
  const valid = await crypto.subtle.verify(VERIFY[stored.algorithm]!, key, sig, message).catch(() => false)
  if (!valid) refuse('the signature does not verify')
  return { counter: data.signatureCounter, backedUp: backedUp(authenticatorData) }
}

