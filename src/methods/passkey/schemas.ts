import * as z from 'zod'
import { turnstileToken } from '../../schemas/auth'
import { name as personName, tokenTransport } from '../../schemas/common'

/**
 * Request and response shapes of the passkey routes: the WebAuthn Level 3 JSON forms
 * (`PublicKeyCredentialCreationOptionsJSON`, `RegistrationResponseJSON`, ...), binary fields as
 * base64url. Credentials are strict like every body here, but list every field a browser's
 * `toJSON()` writes; `clientExtensionResults` is the browser's to fill and is not read.
 */

const b64url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, 'must be base64url')

const transport = z.string().max(32)
const attachment = z.enum(['platform', 'cross-platform']).nullish()
const extensions = z.record(z.string(), z.unknown()).default({})

export const RegistrationCredential = z.strictObject({
  id: b64url(1400),
  rawId: b64url(1400),
  type: z.literal('public-key'),
  response: z.strictObject({
    clientDataJSON: b64url(4000),
    attestationObject: b64url(12_000),
    authenticatorData: b64url(6000).optional(),
    transports: z.array(transport).max(10).optional(),
    publicKey: b64url(2000).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
  }),
  authenticatorAttachment: attachment,
  clientExtensionResults: extensions,
})

export const AuthenticationCredential = z.strictObject({
  id: b64url(1400),
  rawId: b64url(1400),
  type: z.literal('public-key'),
  response: z.strictObject({
    clientDataJSON: b64url(4000),
    authenticatorData: b64url(6000),
    signature: b64url(2000),
    userHandle: b64url(128).nullish(),
  }),
  authenticatorAttachment: attachment,
  clientExtensionResults: extensions,
})

/** A passkey's label: what the account's owner calls it. */
export const passkeyName = personName.pipe(z.string().max(64, 'must be at most 64 characters'))

const challengeId = z.string().uuid()

export const RegisterOptionsBody = z.strictObject({})
export const RegisterVerifyBody = z.strictObject({ challengeId, credential: RegistrationCredential, name: passkeyName.optional() })
export const LoginOptionsBody = z.strictObject({ turnstileToken })
export const LoginVerifyBody = z.strictObject({ challengeId, credential: AuthenticationCredential, tokenTransport })
export const RenameBody = z.strictObject({ name: passkeyName })
export const PasskeyParams = z.object({ id: z.string().max(64) })

// Responses.
const isoTime = z.iso.datetime()
const descriptor = z.object({ type: z.literal('public-key'), id: z.string(), transports: z.array(z.string()).optional() })

export const Passkey = z
  .object({ id: z.string(), name: z.string(), createdAt: isoTime, lastUsedAt: isoTime.nullable(), backedUp: z.boolean() })
  .meta({ id: 'Passkey' })

export const CreationOptions = z
  .object({
    rp: z.object({ id: z.string(), name: z.string() }),
    user: z.object({ id: z.string().describe('An opaque per-account handle, base64url.'), name: z.string(), displayName: z.string() }),
    challenge: z.string(),
    pubKeyCredParams: z.array(z.object({ type: z.literal('public-key'), alg: z.number().int() })),
    timeout: z.number().int(),
    excludeCredentials: z.array(descriptor),
    authenticatorSelection: z.object({ residentKey: z.literal('required'), requireResidentKey: z.literal(true), userVerification: z.literal('required') }),
    attestation: z.literal('none'),
  })
  .meta({ id: 'PublicKeyCredentialCreationOptionsJSON' })

export const RequestOptions = z
  .object({ challenge: z.string(), timeout: z.number().int(), rpId: z.string(), userVerification: z.literal('required') })
  .meta({ id: 'PublicKeyCredentialRequestOptionsJSON' })

export const RegisterOptionsData = z.object({ challengeId: z.string(), options: CreationOptions })
export const LoginOptionsData = z.object({ challengeId: z.string(), options: RequestOptions })
export const PasskeyData = z.object({ passkey: Passkey })
export const PasskeyList = z.object({ passkeys: z.array(Passkey) })
