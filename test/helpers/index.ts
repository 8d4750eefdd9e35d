/** Shared test utilities: HTTP calls and seeding through the public API, codes and time, D1 doubles. */
export * from './api'
export * from './codes'
export * from './failing-d1'
export * from './deps'
export * from './totp'
export * from './mfa'
export * from './webauthn'
export * from './passkeys'
