// The development start-up check: the Worker's own zod schema (src/config.ts, bundled here with
// esbuild, so there is no second copy of the rules) run over the environment `wrangler dev`
// would give the Worker (wrangler.toml [vars] with .dev.vars or --env-file over them, merged by
// wrangler's own code), and every problem said in plain words.
import path from 'node:path'
import { build } from 'esbuild'

/**
 * @typedef {{ setting: string, found: string, problem: string, accepts: string, example: string }} ConfigProblem
 * @typedef {{ checkConfig: (env: Record<string, unknown>) => ConfigProblem[] }} ConfigModule
 */

/**
 * Bundles src/config.ts and imports it from memory.
 * @param {string} root the repository root
 * @returns {Promise<ConfigModule>}
 */
export async function loadConfigModule(root) {
  const result = await build({
    entryPoints: [path.join(root, 'src/config.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]?.text ?? ''
  return import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)
}

/**
 * The variables `wrangler dev` hands the Worker, as strings.
 * @param {string} root
 * @param {{ envFiles?: string[] | undefined, vars?: Record<string, string> }} [options] `--env-file`s and `--var`s of the command line
 * @returns {Promise<Record<string, string>>}
 */
export async function devVars(root, options = {}) {
  const { unstable_readConfig, unstable_getVarsForDev } = await import('wrangler')
  const config = unstable_readConfig({ config: path.join(root, 'wrangler.toml') }, { hideWarnings: true })
  const envFiles = options.envFiles?.length ? options.envFiles.map((file) => path.resolve(file)) : undefined
  const bindings = unstable_getVarsForDev(config.configPath, envFiles, config.vars, undefined, true)
  /** @type {Record<string, string>} */
  const vars = {}
  for (const [name, binding] of Object.entries(bindings)) {
    vars[name] = typeof binding.value === 'string' ? binding.value : JSON.stringify(binding.value)
  }
  return { ...vars, ...options.vars }
}

/**
 * The problems as a person reads them.
 * @param {ConfigProblem[]} problems
 * @param {string} source where the settings came from, e.g. ".dev.vars (over wrangler.toml [vars])"
 */
export function describeProblems(problems, source) {
  const count = problems.length === 1 ? 'a configuration problem' : `${problems.length} configuration problems`
  const lines = [`npm run dev: ${source} has ${count}; wrangler dev was not started.`, '']
  for (const p of problems) {
    lines.push(`  ${p.setting} ${p.problem}`)
    lines.push(`      found:    ${p.found}`)
    if (p.accepts) lines.push(`      accepts:  ${p.accepts}`)
    if (p.example) lines.push(`      example:  ${p.example}`)
    lines.push('')
  }
  lines.push('Fix these and run npm run dev again (the README\'s Configuration table lists every setting).')
  return lines.join('\n')
}

/**
 * Reads `--env-file` and `--var` from wrangler dev's arguments (both spellings: `--x v`, `--x=v`).
 * @param {string[]} args
 */
export function envArguments(args) {
  /** @type {string[]} */
  const envFiles = []
  /** @type {Record<string, string>} */
  const vars = {}
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    if (flag !== '--env-file' && flag !== '--var') continue
    const value = inline ?? args[++i] ?? ''
    if (flag === '--env-file') envFiles.push(value)
    else if (value.includes(':')) vars[value.slice(0, value.indexOf(':'))] = value.slice(value.indexOf(':') + 1)
  }
  return { envFiles, vars }
}
