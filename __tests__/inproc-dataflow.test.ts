/**
 * The dataflow action in-process against the simulator: the whole pipeline made in Adobe's order
 * with the documented bodies, re-runs that change nothing or only what differs, refusals before
 * any write, lost answers, an orphan an earlier run left, deletion in order, a dry run, bad inputs.
 */
import { describe, it, expect, beforeEach } from '@jest/globals'
import { run as runDataflow } from '../src/dataflow/main.js'
import { DEFAULT_DATASET, type RecordedRequest, type Simulator } from '../simulator/server.js'
import type { Signal, Signals } from '../src/platform/cancel.js'
import { runInProcess } from './support/in-process.js'
import {
  DATAFLOW_YML,
  SANDBOX,
  errorLine,
  ordersInputs,
  usePipeline
} from './support/dataflow-pipeline.js'

const actionYml = DATAFLOW_YML
const MAPPING = [
  { source: 'id', destination: '_id' },
  { source: 'email', destination: 'personalEmail.address' },
  {
    source: "concat(first_name, ' ', last_name)",
    destination: 'person.name.fullName',
    type: 'expression'
  }
]
const p = usePipeline({ tables: ['public.orders', 'public.customers'], mapping: MAPPING })
const { step, since, writeMapping, workspace } = p
let sim: Simulator
let baseId = ''
let datasetId = ''
beforeEach(() => {
  ;({ sim, baseId, datasetId } = p)
})
const writes = (rs: RecordedRequest[]) =>
  rs
    .filter((r) => r.method !== 'GET' && r.service !== 'ims')
    .map(
      (r) =>
        `${r.method} ${r.path.replace(/^\/data\/foundation\/(flowservice|conversion|catalog)/, '')}`
    )

describe('the dataflow action, first run', () => {
  it('creates the four objects in Adobe’s order, with the documented bodies, and names them in the outputs', async () => {
    const r = await step()
    expect(errorLine(r)).toBe('')
    expect(r.code).toBe(0)
    expect(writes(sim.requests)).toEqual([
      'POST /sourceConnections',
      'POST /targetConnections',
      'POST /mappingSets',
      'POST /flows'
    ])
    const body = (p: string) =>
      JSON.parse(sim.requests.find((q) => q.method === 'POST' && q.path.endsWith(p))?.body ?? '{}')
    expect(body('/sourceConnections')).toMatchObject({
      name: 'orders source',
      baseConnectionId: baseId,
      data: { format: 'tabular' },
      params: { tableName: 'public.orders' },
      connectionSpec: { id: '74a1c565-4e59-48d7-9d67-7c03b8a13137', version: '1.0' }
    })
    expect(body('/targetConnections')).toMatchObject({
      name: 'orders target',
      data: {
        schema: {
          id: DEFAULT_DATASET.schemaId,
          version: 'application/vnd.adobe.xed-full+json;version=1'
        }
      },
      params: { dataSetId: datasetId },
      connectionSpec: { id: 'c604ff05-7f1a-43c0-8e18-33bf874cb11c', version: '1.0' }
    })
    expect(body('/mappingSets')).toMatchObject({
      outputSchema: { schemaRef: { id: DEFAULT_DATASET.schemaId } },
      mappings: [
        { sourceType: 'ATTRIBUTE', source: 'id', destination: '_id' },
        { sourceType: 'ATTRIBUTE', source: 'email', destination: 'personalEmail.address' },
        {
          sourceType: 'EXPRESSION',
          source: "concat(first_name, ' ', last_name)",
          destination: 'person.name.fullName'
        }
      ]
    })
    const flow = body('/flows')
    expect(flow).toMatchObject({
      name: 'orders',
      flowSpec: { id: '14518937-270c-4525-bdec-c2ba7cce3860', version: '1.0' },
      transformations: [
        { name: 'Copy', params: { deltaColumn: { name: 'updated_at', timezone: 'UTC' } } },
        { name: 'Mapping', params: { mappingVersion: '0' } }
      ],
      scheduleParams: { frequency: 'day', interval: 1, backfill: true }
    })
    const [src] = sim.objects('sourceConnections', SANDBOX)
    const [tgt] = sim.objects('targetConnections', SANDBOX)
    const [f] = sim.objects('flows', SANDBOX)
    const [m] = sim.mappingSets(SANDBOX)
    expect(r.outputs).toMatchObject({
      'dataflow-id': f?.id,
      'source-connection-id': src?.id,
      'target-connection-id': tgt?.id,
      'mapping-set-id': m?.id,
      'mapping-version': '0',
      'flow-spec-id': '14518937-270c-4525-bdec-c2ba7cce3860',
      operation: 'created'
    })
    expect(r.outputs.etag).toMatch(/^".+"$/)
    expect(r.summary).toContain('orders source')
  })
})

describe('re-runs', () => {
  it('unchanged: no write at all, at most 7 reads (the dataflow, its source and target by id and by name, its mapping set)', async () => {
    await step()
    const n = sim.requests.length
    const r = await step()
    expect(r.code).toBe(0)
    expect(r.outputs.operation).toBe('unchanged')
    expect(writes(since(n))).toEqual([])
    expect(
      since(n).filter((q) => q.method === 'GET' && q.service !== 'ims').length
    ).toBeLessThanOrEqual(7)
  })

  it('with dataset-name instead of dataset-id: the same, still at most 7 reads', async () => {
    await step()
    const n = sim.requests.length
    const r = await step({ 'dataset-id': '', 'dataset-name': DEFAULT_DATASET.name })
    expect(r.outputs.operation).toBe('unchanged')
    expect(writes(since(n))).toEqual([])
    expect(since(n).filter((q) => q.method === 'GET').length).toBeLessThanOrEqual(7)
  })

  it.each([
    [{ description: 'Orders, hourly' }, ['PATCH /flows/ID']],
    [{ frequency: 'hour' }, ['PATCH /flows/ID']],
    [{ interval: '2' }, ['PATCH /flows/ID']],
    [{ 'delta-column': 'modified_at' }, ['PATCH /flows/ID']],
    [{ enabled: 'false' }, ['POST /flows/ID/action']]
  ])('%j changes in place with only its own write', async (extra, expected) => {
    const first = await step()
    const id = first.outputs['dataflow-id'] ?? ''
    const n = sim.requests.length
    const r = await step(extra)
    expect(errorLine(r)).toBe('')
    expect(r.outputs.operation).toBe('updated')
    expect(writes(since(n)).map((w) => w.replace(id, 'ID'))).toEqual(expected)
    // And the next run with the same inputs changes nothing.
    const m = sim.requests.length
    expect((await step(extra)).outputs.operation).toBe('unchanged')
    expect(writes(since(m))).toEqual([])
  })

  it('a changed mapping: PUT makes a new version, the Mapping transformation is pointed at it', async () => {
    const first = await step()
    writeMapping([...MAPPING, { source: 'status', destination: '_tenant.status' }])
    const n = sim.requests.length
    const r = await step()
    expect(r.outputs.operation).toBe('updated')
    expect(r.outputs['mapping-version']).toBe('1')
    expect(r.outputs['mapping-set-id']).toBe(first.outputs['mapping-set-id'])
    expect(writes(since(n)).map((w) => w.replace(/\/[^/]+$/, '/ID'))).toEqual([
      'PUT /mappingSets/ID',
      'PATCH /flows/ID'
    ])
    const [flow] = sim.objects('flows', SANDBOX) as Array<{
      transformations: Array<{ name: string; params: { mappingVersion?: unknown } }>
    }>
    expect(
      Number(flow?.transformations.find((t) => t.name === 'Mapping')?.params.mappingVersion)
    ).toBe(1)
  })

  it('a PATCH refusing mappingVersion as a string (400 naming it) is sent once more with a number', async () => {
    await step()
    writeMapping([...MAPPING, { source: 'status', destination: '_tenant.status' }])
    sim.inject({
      match: { method: 'PATCH', path: /\/flows\// },
      action: {
        type: 'status',
        status: 400,
        body: JSON.stringify({
          code: 'CPG-400',
          message: 'transformations[0].params.mappingVersion must be an integer'
        })
      }
    })
    const n = sim.requests.length
    const r = await step()
    expect(errorLine(r)).toBe('')
    expect(r.outputs['mapping-version']).toBe('1')
    const patches = since(n).filter((q) => q.method === 'PATCH')
    const versions = patches.map(
      (q) =>
        (
          JSON.parse(q.body) as Array<{
            path: string
            value?: { params?: { mappingVersion?: unknown } }
          }>
        ).find((op) => op.value?.params?.mappingVersion !== undefined)?.value?.params
          ?.mappingVersion
    )
    expect(versions).toEqual(['1', 1])
    expect(r.stdout).toContain(
      'refused mappingVersion as a string (HTTP 400); sending it as a number'
    )
  })

  it.each([
    [
      { table: 'public.customers' },
      /table: it reads table public\.orders, the input says public\.customers/
    ],
    [
      { 'base-connection-id': 'other-base' },
      /base-connection-id: it reads from base connection .+, the input says other-base/
    ],
    [
      { 'dataset-id': 'other-ds' },
      /dataset-id: it writes to dataset .+, the input names dataset other-ds/
    ]
  ])(
    '%j: refused before any write, naming the input and the two ways out',
    async (extra, pattern) => {
      await step()
      const n = sim.requests.length
      const r = await step(extra)
      expect(r.code).toBe(1)
      expect(errorLine(r)).toMatch(pattern)
      expect(errorLine(r)).toMatch(
        /Either delete it first \(state: absent, then run again with state: present\), or give a new dataflow-name/
      )
      expect(writes(since(n))).toEqual([])
    }
  )
})

describe('exactly one of each, after lost answers and earlier failures', () => {
  it.each(['sourceConnections', 'targetConnections', 'flows'])(
    'a reset after the POST to /%s was performed: still one of each',
    async (collection) => {
      sim.inject({
        match: { method: 'POST', path: `/data/foundation/flowservice/${collection}` },
        action: { type: 'commit-then-reset' }
      })
      const r = await step()
      expect(errorLine(r)).toBe('')
      for (const c of ['sourceConnections', 'targetConnections', 'flows'])
        expect(sim.objects(c, SANDBOX)).toHaveLength(1)
    }
  )

  it('a reset after the mapping set POST was performed: one mapping set', async () => {
    sim.inject({
      match: { method: 'POST', path: '/data/foundation/conversion/mappingSets' },
      action: { type: 'commit-then-reset' }
    })
    const r = await step()
    expect(errorLine(r)).toBe('')
    expect(sim.mappingSets(SANDBOX)).toHaveLength(1)
  })

  it('a source connection an earlier failed run left is adopted, not made again', async () => {
    const left = sim.seedSourceConnection(SANDBOX, {
      name: 'orders source',
      description: 'x [aep-gha:0123456789ab.1]',
      baseConnectionId: baseId,
      tableName: 'public.orders'
    })
    const r = await step()
    expect(r.code).toBe(0)
    expect(r.outputs['source-connection-id']).toBe(left.id)
    expect(writes(sim.requests)).not.toContain('POST /sourceConnections')
  })
})

describe('state absent', () => {
  it('deletes the dataflow, then its source and target connections; the mapping set stays; a re-run is absent', async () => {
    const first = await step()
    const n = sim.requests.length
    const r = await step({ state: 'absent' })
    expect(errorLine(r)).toBe('')
    expect(r.outputs.operation).toBe('deleted')
    expect(r.outputs['dataflow-id']).toBe(first.outputs['dataflow-id'])
    expect(writes(since(n)).map((w) => w.replace(/\/[^/]+$/, '/ID'))).toEqual([
      'DELETE /flows/ID',
      'DELETE /sourceConnections/ID',
      'DELETE /targetConnections/ID'
    ])
    const sets = sim.mappingSets(SANDBOX)
    expect(sets).toHaveLength(1)
    expect(r.stdout).toContain(`mapping set ${sets[0]?.id} stays`)
    const again = await step({ state: 'absent' })
    expect(again.outputs.operation).toBe('absent')
    expect(again.outputs['dataflow-id']).toBe('')
  })
})

describe('dry run', () => {
  it('sends only GETs and says per object what would happen, with the mapping diff', async () => {
    await step()
    writeMapping([...MAPPING.slice(1), { source: 'status', destination: '_tenant.status' }])
    const n = sim.requests.length
    const r = await step({ 'dry-run': 'true', frequency: 'hour' })
    expect(r.code).toBe(0)
    expect(r.outputs.operation).toBe('would-update')
    expect(since(n).every((q) => q.method === 'GET' || q.service === 'ims')).toBe(true)
    expect(r.stdout).toContain('  - id -> _id')
    expect(r.stdout).toContain('  + status -> _tenant.status')
    expect(r.stdout).toMatch(/would change: replace \/scheduleParams\/frequency = "hour"/)
  })
})

describe('bad inputs', () => {
  it.each([
    [{ frequency: 'hourly' }, 'frequency'],
    [{ mapping: 'aep/missing.json' }, 'mapping'],
    [{ 'delta-column': '' }, 'delta-column']
  ])('%j fails before any request, naming the input', async (extra, input) => {
    const r = await step(extra)
    expect(r.code).toBe(1)
    expect(errorLine(r)).toContain(`Invalid input '${input}'`)
    expect(sim.requests.filter((q) => q.service !== 'ims')).toEqual([])
  })

  it('an empty mapping list fails before any request', async () => {
    writeMapping([])
    const r = await step()
    expect(errorLine(r)).toContain("Invalid input 'mapping': aep/orders.json holds no mappings")
    expect(sim.requests).toEqual([])
  })
})

describe('where Adobe’s documents disagree, the documented fallback on a refusal', () => {
  it('a source connection refused for want of columns: the columns are read (explore) and it is sent again', async () => {
    sim.inject({
      match: { method: 'POST', path: '/data/foundation/flowservice/sourceConnections' },
      action: {
        type: 'status',
        status: 400,
        body: JSON.stringify({
          type: 'https://ns.adobe.com/aep/errors/FLOW-1400-400',
          title: 'Bad request',
          status: 400,
          report: { 'detailed-message': '$.params.columns: is missing but it is required' }
        })
      }
    })
    const r = await step()
    expect(errorLine(r)).toBe('')
    const posts = sim.requests.filter(
      (q) => q.method === 'POST' && q.path.endsWith('/sourceConnections')
    )
    expect(posts).toHaveLength(2)
    // The second POST carries the columns explore describes for the table.
    expect(JSON.parse(posts[0]?.body ?? '{}').params.columns).toBeUndefined()
    expect(JSON.parse(posts[1]?.body ?? '{}').params.columns).toEqual([
      { name: 'id', type: 'integer', xdm: { type: 'integer' } },
      { name: 'name', type: 'string', xdm: { type: 'string' } }
    ])
    expect(sim.objects('sourceConnections', SANDBOX)).toHaveLength(1)
  })
})

describe('cancelled by the runner', () => {
  /** Signals a test sends, as the runner would send them to the process. */
  function runnerSignals(): Signals & { send(s: Signal): void } {
    const listeners = new Set<(s: Signal) => void>()
    return {
      on(l) {
        listeners.add(l)
        return () => listeners.delete(l)
      },
      send: (s) => listeners.forEach((l) => l(s))
    }
  }

  it('after the source connection’s POST: finishes that object, starts no other, names it in the outputs; the next run goes on from it', async () => {
    const signals = runnerSignals()
    sim.configure({
      hooks: {
        afterHandled: (req) => {
          if (req.method === 'POST' && req.path.endsWith('/sourceConnections'))
            signals.send('SIGINT')
        }
      }
    })
    const r = await runInProcess({
      actionYml,
      run: runDataflow,
      inputs: ordersInputs(sim, { baseId, datasetId }),
      env: { GITHUB_WORKSPACE: workspace },
      signals
    })
    expect(r.code).toBe(1)
    expect(errorLine(r)).toMatch(/^::error::the runner cancelled the step \(SIGINT\)/)
    expect(writes(sim.requests)).toEqual(['POST /sourceConnections'])
    const [source] = sim.objects('sourceConnections', SANDBOX)
    expect(r.outputs['source-connection-id']).toBe(source?.id)
    sim.configure({ hooks: {} })

    const mark = sim.requests.length
    const next = await step()
    expect(next.code).toBe(0)
    expect(writes(since(mark))).toEqual([
      'POST /targetConnections',
      'POST /mappingSets',
      'POST /flows'
    ])
    expect(next.outputs['source-connection-id']).toBe(source?.id)
    expect(sim.objects('sourceConnections', SANDBOX)).toHaveLength(1)
  })
})
