import { emailOtp } from './email-otp'
import { oauth } from './oauth'
import { passkey } from './passkey'
import { password } from './password'
import { totp } from './totp'

/**
 * The sign-in methods of this service, in the order their second steps are asked. Adding a
 * method is a folder under methods/ and one entry here; createApp registers them (registry.ts).
 */
export const METHODS = [password, totp, emailOtp, passkey, oauth] as const
