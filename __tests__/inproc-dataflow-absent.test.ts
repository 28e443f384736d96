/**
 * The dataflow action's state absent and the connections it finds by name (made by hand, used by
 * another dataflow), and the heal's refusal next to a young copy: in-process against the
 * simulator. Each test names the promise it holds the action to.
 */
import { describe, it, expect, beforeEach } from '@jest/globals'
import { type RecordedRequest, type Simulator } from '../simulator/server.js'
import { SANDBOX, errorLine, usePipeline } from './support/dataflow-pipeline.js'

const MAPPING = [
  { source: 'id', destination: '_id' },
  { source: 'email', destination: 'personalEmail.address' }
]
const p = usePipeline({ tables: ['public.orders', 'public.customers'], mapping: MAPPING })
const { step, since } = p
let sim: Simulator
let baseId = ''
let datasetId = ''
beforeEach(() => {
  ;({ sim, baseId, datasetId } = p)
})
const FLOW = '/data/foundation/flowservice'
const writes = (rs: RecordedRequest[]) =>
  rs.filter((r) => r.method !== 'GET' && r.service !== 'ims').map((r) => `${r.method} ${r.path}`)

describe('state absent never deletes a connection this action did not make', () => {
  it('a source connection named "orders source" made by hand (no mark), used by no dataflow: not deleted', async () => {
    expect((await step()).code).toBe(0)
    // Someone made a source connection by hand and gave it the natural name "orders source"
    // (on another table). state: present refuses to touch such a connection ("this action did
    // not make it"); state: absent for dataflow "orders" must not delete it either.
    const hand = sim.seedSourceConnection(SANDBOX, {
      name: 'orders source',
      description: 'made by hand for the customers export',
      baseConnectionId: baseId,
      tableName: 'public.customers'
    })
    const n = sim.requests.length
    await step({ state: 'absent' })
    // Before the fix: DELETE /sourceConnections/<hand.id>, and the hand-made connection is gone.
    expect(writes(since(n))).not.toContain(`DELETE ${FLOW}/sourceConnections/${hand.id}`)
    expect(sim.objects('sourceConnections', SANDBOX).map((x) => x.id)).toContain(hand.id)
  })

  it('no dataflow at all, only a hand-made "orders target": state absent leaves it (absent)', async () => {
    const hand = sim.seedTargetConnection(SANDBOX, {
      name: 'orders target',
      description: 'made by hand',
      dataSetId: datasetId
    })
    const n = sim.requests.length
    const r = await step({ state: 'absent' })
    // Before the fix: operation deleted, the hand-made target connection deleted.
    expect(writes(since(n))).not.toContain(`DELETE ${FLOW}/targetConnections/${hand.id}`)
    expect(sim.objects('targetConnections', SANDBOX).map((x) => x.id)).toContain(hand.id)
    expect(r.code).toBe(0)
  })
})

describe('state absent for one pipeline is not blocked forever by another pipeline\u2019s connection', () => {
  it('a hand-made "orders source" used by another dataflow: no DELETE sent to it, and the step can succeed', async () => {
    expect((await step()).code).toBe(0)
    const hand = sim.seedSourceConnection(SANDBOX, {
      name: 'orders source',
      description: 'made by hand',
      baseConnectionId: baseId,
      tableName: 'public.customers'
    })
    const t = sim.seedTargetConnection(SANDBOX, { name: 'legacy target', dataSetId: datasetId })
    sim.seedFlow(SANDBOX, {
      name: 'legacy customers',
      sourceConnectionIds: [hand.id],
      targetConnectionIds: [t.id]
    })
    const n = sim.requests.length
    const first = await step({ state: 'absent' })
    // Before the fix: DELETE /sourceConnections/<hand.id> (another pipeline's), refused 1447, exit 1 ...
    expect(writes(since(n))).not.toContain(`DELETE ${FLOW}/sourceConnections/${hand.id}`)
    expect(errorLine(first)).toBe('')
    // ... and every later state: absent run fails the same way, though "orders" is long gone.
    const again = await step({ state: 'absent' })
    expect(errorLine(again)).toBe('')
    expect(again.code).toBe(0)
  })
})

describe('the heal\u2019s "young copies" refusal next to a hand-made copy names a hand-made copy as such', () => {
  it('a hand-made "orders target" next to the dataflow\u2019s own: the error does not promise a later run removes it', async () => {
    expect((await step()).code).toBe(0)
    const hand = sim.seedTargetConnection(SANDBOX, {
      name: 'orders target',
      description: 'made by hand',
      dataSetId: datasetId
    })
    const r = await step()
    expect(r.code).toBe(1)
    const e = errorLine(r)
    // Before the fix: "2 Data Lake target connections are named "orders target" ..., made by runs in the
    // last 90 s that raced on the name; ... a run started 90 s after them removes the extra
    // copies". The hand-made copy was made by no run, and a run 90 s later refuses to delete it
    // (heal.ts: "not made by this action ... none is deleted"), so the advice cannot work.
    expect(e).toContain(hand.id)
    expect(e).not.toMatch(/removes the extra copies/)
  })
})
