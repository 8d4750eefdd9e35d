// The demo page's passkeys: add one while signed in, list, rename and remove them, and sign in
// with one (no email, no password). The ceremonies go through the typed client's addPasskey() and
// signInWithPasskey(), which use the browser's WebAuthn Level 3 JSON forms.
import { auth, busy, onClick, say, showSignedIn, when } from './app.js'

/** @param {string} id */
const $ = (id) => {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing`)
  return element
}

const supported = typeof window.PublicKeyCredential?.parseCreationOptionsFromJSON === 'function'
for (const id of ['passkey-login', 'passkey-add']) $(id).toggleAttribute('disabled', !supported)
if (!supported) for (const id of ['passkey-login-hint', 'passkey-add-hint']) $(id).textContent = 'This browser cannot use passkeys here (it lacks WebAuthn Level 3 JSON support).'

async function loadPasskeys() {
  const passkeys = await auth.passkeys()
  const list = $('passkeys')
  list.replaceChildren(
    ...passkeys.map((passkey) => {
      const row = document.createElement('tr')
      row.dataset.passkeyId = passkey.id
      const nameCell = document.createElement('td')
      const name = document.createElement('input')
      name.className = 'passkey-name'
      name.value = passkey.name
      name.maxLength = 64
      name.setAttribute('aria-label', 'Passkey name')
      nameCell.append(name)
      const cells = [when(passkey.createdAt), passkey.lastUsedAt ? when(passkey.lastUsedAt) : 'never', passkey.backedUp ? 'synced' : 'this device'].map((text) => {
        const cell = document.createElement('td')
        cell.textContent = text
        return cell
      })
      const actions = document.createElement('td')
      const rename = document.createElement('button')
      rename.type = 'button'
      rename.className = 'secondary passkey-rename'
      rename.textContent = 'Rename'
      rename.addEventListener('click', () =>
        busy(rename, async () => {
          const renamed = await auth.renamePasskey(passkey.id, name.value)
          say(`Passkey renamed to ${renamed.name}.`, 'ok')
          await loadPasskeys()
        }),
      )
      const remove = document.createElement('button')
      remove.type = 'button'
      remove.className = 'danger passkey-remove'
      remove.textContent = 'Remove'
      remove.addEventListener('click', () =>
        busy(remove, async () => {
          await auth.deletePasskey(passkey.id)
          say('Passkey removed.', 'ok')
          await loadPasskeys()
        }),
      )
      actions.append(rename, remove)
      row.append(nameCell, ...cells, actions)
      return row
    }),
  )
  $('passkeys-card').dataset.count = String(passkeys.length)
}

onClick('passkey-add', async () => {
  const nameInput = /** @type {HTMLInputElement} */ ($('passkey-add-name'))
  const passkey = await auth.addPasskey(nameInput.value.trim() || undefined)
  nameInput.value = ''
  say(`Passkey "${passkey.name}" added. You can sign in with it now.`, 'ok')
  await loadPasskeys()
})

onClick('passkey-login', async () => {
  const user = await auth.signInWithPasskey()
  say(`Welcome, ${user.name}.`, 'ok')
  await showSignedIn()
})

/** Loads the list in the background, leaving the page's message alone unless loading fails. */
const refreshList = () => loadPasskeys().catch((error) => say(error instanceof Error ? error.message : String(error), 'error'))

// Load the list whenever a session starts (a sign-in, or the reload that resumed one).
let was = auth.state
auth.subscribe((state) => {
  if (state === 'signed-in' && was !== 'signed-in') void refreshList()
  was = state
})
if (auth.isSignedIn) await refreshList()
document.body.dataset.passkeysReady = 'true'
