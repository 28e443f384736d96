/**
 * The simulator's dataflow objects: Flow Service source and target connections, dataflows and the
 * CRMToAEP flow spec; Data Prep mapping sets; Catalog datasets. Each rule the simulator enforces
 * has a test that fails without it, and one lifecycle runs them all with exact status codes.
 */
import { describe, it, expect, beforeAll, beforeEach, afterAll, afterEach } from '@jest/globals'
import {
  startSimulator,
  CRM_TO_AEP_FLOW_SPEC_ID,
  DATA_LAKE_SPEC_ID,
  DEFAULT_DATASET,
  POSTGRES_SPEC_ID,
  type Simulator,
  type SimulatorClock,
  type SimulatorOptions
} from '../simulator/server.js'
import {
  idOf,
  itemsOf,
  simClient,
  type CallOptions,
  type ListedItem,
  type Reply
} from './support/sim-client.js'

const T0 = 1_767_225_600_000
const XDM_FULL = 'application/vnd.adobe.xed-full+json;version=1'
const ORDERS_SCHEMA = DEFAULT_DATASET.schemaId
const OTHER_SCHEMA = 'https://ns.adobe.com/simtenant/schemas/other'
const PG = { id: POSTGRES_SPEC_ID, version: '1.0' }
const LAKE = { id: DATA_LAKE_SPEC_ID, version: '1.0' }
const FLOW_SPEC = { id: CRM_TO_AEP_FLOW_SPEC_ID, version: '1.0' }

interface ErrorBody {
  type?: string
  detail?: string
  report?: { 'detailed-message'?: string; flowIds?: string[] }
}
/** An error reply reduced to what tests compare: status, the code in `type`, the message. */
function err(r: Reply) {
  const b = (r.json ?? {}) as ErrorBody
  return {
    status: r.status,
    code: /errors\/(.+)$/.exec(b.type ?? '')?.[1],
    message: b.report?.['detailed-message'] ?? b.detail ?? ''
  }
}
const refused = (code: string, fragment: string) => ({
  status: Number(code.slice(-3)),
  code,
  message: expect.stringContaining(fragment)
})

interface FlowRead extends ListedItem {
  description?: string
  sourceConnectionIds: string[]
  targetConnectionIds: string[]
  scheduleParams: Record<string, unknown>
  transformations: Array<{ name: string; params: Record<string, unknown> }>
  inheritedAttributes: unknown
}
interface MappingRead {
  id: string
  version: number
  mappings: Array<Record<string, unknown>>
  outputSchema: { schemaRef: { id: string; contentType: string } }
}

let sim: Simulator
let c: ReturnType<typeof simClient>
/** Simulators a test starts with options of its own, closed after it. */
const own: Simulator[] = []

beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.close()
})
beforeEach(() => {
  sim.reset()
  c = simClient(sim, sim.issueToken())
})
afterEach(async () => {
  await Promise.all(own.splice(0).map((s) => s.close()))
})

/** A clock that moves only when told (nothing here waits on it). */
function manualClock(start = T0) {
  let t = start
  const clock = {
    now: () => t,
    sleep: () => Promise.resolve(),
    advance(ms: number) {
      t += ms
    }
  }
  return clock satisfies SimulatorClock
}
async function startOwn(o: SimulatorOptions) {
  const s = await startSimulator(o)
  own.push(s)
  return { s, client: simClient(s, s.issueToken()) }
}

// ---- requests ----
type Client = ReturnType<typeof simClient>
const dp = (s: Simulator, path: string) => s.dataPrepBase + path
const cat = (s: Simulator, path: string) => s.catalogBase + path
const defaultDatasetId = (s: Simulator, sandbox = 'dev') => {
  const id = s.datasets(sandbox).find((d) => d.name === DEFAULT_DATASET.name)?.id
  if (!id) throw new Error('no default dataset')
  return id
}

const sourceBody = (baseConnectionId: string, over: Record<string, unknown> = {}) => ({
  name: 'orders source',
  baseConnectionId,
  data: { format: 'tabular' },
  params: { tableName: 'public.orders' },
  connectionSpec: PG,
  ...over
})
const targetBody = (dataSetId: string, over: Record<string, unknown> = {}) => ({
  name: 'orders target',
  data: { schema: { id: ORDERS_SCHEMA, version: XDM_FULL } },
  params: { dataSetId },
  connectionSpec: LAKE,
  ...over
})
const mappingBody = (schemaId: string = ORDERS_SCHEMA, over: Record<string, unknown> = {}) => ({
  outputSchema: { schemaRef: { id: schemaId, contentType: XDM_FULL } },
  mappings: [
    { sourceType: 'ATTRIBUTE', source: 'id', destination: '_id' },
    { sourceType: 'EXPRESSION', source: 'upper(name)', destination: 'person.name.fullName' }
  ],
  ...over
})
interface Parts {
  base: string
  source: string
  target: string
  dataset: string
  mapping: string
}
const flowBody = (p: Parts, over: Record<string, unknown> = {}) => ({
  name: 'orders',
  description: 'orders into the lake',
  flowSpec: FLOW_SPEC,
  sourceConnectionIds: [p.source],
  targetConnectionIds: [p.target],
  transformations: [
    {
      name: 'Copy',
      params: {
        deltaColumn: { name: 'updated_at', dateFormat: 'yyyy-MM-dd HH:mm:ss', timezone: 'UTC' }
      }
    },
    { name: 'Mapping', params: { mappingId: p.mapping, mappingVersion: 0 } }
  ],
  scheduleParams: { startTime: 1_900_000_000, frequency: 'day', interval: 1, backfill: true },
  ...over
})

/** A base connection, a source and a target connection and a mapping set, all in `dev`. */
async function parts(s: Simulator = sim, client: Client = c): Promise<Parts> {
  const base = idOf(await client.create('pg'))
  const dataset = defaultDatasetId(s)
  const source = idOf(await client.call('POST', '/sourceConnections', { body: sourceBody(base) }))
  const target = idOf(
    await client.call('POST', '/targetConnections', { body: targetBody(dataset) })
  )
  const mapping = idOf(await client.call('POST', dp(s, '/mappingSets'), { body: mappingBody() }))
  return { base, source, target, dataset, mapping }
}
async function flow(p: Parts, over: Record<string, unknown> = {}, client: Client = c) {
  return idOf(await client.call('POST', '/flows', { body: flowBody(p, over) }))
}
async function read<T extends ListedItem>(path: string, o: CallOptions = {}, client: Client = c) {
  const r = await client.call('GET', path, o)
  return itemsOf(r)[0] as T
}
const patch = (path: string, etag: string, ops: unknown[], client: Client = c) =>
  client.call('PATCH', path, { body: ops, headers: { 'if-match': etag } })
const names = async (path: string) => itemsOf(await c.call('GET', path)).map((i) => i.name)

describe('source connections', () => {
  it('creates with 201, Location, id and etag; reads one in the list envelope', async () => {
    const base = idOf(await c.create('pg'))
    const r = await c.call('POST', '/sourceConnections', {
      body: sourceBody(base, {
        description: 'd',
        params: { tableName: 'public.orders', columns: [{ name: 'id', type: 'integer' }] }
      })
    })
    expect(r.status).toBe(201)
    const id = idOf(r)
    expect(r.json).toEqual({ id, etag: expect.stringMatching(/^"[0-9a-f-]+"$/) })
    expect(r.headers.get('location')).toBe(`${sim.flowBase}/sourceConnections/${id}`)
    const got = await c.call('GET', `/sourceConnections/${id}`)
    expect(got.json).toEqual({ items: [expect.any(Object)] })
    expect(itemsOf(got)[0]).toMatchObject({
      id,
      name: 'orders source',
      description: 'd',
      baseConnectionId: base,
      state: 'enabled',
      data: { format: 'tabular' },
      params: { tableName: 'public.orders', columns: [{ name: 'id', type: 'integer' }] },
      connectionSpec: PG,
      inheritedAttributes: { baseConnection: { id: base, connectionSpec: PG } },
      etag: (r.json as { etag: string }).etag
    })
    expect(sim.objects('sourceConnections', 'dev')).toMatchObject([{ id, baseConnectionId: base }])
  })

  it('refuses an unknown base connection, another spec, a table explore does not list, a non-tabular format', async () => {
    const base = idOf(await c.create('pg'))
    const prodBase = idOf(await c.create('pg', { sandbox: 'prod' }))
    const cases: Array<[Record<string, unknown>, ReturnType<typeof refused>]> = [
      [sourceBody('nope'), refused('FLOW-1439-400', 'baseConnectionId')],
      // A base connection of another sandbox is not there for this one.
      [sourceBody(prodBase), refused('FLOW-1439-400', prodBase)],
      [sourceBody(base, { connectionSpec: LAKE }), refused('FLOW-1413-400', DATA_LAKE_SPEC_ID)],
      [
        sourceBody(base, { params: { tableName: 'public.missing' } }),
        refused('FLOW-1400-400', 'params.tableName')
      ],
      [sourceBody(base, { params: {} }), refused('FLOW-1400-400', 'params.tableName')],
      [sourceBody(base, { data: { format: 'parquet' } }), refused('FLOW-1400-400', 'data.format')],
      [sourceBody(base, { name: '' }), refused('FLOW-1400-400', 'name')]
    ]
    for (const [body, expected] of cases)
      expect(err(await c.call('POST', '/sourceConnections', { body }))).toEqual(expected)
    expect(sim.objects('sourceConnections')).toEqual([])
  })

  it('filters by id, name, description, connectionSpec.id, baseConnectionId, params.tableName and state', async () => {
    const a = idOf(await c.create('a'))
    const b = idOf(await c.create('b'))
    const one = idOf(
      await c.call('POST', '/sourceConnections', { body: sourceBody(a, { description: 'x' }) })
    )
    const two = idOf(
      await c.call('POST', '/sourceConnections', {
        body: sourceBody(b, { name: 'other', params: { tableName: 'public.customers' } })
      })
    )
    sim.setState(two, 'disabled')
    const ids = async (filter: string) =>
      itemsOf(await c.call('GET', `/sourceConnections?property=${filter}`)).map((i) => i.id)
    expect(await ids(`id==${two}`)).toEqual([two])
    expect(await ids('name=="orders source"')).toEqual([one])
    expect(await ids('description==x')).toEqual([one])
    expect(await ids(`connectionSpec.id==${POSTGRES_SPEC_ID}`)).toEqual([one, two])
    expect(await ids(`baseConnectionId==${b}`)).toEqual([two])
    expect(await ids('params.tableName==public.orders')).toEqual([one])
    expect(await ids('state==disabled')).toEqual([two])
    expect(err(await c.call('GET', '/sourceConnections?property=auth==x')).code).toBe(
      'FLOW-1449-400'
    )
  })

  it('PATCH needs a matching If-Match, changes params and checks them again; DELETE answers 204', async () => {
    const base = idOf(await c.create('pg'))
    const id = idOf(await c.call('POST', '/sourceConnections', { body: sourceBody(base) }))
    const path = `/sourceConnections/${id}`
    const { etag } = await read(path)
    const table = [{ op: 'replace', path: '/params/tableName', value: 'public.customers' }]
    expect(err(await c.call('PATCH', path, { body: table })).code).toBe('FLOW-1403-400')
    expect(err(await patch(path, '"stale"', table)).code).toBe('FLOW-1404-412')
    expect(
      err(await patch(path, etag, [{ op: 'replace', path: '/params/tableName', value: 'x.y' }]))
    ).toEqual(refused('FLOW-1400-400', 'params.tableName'))
    expect(
      err(await patch(path, etag, [{ op: 'replace', path: '/baseConnectionId', value: base }]))
    ).toEqual(refused('FLOW-1455-400', 'Unsupported path'))
    expect(
      err(await patch(path, etag, [{ op: 'replace', path: '/connectionSpec/id', value: 'x' }])).code
    ).toBe('FLOW-1414-400')
    const ok = await patch(path, etag, table)
    expect(ok.status).toBe(200)
    const after = await read<ListedItem & { params: unknown }>(path)
    expect(after.params).toEqual({ tableName: 'public.customers' })
    expect(after.etag).not.toBe(etag)
    expect((await c.call('DELETE', path)).status).toBe(204)
    expect(err(await c.call('GET', path)).code).toBe('FLOW-1101-404')
  })
})

describe('target connections', () => {
  it('creates against a Catalog dataset and reads data.schema.id back; name is optional', async () => {
    const dataset = defaultDatasetId(sim)
    const r = await c.call('POST', '/targetConnections', {
      body: { ...targetBody(dataset), name: undefined }
    })
    expect(r.status).toBe(201)
    const item = await read(`/targetConnections/${idOf(r)}`)
    expect(item).toMatchObject({
      data: { schema: { id: ORDERS_SCHEMA, version: XDM_FULL } },
      params: { dataSetId: dataset },
      connectionSpec: LAKE,
      state: 'enabled'
    })
    expect(Object.keys(item)).not.toContain('name')
  })

  it('refuses an unknown dataset (1439), a schema that is not the dataset’s (1425), another spec (1413)', async () => {
    const dataset = defaultDatasetId(sim)
    const post = (body: unknown) => c.call('POST', '/targetConnections', { body })
    expect(err(await post(targetBody('5f0c0000000000000000dead')))).toEqual(
      refused('FLOW-1439-400', 'params.dataSetId')
    )
    const prodDataset = defaultDatasetId(sim, 'prod')
    expect(err(await post(targetBody(prodDataset)))).toEqual(refused('FLOW-1439-400', prodDataset))
    expect(
      err(
        await post(
          targetBody(dataset, { data: { schema: { id: OTHER_SCHEMA, version: XDM_FULL } } })
        )
      )
    ).toEqual(
      refused(
        'FLOW-1425-400',
        'Schema with same id and version must be used in both mapping and target dataset'
      )
    )
    expect(err(await post(targetBody(dataset, { connectionSpec: PG }))).code).toBe('FLOW-1413-400')
    expect(err(await post(targetBody(dataset, { data: {} })))).toEqual(
      refused('FLOW-1400-400', 'data.schema.id')
    )
    expect(sim.objects('targetConnections')).toEqual([])
  })

  it('filters by id, name, connectionSpec.id, params.dataSetId and state', async () => {
    const dataset = defaultDatasetId(sim)
    const other = sim.seedDataset('dev', { name: 'other', schemaId: OTHER_SCHEMA })
    const one = idOf(await c.call('POST', '/targetConnections', { body: targetBody(dataset) }))
    const two = idOf(
      await c.call('POST', '/targetConnections', {
        body: targetBody(other, {
          name: 'second',
          data: { schema: { id: OTHER_SCHEMA, version: '1.0' } }
        })
      })
    )
    sim.setState(one, 'disabled')
    const ids = async (filter: string) =>
      itemsOf(await c.call('GET', `/targetConnections?property=${filter}`)).map((i) => i.id)
    expect(await ids(`id==${one}`)).toEqual([one])
    expect(await ids('name==second')).toEqual([two])
    expect(await ids(`connectionSpec.id==${DATA_LAKE_SPEC_ID}`)).toEqual([one, two])
    expect(await ids(`params.dataSetId==${other}`)).toEqual([two])
    expect(await ids('state==enabled')).toEqual([two])
  })

  it("targetSchemaKey 'schemaId' reads the schema id back as data.schema.schemaId", async () => {
    const id = idOf(
      await c.call('POST', '/targetConnections', { body: targetBody(defaultDatasetId(sim)) })
    )
    sim.configure({ targetSchemaKey: 'schemaId' })
    const item = await read<ListedItem & { data: unknown }>(`/targetConnections/${id}`)
    expect(item.data).toEqual({ schema: { schemaId: ORDERS_SCHEMA, version: XDM_FULL } })
    expect(sim.objects('targetConnections')[0]?.data.schema.id).toBe(ORDERS_SCHEMA)
  })

  it('PATCH checks the dataset and schema again', async () => {
    const id = idOf(
      await c.call('POST', '/targetConnections', { body: targetBody(defaultDatasetId(sim)) })
    )
    const path = `/targetConnections/${id}`
    const { etag } = await read(path)
    const other = sim.seedDataset('dev', { name: 'other', schemaId: OTHER_SCHEMA })
    const move = [{ op: 'replace', path: '/params/dataSetId', value: other }]
    expect(err(await patch(path, etag, move)).code).toBe('FLOW-1425-400')
    const both = [...move, { op: 'replace', path: '/data/schema/id', value: OTHER_SCHEMA }]
    expect((await patch(path, etag, both)).status).toBe(200)
  })
})

describe('dataflows: create', () => {
  it('creates enabled with 201, Location, id and etag; reads it back with inheritedAttributes and no run yet', async () => {
    const p = await parts()
    const r = await c.call('POST', '/flows', { body: flowBody(p) })
    expect(r.status).toBe(201)
    const id = idOf(r)
    expect(r.headers.get('location')).toBe(`${sim.flowBase}/flows/${id}`)
    const got = await c.call('GET', `/flows/${id}`)
    expect(got.json).toEqual({ items: [expect.any(Object)] })
    const item = itemsOf(got)[0] as FlowRead
    expect(item).toMatchObject({
      id,
      name: 'orders',
      description: 'orders into the lake',
      flowSpec: FLOW_SPEC,
      state: 'enabled',
      etag: (r.json as { etag: string }).etag,
      sourceConnectionIds: [p.source],
      targetConnectionIds: [p.target],
      inheritedAttributes: {
        sourceConnections: [
          { id: p.source, connectionSpec: PG, baseConnection: { id: p.base, connectionSpec: PG } }
        ],
        targetConnections: [{ id: p.target, connectionSpec: LAKE }]
      },
      // D3's GET: every schedule value and the mapping version as strings.
      scheduleParams: {
        startTime: '1900000000',
        frequency: 'day',
        interval: '1',
        backfill: 'true'
      },
      transformations: [
        { name: 'Copy', params: { deltaColumn: { name: 'updated_at' } } },
        { name: 'Mapping', params: { mappingId: p.mapping, mappingVersion: '0' } }
      ]
    })
    expect(Object.keys(item)).not.toContain('lastRunDetails')
    expect(sim.objects('flows', 'dev')).toMatchObject([
      {
        id,
        state: 'enabled',
        scheduleParams: { startTime: 1_900_000_000, interval: 1, backfill: true }
      }
    ])
  })

  it('accepts schedule values and mappingVersion as numbers, booleans or strings; scheduleParamsAs spec-types reads them typed', async () => {
    const p = await parts()
    const typed = await flow(p)
    const strings = await flow(p, {
      transformations: [
        { name: 'Copy', params: { deltaColumn: { name: 'updated_at' } } },
        { name: 'Mapping', params: { mappingId: p.mapping, mappingVersion: '0' } }
      ],
      scheduleParams: {
        startTime: '1900000000',
        frequency: 'minute',
        interval: '15',
        backfill: 'false'
      }
    })
    const stored = sim.objects('flows', 'dev')
    expect(stored.map((f) => f.scheduleParams)).toEqual([
      { startTime: 1_900_000_000, frequency: 'day', interval: 1, backfill: true },
      { startTime: 1_900_000_000, frequency: 'minute', interval: 15, backfill: false }
    ])
    expect(stored.map((f) => f.transformations[1]?.params.mappingVersion)).toEqual([0, 0])
    sim.configure({ scheduleParamsAs: 'spec-types' })
    expect((await read<FlowRead>(`/flows/${strings}`)).scheduleParams).toEqual({
      startTime: 1_900_000_000,
      frequency: 'minute',
      interval: 15,
      backfill: false
    })
    const t = (await read<FlowRead>(`/flows/${typed}`)).transformations[1]
    expect(t?.params.mappingVersion).toBe('0')
  })

  it('refuses, each with its code and a message naming the field', async () => {
    const p = await parts()
    const other = idOf(
      await c.call('POST', dp(sim, '/mappingSets'), { body: mappingBody(OTHER_SCHEMA) })
    )
    const copy = { name: 'Copy', params: { deltaColumn: { name: 'updated_at' } } }
    const mapping = (mappingId: string, mappingVersion: unknown) => ({
      name: 'Mapping',
      params: { mappingId, mappingVersion }
    })
    const schedule = (s: Record<string, unknown>) => ({
      scheduleParams: { startTime: 1_900_000_000, ...s }
    })
    const cases: Array<[Record<string, unknown>, ReturnType<typeof refused>]> = [
      [{ state: 'enabled' }, refused('FLOW-1410-400', 'State is not allowed')],
      [{ flowSpec: { id: 'nope', version: '1.0' } }, refused('FLOW-1413-400', 'flow spec')],
      [{ name: undefined }, refused('FLOW-1400-400', 'name')],
      [{ sourceConnectionIds: ['nope'] }, refused('FLOW-1439-400', 'sourceConnectionIds')],
      [{ sourceConnectionIds: [] }, refused('FLOW-1400-400', 'sourceConnectionIds')],
      [{ targetConnectionIds: ['nope'] }, refused('FLOW-1439-400', 'targetConnectionIds')],
      [
        { transformations: [copy, mapping('0123456789abcdef0123456789abcdef', 0)] },
        refused('FLOW-1439-400', 'mappingId')
      ],
      [
        { transformations: [copy, mapping(p.mapping, 3)] },
        refused('FLOW-1412-400', 'Invalid Mapping Version')
      ],
      [
        { transformations: [copy, mapping(p.mapping, 'latest')] },
        refused('FLOW-1412-400', 'mappingVersion')
      ],
      [
        { transformations: [copy, mapping(other, 0)] },
        refused('FLOW-1425-400', 'Schema with same id and version')
      ],
      [
        schedule({ frequency: 'month', interval: 1 }),
        refused('FLOW-1400-400', 'scheduleParams.frequency')
      ],
      [
        schedule({ frequency: 'once', interval: 1 }),
        refused('FLOW-1400-400', 'scheduleParams.interval is not allowed with frequency once')
      ],
      [
        schedule({ frequency: 'once', backfill: true }),
        refused('FLOW-1400-400', 'scheduleParams.backfill is not allowed with frequency once')
      ],
      [
        schedule({ frequency: 'minute', interval: 14 }),
        refused('FLOW-1400-400', 'at least 15 with frequency minute')
      ],
      [
        schedule({ frequency: 'hour', interval: '0' }),
        refused('FLOW-1400-400', 'at least 1 with frequency hour')
      ],
      [
        schedule({ frequency: 'week' }),
        refused('FLOW-1400-400', 'scheduleParams.interval is required')
      ],
      [
        { scheduleParams: { startTime: 'soon', frequency: 'day', interval: 1 } },
        refused('FLOW-1400-400', 'scheduleParams.startTime')
      ],
      [
        schedule({ frequency: 'day', interval: 1, backfill: 'yes' }),
        refused('FLOW-1400-400', 'scheduleParams.backfill')
      ],
      [{ scheduleParams: undefined }, refused('FLOW-1400-400', 'scheduleParams')],
      [
        { transformations: [mapping(p.mapping, 0)] },
        refused('FLOW-1400-400', 'a Copy transformation with params.deltaColumn is required')
      ],
      [
        { transformations: [{ name: 'Copy', params: { deltaColumn: {} } }] },
        refused('FLOW-1400-400', 'transformations[0].params.deltaColumn.name')
      ],
      [
        { transformations: [copy, { name: 'Filter', params: {} }] },
        refused('FLOW-1400-400', 'transformations[1].name')
      ]
    ]
    for (const [over, expected] of cases) {
      const r = await c.call('POST', '/flows', { body: flowBody(p, over) })
      expect([JSON.stringify(over), err(r)]).toEqual([JSON.stringify(over), expected])
    }
    expect(sim.objects('flows')).toEqual([])
    // A one-off run needs no delta column, interval or backfill.
    const once = await c.call('POST', '/flows', {
      body: flowBody(p, {
        transformations: [mapping(p.mapping, 0)],
        scheduleParams: { startTime: 1_900_000_000, frequency: 'once' }
      })
    })
    expect(once.status).toBe(201)
  })

  it('filters by id, name, flowSpec.id, state and the connection id lists', async () => {
    const p = await parts()
    const second = idOf(
      await c.call('POST', '/sourceConnections', {
        body: sourceBody(p.base, { name: 'customers', params: { tableName: 'public.customers' } })
      })
    )
    const a = await flow(p)
    const b = await flow({ ...p, source: second }, { name: 'customers' })
    sim.setState(b, 'disabled')
    const ids = async (filter: string) =>
      itemsOf(await c.call('GET', `/flows?property=${filter}`)).map((i) => i.id)
    expect(await ids(`id==${b}`)).toEqual([b])
    expect(await ids('name==orders')).toEqual([a])
    expect(await ids(`flowSpec.id==${CRM_TO_AEP_FLOW_SPEC_ID}`)).toEqual([a, b])
    expect(await ids('state==disabled')).toEqual([b])
    expect(await ids(`sourceConnectionIds[]==${second}`)).toEqual([b])
    expect(await ids(`sourceConnectionIds[]==${p.source},${second}`)).toEqual([a, b])
    expect(await ids(`targetConnectionIds[]==${p.target}`)).toEqual([a, b])
    expect(await ids(`targetConnectionIds==${p.target}&property=name==customers`)).toEqual([b])
  })
})

describe('dataflows: PATCH', () => {
  it('needs a matching If-Match; changes name, description and the schedule; ops in any case', async () => {
    const id = await flow(await parts())
    const path = `/flows/${id}`
    const ops = [
      { op: 'replace', path: '/name', value: 'renamed' },
      { op: 'REPLACE', path: '/description', value: 'new words' },
      { op: 'Replace', path: '/scheduleParams/frequency', value: 'minute' },
      { op: 'replace', path: '/scheduleParams/interval', value: '30' }
    ]
    expect(err(await c.call('PATCH', path, { body: ops })).code).toBe('FLOW-1403-400')
    expect(err(await patch(path, '"stale"', ops)).code).toBe('FLOW-1404-412')
    const { etag } = await read(path)
    const r = await patch(path, etag, ops)
    expect(r.status).toBe(200)
    expect(r.json).toEqual({ id, etag: expect.any(String) })
    const after = await read<FlowRead>(path)
    expect(after).toMatchObject({
      name: 'renamed',
      description: 'new words',
      etag: (r.json as { etag: string }).etag,
      scheduleParams: { frequency: 'minute', interval: '30' }
    })
  })

  it('checks what a PATCH leaves as a POST is checked, and changes nothing when it fails', async () => {
    const p = await parts()
    const id = await flow(p)
    const path = `/flows/${id}`
    const { etag } = await read(path)
    const cases: Array<[unknown[], ReturnType<typeof refused>]> = [
      [
        [{ op: 'replace', path: '/scheduleParams/frequency', value: 'minute' }],
        refused('FLOW-1400-400', 'at least 15 with frequency minute')
      ],
      [
        [{ op: 'replace', path: '/scheduleParams/frequency', value: 'once' }],
        refused('FLOW-1400-400', 'not allowed with frequency once')
      ],
      [
        [{ op: 'replace', path: '/transformations/1/params/mappingVersion', value: 1 }],
        refused('FLOW-1412-400', 'Invalid Mapping Version')
      ],
      [
        [{ op: 'replace', path: '/transformations/0', value: { name: 'Copy', params: {} } }],
        refused('FLOW-1400-400', 'deltaColumn.name')
      ],
      [
        [{ op: 'remove', path: '/transformations/0' }],
        refused('FLOW-1400-400', 'a Copy transformation')
      ],
      [
        [{ op: 'replace', path: '/sourceConnectionIds', value: [p.source] }],
        refused('FLOW-1455-400', 'Unsupported path /sourceConnectionIds')
      ],
      [[{ op: 'replace', path: '/state', value: 'disabled' }], refused('FLOW-1455-400', '/state')],
      [
        [{ op: 'replace', path: '/flowSpec/id', value: 'x' }],
        refused('FLOW-1414-400', 'Flow spec cannot be updated')
      ],
      [[{ op: 'move', path: '/name', from: '/description' }], refused('FLOW-1434-400', 'move')]
    ]
    for (const [ops, expected] of cases) expect(err(await patch(path, etag, ops))).toEqual(expected)
    expect(sim.objects('flows')[0]).toMatchObject({ etag, scheduleParams: { frequency: 'day' } })
    // Going to once: interval and backfill removed in the same PATCH.
    const once = await patch(path, etag, [
      { op: 'replace', path: '/scheduleParams/frequency', value: 'once' },
      { op: 'remove', path: '/scheduleParams/interval' },
      { op: 'remove', path: '/scheduleParams/backfill' }
    ])
    expect(once.status).toBe(200)
  })

  it('points the Mapping transformation at a new version: whole, or below params', async () => {
    const p = await parts()
    const id = await flow(p)
    const path = `/flows/${id}`
    const put = await c.call('PUT', dp(sim, `/mappingSets/${p.mapping}`), { body: mappingBody() })
    expect((put.json as MappingRead).version).toBe(1)
    let { etag } = await read(path)
    // D3's form, with Copy at index 0 here: the index must be the Mapping's.
    const whole = await patch(path, etag, [
      {
        op: 'replace',
        path: '/transformations/1',
        value: { name: 'Mapping', params: { mappingId: p.mapping, mappingVersion: 1 } }
      }
    ])
    expect(whole.status).toBe(200)
    expect((await read<FlowRead>(path)).transformations[1]?.params.mappingVersion).toBe('1')
    await c.call('PUT', dp(sim, `/mappingSets/${p.mapping}`), { body: mappingBody() })
    etag = (await read(path)).etag
    const below = await patch(path, etag, [
      { op: 'replace', path: '/transformations/1/params/mappingVersion', value: '2' }
    ])
    expect(below.status).toBe(200)
    expect(sim.objects('flows')[0]?.transformations[1]?.params.mappingVersion).toBe(2)
  })

  it('changes startTime only until the scheduled start has passed (D3)', async () => {
    const clock = manualClock()
    const { s, client } = await startOwn({ clock })
    const p = await parts(s, client)
    const start = T0 / 1000 + 3600
    const id = await flow(
      p,
      { scheduleParams: { startTime: start, frequency: 'hour', interval: 1 } },
      client
    )
    const path = `/flows/${id}`
    const move = (to: number) => [{ op: 'replace', path: '/scheduleParams/startTime', value: to }]
    let { etag } = await read(path, {}, client)
    expect((await patch(path, etag, move(start + 60), client)).status).toBe(200)
    clock.advance(3660 * 1000)
    etag = (await read(path, {}, client)).etag
    expect(err(await patch(path, etag, move(start + 7200), client))).toEqual(
      refused('FLOW-1455-400', 'has already occurred')
    )
    // Other changes still go through, the start time unchanged.
    const rename = [{ op: 'replace', path: '/name', value: 'later' }]
    expect((await patch(path, etag, rename, client)).status).toBe(200)
  })
})

describe('dataflows: enable, disable, delete', () => {
  it('POST /flows/{id}/action?op=disable|enable: no body, no If-Match, 200 {id, etag}; 1422 in the state it asks for', async () => {
    const id = await flow(await parts())
    const action = (query: string, headers: Record<string, string> = {}) =>
      c.call('POST', `/flows/${id}/action${query}`, {
        headers: { 'content-type': '', ...headers }
      })
    const before = await read(`/flows/${id}`)
    const off = await action('?op=disable')
    expect(off.status).toBe(200)
    expect(off.json).toEqual({ id, etag: expect.any(String) })
    expect((off.json as { etag: string }).etag).not.toBe(before.etag)
    expect((await read(`/flows/${id}`)).state).toBe('disabled')
    expect(err(await action('?op=disable'))).toEqual(
      refused('FLOW-1422-400', 'cannot be applied on the current state disabled')
    )
    // O1's upper-case op and its subOp are accepted too.
    expect((await action('?op=ENABLE&subOp=APPLY')).status).toBe(200)
    expect((await read(`/flows/${id}`)).state).toBe('enabled')
    expect(err(await action('?op=Enable')).code).toBe('FLOW-1422-400')
    expect(err(await action('?op=publish')).code).toBe('FLOW-1434-400')
    expect(err(await action('')).code).toBe('FLOW-2119-400')
    expect(err(await action('?op=disable&subOp=PROGRESS')).code).toBe('FLOW-1436-400')
    expect(err(await action('?op=disable', { 'if-match': '"stale"' })).code).toBe('FLOW-1404-412')
    expect(err(await c.call('POST', '/flows/nope/action?op=disable')).code).toBe('FLOW-1101-404')
    expect(sim.objects('flows')[0]?.state).toBe('enabled')
  })

  it('DELETE answers 204; the connections it used can then go, and the base connection is free again', async () => {
    const p = await parts()
    const id = await flow(p)
    expect(err(await c.call('DELETE', `/connections/${p.base}`))).toEqual(
      refused('FLOW-1418-400', p.base)
    )
    const refusal = await c.call('DELETE', `/sourceConnections/${p.source}`)
    expect(err(refusal)).toEqual(
      refused('FLOW-1447-400', `Found active flows containing id ${p.source}`)
    )
    expect((refusal.json as ErrorBody).report?.flowIds).toEqual([id])
    expect(err(await c.call('DELETE', `/targetConnections/${p.target}`)).code).toBe('FLOW-1447-400')
    expect((await c.call('DELETE', `/flows/${id}`)).status).toBe(204)
    expect(err(await c.call('GET', `/flows/${id}`)).code).toBe('FLOW-1101-404')
    expect((await c.call('DELETE', `/sourceConnections/${p.source}`)).status).toBe(204)
    expect((await c.call('DELETE', `/targetConnections/${p.target}`)).status).toBe(204)
    expect((await c.call('DELETE', `/connections/${p.base}`)).status).toBe(204)
  })

  it('a base connection is in use only while a source connection names it and a dataflow uses that', async () => {
    const p = await parts()
    // A source connection alone does not hold its base connection.
    expect((await c.call('DELETE', `/connections/${p.base}`)).status).toBe(204)
    const base = idOf(await c.create('pg2'))
    const source = idOf(await c.call('POST', '/sourceConnections', { body: sourceBody(base) }))
    await flow({ ...p, base, source })
    expect(err(await c.call('DELETE', `/connections/${base}`)).code).toBe('FLOW-1418-400')
    // The explicit switch still works on its own.
    const other = idOf(await c.create('pg3'))
    sim.setInUse(other, true)
    expect(err(await c.call('DELETE', `/connections/${other}`)).code).toBe('FLOW-1418-400')
  })

  it("deleteInUse 'allow' deletes a source or target connection a dataflow still uses", async () => {
    const p = await parts()
    const id = await flow(p)
    sim.configure({ deleteInUse: 'allow' })
    expect((await c.call('DELETE', `/sourceConnections/${p.source}`)).status).toBe(204)
    expect((await c.call('DELETE', `/targetConnections/${p.target}`)).status).toBe(204)
    const left = await read<FlowRead>(`/flows/${id}`)
    expect(left.inheritedAttributes).toEqual({
      sourceConnections: [{ id: p.source }],
      targetConnections: [{ id: p.target }]
    })
    expect(() => sim.configure({ deleteInUse: 'never' as 'allow' })).toThrow(/deleteInUse/)
    sim.reset()
    expect(sim.objects('flows')).toEqual([])
  })
})

describe('the flow spec', () => {
  it('serves CRMToAEP by id and by name, with the PostgreSQL source and the Data Lake target', async () => {
    const byId = await c.call('GET', `/flowSpecs/${CRM_TO_AEP_FLOW_SPEC_ID}`)
    expect(byId.status).toBe(200)
    const spec = itemsOf(byId)[0]
    expect(spec).toMatchObject({
      id: CRM_TO_AEP_FLOW_SPEC_ID,
      name: 'CRMToAEP',
      sourceConnectionSpecIds: expect.arrayContaining([POSTGRES_SPEC_ID]),
      targetConnectionSpecIds: [DATA_LAKE_SPEC_ID],
      transformationSpecs: [{ name: 'Copy' }, { name: 'Mapping' }]
    })
    const byName = await c.call('GET', '/flowSpecs?property=name=="CRMToAEP"')
    expect(byName.json).toEqual(byId.json)
    expect(itemsOf(await c.call('GET', '/flowSpecs?property=name==CloudStorageToAEP'))).toEqual([])
    expect(err(await c.call('GET', '/flowSpecs/nope')).code).toBe('FLOW-1101-404')
    expect(err(await c.call('GET', '/flowSpecs?property=state==x')).code).toBe('FLOW-1449-400')
  })
})

describe('Data Prep mapping sets', () => {
  it('POST answers 200 with a 32-hex id, version 0 and epoch-ms dates; GET serves the set bare, in both vocabularies', async () => {
    const r = await c.call('POST', dp(sim, '/mappingSets'), { body: mappingBody() })
    expect(r.status).toBe(200)
    expect(r.json).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      version: 0,
      createdDate: expect.any(Number),
      modifiedDate: expect.any(Number),
      createdBy: `${sim.clientId}@AdobeID`,
      modifiedBy: `${sim.clientId}@AdobeID`
    })
    const id = idOf(r)
    const got = await c.call('GET', dp(sim, `/mappingSets/${id}`))
    expect(got.status).toBe(200)
    expect(got.json).toMatchObject({
      id,
      version: 0,
      outputSchema: { schemaRef: { id: ORDERS_SCHEMA, contentType: XDM_FULL } },
      xdmSchema: ORDERS_SCHEMA,
      mappings: [
        {
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          sourceType: 'text/x.schema-path',
          source: 'id',
          destination: '_id',
          sourceAttribute: 'id',
          destinationXdmPath: '_id'
        },
        {
          sourceType: 'text/x.aep-xl',
          source: 'upper(name)',
          destination: 'person.name.fullName'
        }
      ]
    })
    expect(Object.keys(got.json as object)).not.toContain('items')
    sim.configure({ mappingSourceTypes: 'as-sent' })
    const asSent = (await c.call('GET', dp(sim, `/mappingSets/${id}`))).json as MappingRead
    expect(asSent.mappings.map((m) => m.sourceType)).toEqual(['ATTRIBUTE', 'EXPRESSION'])
  })

  it("takes the tutorials' dialect too (xdmSchema, sourceAttribute, destinationXdmPath), and media types as sourceType", async () => {
    const body = {
      version: 0,
      xdmSchema: ORDERS_SCHEMA,
      xdmVersion: '1.0',
      id: null,
      mappings: [
        { destinationXdmPath: '_id', sourceAttribute: 'id', identity: false, version: 0 },
        { sourceType: 'text/x.aep-xl', source: 'lower(name)', destination: 'person.name.fullName' }
      ]
    }
    const id = idOf(await c.call('POST', dp(sim, '/mappingSets'), { body }))
    expect(sim.mappingSets('dev')).toMatchObject([
      {
        id,
        versions: [
          {
            version: 0,
            outputSchema: { schemaRef: { id: ORDERS_SCHEMA, contentType: XDM_FULL } },
            mappings: [
              { sourceType: 'ATTRIBUTE', source: 'id', destination: '_id' },
              {
                sourceType: 'EXPRESSION',
                source: 'lower(name)',
                destination: 'person.name.fullName'
              }
            ]
          }
        ]
      }
    ])
  })

  it('refuses an empty list, an unknown sourceType, a missing schema or destination, a body that is not JSON', async () => {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      c.call('POST', dp(sim, '/mappingSets'), { body, headers })
    const bad = (fragment: string) => ({
      status: 400,
      code: 'DATAPREP-1400-400',
      message: expect.stringContaining(fragment)
    })
    expect(err(await post(mappingBody(ORDERS_SCHEMA, { mappings: [] })))).toEqual(
      bad('mappings must be a non-empty list')
    )
    expect(
      err(
        await post(
          mappingBody(ORDERS_SCHEMA, {
            mappings: [{ sourceType: 'COLUMN', source: 'a', destination: 'b' }]
          })
        )
      )
    ).toEqual(bad('mappings[0].sourceType must be one of ATTRIBUTE, EXPRESSION, STATIC'))
    expect(err(await post({ mappings: mappingBody().mappings }))).toEqual(
      bad('outputSchema.schemaRef.id')
    )
    expect(
      err(
        await post(
          mappingBody(ORDERS_SCHEMA, { mappings: [{ sourceType: 'ATTRIBUTE', source: 'a' }] })
        )
      )
    ).toEqual(bad('mappings[0].destination'))
    expect(err(await post(mappingBody(), { 'content-type': 'text/plain' })).code).toBe(
      'DATAPREP-1415-415'
    )
    const notJson = await fetch(dp(sim, '/mappingSets'), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${sim.issueToken()}`,
        'x-api-key': sim.clientId,
        'x-gw-ims-org-id': sim.orgId,
        'x-sandbox-name': 'dev',
        'content-type': 'application/json'
      },
      body: '{'
    })
    expect(notJson.status).toBe(400)
    expect(sim.mappingSets()).toEqual([])
  })

  it('PUT makes the next version with new mapping ids; GET serves the latest, ?version=N any', async () => {
    const id = idOf(await c.call('POST', dp(sim, '/mappingSets'), { body: mappingBody() }))
    const v0 = (await c.call('GET', dp(sim, `/mappingSets/${id}`))).json as MappingRead
    const changed = mappingBody(ORDERS_SCHEMA, {
      name: 'orders mapping',
      mappings: [{ sourceType: 'ATTRIBUTE', source: 'order_id', destination: '_id' }]
    })
    const put = await c.call('PUT', dp(sim, `/mappingSets/${id}`), { body: changed })
    expect(put.status).toBe(200)
    const v1 = put.json as MappingRead
    expect(v1).toMatchObject({
      id,
      version: 1,
      name: 'orders mapping',
      mappings: [{ source: 'order_id' }]
    })
    expect(v1.mappings[0]?.id).not.toBe(v0.mappings[0]?.id)
    expect(((await c.call('GET', dp(sim, `/mappingSets/${id}`))).json as MappingRead).version).toBe(
      1
    )
    const old = (await c.call('GET', dp(sim, `/mappingSets/${id}?version=0`))).json as MappingRead
    expect(old).toMatchObject({
      version: 0,
      mappings: [{ source: 'id' }, { source: 'upper(name)' }]
    })
    expect(err(await c.call('GET', dp(sim, `/mappingSets/${id}?version=7`))).code).toBe(
      'DATAPREP-1404-404'
    )
    expect(err(await c.call('GET', dp(sim, `/mappingSets/${id}?version=x`))).code).toBe(
      'DATAPREP-1400-400'
    )
    expect(sim.mappingSets('dev')[0]?.versions.map((v) => v.version)).toEqual([0, 1])
    const wrongId = await c.call('PUT', dp(sim, `/mappingSets/${id}`), {
      body: { ...changed, id: 'other' }
    })
    expect(err(wrongId).code).toBe('DATAPREP-1400-400')
    expect(err(await c.call('PUT', dp(sim, '/mappingSets/nope'), { body: changed })).code).toBe(
      'DATAPREP-1404-404'
    )
  })

  it('lists with limit and start (both required), name= exact, newest first, a next link while more are left', async () => {
    const list = (query: string) => c.call('GET', dp(sim, `/mappingSets${query}`))
    expect(err(await list('')).code).toBe('DATAPREP-1400-400')
    expect(err(await list('?limit=10')).message).toContain('limit and start are required')
    expect(err(await list('?start=0')).message).toContain('limit and start are required')
    const ids: string[] = []
    for (const name of ['a', 'b', 'a b']) {
      const body = mappingBody(ORDERS_SCHEMA, { name })
      ids.push(idOf(await c.call('POST', dp(sim, '/mappingSets'), { body })))
    }
    interface Page {
      data: MappingRead[]
      _page: { count: number; limit: number }
      _links: { next?: { href: string } }
    }
    const first = (await list('?limit=2&start=0')).json as Page
    expect(first.data.map((s) => s.id)).toEqual([ids[2], ids[1]])
    expect(first._page).toEqual({ count: 2, limit: 2 })
    expect(first._links.next?.href).toBe('/mappingSets?limit=2&start=2')
    const second = (await list('?limit=2&start=2')).json as Page
    expect([second.data.map((s) => s.id), second._links]).toEqual([[ids[0]], {}])
    const named = (await list('?limit=10&start=0&name=a')).json as Page
    expect(named.data.map((s) => s.id)).toEqual([ids[0]])
    const oldest = (await list('?limit=10&start=0&orderBy=%2BcreatedDate')).json as Page
    expect(oldest.data.map((s) => s.id)).toEqual(ids)
  })

  it('has no DELETE (405 naming what is allowed); 404 for an unknown set; sandboxes are separate', async () => {
    const id = idOf(await c.call('POST', dp(sim, '/mappingSets'), { body: mappingBody() }))
    const del = await c.call('DELETE', dp(sim, `/mappingSets/${id}`))
    expect(err(del).code).toBe('DATAPREP-1405-405')
    expect(del.headers.get('allow')).toBe('GET, PUT')
    expect(sim.mappingSets('dev')).toHaveLength(1)
    expect(err(await c.call('GET', dp(sim, '/mappingSets/nope'))).code).toBe('DATAPREP-1404-404')
    expect(
      err(await c.call('GET', dp(sim, `/mappingSets/${id}`), { sandbox: 'prod' })).status
    ).toBe(404)
  })

  it('validates a body as a POST would, storing nothing', async () => {
    const ok = await c.call('POST', dp(sim, '/mappingSets/validate'), { body: mappingBody() })
    expect(ok.json).toEqual({
      validationResponse: [
        { status: 'SUCCESS', errors: null },
        { status: 'SUCCESS', errors: null }
      ]
    })
    const bad = await c.call('POST', dp(sim, '/mappingSets/validate'), { body: { mappings: [] } })
    expect(bad.status).toBe(400)
    expect(sim.mappingSets()).toEqual([])
  })
})

describe('Catalog datasets', () => {
  it('seeds the default dataset in every sandbox, again after reset', () => {
    for (const sandbox of sim.sandboxes)
      expect(sim.datasets(sandbox)).toEqual([
        expect.objectContaining({
          id: expect.stringMatching(/^[0-9a-f]{24}$/),
          name: DEFAULT_DATASET.name,
          schemaRef: { id: ORDERS_SCHEMA, contentType: 'application/vnd.adobe.xed+json;version=1' }
        })
      ])
    const before = defaultDatasetId(sim)
    sim.seedDataset('dev', { name: 'extra', schemaId: OTHER_SCHEMA })
    sim.reset()
    expect(sim.datasets('dev').map((d) => d.name)).toEqual([DEFAULT_DATASET.name])
    expect(defaultDatasetId(sim)).not.toBe(before)
  })

  it('GET /dataSets/{id} answers an object keyed by the id, cut to ?properties=; 404 when unknown', async () => {
    const id = defaultDatasetId(sim)
    const full = await c.call('GET', cat(sim, `/dataSets/${id}`))
    expect(full.status).toBe(200)
    expect(full.json).toEqual({
      [id]: expect.objectContaining({
        name: DEFAULT_DATASET.name,
        schemaRef: { id: ORDERS_SCHEMA, contentType: 'application/vnd.adobe.xed+json;version=1' },
        imsOrg: sim.orgId
      })
    })
    const cut = await c.call('GET', cat(sim, `/dataSets/${id}?properties=schemaRef,name`))
    expect(cut.json).toEqual({
      [id]: {
        name: DEFAULT_DATASET.name,
        schemaRef: { id: ORDERS_SCHEMA, contentType: 'application/vnd.adobe.xed+json;version=1' }
      }
    })
    expect(err(await c.call('GET', cat(sim, '/dataSets/5f0c0000000000000000dead')))).toEqual({
      status: 404,
      code: 'CATALOG-1404-404',
      message: 'Dataset 5f0c0000000000000000dead not found'
    })
    expect(err(await c.call('GET', cat(sim, `/dataSets/${id}`), { sandbox: 'prod' })).status).toBe(
      404
    )
  })

  it('GET /dataSets?name= answers an object keyed by the ids of the datasets of that name', async () => {
    const twin = sim.seedDataset('dev', { name: DEFAULT_DATASET.name, schemaId: OTHER_SCHEMA })
    sim.seedDataset('dev', { name: 'elsewhere', schemaId: OTHER_SCHEMA })
    const r = await c.call(
      'GET',
      cat(sim, `/dataSets?name=${DEFAULT_DATASET.name}&properties=name`)
    )
    expect(r.json).toEqual({
      [defaultDatasetId(sim)]: { name: DEFAULT_DATASET.name },
      [twin]: { name: DEFAULT_DATASET.name }
    })
    expect((await c.call('GET', cat(sim, '/dataSets?name=none'))).json).toEqual({})
    expect(
      Object.keys((await c.call('GET', cat(sim, '/dataSets?limit=1'))).json as object)
    ).toHaveLength(1)
    expect(err(await c.call('GET', cat(sim, '/dataSets?limit=101'))).code).toBe('CATALOG-1400-400')
  })

  it('defaultDataset false starts without one', async () => {
    const { s } = await startOwn({ defaultDataset: false })
    expect(s.datasets()).toEqual([])
  })
})

describe('gateway, recording, faults', () => {
  it('Data Prep and Catalog share the gateway checks and record their service', async () => {
    const noToken = await c.call('GET', cat(sim, '/dataSets'), { headers: { authorization: '' } })
    expect([noToken.status, noToken.json]).toEqual([
      403,
      { error_code: '403010', message: 'Oauth token is missing.' }
    ])
    const noSandbox = await c.call('GET', dp(sim, '/mappingSets?limit=1&start=0'), {
      headers: { 'x-sandbox-name': '' }
    })
    expect(err(noSandbox).code).toBe('DATAPREP-2105-400')
    expect(err(await c.call('GET', cat(sim, '/dataSets'), { sandbox: 'qa' })).code).toBe(
      'CATALOG-2100-404'
    )
    expect(sim.requests.map((r) => r.service)).toEqual(['catalog', 'dataprep', 'catalog'])
  })

  it('faults match the new services and paths like any other', async () => {
    sim.inject({ match: { service: 'dataprep' }, action: { type: 'status', status: 503 } })
    sim.inject({
      match: { method: 'POST', path: /\/flows\/[^/]+\/action$/ },
      action: { type: 'reset' }
    })
    const r = await c.call('POST', dp(sim, '/mappingSets'), { body: mappingBody() })
    expect(err(r)).toMatchObject({ status: 503, code: 'DATAPREP-9000-503' })
    expect(sim.mappingSets()).toEqual([])
    const id = await flow(await parts())
    await expect(c.call('POST', `/flows/${id}/action?op=disable`)).rejects.toThrow()
    expect(sim.objects('flows')[0]?.state).toBe('enabled')
  })
})

describe('seeds', () => {
  it('seed an orphan source connection, a target, a mapping set and a flow that holds them', async () => {
    const base = sim.seedConnection('dev', { name: 'pg' })
    const orphan = sim.seedSourceConnection('dev', {
      name: 'orders source',
      baseConnectionId: base.id
    })
    expect(orphan).toMatchObject({ params: { tableName: 'public.orders' }, connectionSpec: PG })
    expect(await names(`/sourceConnections?property=baseConnectionId==${base.id}`)).toEqual([
      'orders source'
    ])
    const target = sim.seedTargetConnection('dev', { dataSetId: defaultDatasetId(sim) })
    expect(target.data.schema.id).toBe(ORDERS_SCHEMA)
    expect(() => sim.seedTargetConnection('dev', { dataSetId: 'nope' })).toThrow(/dataset/)
    const set = sim.seedMappingSet('dev', {
      schemaId: ORDERS_SCHEMA,
      mappings: [{ source: 'id', destination: '_id' }]
    })
    expect(
      ((await c.call('GET', dp(sim, `/mappingSets/${set.id}`))).json as MappingRead).version
    ).toBe(0)
    expect(() => sim.seedMappingSet('dev', { schemaId: ORDERS_SCHEMA, mappings: [] })).toThrow(
      /non-empty/
    )
    const seeded = sim.seedFlow('dev', {
      name: 'orders',
      sourceConnectionIds: [orphan.id],
      targetConnectionIds: [target.id],
      state: 'disabled'
    })
    expect(seeded).toMatchObject({
      state: 'disabled',
      scheduleParams: { frequency: 'day', interval: 1 }
    })
    expect(err(await c.call('DELETE', `/connections/${base.id}`)).code).toBe('FLOW-1418-400')
    expect(() =>
      sim.seedFlow('qa', { name: 'x', sourceConnectionIds: [], targetConnectionIds: [] })
    ).toThrow(/unknown sandbox/)
  })
})

describe('time: the new collections list with lag and date with createdAt modes', () => {
  it('listing lag: a new source connection is listed only once the lag has passed', async () => {
    const clock = manualClock()
    const { s, client } = await startOwn({ clock, listingLagMs: 1000 })
    const base = idOf(await client.create('pg'))
    const id = idOf(await client.call('POST', '/sourceConnections', { body: sourceBody(base) }))
    const listed = async () =>
      itemsOf(await client.call('GET', '/sourceConnections?property=name=="orders source"')).map(
        (i) => i.id
      )
    expect(await listed()).toEqual([])
    expect((await read(`/sourceConnections/${id}`, {}, client)).id).toBe(id)
    clock.advance(1000)
    expect(await listed()).toEqual([id])
    expect(s.objects('sourceConnections')[0]?.committedAt).toBe(T0)
  })

  it("createdAt mode 'iso' dates dataflows and target connections as ISO 8601 strings", async () => {
    const clock = manualClock()
    const { s, client } = await startOwn({ clock, createdAtMode: 'iso' })
    const p = await parts(s, client)
    const id = await flow(p, {}, client)
    const iso = (ms: number | undefined) => new Date(ms ?? NaN).toISOString()
    expect((await read(`/flows/${id}`, {}, client)).createdAt).toBe(
      iso(s.objects('flows')[0]?.createdAt)
    )
    expect((await read(`/targetConnections/${p.target}`, {}, client)).createdAt).toBe(
      iso(s.objects('targetConnections')[0]?.createdAt)
    )
    expect(iso(s.objects('flows')[0]?.createdAt)).toMatch(/^2026-01-01T00:00:00\.\d{3}Z$/)
  })
})

describe('a whole lifecycle', () => {
  it('base -> source -> target -> mapping set -> flow -> schedule -> new mapping version -> disable/enable -> delete', async () => {
    const statuses: Array<[string, number]> = []
    const step = async (label: string, r: Promise<Reply>) => {
      const reply = await r
      statuses.push([label, reply.status])
      return reply
    }
    const base = idOf(await step('create base', c.create('orders-db')))
    const tables = await step(
      'explore',
      c.call('GET', `/connections/${base}/explore?objectType=root`)
    )
    const table = (tables.json as Array<{ path: string }>)[1]?.path ?? ''
    const found = await step(
      'find dataset',
      c.call('GET', cat(sim, `/dataSets?name=${DEFAULT_DATASET.name}`))
    )
    const dataset = Object.keys(found.json as object)[0] ?? ''
    const ds = await step(
      'read dataset',
      c.call('GET', cat(sim, `/dataSets/${dataset}?properties=schemaRef`))
    )
    const schemaRef = (ds.json as Record<string, { schemaRef: { id: string } }>)[dataset]?.schemaRef
    const source = idOf(
      await step(
        'create source',
        c.call('POST', '/sourceConnections', {
          body: sourceBody(base, { params: { tableName: table } })
        })
      )
    )
    const target = idOf(
      await step(
        'create target',
        c.call('POST', '/targetConnections', {
          body: targetBody(dataset, { data: { schema: { id: schemaRef?.id, version: XDM_FULL } } })
        })
      )
    )
    const mapping = idOf(
      await step(
        'create mapping set',
        c.call('POST', dp(sim, '/mappingSets'), { body: mappingBody(schemaRef?.id) })
      )
    )
    const id = idOf(
      await step(
        'create flow',
        c.call('POST', '/flows', { body: flowBody({ base, source, target, dataset, mapping }) })
      )
    )
    let etag = (await read(`/flows/${id}`)).etag
    const schedule = await step(
      'patch schedule',
      patch(`/flows/${id}`, etag, [
        { op: 'replace', path: '/scheduleParams/frequency', value: 'hour' },
        { op: 'replace', path: '/scheduleParams/interval', value: 6 }
      ])
    )
    etag = (schedule.json as { etag: string }).etag
    const put = await step(
      'put mapping set',
      c.call('PUT', dp(sim, `/mappingSets/${mapping}`), {
        body: mappingBody(schemaRef?.id, {
          mappings: [{ sourceType: 'ATTRIBUTE', source: 'order_id', destination: '_id' }]
        })
      })
    )
    const flowRead = await read<FlowRead>(`/flows/${id}`)
    const index = flowRead.transformations.findIndex((t) => t.name === 'Mapping')
    const repoint = await step(
      'patch mapping version',
      patch(`/flows/${id}`, etag, [
        {
          op: 'replace',
          path: `/transformations/${index}`,
          value: {
            name: 'Mapping',
            params: { mappingId: mapping, mappingVersion: (put.json as MappingRead).version }
          }
        }
      ])
    )
    expect(repoint.status).toBe(200)
    await step('disable', c.call('POST', `/flows/${id}/action?op=disable`))
    await step('enable', c.call('POST', `/flows/${id}/action?op=enable`))
    await step('delete flow', c.call('DELETE', `/flows/${id}`))
    await step('read deleted flow', c.call('GET', `/flows/${id}`))
    await step('delete source', c.call('DELETE', `/sourceConnections/${source}`))
    await step('delete target', c.call('DELETE', `/targetConnections/${target}`))
    await step('delete mapping set', c.call('DELETE', dp(sim, `/mappingSets/${mapping}`)))
    await step('delete base', c.call('DELETE', `/connections/${base}`))
    expect(statuses).toEqual([
      ['create base', 201],
      ['explore', 200],
      ['find dataset', 200],
      ['read dataset', 200],
      ['create source', 201],
      ['create target', 201],
      ['create mapping set', 200],
      ['create flow', 201],
      ['patch schedule', 200],
      ['put mapping set', 200],
      ['patch mapping version', 200],
      ['disable', 200],
      ['enable', 200],
      ['delete flow', 204],
      ['read deleted flow', 404],
      ['delete source', 204],
      ['delete target', 204],
      ['delete mapping set', 405],
      ['delete base', 204]
    ])
    expect(flowRead.scheduleParams).toMatchObject({ frequency: 'hour', interval: '6' })
    expect(table).toBe('public.orders')
    // Every write that changed something, the refused DELETE of the mapping set not among them.
    expect(sim.stats().mutations).toBe(14)
    expect(sim.mappingSets('dev')[0]?.versions).toHaveLength(2)
    for (const collection of ['connections', 'sourceConnections', 'targetConnections', 'flows'])
      expect(sim.objects(collection, 'dev')).toEqual([])
  })
})
