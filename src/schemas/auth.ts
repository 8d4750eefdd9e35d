import * as z from 'zod'
import { email, mobile, name, otp, password, passwordAttempt, tokenTransport } from './common'

/** Request bodies of the auth routes. Every object is strict: an unknown field is a 400. */

/** The abuse-prone public routes take a Cloudflare Turnstile token (required when TURNSTILE_SECRET_KEY is set). */
export const turnstileToken = z.string().max(2048).optional().describe('A Cloudflare Turnstile token; required when the service sets TURNSTILE_SECRET_KEY.')
export const RegisterBody = z.strictObject({ email, password, name, mobile: mobile.optional(), turnstileToken })

export const VerifyEmailBody = z.strictObject({ email, otp })

export const ResendVerifyEmailBody = z.strictObject({ email })

export const LoginBody = z.strictObject({ email, password: passwordAttempt, tokenTransport, turnstileToken })

export const VerifyOtpBody = z.strictObject({ challengeId: z.string().uuid(), otp, tokenTransport })

export const ResendOtpBody = z.strictObject({ challengeId: z.string().uuid() })

/** Refresh and logout: a native client sends its token here; a browser sends none (cookie). */
export const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(4096).optional() })

export const ChangePasswordBody = z.strictObject({ currentPassword: passwordAttempt, newPassword: password })

export const ForgotPasswordBody = z.strictObject({ email, turnstileToken })

export const ResetPasswordBody = z.strictObject({ email, otp, newPassword: password })

export const SessionParams = z.object({ id: z.string() })
