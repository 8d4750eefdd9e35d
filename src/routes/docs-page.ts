/**
 * The /docs reference page: Scalar's standalone script (the pinned npm package
 * `@scalar/api-reference`, copied into public/assets/scalar/ by scripts/build-client.mjs and
 * served by this Worker's static assets), reading /openapi.json. Nothing is loaded from another
 * host, so the page works offline and its policy allows only 'self'.
 */
export const SCALAR_SCRIPT = '/assets/scalar/standalone.js'

/**
 * Scalar's options: no web fonts (they would come from fonts.scalar.com), and none of the
 * features that talk to Scalar's own services (Ask AI, MCP, developer tools).
 */
const SCALAR_OPTIONS = JSON.stringify({ withDefaultFonts: false, agent: { disabled: true }, mcp: { disabled: true }, showDeveloperTools: 'never' })

export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>edge-auth API reference</title>
  <style>
    .spec-link { margin: 0; padding: .4rem 1rem; font: 14px/1.4 system-ui, sans-serif; border-bottom: 1px solid #8884; }
  </style>
</head>
<body>
  <p class="spec-link">edge-auth API reference. The OpenAPI 3.1 document: <a href="/openapi.json">/openapi.json</a></p>
  <noscript><p>This interactive reference needs JavaScript. Without it, read the OpenAPI document at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
  <script id="api-reference" data-url="/openapi.json" data-configuration='${SCALAR_OPTIONS}'></script>
  <script src="${SCALAR_SCRIPT}"></script>
</body>
</html>`

/** Scripts, fonts, images and requests from this origin only; Scalar injects its styles inline. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')
