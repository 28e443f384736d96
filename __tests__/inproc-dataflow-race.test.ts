/**
 * Two dataflow runs racing in virtual time (support/virtual-clock.ts) on one dataflow-name, each
 * with its own mapping file (a workflow run on two branches, or two pushes in a row without a
 * concurrency: group). The run whose dataflow is not kept adopts the other's; a run that exits 0
 * names the mapping set and version the kept dataflow uses.
 */
import { describe, it, expect } from '@jest/globals'
import { SANDBOX } from './support/dataflow-pipeline.js'
import { raceSim, raceWorkspace } from './support/dataflow-rounds.js'
import { VirtualClock } from './support/virtual-clock.js'

const workspace = raceWorkspace({
  'aep/a.json': [{ source: 'id', destination: '_id' }],
  'aep/b.json': [
    { source: 'id', destination: '_id' },
    { source: 'email', destination: 'personalEmail.address' }
  ]
})

async function race(seed: number) {
  const clock = new VirtualClock({ seed, guardMs: 60_000 })
  const { sim, run: one } = await raceSim(clock, workspace)
  try {
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

describe('racing runs with different mapping files', () => {
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
      // Before the fix: both runs exit 0; the second ("updated") names its own mapping set, which the
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
