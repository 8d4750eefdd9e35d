import { deps } from '../../http/deps'
import { routes } from '../../http/registry'
import { ok, tokenResponse } from '../../http/respond'
import { rateLimit } from '../../middleware/rate-limit'
import { requireTurnstile } from '../../middleware/turnstile'
import * as R from '../../schemas/responses'
import { listPasskeys, loginOptions, loginWithPasskey, registerPasskey, registrationOptions, removePasskey, renamePasskey } from './rules'
import * as S from './schemas'

/** The passkey method's routes, mounted at /api/auth: register and manage passkeys (bearer), sign in with one (public). */
export const passkeyRoutes = routes()
  .openapi(
    {
      method: 'post', path: '/passkeys/register/options', operationId: 'passkeyRegisterOptions', tag: 'Passkeys', security: 'bearer',
      summary: 'Options for navigator.credentials.create(): a registration challenge',
      request: { body: S.RegisterOptionsBody },
      responses: { 200: { description: 'PublicKeyCredentialCreationOptionsJSON and the challenge id to send back.', data: S.RegisterOptionsData } },
    },
    async (c) => ok(c, await registrationOptions(deps(c), c.get('auth').user)),
  )

  .openapi(
    {
      method: 'post', path: '/passkeys/register/verify', operationId: 'passkeyRegisterVerify', tag: 'Passkeys', security: 'bearer',
      summary: 'Store a new passkey from its RegistrationResponseJSON',
      request: { body: S.RegisterVerifyBody },
      responses: { 201: { description: 'The passkey was added; the owner is told by email.', data: S.PasskeyData } },
      errors: ['PASSKEY_INVALID', 'CHALLENGE_EXPIRED'],
    },
    async (c) => ok(c, { passkey: await registerPasskey(deps(c), c.get('auth'), c.req.valid('json')) }, 201, 'Passkey added.'),
  )

  .openapi(
    {
      method: 'get', path: '/passkeys', operationId: 'listPasskeys', tag: 'Passkeys', security: 'bearer',
      summary: "The caller's passkeys",
      responses: { 200: { description: 'Oldest first.', data: S.PasskeyList } },
    },
    async (c) => ok(c, { passkeys: await listPasskeys(deps(c), c.get('auth').userId) }),
  )

  .openapi(
    {
      method: 'patch', path: '/passkeys/:id', operationId: 'renamePasskey', tag: 'Passkeys', security: 'bearer',
      summary: 'Rename one of your passkeys',
      request: { params: S.PasskeyParams, body: S.RenameBody },
      responses: { 200: { description: 'The passkey, renamed.', data: S.PasskeyData } },
      errors: ['NOT_FOUND'],
    },
    async (c) => ok(c, { passkey: await renamePasskey(deps(c), c.get('auth'), c.req.valid('param').id, c.req.valid('json').name) }),
  )

  .openapi(
    {
      method: 'delete', path: '/passkeys/:id', operationId: 'deletePasskey', tag: 'Passkeys', security: 'bearer',
      summary: 'Remove one of your passkeys (not the last way in)',
      request: { params: S.PasskeyParams },
      responses: { 200: { description: 'The passkey was removed; the owner is told by email.', data: R.Empty } },
      errors: ['NOT_FOUND', 'LAST_SIGN_IN_METHOD'],
    },
    async (c) => {
      await removePasskey(deps(c), c.get('auth'), c.req.valid('param').id)
      return ok(c, {}, 200, 'Passkey removed.')
    },
  )

  .openapi(
    {
      method: 'post', path: '/passkeys/login/options', operationId: 'passkeyLoginOptions', tag: 'Passkeys', security: 'public',
      summary: 'Options for navigator.credentials.get(): a sign-in challenge (discoverable credentials)',
      middleware: [rateLimit('RL_LOGIN', 'passkey-options'), requireTurnstile()],
      request: { body: S.LoginOptionsBody },
      responses: { 200: { description: 'PublicKeyCredentialRequestOptionsJSON and the challenge id to send back.', data: S.LoginOptionsData } },
      errors: ['RATE_LIMITED'],
    },
    async (c) => ok(c, await loginOptions(deps(c))),
  )

  .openapi(
    {
      method: 'post', path: '/passkeys/login/verify', operationId: 'passkeyLoginVerify', tag: 'Passkeys', security: 'public',
      summary: 'Sign in with an AuthenticationResponseJSON: tokens, session aal2',
      middleware: [rateLimit('RL_VERIFY', 'passkey-verify')],
      request: { body: S.LoginVerifyBody },
      responses: { 200: { description: 'Signed in: the token response (amr ["passkey"], aal2).', data: R.TokenData, headers: ['Set-Cookie'] } },
      errors: ['PASSKEY_INVALID', 'CHALLENGE_EXPIRED', 'ACCOUNT_BANNED', 'RATE_LIMITED'],
    },
    async (c) => {
      const { challengeId, credential, tokenTransport } = c.req.valid('json')
      return tokenResponse(c, await loginWithPasskey(deps(c), { challengeId, credential }), tokenTransport)
    },
  )
