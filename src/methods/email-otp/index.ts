import type { SignInMethod } from '../types'
import { emailOtpRoutes } from './routes'
import { emailOtpStep } from './rules'

/** A code mailed to the account's inbox, as the second step of a password sign-in (`LOGIN_OTP=required`). */
export const emailOtp = {
  name: 'email-otp',
  routes: emailOtpRoutes,
  secondStep: emailOtpStep,
} as const satisfies SignInMethod
