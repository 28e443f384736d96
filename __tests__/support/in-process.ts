/**
 * Runs an action's run() in this process the way the runner runs its bundle, for the matrices
 * that need many runs but no process of their own: the inputs as INPUT_* values with the
 * action.yml defaults applied, and a stand-in for @actions/core that writes what the real one
 * writes (stdout lines with ::command:: syntax and its escaping, the GITHUB_OUTPUT heredocs, the
 * job summary's HTML from the real Summary class). Its fidelity to the real @actions/core is
 * checked by __tests__/runner-core.test.ts, which runs both on the same calls. The result has the
 * shape of a process run (ActionRun), so leaks.ts and the matrices read both the same way. Not a
 * test file.
 */
import * as core from '@actions/core'
import { randomUUID } from 'node:crypto'
// Imported here, not on first use: jest refuses an import() made while a concurrent test runs
// past the end of the test it is reported under.
import { run as connectionRun, type CoreLike, type Deps } from '../../src/connection/main.js'
import type { Signals } from '../../src/platform/cancel.js'
import type { Clock, Transport } from '../../src/platform/http.js'
import { githubContext, type GithubContextLike } from '../../src/platform/provenance.js'
import {
  actionInputs,
  defaultActionYml,
  inputEnvName,
  parseOutputFile,
  type ActionRun
} from '../../simulator/run-action.js'

/** @actions/core's escaping of command data and properties (lib/command.js). */
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')

/** @actions/core's Command.toString(), without properties (the action passes none). */
const command = (name: string, message: string) => `::${name}::${escapeData(message)}`

type SummaryInstance = typeof core.summary
/** @actions/core's own Summary class (it is not exported; its singleton's constructor is). */
const SummaryClass = core.summary.constructor as new () => SummaryInstance

/** What a run wrote, as the runner would find it. */
export interface RunnerFiles {
  stdout: string
  output: string
  summary: string
  exitCode: number | undefined
}

/**
 * A stand-in for @actions/core over a runner environment: getInput reads `env` as core reads
 * process.env; everything printed is appended to one stdout text as core writes it.
 */
export function runnerCore(env: Record<string, string | undefined>): CoreLike & {
  files: RunnerFiles
} {
  const files: RunnerFiles = { stdout: '', output: '', summary: '', exitCode: undefined }
  const write = (line: string) => {
    files.stdout += `${line}\n`
  }
  class FileSummary extends SummaryClass {
    // The real write() appends stringify() to GITHUB_STEP_SUMMARY and empties the buffer.
    override async write(): Promise<SummaryInstance> {
      files.summary += this.stringify()
      return this.emptyBuffer()
    }
  }
  const summary = new FileSummary()
  return {
    files,
    getInput(name, options) {
      const value = env[inputEnvName(name)] ?? ''
      if (options?.required && !value) throw new Error(`Input required and not supplied: ${name}`)
      return options?.trimWhitespace === false ? value : value.trim()
    },
    setSecret: (secret) => write(command('add-mask', secret)),
    info: (message) => write(message),
    debug: (message) => write(command('debug', message)),
    warning: (message) => write(command('warning', String(message))),
    error: (message) => write(command('error', String(message))),
    setFailed(message) {
      files.exitCode = 1
      write(command('error', String(message)))
    },
    startGroup: (name) => write(command('group', name)),
    endGroup: () => write('::endgroup::'),
    setOutput(name, value) {
      // core's prepareKeyValueMessage, then issueFileCommand's line.
      const delimiter = `ghadelimiter_${randomUUID()}`
      const v = String(value)
      if (name.includes(delimiter) || v.includes(delimiter))
        throw new Error(`Unexpected input: name or value contains the delimiter ${delimiter}`)
      files.output += `${name}<<${delimiter}\n${v}\n${delimiter}\n`
    },
    summary
  } as CoreLike & { files: RunnerFiles }
}

export interface InProcessOptions {
  /** keys must be inputs declared in the action.yml */
  inputs: Record<string, string>
  /** extra environment (proxies, RUNNER_DEBUG, GITHUB_*) as the process would see it */
  env?: Record<string, string>
  actionYml?: string
  /** the action's run(); the connection action's by default */
  run?: (deps: Partial<Deps>) => Promise<void>
  /** instantClock() by default: waits cost nothing */
  clock?: Clock
  transport?: Transport
  github?: GithubContextLike
  signals?: Signals
  /** changes the stand-in before the run (a setOutput that throws as core's does on a bad file) */
  wrapCore?: (core: CoreLike) => CoreLike
}

/** The runner's INPUT_* for every declared input (given value or its default), as runnerEnv builds them. */
export function inputEnv(
  inputs: Record<string, string>,
  actionYml = defaultActionYml
): Record<string, string> {
  const declared = actionInputs(actionYml)
  const names = new Set(declared.map((i) => i.name))
  const unknown = Object.keys(inputs).filter((n) => !names.has(n))
  if (unknown.length > 0) throw new Error(`Inputs not declared: ${unknown.join(', ')}`)
  const env: Record<string, string> = {}
  for (const input of declared)
    env[inputEnvName(input.name)] = inputs[input.name] ?? input.default ?? ''
  return env
}

/**
 * Time that passes only when the run waits: a sleep moves the clock on at once. For runs whose
 * server does not depend on time passing; racing runs share a virtual clock with the simulator.
 */
export function instantClock(start = Date.now()): Clock {
  let now = start
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms
    },
    random: () => 0.5
  }
}

/** Runs the action in-process; the result reads like a process run's. */
export async function runInProcess(opts: InProcessOptions): Promise<ActionRun> {
  // The runner sets the file commands' variables; here the stand-in keeps the files' text.
  const env = {
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: '(in-process)',
    GITHUB_STEP_SUMMARY: '(in-process)',
    ...inputEnv(opts.inputs, opts.actionYml),
    ...opts.env
  }
  const c = runnerCore(env)
  const run = opts.run ?? connectionRun
  const started = performance.now()
  await run({
    core: opts.wrapCore ? opts.wrapCore(c) : c,
    env,
    // The run context from the runner's variables given, never this process's.
    github: opts.github ?? githubContext(env),
    clock: opts.clock ?? instantClock(),
    // This process's own signals are jest's: a run hears only what a test sends it.
    signals: opts.signals ?? { on: () => () => undefined },
    ...(opts.transport ? { transport: opts.transport } : {})
  })
  const lines = c.files.stdout.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  return {
    code: c.files.exitCode ?? 0,
    signal: null,
    stdout: c.files.stdout,
    stderr: '',
    lines,
    outputs: parseOutputFile(c.files.output),
    summary: c.files.summary,
    durationMs: performance.now() - started
  }
}
