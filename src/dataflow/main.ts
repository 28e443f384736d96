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
import { inUse } from '../platform/heal.js'
import { openSession, type Session } from '../platform/session.js'
import { applyAbsent, applyPresent } from './apply.js'
import { objectsOf, readCurrent, readDataset } from './current.js'
import { INPUT_NAMES, parseInputs, SECRET_INPUTS } from './inputs.js'
import { nodeFileReader, readMapping, type FileReader } from './mapping-file.js'
import { decide, existingOf, operationDone, operationOf } from './plan.js'
import {
  describePlan,
  outcomeLine,
  reportFailure,
  reportSuccess,
  setOutputs,
  type DataflowState
} from './report.js'

/** The parts of @actions/core the step uses; everything but getInput goes through output.ts. */
export type CoreLike = Pick<typeof core, 'getInput'> & OutputSink

/** The step's I/O edges. Everything else is plain logic. */
export interface Deps {
  core: CoreLike
  transport?: Transport
  clock: Clock
  env: NodeJS.ProcessEnv
  github: GithubContextLike
  signals: Signals
  /** Reads the mapping file (node:fs by default). */
  files: FileReader
}

/**
 * The step: inputs -> token -> what exists -> plan -> apply -> outputs, every error caught once,
 * here.
 */
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
    files: nodeFileReader,
    ...overrides
  }
  const cancel = new CancelWatch(deps.signals, out)
  const state: DataflowState & { session?: Session } = { cancel, progress: {} }
  const log = (line: string) => out.info(line)
  const warn = (line: string) => out.warning(line)
  try {
    // 1. Inputs: the secrets registered as they are read, then validated, the mapping file read
    // and checked; nothing is sent before.
    // The name is the key the dataflow is found by: as given, edge spaces included.
    const raw = readInputs(c, deps.env, out, {
      names: INPUT_NAMES,
      secrets: SECRET_INPUTS,
      untrimmed: ['dataflow-name']
    })
    const ctx = runContext(deps.github, deps.env)
    state.runUrl = runUrl(ctx)
    const s = (state.settings = parseDeclared(deps.env, INPUT_NAMES, () => parseInputs(raw)))
    const workspace = deps.env.GITHUB_WORKSPACE || process.cwd()
    // Deleting needs no mappings: the file is not read (it may be gone with the branch).
    const items =
      s.mappingPath && s.state === 'present'
        ? readMapping(s.mappingPath, workspace, deps.files)
        : []
    // 2. Token: one HTTP session (deadline, proxies, retries, trace), then the token, masked.
    const session = (state.session = openSession(s, deps, out))
    state.deadline = session.deadline
    cancel.attach(session)
    await session.signIn()
    // 3. What exists, and what to do about each object: reads only.
    log(`Looking up dataflow "${s.dataflowName}" in sandbox ${s.sandboxName}`)
    const objects = objectsOf(session.api)
    const plan = await session.phase('looking up the dataflow', async () =>
      decide(s, items, await readCurrent({ objects, dryRun: s.dryRun, log, warn }, s), {
        dataset: () => readDataset(session.api, s),
        inUse: (what, id) =>
          inUse(session.api, (what === 'source' ? objects.sources : objects.targets).c, id),
        warn
      })
    )
    state.operation = operationOf(plan, s.dryRun)
    cancel.check()
    // 4. Apply, in Adobe's order (or, in a dry run, say what would happen).
    const now = () => deps.clock.now()
    if (s.dryRun)
      await out.group(`Dry run: ${state.operation}. What a run would do`, async () => {
        for (const line of describePlan(plan, s, now)) out.block(line)
        Object.assign(state.progress, existingOf(plan))
      })
    else {
      const applying = {
        objects,
        settings: s,
        items,
        description: s.description ?? defaultDescription(ctx),
        run: session.api.o.run,
        now,
        log,
        warn,
        progress: state.progress,
        checkpoint: () => cancel.check()
      }
      await session.phase('applying the plan', () =>
        plan.kind === 'present' ? applyPresent(plan, applying) : applyAbsent(plan, applying)
      )
      state.operation = operationDone(state.progress, plan.kind)
    }
    const operation = state.operation
    // 5. Outputs, the outcome in one line, the job summary.
    setOutputs(out, state.progress, operation)
    out.info(outcomeLine(s, state.progress, operation))
    cancel.check()
    await reportSuccess(out, deps.env, s, state.progress, operation, state.runUrl)
  } catch (e) {
    await reportFailure(e, state, out, deps.env).catch(() => out.failedToReport())
  } finally {
    cancel.close()
    await state.session?.close()
  }
}
