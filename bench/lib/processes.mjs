// Child processes of the benchmark: a free loopback port, processes started and tracked, and
// all of them stopped (by their own pid, never by name) however the run ends. Also the /proc
// readers the harness samples workerd with.
//
// The e2e has its own scripts/lib/processes.mjs with the same three functions (freePort,
// start, stopAll); the two are to be unified later.
import { fork, spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import net from 'node:net'

/** @type {Set<import('node:child_process').ChildProcess>} */
const started = new Set()

/**
 * A TCP port free on 127.0.0.1 right now (the OS picks it; closed again before it is returned).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port ? resolve(port) : reject(new Error('no port'))))
    })
  })
}

/**
 * Starts a command (spawn) or, with `opts.fork`, a Node module with an IPC channel, and tracks it
 * for stopAll(). With `opts.collect`, stdout and stderr are gathered into `done`'s `output`.
 * @param {string} cmd  a command, or with `fork: true` the module to run in Node
 * @param {string[]} [args]
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, fork?: boolean, collect?: boolean,
 *   stdio?: import('node:child_process').StdioOptions }} [opts]
 * @returns {{ child: import('node:child_process').ChildProcess, done: Promise<{ code: number | null, output: string }> }}
 */
export function start(cmd, args = [], opts = {}) {
  const stdio = opts.stdio ?? (opts.fork ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', opts.collect ? 'pipe' : 'inherit', opts.collect ? 'pipe' : 'inherit'])
  const child = opts.fork
    ? fork(cmd, args, { cwd: opts.cwd, env: opts.env, stdio })
    : spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio })
  started.add(child)
  let output = ''
  if (opts.collect) {
    child.stdout?.on('data', (chunk) => (output += chunk))
    child.stderr?.on('data', (chunk) => (output += chunk))
  }
  const done = new Promise((resolve, reject) => {
    child.on('error', (error) => {
      started.delete(child)
      reject(error)
    })
    child.on('close', (code) => {
      started.delete(child)
      resolve({ code, output })
    })
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

/**
 * Stops every process start() started and that still runs: SIGTERM, then SIGKILL after
 * `graceMs`. Each by its own pid.
 * @param {number} [graceMs]
 */
export async function stopAll(graceMs = 2000) {
  const live = [...started].filter((child) => child.exitCode === null && child.signalCode === null)
  await Promise.all(
    live.map(
      (child) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL')
            resolve(undefined)
          }, graceMs)
          child.once('close', () => {
            clearTimeout(timer)
            resolve(undefined)
          })
          child.kill('SIGTERM')
        }),
    ),
  )
  started.clear()
}

// ---------------------------------------------------------------------------------------------
// /proc readers (Linux)

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
