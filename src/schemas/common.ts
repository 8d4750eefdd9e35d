import * as z from 'zod'
import { base64url, fromBase64url } from '../crypto/random'

/** Text folded for case-insensitive search: NFKC, then Unicode-aware lower case. */
export const foldForSearch = (text: string) => text.normalize('NFKC').toLowerCase()

/** Trims, NFKC-normalises and lower-cases an email address. */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase()
}

// Control characters (C0, DEL, C1) never belong in an email, a name or a phone number.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}]/u

export const email = z
  .string()
  .max(320)
  .transform(normalizeEmail)
  .pipe(z.email({ error: 'must be a valid email address' }).max(254))

/** 8 to 128 characters with a letter, a digit and a symbol; never trimmed or truncated. */
export const password = z
  .string()
  .max(512, 'must be at most 128 characters')
  .refine((value) => [...value].length >= 8, 'must be at least 8 characters')
  .refine((value) => [...value].length <= 128, 'must be at most 128 characters')
  .refine((value) => /\p{L}/u.test(value), 'must contain a letter')
  .refine((value) => /\p{Nd}/u.test(value), 'must contain a digit')
  .refine((value) => /[^\p{L}\p{Nd}]/u.test(value), 'must contain a symbol')

/** A password being checked, not set: only the bounds that keep PBKDF2 from running on junk. */
export const passwordAttempt = z.string().min(1, 'is required').max(512, 'is too long')

export const name = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(100)
  .refine((value) => !CONTROL.test(value), 'must not contain control characters')
  // Format characters (bidi overrides, zero-width joiners) and line/paragraph separators let a
  // name display as something it is not (`Ann\u202Egnp.exe`) in admin screens and mail.
  .refine((value) => !INVISIBLE.test(value), 'must not contain invisible or direction-changing characters')

export const mobile = z
  .string()
  .trim()
  .regex(/^\+?[0-9][0-9 ()-]{5,22}$/, 'must be a phone number')
  .nullable()

export const otp = z.string().regex(/^\d{6}$/, 'must be 6 digits')

export const tokenTransport = z.enum(['cookie', 'body']).default('cookie')

export const id = z.string().uuid()

/** An opaque keyset cursor: base64url JSON of the last row's sort key `{ t, id }`. */
export const cursor = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(fromBase64url(value)))
      const result = CursorValue.safeParse(parsed)
      if (result.success) return result.data
    } catch {
      // fall through to the issue below
    }
    ctx.addIssue({ code: 'custom', message: 'is not a valid cursor' })
    return z.NEVER
  })

const CursorValue = z.strictObject({ t: z.number().int(), id: z.string().max(64) })

export const encodeCursor = (value: { t: number; id: string }) => base64url(new TextEncoder().encode(JSON.stringify(value)))
