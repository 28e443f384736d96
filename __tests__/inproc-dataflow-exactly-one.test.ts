/**
 * The dataflow action raced in virtual time (support/virtual-clock.ts): K runs against one
 * simulator whose listings lag, whose dates disagree with commit order and whose answers get lost,
 * then a run after the round. What must hold: a run that exits 0 names objects that remain, and
 * the run after the round leaves exactly one source connection, target connection and dataflow.
 */
import { describe, it, expect } from '@jest/globals'
import type { CreatedAtMode, Fault } from '../simulator/server.js'
import { SANDBOX } from './support/dataflow-pipeline.js'
import { raceSim, raceWorkspace } from './support/dataflow-rounds.js'
import { VirtualClock } from './support/virtual-clock.js'

const workspace = raceWorkspace({ 'aep/m.json': [{ source: 'id', destination: '_id' }] })

/** K racing runs, then a plain run 120 s later; what each left. */
async function round(seed: number, k: number, lagMs: number, dates: string, faults: Fault[]) {
  const clock = new VirtualClock({ seed, guardMs: 60_000 })
  const { sim, run } = await raceSim(clock, workspace, { lagMs, dates: dates as CreatedAtMode })
  try {
    for (const f of faults) sim.inject(f)
    const one = (name: string, delay: number) => run(name, delay, 'aep/m.json')
    const runs = await clock.settled(
      Promise.all(
        Array.from({ length: k }, (_, i) => one(`r${i + 1}`, Math.floor(clock.random() * 300)))
      )
    )
    const live = (c: string, n: string) =>
      sim
        .objects(c, SANDBOX)
        .filter((o) => o.name === n && o.state !== 'delete-finalizing')
        .map((o) => o.id)
    const left = {
      src: live('sourceConnections', 'orders source'),
      tgt: live('targetConnections', 'orders target'),
      flow: live('flows', 'orders')
    }
    const allIds = new Set([...left.src, ...left.tgt, ...left.flow])
    const bad: string[] = []
    for (const r of runs) {
      if (r.code !== 0) continue
      for (const key of ['dataflow-id', 'source-connection-id', 'target-connection-id'])
        if (!allIds.has(r.outputs[key] ?? '')) bad.push(`${key}=${r.outputs[key]} gone`)
    }
    if (left.flow.length === 0 && runs.some((r) => r.code === 0)) bad.push('ZERO flows')
    if (
      (left.src.length > 1 || left.tgt.length > 1 || left.flow.length > 1) &&
      runs.every((r) => r.code === 0)
    )
      bad.push('TWO-ALL-0')
    // the flow left must use live source and target
    for (const f of sim.objects('flows', SANDBOX))
      if (
        !allIds.has(f.sourceConnectionIds[0] ?? '') ||
        !allIds.has(f.targetConnectionIds[0] ?? '')
      )
        bad.push(`flow ${f.id} uses a gone connection`)
    sim.clearFaults()
    const next = await clock.settled(one('next', 120_000))
    const leftNext = {
      src: live('sourceConnections', 'orders source').length,
      tgt: live('targetConnections', 'orders target').length,
      flow: live('flows', 'orders').length
    }
    if (next.code !== 0)
      bad.push(
        'NEXT failed: ' + (next.lines.find((l) => l.startsWith('::error::')) ?? '').slice(0, 200)
      )
    return { runs, left, leftNext, next, bad }
  } finally {
    clock.stop()
    await sim.close()
  }
}

describe('one run, two lost answers on POST /flows, a listing that lags 9 s', () => {
  it('exits 0 only with one dataflow named "orders"; the next run leaves one', async () => {
    const lost: Fault = {
      match: { method: 'POST', path: '/data/foundation/flowservice/flows' },
      times: 2,
      action: { type: 'commit-then-status', status: 504 }
    }
    const r = await round(28, 1, 9000, 'epoch-ms', [lost])
    expect(r.bad).toEqual([])
    if (r.runs[0]?.code === 0) expect(r.left.flow).toHaveLength(1)
    expect(r.leftNext).toEqual({ src: 1, tgt: 1, flow: 1 })
  })
})

describe('an extra source connection a race left next to an existing dataflow', () => {
  // Racers that each made a source connection: one dataflow uses one of them; the other stays
  // under the name "orders source". The next run finds it by name and heals it away.
  it.each([
    ['K=3 racers, arrival dates, seed 12', 12, 3, 'arrival'],
    ['K=5 racers, missing dates, seed 20', 20, 5, 'missing']
  ])('%s: the next run leaves one of each', async (_, seed, k, dates) => {
    const r = await round(seed as number, k as number, 0, dates as string, [])
    expect(r.bad).toEqual([])
    expect({ next: r.next.code, afterNext: r.leftNext }).toEqual({
      next: 0,
      afterNext: { src: 1, tgt: 1, flow: 1 }
    })
  })
})
