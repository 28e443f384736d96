/**
 * The dataflow action at its edges: a schedule changed to once, reads by id answered with another
 * object, a description shaped like the action's mark, days a month does not have, mapping files
 * saved by Windows tools. Each `it` names the promise it holds the action to.
 */
import { describe, it, expect, beforeEach } from '@jest/globals'
import { type RecordedRequest, type Simulator } from '../simulator/server.js'
import { SANDBOX, errorLine, usePipeline } from './support/dataflow-pipeline.js'
import { runnerLeaks } from './support/leaks.js'

const MAPPING = [
  { source: 'id', destination: '_id' },
  { source: 'email', destination: 'personalEmail.address' }
]
const p = usePipeline({ tables: ['public.orders'], mapping: MAPPING })
const { step, since, writeMapping } = p
let sim: Simulator
let baseId = ''
beforeEach(() => {
  ;({ sim, baseId } = p)
})
const writes = (rs: RecordedRequest[]) =>
  rs.filter((r) => r.method !== 'GET' && r.service !== 'ims').map((r) => `${r.method} ${r.path}`)

const flowOf = () => sim.objects('flows', SANDBOX).find((f) => f.name === 'orders')

describe('a changed frequency (day -> once) is changed in place, as docs/dataflow.md says', () => {
  it('day -> once: the re-run exits 0, the dataflow runs once, and the PATCH holds only ops Adobe accepts', async () => {
    expect((await step()).code).toBe(0)
    const n = sim.requests.length
    const r = await step({ frequency: 'once' })
    // Before the fix: "updating the dataflow failed: HTTP 400 1400-400 Bad request: scheduleParams.backfill
    // is not allowed with frequency once", on every later run too; and the PATCH's
    // {"op":"remove","path":"/scheduleParams/interval"} has no value, which Adobe's patchFlow
    // requires (the suite's conformance hook reports it after this test).
    expect(errorLine(r)).toBe('')
    expect(r.code).toBe(0)
    expect(r.outputs.operation).toBe('updated')
    expect(writes(since(n))).toHaveLength(1)
    const stored = flowOf()?.scheduleParams as Record<string, unknown> | undefined
    expect(stored?.frequency).toBe('once')
    expect(stored?.backfill).toBeUndefined()
    expect(stored?.interval).toBeUndefined()
  })
})

describe('a Flow Service read by id answered with another id never makes the run act on that other object', () => {
  const forge = (collection: string, id: string, other: string) =>
    sim.inject({
      match: { method: 'GET', path: `/data/foundation/flowservice/${collection}/${id}` },
      times: Infinity,
      action: {
        type: 'rewrite',
        edit: (reply) => {
          const r = reply as { items: Array<Record<string, unknown>> }
          for (const i of r.items) i.id = other
          return r
        }
      }
    })
  it('state absent: no DELETE of a source connection the dataflow does not use (and nobody named)', async () => {
    expect((await step()).code).toBe(0)
    const other = sim.seedSourceConnection(SANDBOX, {
      name: 'someone else’s source',
      baseConnectionId: baseId,
      tableName: 'public.orders'
    })
    const own = sim.objects('sourceConnections', SANDBOX).find((x) => x.name === 'orders source')
    forge('sourceConnections', own?.id ?? '', other.id)
    const n = sim.requests.length
    await step({ state: 'absent' })
    // Before the fix: DELETE /sourceConnections/<other.id>: the unrelated connection is gone, the
    // dataflow's own source connection stays, and the step fails after 27.5 s of re-reads.
    expect(writes(since(n))).not.toContain(
      `DELETE /data/foundation/flowservice/sourceConnections/${other.id}`
    )
    expect(sim.objects('sourceConnections', SANDBOX).map((x) => x.id)).toContain(other.id)
  })
  it('state present: the source-connection-id output is the one the dataflow uses (or the step fails)', async () => {
    expect((await step()).code).toBe(0)
    const other = sim.seedSourceConnection(SANDBOX, {
      name: 'someone else’s source',
      baseConnectionId: baseId,
      tableName: 'public.orders'
    })
    const used = flowOf()?.sourceConnectionIds[0] ?? ''
    forge('sourceConnections', used, other.id)
    const r = await step()
    // Before the fix: exit 0, operation unchanged, source-connection-id = the unrelated connection's id.
    if (r.code === 0) expect(r.outputs['source-connection-id']).toBe(used)
    else expect(r.outputs['source-connection-id'] ?? '').not.toBe(other.id)
  })
})

describe('a Data Prep read by id answered with another id never makes the run write that other mapping set', () => {
  it('a changed mapping: the PUT goes to the set the dataflow uses, never to another dataflow’s set', async () => {
    expect((await step()).code).toBe(0)
    const mine = (
      flowOf()?.transformations as Array<{ name: string; params: { mappingId: string } }>
    ).find((t) => t.name === 'Mapping')?.params.mappingId
    const schemaId = sim.datasets(SANDBOX)[0]?.schemaRef.id ?? ''
    const other = sim.seedMappingSet(SANDBOX, {
      name: 'another dataflow’s mapping',
      schemaId,
      mappings: [{ source: 'x', destination: '_id' }]
    })
    sim.inject({
      match: { method: 'GET', path: `/data/foundation/conversion/mappingSets/${mine}` },
      times: Infinity,
      action: {
        type: 'rewrite',
        edit: (reply) => Object.assign(reply as Record<string, unknown>, { id: other.id })
      }
    })
    writeMapping([{ source: 'id', destination: '_id' }])
    const n = sim.requests.length
    const r = await step()
    // Before the fix: exit 0, PUT /mappingSets/<other.id> (another set's mappings replaced), the dataflow
    // re-pointed at it, mapping-set-id = other.id.
    expect(writes(since(n))).not.toContain(
      `PUT /data/foundation/conversion/mappingSets/${other.id}`
    )
    expect(r.outputs['mapping-set-id'] ?? '').not.toBe(other.id)
  })
})

describe('a description shaped like the action\u2019s mark', () => {
  it('a description that ends in text shaped like the action’s mark: an input error naming description, nothing sent', async () => {
    // It would be taken for the action's own mark, replaced on every run and rewritten each time.
    const r = await step({ description: 'Nightly orders [aep-gha:0123abcd.1]' })
    expect(r.code).toBe(1)
    expect(errorLine(r)).toMatch(/Invalid input 'description'.*mark/)
    expect(sim.requests.filter((q) => q.service !== 'ims')).toEqual([])
    // The same text with anything after the bracket is an ordinary description.
    const ok = await step({ description: 'Nightly orders [aep-gha:0123abcd.1] copy' })
    expect(ok.code).toBe(0)
    const n = sim.requests.length
    const again = await step({ description: 'Nightly orders [aep-gha:0123abcd.1] copy' })
    expect(writes(since(n))).toEqual([])
    expect(again.outputs.operation).toBe('unchanged')
  })
})

describe('a start-time that is no date is an input error naming start-time', () => {
  it.each(['2027-02-30T06:00:00Z', '2027-02-29T06:00:00Z', '2027-04-31T06:00:00Z'])(
    'start-time %s: exit 1, ::error names start-time, nothing sent',
    async (t) => {
      const r = await step({ 'start-time': t })
      // Before the fix: exit 0; the dataflow is created starting on the next month's first days (Date.parse
      // rolls the day over).
      expect(r.code).toBe(1)
      expect(errorLine(r)).toMatch(/Invalid input 'start-time'/)
      expect(writes(sim.requests)).toEqual([])
    }
  )
})

describe('a valid YAML mapping file is read whatever encoding mark an editor left', () => {
  it('a YAML list saved with a UTF-8 BOM (Windows editors, PowerShell 5 -Encoding utf8) is read', async () => {
    writeMapping(
      '\uFEFF- source: id\r\n  destination: _id\r\n- source: email\r\n  destination: personalEmail.address\r\n',
      'aep/orders.yaml'
    )
    const r = await step({ mapping: 'aep/orders.yaml' })
    // Before the fix: "Invalid input 'mapping': aep/orders.yaml is not valid YAML or JSON (line 1, column 4):
    // UNEXPECTED_TOKEN" (the same file without the BOM, or with a comment first, is read).
    expect(errorLine(r)).toBe('')
    expect(r.code).toBe(0)
  })
  it('a UTF-16 file (PowerShell 5 `>`) is read, or refused naming its encoding, not as "not a list"', async () => {
    writeMapping(
      Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from('- source: id\r\n  destination: _id\r\n', 'utf16le')
      ]),
      'aep/orders.yaml'
    )
    const r = await step({ mapping: 'aep/orders.yaml' })
    // Before the fix: "aep/orders.yaml must hold a list of {source, destination} items", of a file that does.
    if (r.code !== 0) expect(errorLine(r)).toMatch(/UTF-?16|encod/i)
  })
})

describe('pieces of the token echoed in stored mappings stay masked (dry run and real run)', () => {
  it.each(['true', 'false'])('dry-run %s', async (dry) => {
    expect((await step()).code).toBe(0)
    const token = sim.issueToken()
    const half = Math.floor(token.length / 2)
    sim.inject({
      match: { method: 'GET', path: /\/data\/foundation\/conversion\/mappingSets\/[^/]+$/ },
      times: Infinity,
      action: {
        type: 'rewrite',
        edit: (reply) =>
          Object.assign(reply as Record<string, unknown>, {
            mappings: [
              { sourceType: 'ATTRIBUTE', source: token.slice(0, half), destination: '_id' },
              { sourceType: 'ATTRIBUTE', source: token.slice(half), destination: 'a.b' },
              { sourceType: 'ATTRIBUTE', source: token, destination: 'x.y' }
            ]
          })
      }
    })
    const r = await step({ 'access-token': token, 'dry-run': dry })
    expect(r.code).toBe(0)
    expect(
      runnerLeaks(r, { atomic: [token], pieces: [token.slice(0, half), token.slice(half)] })
    ).toEqual([])
  })
})
