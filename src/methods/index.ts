import { emailOtp } from './email-otp'
import { passkey } from './passkey'
import { password } from './password'

/**
 * The sign-in methods of this service, in the order their second steps are asked. Adding a
 * method is a folder under methods/ and one entry here; createApp registers them (registry.ts).
 */
export const METHODS = [password, emailOtp, passkey] as const
