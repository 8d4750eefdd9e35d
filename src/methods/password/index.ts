import type { SignInMethod } from '../types'

/** Email and password: the first factor `pwd`, with change, forgot and reset (methods/password/rules.ts). */
export const password = {
  name: 'password',
} as const satisfies SignInMethod
