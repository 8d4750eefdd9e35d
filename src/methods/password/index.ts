import type { SignInMethod } from '../types'
import { passwordRoutes } from './routes'

/** Email and password: the first factor `pwd`, with change, forgot and reset (rules.ts, routes.ts). */
export const password = {
  name: 'password',
  routes: passwordRoutes,
} as const satisfies SignInMethod
