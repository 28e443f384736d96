/**
 * Racing runs of the dataflow action in virtual time: a simulator on a VirtualClock with the
 * latencies and commit delays of an eventually consistent service, a base connection and the
 * default dataset, and runs of the action's run() that name themselves to the simulator. Not a
 * test file.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { run as runDataflow } from '../../src/dataflow/main.js'
import type { Transport } from '../../src/platform/http.js'
import { undiciTransport } from '../../src/platform/transport.js'
import type { ActionRun } from '../../simulator/run-action.js'
import {
  DEFAULT_DATASET,
  RUN_HEADER,
  startSimulator,
  type CreatedAtMode,
  type Simulator
} from '../../simulator/server.js'
import { DATAFLOW_YML, ordersInputs, SANDBOX } from './dataflow-pipeline.js'
import { runInProcess } from './in-process.js'
import type { VirtualClock } from './virtual-clock.js'

/** A workspace holding these mapping files (path relative to it -> items). */
export function raceWorkspace(files: Record<string, unknown>): string {
  const workspace = mkdtempSync(path.join(tmpdir(), 'dataflow-race-'))
  mkdirSync(path.join(workspace, 'aep'))
  for (const [file, items] of Object.entries(files))
    writeFileSync(path.join(workspace, file), JSON.stringify(items))
  return workspace
}

export interface RaceSim {
  sim: Simulator
  /** One run of the action, started `delay` virtual ms from now, with this mapping file. */
  run(name: string, delay: number, mapping: string): Promise<ActionRun>
}

/** A simulator on `clock` (listing lag up to lagMs, these dates) and a way to start runs on it. */
export async function raceSim(
  clock: VirtualClock,
  workspace: string,
  opts: { lagMs?: number; dates?: CreatedAtMode } = {}
): Promise<RaceSim> {
  const latency = { min: 5, max: 80 }
  const lag = opts.lagMs ?? 0
  const sim = await startSimulator({
    clock,
    listingLagMs: lag ? { min: lag / 2, max: lag } : 0,
    createdAtMode: opts.dates ?? 'epoch-ms',
    commitLatencyMs: { min: 20, max: 600 },
    latencyMs: { GET: latency, POST: latency, DELETE: latency, PATCH: latency }
  })
  const baseId = sim.seedConnection(SANDBOX, { name: 'pg', tables: ['public.orders'] }).id
  const datasetId = sim.datasets(SANDBOX).find((d) => d.name === DEFAULT_DATASET.name)?.id ?? ''
  const run = async (name: string, delay: number, mapping: string) => {
    const vr = clock.run(name)
    const own = undiciTransport()
    // Every request is tracked by the clock and names its run (the action never sends the header).
    const transport: Transport = vr.wrap((req, t) =>
      own.transport({ ...req, headers: { ...req.headers, [RUN_HEADER]: name } }, t)
    )
    await vr.sleep(delay)
    try {
      return await runInProcess({
        actionYml: DATAFLOW_YML,
        run: runDataflow,
        clock: vr,
        transport,
        inputs: {
          ...ordersInputs(sim, { baseId, datasetId }, mapping),
          'timeout-seconds': '120'
        },
        env: { GITHUB_WORKSPACE: workspace }
      })
    } finally {
      await own.close()
    }
  }
  return { sim, run }
}
