import { registerErrors } from '../errors'
import { registerAuditTypes } from '../services/audit'
import type { SecondStep, SignInMethod } from './types'

const steps: SecondStep[] = []
const registered: SignInMethod[] = []
const names = new Set<string>()

/** Registers methods' error codes, audit types and second steps (in this order of priority). */
export function registerMethods(methods: readonly SignInMethod[]): void {
  for (const method of methods) {
    if (names.has(method.name)) continue
    names.add(method.name)
    registered.push(method)
    if (method.errors) registerErrors(method.errors)
    if (method.auditTypes) registerAuditTypes(method.auditTypes, method.alerts)
    if (method.secondStep) steps.push(method.secondStep)
  }
}

/** The registered second steps, in priority order. */
export const secondSteps = (): readonly SecondStep[] => steps

/** The registered methods, in registry order. */
export const registeredMethods = (): readonly SignInMethod[] => registered
