import * as z from 'zod'
import { mobile, name, passwordAttempt } from './common'

/** Only `name` and `mobile` can change; anything else (role, email, id, __proto__) is a 400. */
export const ProfileUpdateBody = z
  .strictObject({ name: name.optional(), mobile: mobile.optional() })
  .refine((body) => body.name !== undefined || body.mobile !== undefined, { message: 'name or mobile is required' })

/** `password` is required when the account has one; an account without one proves itself by a fresh sign-in instead. */
export const DeleteAccountBody = z.strictObject({ password: passwordAttempt.optional() })
