import { base64url } from 'jose'
import { vi } from 'vitest'

/** A six-digit code that is not `code` (`offset` away from it). */
export const wrongCode = (code: string, offset = 1) => String((Number(code) + offset) % 1_000_000).padStart(6, '0')

/** Moves the clock `ms` forward from now (the app and jose read the same Date). */
export const advance = (ms = 1_000) => vi.setSystemTime(Date.now() + ms)

/** base64url without padding, of text (UTF-8) or bytes. */
export const b64url = (value: string | Uint8Array) => base64url.encode(value)

/** base64url of a value's JSON: a JWT header or payload. */
export const b64json = (value: unknown) => base64url.encode(JSON.stringify(value))
