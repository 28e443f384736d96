/**
 * Helpers shared by the hostile runs (reproductions, leak matrix, injection matrix):
 * one simulator per case, runs with the runner's GITHUB_* context, and the checks every case
 * must pass. Not a test file.
 */
import { expect } from '@jest/globals'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { run as runDataflow } from '../../src/dataflow/main.js'
import {
  DEFAULT_DATASET,
  startSimulator,
  type Simulator,
  type SimulatorOptions
} from '../../simulator/server.js'
import { repoRoot, runAction, type ActionRun } from '../../simulator/run-action.js'
import { runInProcess } from './in-process.js'
import { adobeInputs } from './sim-inputs.js'

export const SANDBOX = 'prod'
export const LIST_PATH = '/data/foundation/flowservice/connections'
export const GITHUB_ENV = {
  GITHUB_REPOSITORY: 'acme/data-platform',
  GITHUB_RUN_ID: '9100200300',
  GITHUB_SERVER_URL: 'https://github.com'
}
export const RUN_URL = 'https://github.com/acme/data-platform/actions/runs/9100200300'
/** A valid connection id, as Flow Service writes them. */
export const VALID_ID = /^[A-Za-z0-9_-]{1,128}$/

/** Each case gets its own simulator, so faults (matched by path) cannot cross between cases. */
export async function withSim(
  options: SimulatorOptions,
  fn: (sim: Simulator) => Promise<void>
): Promise<void> {
  const sim = await startSimulator(options)
  try {
    await fn(sim)
  } finally {
    await sim.close()
  }
}

/** Database parts; connection-string auth unless auth-type says otherwise. */
export const parts = (password: string): Record<string, string> => ({
  server: 'db.hostile.example.com',
  database: 'analytics',
  username: 'svc_loader',
  password
})

/**
 * Runs the action against `sim` with the client secret, a run context and a summary file: in this
 * process through the runner's stand-in (support/in-process.ts), or, with `process`, as the
 * bundle in a child process, as the runner runs it.
 */
export function runHostile(
  sim: Simulator,
  name: string,
  extra: Record<string, string>,
  opts: { debug?: boolean; env?: Record<string, string>; process?: boolean } = {}
): Promise<ActionRun> {
  const inputs = {
    ...adobeInputs(sim, SANDBOX, { 'client-secret': sim.clientSecret }),
    'connection-name': name,
    'timeout-seconds': '20',
    ...extra
  }
  const env = { ...GITHUB_ENV, ...(opts.debug ? { RUNNER_DEBUG: '1' } : {}), ...opts.env }
  return opts.process
    ? runAction({ inputs, env, timeoutMs: 40_000 })
    : runInProcess({ inputs, env })
}

export const errorLines = (r: ActionRun) => r.lines.filter((l) => l.startsWith('::error'))

/** Exit code 1 with exactly one ::error line; returns it. */
export function expectOneError(r: ActionRun): string {
  expect(r.timedOut).toBeUndefined()
  expect(r.code).toBe(1)
  const errors = errorLines(r)
  expect(errors).toHaveLength(1)
  return errors[0] ?? ''
}

/** Every Flow Service request went to the list, or to a well-formed connection (or spec) id. */
export function expectNoMalformedIdSent(sim: Simulator): void {
  for (const q of sim.requests.filter((r) => r.service === 'flow')) {
    if (q.path === LIST_PATH) continue
    const m =
      /^\/data\/foundation\/flowservice\/(?:connections\/([^/]+)(?:\/explore|\/test)?|connectionSpecs\/([^/]+))$/.exec(
        q.path
      )
    const id = m?.[1] ?? m?.[2]
    expect(`${q.method} ${q.path} ${!!id && VALID_ID.test(decodeURIComponent(id))}`).toBe(
      `${q.method} ${q.path} true`
    )
  }
}

/** The mapping file the hostile dataflow runs use (written to each run's own workspace). */
export const DATAFLOW_MAPPING = [
  { source: 'id', destination: '_id' },
  { source: 'email', destination: 'personalEmail.address' }
]

/**
 * The dataflow action's inputs for `sim`: a base connection with the tables given (seeded here,
 * once per simulator), the sandbox's default dataset, the mapping file `aep/mapping.json`.
 */
export function dataflowInputs(
  sim: Simulator,
  tables: string[] = ['public.orders']
): Record<string, string> {
  const base =
    sim.connections(SANDBOX).find((c) => c.name === 'hostile-pg') ??
    sim.seedConnection(SANDBOX, { name: 'hostile-pg', tables })
  const dataset = sim.datasets(SANDBOX).find((d) => d.name === DEFAULT_DATASET.name)
  return {
    'base-connection-id': base.id,
    table: tables[0] ?? 'public.orders',
    'dataset-id': dataset?.id ?? '',
    mapping: 'aep/mapping.json',
    'delta-column': 'updated_at'
  }
}

/**
 * Runs the dataflow action in this process against `sim` with the client secret and a run
 * context, in a workspace of its own holding `mapping` as aep/mapping.json.
 */
export async function runDataflowHostile(
  sim: Simulator,
  name: string,
  extra: Record<string, string>,
  opts: { debug?: boolean; mapping?: unknown } = {}
): Promise<ActionRun> {
  const workspace = mkdtempSync(path.join(tmpdir(), 'hostile-dataflow-'))
  try {
    mkdirSync(path.join(workspace, 'aep'))
    writeFileSync(
      path.join(workspace, 'aep', 'mapping.json'),
      JSON.stringify(opts.mapping ?? DATAFLOW_MAPPING)
    )
    return await runInProcess({
      actionYml: path.join(repoRoot, 'dataflow', 'action.yml'),
      run: runDataflow,
      inputs: {
        ...adobeInputs(sim, SANDBOX, { 'client-secret': sim.clientSecret }),
        'dataflow-name': name,
        'timeout-seconds': '20',
        ...extra
      },
      env: {
        ...GITHUB_ENV,
        GITHUB_WORKSPACE: workspace,
        ...(opts.debug ? { RUNNER_DEBUG: '1' } : {})
      }
    })
  } finally {
    rmSync(workspace, { recursive: true, force: true })
  }
}
