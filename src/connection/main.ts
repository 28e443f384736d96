import * as core from '@actions/core'
import { CancelWatch, processSignals, type Signals } from '../platform/cancel.js'
import { systemClock, type Clock, type Transport } from '../platform/http.js'
import { parseDeclared } from '../platform/inputs.js'
import { Output, type OutputSink } from '../platform/output.js'
import {
  defaultDescription,
  githubContext,
  runContext,
  runUrl,
  type GithubContextLike
} from '../platform/provenance.js'
import { readInputs } from '../platform/secrets.js'
import { applyStep } from './apply.js'
import { INPUT_NAMES, parseInputs } from './inputs.js'
import { desiredBody } from './payload.js'
import { planStep } from './plan.js'
import { outputStep, reportFailure, type StepState } from './report.js'
import { CONNECTION_INPUTS, registerDerived } from './secrets.js'
import { openConnectionSession, type ConnectionSession } from './session.js'

/**
 * The parts of @actions/core the step uses; tests pass a recorder instead. Everything but
 * getInput is reached only through output.ts.
 */
export type CoreLike = Pick<typeof core, 'getInput'> & OutputSink

/** The step's I/O edges. Everything else is plain logic. */
export interface Deps {
  core: CoreLike
  /** Sends HTTP; defaults to undici with one keep-alive agent. */
  transport?: Transport
  clock: Clock
  env: NodeJS.ProcessEnv
  github: GithubContextLike
  /** The runner's cancel signals (SIGINT, then SIGTERM). */
  signals: Signals
}

/** The step: inputs -> token -> plan -> apply -> outputs, with every error caught once, here. */
export async function run(overrides: Partial<Deps> = {}): Promise<void> {
  const c = overrides.core ?? core
  // Created first: everything the step prints, even a failing setup, goes through it.
  const out = new Output(c)
  const deps: Deps = {
    core: c,
    clock: systemClock,
    env: process.env,
    github: overrides.github ?? githubContext(process.env, (line) => out.info(line)),
    signals: processSignals,
    ...overrides
  }
  // Listening from the start: a cancelled step finishes what it started, then fails.
  const cancel = new CancelWatch(deps.signals, out)
  const state: StepState & { session?: ConnectionSession } = { cancel }
  const log = (line: string) => out.info(line)
  try {
    // 1. Inputs: every secret registered as it is read, then validated; nothing sent before.
    const raw = readInputs(c, deps.env, out, CONNECTION_INPUTS)
    const ctx = runContext(deps.github, deps.env)
    state.runUrl = runUrl(ctx)
    const settings = parseDeclared(deps.env, INPUT_NAMES, () => parseInputs(raw))
    const body = desiredBody(settings, () => defaultDescription(ctx))
    registerDerived(settings, body, out)
    // 2. Token: one HTTP session (deadline, proxies, retries, trace), then the token, masked.
    const session = (state.session = openConnectionSession(settings, deps, out))
    state.deadline = session.deadline
    cancel.attach(session)
    await session.signIn()
    // 3. Plan: the connection looked up by name, and what to do about it.
    const plan = await planStep(session, settings, body, log, (m) => out.warning(m))
    // Cancelled before anything was changed: nothing to finish.
    cancel.check()
    // 4. Apply: made safe against lost answers and racing runs (or shown, in a dry run).
    const result = await applyStep(plan, settings, session, out, state.runUrl)
    // 5. Outputs, then the connection test when asked for, then the job summary.
    await outputStep(result, settings, session, out, deps.env, state)
  } catch (e) {
    await reportFailure(e, state, out, deps.env).catch(() => out.failedToReport())
  } finally {
    cancel.close()
    await state.session?.close()
  }
}
