/**
 * Two dataflow runs racing in virtual time (support/virtual-clock.ts) on one dataflow-name, each
 * with its own mapping file (a workflow run on two branches, or two pushes in a row without a
 * concurrency: group). The run whose dataflow is not kept adopts the other's; a run that exits 0
 * names the mapping set and version the kept dataflow uses.
 */
import { describe, it, expect } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { run as runDataflow } from '../src/dataflow/main.js'
import { repoRoot } from '../simulator/run-action.js'
import { RUN_HEADER, startSimulator, DEFAULT_DATASET } from '../simulator/server.js'
import { undiciTransport } from '../src/platform/transport.js'
import type { Transport } from '../src/platform/http.js'
import { runInProcess } from './support/in-process.js'
import { adobeInputs } from './support/sim-inputs.js'
import { VirtualClock } from './support/virtual-clock.js'

const SANDBOX = 'prod'
const actionYml = path.join(repoRoot, 'dataflow', 'action.yml')
const workspace = mkdtempSync(path.join(tmpdir(), 'attack-r4-race-'))
mkdirSync(path.join(workspace, 'aep'))
writeFileSync(
  path.join(workspace, 'aep/a.json'),
  JSON.stringify([{ source: 'id', destination: '_id' }])
)
writeFileSync(
  path.join(workspace, 'aep/b.json'),
  JSON.stringify([
    { source: 'id', destination: '_id' },
    { source: 'email', destination: 'personalEmail.address' }
  ])
)

async function race(seed: number) {
  const clock = new VirtualClock({ seed, guardMs: 60_000 })
  const sim = await startSimulator({
    clock,
    createdAtMode: 'epoch-ms',
    commitLatencyMs: { min: 20, max: 600 },
    latencyMs: {
      GET: { min: 5, max: 80 },
      POST: { min: 5, max: 80 },
      DELETE: { min: 5, max: 80 },
      PATCH: { min: 5, max: 80 }
    }
  })
  try {
    const baseId = sim.seedConnection(SANDBOX, { name: 'pg', tables: ['public.orders'] }).id
    const datasetId = sim.datasets(SANDBOX).find((d) => d.name === DEFAULT_DATASET.name)?.id ?? ''
    const one = async (name: string, delay: number, mapping: string) => {
      const vr = clock.run(name)
      const own = undiciTransport()
      const transport: Transport = vr.wrap((req, t) =>
        own.transport({ ...req, headers: { ...req.headers, [RUN_HEADER]: name } }, t)
      )
      await vr.sleep(delay)
      try {
        return await runInProcess({
          actionYml,
          run: runDataflow as never,
          clock: vr,
          transport,
          inputs: {
            ...adobeInputs(sim, SANDBOX, { 'access-token': sim.issueToken() }),
            'dataflow-name': 'orders',
            'base-connection-id': baseId,
            table: 'public.orders',
            'dataset-id': datasetId,
            mapping,
            'delta-column': 'updated_at',
            'timeout-seconds': '120'
          },
          env: { GITHUB_WORKSPACE: workspace }
        })
      } finally {
        await own.close()
      }
    }
    const runs = await clock.settled(
      Promise.all([
        one('r1', 0, 'aep/a.json'),
        one('r2', Math.floor(clock.random() * 300), 'aep/b.json')
      ])
    )
    const flows = sim.objects('flows', SANDBOX).filter((f) => f.state !== 'delete-finalizing')
    const mappingOf = (f: (typeof flows)[number]) =>
      (
        f.transformations as Array<{
          name: string
          params: { mappingId: string; mappingVersion: unknown }
        }>
      ).find((t) => t.name === 'Mapping')?.params
    return { runs, flows, mappingOf }
  } finally {
    clock.stop()
    await sim.close()
  }
}

describe('racing runs with different mapping files (R4-4)', () => {
  it.each([1, 2])(
    'seed %i: a run that exits 0 names the mapping set and version the dataflow uses',
    async (seed) => {
      const { runs, flows, mappingOf } = await race(seed)
      expect(flows).toHaveLength(1)
      const used = mappingOf(flows[0] as (typeof flows)[number])
      const exits0 = runs
        .filter((r) => r.code === 0)
        .map((r) => ({
          flow: r.outputs['dataflow-id'],
          set: r.outputs['mapping-set-id'],
          version: r.outputs['mapping-version']
        }))
      expect(exits0.length).toBeGreaterThan(0)
      // Today: both runs exit 0; the second ("updated") names its own mapping set, which the
      // dataflow does not use, at version 0: its mapping file (2 mappings) is not in effect.
      for (const o of exits0)
        expect(o).toEqual({
          flow: flows[0]?.id,
          set: used?.mappingId,
          version: String(used?.mappingVersion)
        })
    },
    60_000
  )
})
