import { emailOtp } from './email-otp'
import { password } from './password'
import { registerMethods } from './registry'

/**
 * The sign-in methods of this service, in the order their second steps are asked. Adding a
 * method is a folder under methods/ and one entry here.
 */
export const METHODS = [password, emailOtp] as const

registerMethods(METHODS)
