// Starting and stopping the child processes of a test run (the e2e test, the benchmark): a free
// port, `wrangler dev` with a throwaway env file, waiting until it answers, any other command or
// Node module started and tracked, and stopping every process started here (by its own pid or
// its whole process group) when the run ends, however it ends. Also the /proc readers the
// benchmark samples workerd with.
import { fork, spawn, spawnSync } from 'node:child_process'
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A TCP port nobody listens on right now.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** True while a process exists. @param {number} pid */
export function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Sends a signal to a process group we started; false when it is gone.
 * @param {number} pid
 * @param {NodeJS.Signals} signal
 */
export function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}

/** @typedef {{ name: string, stop: () => Promise<void> }} Stoppable */
/** Everything started here, stopped in reverse order by `stopAll`. @type {Stoppable[]} */
const started = []
/** @type {Promise<void> | undefined} */
let stopping

/**
 * Registers something to stop at the end of the run (a browser, a server).
 * @param {string} name
 * @param {() => Promise<void>} stop
 */
export function onStop(name, stop) {
  started.push({ name, stop })
}

/** Stops everything registered, newest first; every caller waits for the same run. */
export function stopAll() {
  stopping ??= (async () => {
    for (const entry of started.reverse()) {
      await entry.stop().catch((error) => console.error(`[processes] stopping ${entry.name} failed:`, error))
    }
  })()
  return stopping
}

for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    console.error(`[processes] ${signal}: stopping`)
    void stopAll().finally(() => process.exit(130))
  })
}

/**
 * Stops a child and its process group: SIGTERM, then SIGKILL for anything left after `graceMs`
 * (workerd children share the group).
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} [graceMs]
 */
export async function stopChild(child, graceMs = 5_000) {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  signalGroup(child.pid, 'SIGTERM')
  await Promise.race([exited, sleep(graceMs)])
  signalGroup(child.pid, 'SIGKILL')
}

/**
 * @typedef {object} WranglerDev
 * @property {string} base the server's origin, `http://127.0.0.1:<port>`
 * @property {number} port
 * @property {string[]} logLines every line wrangler dev printed so far
 * @property {import('node:child_process').ChildProcess} child
 * @property {() => Promise<void>} stop
 */

/**
 * Starts `wrangler dev` on a free port of 127.0.0.1 with `vars` in a temporary env file (the
 * developer's .dev.vars is neither read nor touched), and resolves once GET /health answers.
 * @param {object} options
 * @param {string} options.root the repository root
 * @param {Record<string, string>} options.vars the Worker's settings for this run
 * @param {string} [options.persistTo] local state directory (D1, KV); a fresh temporary one by default
 * @param {string} [options.logFile] where to copy wrangler's output
 * @param {number} [options.readyTimeoutMs]
 * @param {string[]} [options.args] more `wrangler dev` arguments
 * @param {boolean} [options.migrate] apply the D1 migrations to the state directory first (default true)
 * @returns {Promise<WranglerDev>}
 */
export async function startWranglerDev({ root, vars, persistTo, logFile, readyTimeoutMs = 90_000, args = [], migrate = true }) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'edge-auth-wrangler-'))
  onStop('temporary files', async () => rmSync(tmp, { recursive: true, force: true }))
  const envFile = path.join(tmp, 'dev.vars')
  writeFileSync(envFile, `${Object.entries(vars).map(([name, value]) => `${name}=${value}`).join('\n')}\n`, { mode: 0o600 })
  const state = persistTo ?? path.join(tmp, 'state')
  const wranglerBin = path.join(root, 'node_modules/.bin/wrangler')
  const quiet = { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' }
  if (migrate) {
    const migrated = spawnSync(wranglerBin, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state], {
      cwd: root,
      env: { ...quiet, CI: 'true' },
      encoding: 'utf8',
    })
    if (migrated.status !== 0) throw new Error(`migrations failed:\n${migrated.stdout}\n${migrated.stderr}`)
  }
  const port = await freePort()
  const inspectorPort = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(
    wranglerBin,
    [
      'dev',
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--inspector-port', String(inspectorPort),
      '--persist-to', state,
      '--env-file', envFile,
      '--show-interactive-dev-session=false',
      ...args,
    ],
    {
      cwd: root,
      env: quiet,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so stopping it stops workerd too.
      detached: true,
    },
  )
  const log = logFile ? createWriteStream(logFile) : undefined
  /** @type {string[]} */
  const logLines = []
  let pending = ''
  const collect = (/** @type {Buffer} */ chunk) => {
    log?.write(chunk)
    pending += chunk.toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    logLines.push(...lines)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const stop = async () => {
    await stopChild(child)
    log?.end()
  }
  onStop('wrangler dev', stop)

  const readyBy = Date.now() + readyTimeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${logLines.slice(-30).join('\n')}`)
    try {
      if ((await fetch(`${base}/health`)).ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > readyBy) throw new Error(`wrangler dev did not become ready:\n${logLines.slice(-30).join('\n')}`)
    await sleep(250)
  }
  return { base, port, logLines, child, stop }
}

/**
 * Stops one child by its own pid: SIGTERM, then SIGKILL after `graceMs`.
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} [graceMs]
 */
export async function stopProcess(child, graceMs = 2_000) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const closed = new Promise((resolve) => child.once('close', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await closed
  clearTimeout(timer)
}

/**
 * Starts a command (spawn) or, with `opts.fork`, a Node module with an IPC channel, stopped by
 * `stopAll()`. With `opts.collect`, stdout and stderr are gathered into `done`'s `output`.
 * @param {string} cmd  a command, or with `fork: true` the module to run in Node
 * @param {string[]} [args]
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, fork?: boolean, collect?: boolean,
 *   stdio?: import('node:child_process').StdioOptions }} [opts]
 * @returns {{ child: import('node:child_process').ChildProcess, done: Promise<{ code: number | null, output: string }> }}
 */
export function start(cmd, args = [], opts = {}) {
  const stdio = opts.stdio ?? (opts.fork ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', opts.collect ? 'pipe' : 'inherit', opts.collect ? 'pipe' : 'inherit'])
  const child = opts.fork ? fork(cmd, args, { cwd: opts.cwd, env: opts.env, stdio }) : spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio })
  onStop(`${path.basename(cmd)} (pid ${child.pid})`, () => stopProcess(child))
  let output = ''
  if (opts.collect) {
    child.stdout?.on('data', (chunk) => (output += chunk))
    child.stderr?.on('data', (chunk) => (output += chunk))
  }
  /** @type {Promise<{ code: number | null, output: string }>} */
  const done = new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
  // A caller that only awaits `child` events must not see an unhandled rejection.
  done.catch(() => {})
  return { child, done }
}

/**
 * Runs a command to its end, collecting its output.
 * @param {string} cmd @param {string[]} args @param {{ cwd?: string, env?: NodeJS.ProcessEnv }} [opts]
 */
export function run(cmd, args, opts = {}) {
  return start(cmd, args, { ...opts, collect: true }).done
}

// /proc readers (Linux), for the benchmark.

/** @returns {Map<number, string>} pid -> comm of this process's direct children */
export function children() {
  const found = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const comm = stat.slice(stat.indexOf('(') + 1, close)
      const ppid = Number(stat.slice(close + 2).split(' ')[1])
      if (ppid === process.pid) found.set(Number(entry), comm)
    } catch {
      // The process ended while we looked.
    }
  }
  return found
}

/** CPU time (user + system, all threads) of a process, in ms. USER_HZ is 100 on Linux. */
export function cpuMs(/** @type {number} */ pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Resident set size of a process, in MiB. */
export function rssMiB(/** @type {number} */ pid) {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : NaN
}
