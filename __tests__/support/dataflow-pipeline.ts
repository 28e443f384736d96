/**
 * The in-process dataflow tests' common ground: one simulator per file, reset before each test
 * with a base connection (`pg`) and the default dataset; a workspace holding the mapping file;
 * `step()` runs the dataflow action's run() as the runner would, with the inputs every test
 * starts from. Not a test file.
 */
import { afterAll, beforeAll, beforeEach } from '@jest/globals'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { run as runDataflow } from '../../src/dataflow/main.js'
import { repoRoot, type ActionRun } from '../../simulator/run-action.js'
import {
  DEFAULT_DATASET,
  startSimulator,
  type RecordedRequest,
  type Simulator
} from '../../simulator/server.js'
import { runInProcess, type InProcessOptions } from './in-process.js'
import { adobeInputs } from './sim-inputs.js'

export const SANDBOX = 'prod'
export const DATAFLOW_YML = path.join(repoRoot, 'dataflow', 'action.yml')

/** The usual inputs of a run of the dataflow action: table public.orders as dataflow "orders". */
export function ordersInputs(
  sim: Simulator,
  ids: { baseId: string; datasetId: string },
  mapping = 'aep/orders.json'
): Record<string, string> {
  return {
    ...adobeInputs(sim, SANDBOX, { 'access-token': sim.issueToken() }),
    'dataflow-name': 'orders',
    'base-connection-id': ids.baseId,
    table: 'public.orders',
    'dataset-id': ids.datasetId,
    mapping,
    'delta-column': 'updated_at'
  }
}

export interface Pipeline {
  readonly sim: Simulator
  readonly workspace: string
  /** the seeded base connection's id, new for each test */
  readonly baseId: string
  /** the default dataset's id, new for each test */
  readonly datasetId: string
  /** Writes the mapping file (JSON of `items`, or a string or bytes as they are). */
  writeMapping(items: unknown, file?: string): void
  /** One run of the dataflow action with the usual inputs, `extra` over them. */
  step(
    extra?: Record<string, string>,
    env?: Record<string, string>,
    opts?: Pick<InProcessOptions, 'signals' | 'clock' | 'transport'>
  ): Promise<ActionRun>
  /** The requests the simulator recorded from the n-th on. */
  since(n: number): RecordedRequest[]
}

/**
 * Registers the file's hooks and returns the pipeline they keep. `tables`: the base connection's
 * tables; `mapping`: the mapping file written before each test (aep/orders.json).
 */
export function usePipeline(opts: { tables?: string[]; mapping: unknown }): Pipeline {
  const workspace = mkdtempSync(path.join(tmpdir(), 'dataflow-ws-'))
  mkdirSync(path.join(workspace, 'aep'))
  let sim: Simulator | undefined
  let baseId = ''
  let datasetId = ''
  const live = () => {
    if (!sim) throw new Error('the pipeline is used outside a test')
    return sim
  }
  const writeMapping = (items: unknown, file = 'aep/orders.json') =>
    writeFileSync(
      path.join(workspace, file),
      typeof items === 'string' || Buffer.isBuffer(items) ? items : JSON.stringify(items)
    )

  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(async () => {
    await sim?.close()
    rmSync(workspace, { recursive: true, force: true })
  })
  beforeEach(() => {
    const s = live()
    s.reset()
    writeMapping(opts.mapping)
    baseId = s.seedConnection(SANDBOX, {
      name: 'pg',
      tables: opts.tables ?? ['public.orders']
    }).id
    datasetId = s.datasets(SANDBOX).find((d) => d.name === DEFAULT_DATASET.name)?.id ?? ''
  })

  return {
    get sim() {
      return live()
    },
    workspace,
    get baseId() {
      return baseId
    },
    get datasetId() {
      return datasetId
    },
    writeMapping,
    step: (extra = {}, env = {}, more = {}) =>
      runInProcess({
        actionYml: DATAFLOW_YML,
        run: runDataflow,
        inputs: { ...ordersInputs(live(), { baseId, datasetId }), ...extra },
        env: { GITHUB_WORKSPACE: workspace, ...env },
        ...more
      }),
    since: (n) => live().requests.slice(n)
  }
}

/** The first ::error line a run printed, or ''. */
export const errorLine = (r: ActionRun): string =>
  r.lines.find((l) => l.startsWith('::error::')) ?? ''
