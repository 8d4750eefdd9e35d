// A real OpenID Connect server for the e2e run: `oidc-provider` (certified) on 127.0.0.1, with
// its development login and consent pages (any login and password work; the login becomes the
// account id, `<login>@example.com` its verified email). It listens first, so its issuer can be
// given to `wrangler dev`; the client (the service's callback URL) is registered once the
// service's port is known. Stopped with everything else (scripts/lib/processes.mjs).
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import Provider from 'oidc-provider'
import { onStop } from '../../scripts/lib/processes.mjs'

/**
 * Starts the server; resolves to its issuer and `register(redirectUri)`, which configures the client.
 * @returns {Promise<{ issuer: string, clientId: string, clientSecret: string, register: (redirectUri: string) => void }>}
 */
export async function startOidcServer() {
  /** @type {((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) | undefined} */
  let handler
  const server = createServer((req, res) => {
    if (handler) return handler(req, res)
    res.writeHead(503).end('not configured yet')
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(undefined))
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const issuer = `http://127.0.0.1:${port}`
  onStop('OpenID Connect server', () => new Promise((resolve) => server.close(() => resolve(undefined)) && server.closeAllConnections()))
  const clientId = 'edge-auth-e2e'
  const clientSecret = randomBytes(32).toString('base64url')

  return {
    issuer,
    clientId,
    clientSecret,
    register(redirectUri) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_post',
          },
        ],
        pkce: { required: () => true },
        cookies: { keys: [randomBytes(32).toString('base64url')] },
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
        features: { devInteractions: { enabled: true } },
        async findAccount(_ctx, accountId) {
          return {
            accountId,
            async claims() {
              return { sub: accountId, email: `${accountId}@example.com`, email_verified: true, name: 'Local Person' }
            },
          }
        },
      })
      handler = provider.callback()
    },
  }
}
