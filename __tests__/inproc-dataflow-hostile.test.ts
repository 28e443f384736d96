/**
 * The dataflow action attacked: outputs that could relay commands, misspelt inputs, objects left
 * by earlier runs, ids and versions a server should not have sent, hostile mapping files,
 * cancellation at each write, servers that lie or lag. Each `it` states the promise it holds to.
 */
import { describe, it, expect, beforeEach } from '@jest/globals'
import { run as runDataflow } from '../src/dataflow/main.js'
import {
  DEFAULT_DATASET,
  startSimulator,
  type RecordedRequest,
  type Simulator
} from '../simulator/server.js'
import { runInProcess } from './support/in-process.js'
import { adobeInputs } from './support/sim-inputs.js'
import {
  DATAFLOW_YML,
  SANDBOX,
  errorLine,
  ordersInputs,
  usePipeline
} from './support/dataflow-pipeline.js'
import { forgedCommands } from './support/leaks.js'
import { VirtualClock } from './support/virtual-clock.js'
import { undiciTransport } from '../src/platform/transport.js'

const actionYml = DATAFLOW_YML
const MAPPING = [
  { source: 'id', destination: '_id' },
  { source: 'email', destination: 'personalEmail.address' }
]
const p = usePipeline({ tables: ['public.orders'], mapping: MAPPING })
const { step, since, writeMapping, workspace } = p
let sim: Simulator
let baseId = ''
let datasetId = ''
beforeEach(() => {
  ;({ sim, baseId, datasetId } = p)
})
const writes = (rs: RecordedRequest[]) =>
  rs.filter((r) => r.method !== 'GET' && r.service !== 'ims').map((r) => `${r.method} ${r.path}`)

describe('outputs are data: no workflow command in any output', () => {
  it.each(['::warning::forged', '"##[error]forged"', ':: x', '##[add-mask]x'])(
    'an etag %j from Flow Service does not reach the etag output as a command',
    async (etag) => {
      await step()
      sim.inject({
        match: { method: 'GET', path: '/data/foundation/flowservice/flows' },
        times: Infinity,
        action: {
          type: 'rewrite',
          edit: (reply) => {
            const r = reply as { items?: Array<Record<string, unknown>> }
            for (const i of r.items ?? []) i.etag = etag
            return r
          }
        }
      })
      const n = sim.requests.length
      const r = await step()
      // An etag must be a quoted token: the listing is refused as not Flow Service's, naming the
      // etag, and nothing is written; no output carries the command.
      expect(r.code).toBe(1)
      expect(errorLine(r)).toMatch(/etag is not a usable etag/)
      expect(writes(since(n))).toEqual([])
      for (const out of Object.values(r.outputs))
        expect(out.includes('##[') || /^\s*::/m.test(out)).toBe(false)
    }
  )
})

describe('misspelled input names', () => {
  it('dry_run: true (underscore) is not silently ignored: the step fails naming it and writes nothing', async () => {
    const r = await step({}, { INPUT_DRY_RUN: 'true' })
    expect(writes(sim.requests)).toEqual([])
    expect(r.code).toBe(1)
    expect(errorLine(r)).toMatch(/dry_run/)
  })
  it('enable: false (for enabled) is not silently ignored', async () => {
    const r = await step({}, { INPUT_ENABLE: 'false' })
    expect(r.code).toBe(1)
    expect(errorLine(r)).toMatch(/enable/)
  })
})

describe('state absent removes connections named by the convention', () => {
  it('an orphan source connection (earlier failed run, no dataflow) is deleted by state absent', async () => {
    sim.inject({
      match: { method: 'POST', path: '/data/foundation/flowservice/targetConnections' },
      times: Infinity,
      action: {
        type: 'status',
        status: 400,
        body: JSON.stringify({ code: 'FLOW-1400-400', message: 'bad' })
      }
    })
    const first = await step()
    expect(first.code).toBe(1)
    expect(sim.objects('sourceConnections', SANDBOX)).toHaveLength(1)
    sim.clearFaults()
    const r = await step({ state: 'absent' })
    expect(r.code).toBe(0)
    expect(sim.objects('sourceConnections', SANDBOX)).toHaveLength(0)
  })
})

describe('never a duplicate mapping set', () => {
  it('a dataflow POST refused twice, then fixed: one mapping set in the sandbox', async () => {
    sim.inject({
      match: { method: 'POST', path: '/data/foundation/flowservice/flows' },
      times: 2,
      action: {
        type: 'status',
        status: 400,
        body: JSON.stringify({ code: 'FLOW-1425-400', message: 'schemas differ' })
      }
    })
    expect((await step()).code).toBe(1)
    expect((await step()).code).toBe(1)
    const r = await step()
    expect(r.code).toBe(0)
    expect(sim.objects('sourceConnections', SANDBOX)).toHaveLength(1)
    expect(sim.objects('targetConnections', SANDBOX)).toHaveLength(1)
    expect(sim.mappingSets(SANDBOX).map((m) => m.name)).toHaveLength(1)
  })
})

describe('ids from a server never change a request path', () => {
  it.each(['..', '.'])('a flow whose Mapping transformation names mapping set %j', async (bad) => {
    const src = sim.seedSourceConnection(SANDBOX, {
      name: 'orders source',
      baseConnectionId: baseId,
      tableName: 'public.orders'
    })
    const tgt = sim.seedTargetConnection(SANDBOX, { name: 'orders target', dataSetId: datasetId })
    sim.seedFlow(SANDBOX, {
      name: 'orders',
      sourceConnectionIds: [src.id],
      targetConnectionIds: [tgt.id],
      transformations: [
        { name: 'Copy', params: { deltaColumn: { name: 'updated_at', timezone: 'UTC' } } },
        { name: 'Mapping', params: { mappingId: bad, mappingVersion: '0' } }
      ]
    })
    const r = await step()
    const dp = sim.requests.filter((q) => q.service === 'dataprep' || q.url.includes('conversion'))
    // every Data Prep request stays under /mappingSets/<one segment>
    for (const q of dp)
      expect(q.path).toMatch(/^\/data\/foundation\/conversion\/mappingSets(\/[A-Za-z0-9_-]+)?$/)
    expect(r.code).toBe(1)
  })
})

describe('an id a server should not have sent is named by its field, not echoed', () => {
  it('a dataflow whose source connection id is ".."', async () => {
    const tgt = sim.seedTargetConnection(SANDBOX, { name: 'orders target', dataSetId: datasetId })
    sim.seedFlow(SANDBOX, {
      name: 'orders',
      sourceConnectionIds: ['..'],
      targetConnectionIds: [tgt.id]
    })
    const r = await step()
    expect(r.code).toBe(1)
    expect(errorLine(r)).toBe(
      '::error::reading the dataflow failed: malformed response (sourceConnectionIds[0] is not a connection id (1-128 letters, digits, - or _))'
    )
  })

  it('a mapping set read back with the id ".."', async () => {
    expect((await step()).code).toBe(0)
    const id = sim.mappingSets(SANDBOX)[0]?.id ?? ''
    sim.inject({
      match: { method: 'GET', path: `/data/foundation/conversion/mappingSets/${id}` },
      times: Infinity,
      action: { type: 'rewrite', edit: (reply) => ({ ...(reply as object), id: '..' }) }
    })
    const r = await step()
    expect(r.code).toBe(1)
    expect(errorLine(r)).toBe(
      '::error::reading the mapping set failed: malformed response (id is not a mapping set id (1-128 letters, digits, - or _))'
    )
  })
})

describe('mapping changes are seen', () => {
  it('moving " -> " between source and destination is a change', async () => {
    writeMapping([{ source: 'a -> b', destination: 'c', type: 'expression' }])
    // expression so that the source may contain spaces
    expect((await step()).code).toBe(0)
    writeMapping([{ source: 'a', destination: 'b -> c', type: 'expression' }])
    const n = sim.requests.length
    const r = await step()
    expect(r.outputs.operation).toBe('updated')
    expect(writes(since(n)).some((w) => w.startsWith('PUT'))).toBe(true)
  })
})

describe('hostile mapping files', () => {
  it('a __proto__ key is an unknown key, not a hidden source', async () => {
    writeMapping('[{"__proto__": {"source": "id", "destination": "_id"}}]')
    const r = await step()
    expect(r.code).toBe(1)
    expect(errorLine(r)).toMatch(/mapping/)
    expect(sim.requests.filter((q) => q.service !== 'ims')).toEqual([])
  })
  it('a deeply nested file fails as an input error naming mapping, before any request', async () => {
    writeMapping('['.repeat(200000) + ']'.repeat(200000))
    const r = await step()
    expect(r.code).toBe(1)
    expect(errorLine(r)).toMatch(/Invalid input 'mapping'/)
    expect(sim.requests).toEqual([])
  })
  it('a deeply nested YAML block file fails as an input error', async () => {
    let y = ''
    for (let i = 0; i < 5000; i++) y += ' '.repeat(i) + '- \n'
    writeMapping(y)
    const r = await step()
    expect(r.code).toBe(1)
    expect(errorLine(r)).toMatch(/Invalid input 'mapping'/)
  })
  it('an alias bomb is refused quickly', async () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
    for (let i = 1; i < 9; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`
      )
    lines.push('mappings: *a8')
    writeMapping(lines.join('\n'))
    const t = Date.now()
    const r = await step()
    expect(r.code).toBe(1)
    expect(Date.now() - t).toBeLessThan(3000)
  })
})

import type { Signal, Signals } from '../src/platform/cancel.js'
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
function stepWith(signals: Signals, extra: Record<string, string> = {}) {
  return runInProcess({
    actionYml,
    run: runDataflow,
    inputs: { ...ordersInputs(sim, { baseId, datasetId }), ...extra },
    env: { GITHUB_WORKSPACE: workspace },
    signals
  })
}

describe('cancellation at each write', () => {
  it.each([
    ['POST', /\/targetConnections$/, 2],
    ['POST', /\/mappingSets$/, 3],
    ['POST', /\/flows$/, 4]
  ])(
    'SIGINT+SIGTERM after %s %s: no other write, exit 1, outputs name what exists',
    async (m, p, n) => {
      const signals = runnerSignals()
      sim.configure({
        hooks: {
          afterHandled: (req) => {
            if (req.method === m && p.test(req.path)) {
              signals.send('SIGINT')
              signals.send('SIGTERM')
            }
          }
        }
      })
      const r = await stepWith(signals)
      expect(r.code).toBe(1)
      expect(writes(sim.requests)).toHaveLength(n)
      const src = sim.objects('sourceConnections', SANDBOX)[0]
      expect(r.outputs['source-connection-id']).toBe(src?.id)
      if (n >= 2)
        expect(r.outputs['target-connection-id']).toBe(
          sim.objects('targetConnections', SANDBOX)[0]?.id
        )
      if (n >= 3) expect(r.outputs['mapping-set-id']).toBe(sim.mappingSets(SANDBOX)[0]?.id)
      if (n >= 4) expect(r.outputs['dataflow-id']).toBe(sim.objects('flows', SANDBOX)[0]?.id)
    }
  )

  it('SIGINT after the mapping set PUT: the mapping-version output is the version the dataflow uses', async () => {
    await step()
    writeMapping([{ source: 'id', destination: '_id' }])
    const signals = runnerSignals()
    sim.configure({
      hooks: {
        afterHandled: (req) => {
          if (req.method === 'PUT') signals.send('SIGINT')
        }
      }
    })
    const r = await stepWith(signals)
    expect(r.code).toBe(1)
    const flow = sim.objects('flows', SANDBOX)[0]
    const used = flow?.transformations.find((t) => t.name === 'Mapping')?.params.mappingVersion
    expect(r.outputs['mapping-version']).toBe(String(used))
  })

  it('PATCH refused after the mapping set PUT: the mapping-version output is the version the dataflow uses', async () => {
    await step()
    writeMapping([{ source: 'id', destination: '_id' }])
    sim.inject({
      match: { method: 'PATCH' },
      times: Infinity,
      action: {
        type: 'status',
        status: 400,
        body: JSON.stringify({ code: 'FLOW-1400-400', message: 'no' })
      }
    })
    const r = await step()
    expect(r.code).toBe(1)
    const flow = sim.objects('flows', SANDBOX)[0]
    const used = flow?.transformations.find((t) => t.name === 'Mapping')?.params.mappingVersion
    expect(r.outputs['mapping-version']).toBe(String(used))
  })
})

describe('an unchanged re-run: no write, at most 7 reads (the dataflow, its source and target by id and by name, its mapping set)', () => {
  const configs: Array<[string, Record<string, string>, Parameters<Simulator['configure']>[0]]> = [
    ['defaults', {}, {}],
    ['description given', { description: 'Orders into AEP, owned by data team' }, {}],
    ['disabled', { enabled: 'false' }, {}],
    ['once without delta', { frequency: 'once', 'delta-column': '' }, {}],
    ['minute 15', { frequency: 'minute', interval: '15' }, {}],
    ['WEEK upper-case', { frequency: 'WEEK', interval: '2' }, {}],
    [
      'backfill false + start-time',
      { backfill: 'false', 'start-time': '2030-01-01T00:00:00Z' },
      {}
    ],
    ['dataset-name', { 'dataset-id': '', 'dataset-name': DEFAULT_DATASET.name }, {}],
    ['as-sent source types', {}, { mappingSourceTypes: 'as-sent' }],
    ['schemaId key', {}, { targetSchemaKey: 'schemaId' }],
    ['iso createdAt', {}, { createdAtMode: 'iso' }],
    ['reuse', { 'if-exists': 'reuse' }, {}],
    ['dataflow-name with quote', { 'dataflow-name': 'orders "eu", v2' }, {}],
    ['dataflow-name with backslash', { 'dataflow-name': 'orders\\eu' }, {}],
    ['dataflow-name ::error::', { 'dataflow-name': '::error::orders' }, {}]
  ]
  it.each(configs)('%s', async (_t, extra, conf) => {
    sim.configure(conf)
    writeMapping([
      { source: 'id', destination: '_id' },
      { source: "concat(a, ' ', b)", destination: 'person.name', type: 'expression' }
    ])
    const first = await step(extra)
    expect(errorLine(first)).toBe('')
    const n = sim.requests.length
    const r = await step(extra)
    expect(errorLine(r)).toBe('')
    expect(r.outputs.operation).toBe('unchanged')
    expect(writes(since(n))).toEqual([])
    expect(since(n).filter((q) => q.service !== 'ims').length).toBeLessThanOrEqual(7)
    expect(forgedCommands(r)).toEqual([])
    for (const k of [
      'dataflow-id',
      'source-connection-id',
      'target-connection-id',
      'mapping-set-id'
    ])
      expect(r.outputs[k]).toBe(first.outputs[k])
  })
})

describe('dry run sends only GETs', () => {
  const onlyGets = (n: number) =>
    since(n)
      .filter((q) => q.service !== 'ims' && q.method !== 'GET')
      .map((q) => `${q.method} ${q.path}`)
  it('fresh, changed, absent, duplicates to heal', async () => {
    let n = sim.requests.length
    let r = await step({ 'dry-run': 'true' })
    expect(r.outputs.operation).toBe('would-create')
    expect(onlyGets(n)).toEqual([])
    await step()
    writeMapping([{ source: 'x', destination: '_id' }])
    n = sim.requests.length
    r = await step({ 'dry-run': 'true', enabled: 'false', frequency: 'hour', description: 'd' })
    expect(r.outputs.operation).toBe('would-update')
    expect(onlyGets(n)).toEqual([])
    n = sim.requests.length
    r = await step({ 'dry-run': 'true', state: 'absent' })
    expect(r.outputs.operation).toBe('would-delete')
    expect(onlyGets(n)).toEqual([])
    // two old copies of the source connection name, both marked, no flow
    sim.reset()
    baseId = sim.seedConnection(SANDBOX, { name: 'pg', tables: ['public.orders'] }).id
    datasetId = sim.datasets(SANDBOX)[0]?.id ?? ''
    for (const i of [1, 2])
      sim.seedSourceConnection(SANDBOX, {
        name: 'orders source',
        description: `x [aep-gha:0123456789ab.${i}]`,
        baseConnectionId: baseId,
        tableName: 'public.orders',
        createdAt: Date.now() - 3600_000 - i
      })
    n = sim.requests.length
    r = await step({ 'dry-run': 'true', 'base-connection-id': baseId, 'dataset-id': datasetId })
    expect(r.code).toBe(0)
    expect(onlyGets(n)).toEqual([])
    expect(sim.objects('sourceConnections', SANDBOX)).toHaveLength(2)
  })
})

describe('a server that lies', () => {
  it('DELETE of the source connection answers 200 but it stays: not exit 0 with operation deleted', async () => {
    await step()
    sim.inject({
      match: { method: 'DELETE', path: /sourceConnections/ },
      times: Infinity,
      action: { type: 'status', status: 200, body: '{}' }
    })
    const r = await step({ state: 'absent' })
    const left = sim.objects('sourceConnections', SANDBOX)
    if (left.length > 0) expect(r.code).not.toBe(0)
  })
  it('a PUT that answers an older version: the dataflow is not pointed back at the old mappings', async () => {
    await step()
    writeMapping([{ source: 'id', destination: '_id' }])
    sim.inject({
      match: { method: 'PUT' },
      action: { type: 'rewrite', edit: (reply) => ({ ...(reply as object), version: 0 }) }
    })
    const r = await step()
    const flow = sim.objects('flows', SANDBOX)[0]
    const used = Number(
      flow?.transformations.find((t) => t.name === 'Mapping')?.params.mappingVersion
    )
    const set = sim.mappingSets(SANDBOX)[0]
    const latest = set?.versions.at(-1)?.version
    if (r.code === 0) expect(used).toBe(latest)
  })
  it('a flow listed by name whose source connection is another table (read by id): refused before any write', async () => {
    const src = sim.seedSourceConnection(SANDBOX, {
      name: 'x',
      baseConnectionId: baseId,
      tableName: 'public.customers'
    })
    const tgt = sim.seedTargetConnection(SANDBOX, { name: 'orders target', dataSetId: datasetId })
    sim.seedFlow(SANDBOX, {
      name: 'orders',
      sourceConnectionIds: [src.id],
      targetConnectionIds: [tgt.id]
    })
    const n = sim.requests.length
    const r = await step()
    expect(r.code).toBe(1)
    expect(writes(since(n))).toEqual([])
  })
})

describe('listing lag between runs', () => {
  // The runs and a simulator of their own share a virtual clock: the lag passes only as the runs
  // wait, and nothing waits in real time.
  it.each([200, 1000, 3000])(
    'a re-run %d ms behind a lagging listing: still one of each',
    async (lag) => {
      const clock = new VirtualClock({ seed: lag })
      const lagging = await startSimulator({ clock, listingLagMs: lag })
      try {
        const base = lagging.seedConnection(SANDBOX, { name: 'pg', tables: ['public.orders'] })
        const dataset =
          lagging.datasets(SANDBOX).find((d) => d.name === DEFAULT_DATASET.name)?.id ?? ''
        const once = async (name: string) => {
          const run = clock.run(name)
          const own = undiciTransport()
          try {
            return await clock.settled(
              runInProcess({
                actionYml,
                run: runDataflow,
                clock: run,
                transport: run.wrap(own.transport),
                inputs: {
                  ...adobeInputs(lagging, SANDBOX, { 'access-token': lagging.issueToken() }),
                  'dataflow-name': 'orders',
                  'base-connection-id': base.id,
                  table: 'public.orders',
                  'dataset-id': dataset,
                  mapping: 'aep/orders.json',
                  'delta-column': 'updated_at'
                },
                env: { GITHUB_WORKSPACE: workspace }
              })
            )
          } finally {
            await own.close()
          }
        }
        const first = await once('first')
        expect(errorLine(first)).toBe('')
        const r = await once('again')
        expect(errorLine(r)).toBe('')
        expect(r.outputs['dataflow-id']).toBe(first.outputs['dataflow-id'])
        expect(lagging.objects('flows', SANDBOX)).toHaveLength(1)
        expect(lagging.objects('sourceConnections', SANDBOX)).toHaveLength(1)
        expect(lagging.objects('targetConnections', SANDBOX)).toHaveLength(1)
        expect(lagging.mappingSets(SANDBOX)).toHaveLength(1)
      } finally {
        await lagging.close()
      }
    }
  )
})

describe('in-place changes combined in one PATCH', () => {
  it('once -> day with a delta column AND a changed mapping: Copy added, Mapping points at the new version', async () => {
    const first = await step({ frequency: 'once', 'delta-column': '' })
    expect(errorLine(first)).toBe('')
    writeMapping([{ source: 'id', destination: '_id' }])
    const r = await step({ frequency: 'day' })
    expect(errorLine(r)).toBe('')
    expect(r.outputs.operation).toBe('updated')
    expect(sim.requests.filter((q) => q.method === 'PATCH')).toHaveLength(1)
    const flow = sim.objects('flows', SANDBOX)[0]
    expect(flow?.transformations.map((t) => t.name).sort()).toEqual(['Copy', 'Mapping'])
    const m = flow?.transformations.find((t) => t.name === 'Mapping')
    expect(String(m?.params.mappingVersion)).toBe('1')
  })
})

describe('job summary and names', () => {
  it.each(['<img src=x onerror=alert(1)>', 'a"b\'c&d', '##[error]x', 'x\u202Eevil', 'a | b | c'])(
    'dataflow-name %j: summary escaped, no forged command',
    async (name) => {
      const r = await step({ 'dataflow-name': name })
      expect(r.summary).not.toMatch(/<img|onerror=alert\(1\)>/)
      expect(r.summary).not.toContain('##[')
      expect(forgedCommands(r)).toEqual([])
      expect(r.code).toBe(0)
    }
  )
  it('two datasets of the name: an error naming both ids, no write', async () => {
    const a = sim.seedDataset(SANDBOX, { name: 'dup', schemaId: DEFAULT_DATASET.schemaId })
    const b = sim.seedDataset(SANDBOX, { name: 'dup', schemaId: DEFAULT_DATASET.schemaId })
    const r = await step({ 'dataset-id': '', 'dataset-name': 'dup' })
    expect(r.code).toBe(1)
    expect(errorLine(r)).toContain(a)
    expect(errorLine(r)).toContain(b)
    expect(writes(sim.requests)).toEqual([])
  })
  it('DELETE 200-but-stays, then re-run absent: the connection is still reported nowhere', async () => {
    await step()
    sim.inject({
      match: { method: 'DELETE', path: /sourceConnections/ },
      times: 1,
      action: { type: 'status', status: 200, body: '{}' }
    })
    const r1 = await step({ state: 'absent' })
    const r2 = await step({ state: 'absent' })
    // The first DELETE was answered 200 but left it: the run waits for it to go, then fails
    // naming it (the dataflow itself is deleted); the next run deletes it.
    expect(r1.code).toBe(1)
    expect(errorLine(r1)).toMatch(/source connection [0-9a-f-]{36}/)
    expect(r2.code).toBe(0)
    expect(r2.outputs.operation).toBe('deleted')
    expect(sim.objects('sourceConnections', SANDBOX)).toHaveLength(0)
  })
})
