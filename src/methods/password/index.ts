import type { SignInMethod } from '../types'
import { passwordRoutes } from './routes'

/** Email and password: the first factor `pwd`, with change, forgot and reset (rules.ts, routes.ts). */
export const password = {
  name: 'password',
  routes: passwordRoutes,
  // An account has a password today; accounts without one (provider sign-in) count none.
  waysIn: (_deps, user) => (user.passwordHash ? 1 : 0),
} as const satisfies SignInMethod
