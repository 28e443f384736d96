// Runs the bundled action the way the GitHub Actions runner does for a `node20`/`node24` action:
// INPUT_* env for every declared input (defaults applied), fresh GITHUB_OUTPUT/STEP_SUMMARY/...
// files, a clean environment, cwd = repository root. Then parses what the step wrote.
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { setInterval, clearInterval } from 'node:timers'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

export const repoRoot = fileURLToPath(new URL('..', import.meta.url))
export const defaultActionYml = path.join(repoRoot, 'action.yml')
export const defaultEntry = path.join(repoRoot, 'dist', 'index.js')

function loadAction(actionYml = defaultActionYml) {
  // The failsafe schema keeps every scalar a string, as the runner does (`default: false` -> 'false').
  const doc = parse(readFileSync(actionYml, 'utf8'), { schema: 'failsafe' })
  if (!doc || typeof doc !== 'object') throw new Error(`${actionYml} is not a YAML mapping`)
  return doc
}

export function actionInputs(actionYml) {
  const doc = loadAction(actionYml)
  return Object.entries(doc.inputs ?? {}).map(([name, spec]) => ({
    name,
    description: spec?.description ?? '',
    ...(spec?.default !== undefined ? { default: spec.default } : {}),
    ...(spec?.required !== undefined ? { required: spec.required === 'true' } : {})
  }))
}

export function actionOutputs(actionYml) {
  const doc = loadAction(actionYml)
  return Object.entries(doc.outputs ?? {}).map(([name, spec]) => ({
    name,
    description: spec?.description ?? ''
  }))
}

/** The runner's mapping: spaces become '_', then upper-case; hyphens are kept. */
export const inputEnvName = (name) => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`

/**
 * Parses a GITHUB_OUTPUT-style file: `name=value` lines and `name<<DELIM` heredocs, like the
 * runner's file-command parser (whichever of '=' and '<<' comes first decides the form).
 */
export function parseOutputFile(text) {
  const outputs = {}
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') continue
    const eq = line.indexOf('=')
    const hd = line.indexOf('<<')
    if (eq !== -1 && (hd === -1 || eq < hd)) {
      outputs[line.slice(0, eq)] = line.slice(eq + 1)
      continue
    }
    if (hd === -1) throw new Error(`Invalid format in output file: '${line}'`)
    const name = line.slice(0, hd)
    const delim = line.slice(hd + 2)
    if (name === '' || delim === '') throw new Error(`Invalid heredoc in output file: '${line}'`)
    const value = []
    let closed = false
    for (i++; i < lines.length; i++) {
      if (lines[i] === delim) {
        closed = true
        break
      }
      value.push(lines[i])
    }
    if (!closed) throw new Error(`Matching delimiter not found '${delim}' in output file`)
    outputs[name] = value.join('\n')
  }
  return outputs
}

/** Peak RSS of a running process (Linux only); undefined elsewhere. */
async function readPeakRssKb(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/**
 * On Windows, the variables a process needs to start at all: without SystemRoot a child cannot
 * open sockets or use the system's crypto, and TEMP, USERPROFILE and the like are where Node
 * finds its temp and home directories. The runner passes them to every step; elsewhere none.
 */
function windowsEssentials() {
  if (process.platform !== 'win32') return {}
  const names = ['SystemRoot', 'SystemDrive', 'windir', 'ComSpec', 'PATHEXT']
  names.push('TEMP', 'TMP', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA')
  const out = {}
  for (const name of names) if (process.env[name] !== undefined) out[name] = process.env[name]
  return out
}

/**
 * The runner's side of the contract, without running anything: a temp dir with the GITHUB_*
 * files, and a clean env with INPUT_* for every declared input (given value or its default).
 * The caller removes `dir` when done.
 */
export async function runnerEnv(opts) {
  const actionYml = opts.actionYml ?? defaultActionYml
  const declared = actionInputs(actionYml)
  const declaredNames = new Set(declared.map((i) => i.name))
  const unknown = Object.keys(opts.inputs ?? {}).filter((n) => !declaredNames.has(n))
  if (unknown.length > 0) {
    throw new Error(
      `Inputs not declared in ${path.relative(repoRoot, actionYml) || actionYml}: ${unknown.join(', ')}`
    )
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'run-action-'))
  const files = {
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_STEP_SUMMARY: path.join(dir, 'step_summary'),
    GITHUB_STATE: path.join(dir, 'state'),
    GITHUB_ENV: path.join(dir, 'env'),
    GITHUB_PATH: path.join(dir, 'path')
  }
  for (const f of Object.values(files)) await writeFile(f, '')
  const runnerTemp = path.join(dir, 'runner-temp')
  await mkdir(runnerTemp)

  // A clean env: nothing inherited but PATH and HOME, so parent INPUT_*/GITHUB_* cannot leak in.
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? dir,
    ...windowsEssentials(),
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: runnerTemp,
    ...files
  }
  for (const input of declared) {
    const given = opts.inputs?.[input.name]
    env[inputEnvName(input.name)] = given !== undefined ? given : (input.default ?? '')
  }
  Object.assign(env, opts.env ?? {})
  return { env, dir, files }
}

export async function runAction(opts) {
  const { env, dir, files } = await runnerEnv(opts)
  try {
    const node = opts.node ?? process.execPath
    const entry = opts.entry ?? defaultEntry
    const started = performance.now()
    const child = spawn(node, [...(opts.nodeArgs ?? []), entry], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    opts.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    let combined = ''
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d) => {
      stdout += d
      combined += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
      combined += d
    })

    let peakRssKb
    const poll = setInterval(async () => {
      const v = child.pid ? await readPeakRssKb(child.pid) : undefined
      if (v !== undefined) peakRssKb = Math.max(peakRssKb ?? 0, v)
    }, 20)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, opts.timeoutMs ?? 60_000)

    const { code, signal } = await new Promise((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (c, s) => resolve({ code: c, signal: s }))
    })
    clearTimeout(timer)
    clearInterval(poll)
    const durationMs = performance.now() - started

    const outputs = parseOutputFile(await readFile(files.GITHUB_OUTPUT, 'utf8'))
    const summary = await readFile(files.GITHUB_STEP_SUMMARY, 'utf8')
    const lines = combined.split(/\r?\n/)
    if (lines[lines.length - 1] === '') lines.pop()
    return {
      code,
      signal,
      stdout,
      stderr,
      lines,
      outputs,
      summary,
      durationMs,
      ...(peakRssKb !== undefined ? { peakRssKb } : {}),
      ...(timedOut ? { timedOut } : {})
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
