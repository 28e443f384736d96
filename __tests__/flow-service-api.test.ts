/**
 * Conformance to Adobe's own OpenAPI files (vendored in fixtures/adobe/, checked with
 * openapi-backend by support/adobe-api.ts). Every request the action sends to the simulator in any
 * test, and the simulator's reply, is checked after that test by the suite-wide hook
 * (support/conformance-hook.ts); here the checker itself is tested: routing, the listed
 * departures (each excused exactly and only as listed), requests and replies that depart
 * otherwise, a dataflow lifecycle built from Adobe's documentation, and one tour through
 * dist/index.js that makes the action use every operation it has.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { startSimulator, type RecordedRequest, type Simulator } from '../simulator/server.js'
import { runAction } from '../simulator/run-action.js'
import {
  APIS,
  DEPARTURES,
  SOURCE,
  conformanceProblems,
  examine,
  sentByAction,
  type Departure,
  type DepartureForm
} from './support/adobe-api.js'
import { adobeInputs } from './support/sim-inputs.js'

const FLOW = '/data/foundation/flowservice'
const PREP = '/data/foundation/conversion'
const CATALOG = '/data/foundation/catalog'
const POSTGRES_SPEC = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
const DATA_LAKE_SPEC = 'c604ff05-7f1a-43c0-8e18-33bf874cb11c'
const FLOW_SPEC = '14518937-270c-4525-bdec-c2ba7cce3860'
const SCHEMA_ID = 'https://ns.adobe.com/acme/schemas/3f1c2d4e5a6b7c8d9e0f'
const XED = 'application/vnd.adobe.xed-full+json;version=1'

const HEADERS = {
  authorization: 'Bearer tok',
  'x-api-key': 'client',
  'x-gw-ims-org-id': 'ORG@AdobeOrg',
  'x-sandbox-name': 'prod',
  'user-agent': 'aep-postgresql-connection-action/1.0.0'
}

interface Over {
  body?: unknown
  headers?: Record<string, string>
  /** headers left out of HEADERS */
  without?: string[]
  status?: number
  reply?: unknown
  replyInjected?: boolean
}

/** A request the action would send, with everything the files ask for, and its reply. */
function sent(method: string, url: string, over: Over = {}): RecordedRequest {
  const body =
    over.body === undefined
      ? ''
      : typeof over.body === 'string'
        ? over.body
        : JSON.stringify(over.body)
  const headers: Record<string, string> = {
    ...HEADERS,
    ...(body === '' ? {} : { 'content-type': 'application/json' }),
    ...(method === 'PATCH' ? { 'if-match': '"etag-1"' } : {}),
    ...over.headers
  }
  for (const h of over.without ?? []) delete headers[h]
  const rec: RecordedRequest = {
    seq: 1,
    service: url.startsWith('/ims') ? 'ims' : url.startsWith(FLOW) ? 'flow' : 'other',
    method,
    url,
    path: url.split('?')[0] ?? url,
    headers,
    body,
    status: over.status ?? 200,
    socket: 1
  }
  if (over.reply !== undefined)
    rec.replyBody = typeof over.reply === 'string' ? over.reply : JSON.stringify(over.reply)
  if (over.replyInjected) rec.replyInjected = true
  return rec
}

/** The one listed departure of an operation with this form (and pointer, when there are two). */
function listed(operationId: string, kind: DepartureForm['kind'], at?: string): Departure {
  const found = DEPARTURES.filter(
    (d) =>
      d.operationId === operationId &&
      d.form.kind === kind &&
      (at === undefined || ('at' in d.form && d.form.at === at))
  )
  if (found.length !== 1) throw new Error(`${found.length} departures for ${operationId} ${kind}`)
  return found[0] as Departure
}

const SLASH_PATCH = listed('patchConnection', 'path')
const SLASH_DELETE = listed('deleteConnection', 'path')
const PATCH_ARRAY = listed('patchConnection', 'body-items')
const PATCH_LOWER = listed('patchConnection', 'lower-case')
const PATCH_STRING = listed('patchConnection', 'type')
const EXPLORE_ROOT = listed('getByConnectionId', 'lower-case')
const FLOW_PATCH_LOWER = listed('patchFlow', 'lower-case')
const FLOW_PATCH_STRING = listed('patchFlow', 'type')
const MAPPING_VERSION = listed(
  'createFlow',
  'type',
  '/requestBody/transformations/*/params/mappingVersion'
)
const INTERVAL = listed('createFlow', 'type', '/requestBody/scheduleParams/interval')
const ACTION_LOWER = listed('postStateTransition', 'lower-case')
const NO_SUB_OP = listed('postStateTransition', 'missing')

const createConnection = {
  name: 'n',
  description: 'd',
  auth: { specName: 'Basic Authentication', params: { server: 's' } },
  connectionSpec: { id: POSTGRES_SPEC, version: '1.0' }
}
const connectionPatch = [
  { op: 'replace', path: '/auth/params', value: { connectionString: 'x' } },
  { op: 'add', path: '/description', value: 'd' }
]

describe('the vendored files', () => {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/adobe')
  const blob = (file: string) => {
    const bytes = readFileSync(path.join(dir, file))
    return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex')
  }

  it('are Adobe’s blobs at 16c60cd, unedited (the ids in fixtures/adobe/README.md)', () => {
    expect(SOURCE).toEqual({
      repository: 'AdobeDocs/experience-platform-apis',
      commit: '16c60cd7a5617582fc21500f5ab3edf0e2ee308b',
      path: 'static/swagger-specs/'
    })
    expect(Object.fromEntries(APIS.map((a) => [a.file, blob(a.file)]))).toEqual({
      'flow-service.yaml': '46ddb83ce513709084f9d6fd17f16d221fe623fd',
      'data-prep.yaml': 'a34e1563ef72d54ce5eaafa87e1f292d99fcd99c',
      'catalog.yaml': '1140f6d16c310cb7813bf2553693347b60d059f9'
    })
    expect([blob('LICENSE'), blob('COPYRIGHT')]).toEqual([
      '837d1b4fc6fe23908541a0923c4e65b7ebe13f33',
      'ad5ae5e43321295f86275cb4bc0368717f710153'
    ])
    for (const file of APIS.map((a) => a.file))
      expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toContain(blob(file))
  })
})

describe('routing by base path', () => {
  it.each([
    ['GET', `${FLOW}/connections`, 'flow-service.yaml', 'listConnections'],
    ['POST', `${FLOW}/connections`, 'flow-service.yaml', 'createConnection'],
    ['GET', `${FLOW}/connections/abc`, 'flow-service.yaml', 'retrieveConnection'],
    ['PATCH', `${FLOW}/connections/abc`, 'flow-service.yaml', 'patchConnection'],
    ['DELETE', `${FLOW}/connections/abc`, 'flow-service.yaml', 'deleteConnection'],
    ['GET', `${FLOW}/connections/abc/test`, 'flow-service.yaml', 'testConnection'],
    ['GET', `${FLOW}/connections/abc/explore`, 'flow-service.yaml', 'getByConnectionId'],
    [
      'GET',
      `${FLOW}/connectionSpecs/${POSTGRES_SPEC}`,
      'flow-service.yaml',
      'retrieveConnectionSpec'
    ],
    ['GET', `${PREP}/mappingSets/abc`, 'data-prep.yaml', 'retrieveMappingSet'],
    ['PUT', `${PREP}/mappingSets/abc`, 'data-prep.yaml', 'putMappingSet'],
    ['GET', `${CATALOG}/dataSets/abc`, 'catalog.yaml', 'retrieveDataset']
  ])('%s %s: %s %s', async (method, url, file, operationId) => {
    const body = method === 'PATCH' ? connectionPatch : method === 'PUT' ? {} : undefined
    expect(await examine(sent(method, url, { body }))).toMatchObject({ file, operationId })
  })

  it('leaves IMS alone: it is not described in these files', async () => {
    expect(await examine(sent('POST', '/ims/token/v3', { body: 'grant_type=x' }))).toEqual({
      problems: [],
      excused: []
    })
  })

  it.each([
    [
      'an undeclared path',
      'GET',
      `${FLOW}/connections/abc/tables`,
      /no operation in flow-service\.yaml matches/
    ],
    [
      'a method the path does not declare',
      'PUT',
      `${FLOW}/connections/abc`,
      /no operation in flow-service\.yaml/
    ],
    [
      'GET with the trailing slash (only PATCH and DELETE have it)',
      'GET',
      `${FLOW}/connections/abc/`,
      /no operation/
    ],
    [
      'a Flow Service path under Data Prep’s base',
      'GET',
      `${PREP}/connections`,
      /no operation in data-prep\.yaml/
    ],
    [
      'a Data Prep path under Flow Service’s base',
      'GET',
      `${FLOW}/mappingSets/abc`,
      /no operation in flow-service\.yaml/
    ],
    [
      'a base path no file covers',
      'GET',
      '/data/foundation/schemaregistry/tenant/schemas',
      /no Adobe API description covers this path/
    ],
    [
      'a base path only as a prefix',
      'GET',
      `${FLOW}x/connections`,
      /no Adobe API description covers/
    ]
  ])('reports %s', async (_what, method, url, problem) => {
    const { problems } = await examine(sent(method, url))
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(problem)
  })
})

describe('requests that conform as written', () => {
  it.each([
    ['a listing with a name filter', sent('GET', `${FLOW}/connections?property=name==x`)],
    ['a quoted, encoded filter', sent('GET', `${FLOW}/connections?property=name%3D%3D%22a%2Cb%22`)],
    ['the next page', sent('GET', `${FLOW}/connections?continuationToken=abc&limit=5&count=false`)],
    // D8's array filter: the query is read as a server reads it, not as qs reads brackets.
    ['an array filter', sent('GET', `${FLOW}/flows?property=sourceConnectionIds[]==a,b`)],
    ['two filters', sent('GET', `${FLOW}/flows?property=name==x&property=state==enabled`)],
    ['a create', sent('POST', `${FLOW}/connections`, { body: createConnection, status: 201 })],
    ['a read by id', sent('GET', `${FLOW}/connections/abc`)],
    [
      'a connectivity test',
      sent('GET', `${FLOW}/connections/abc/test`, { reply: { result: true } })
    ],
    [
      'explore in the declared case',
      sent('GET', `${FLOW}/connections/abc/explore?objectType=ROOT`)
    ],
    ['the connection spec', sent('GET', `${FLOW}/connectionSpecs/${POSTGRES_SPEC}`)],
    [
      'a PATCH in the declared form (slash, one upper-case instruction, object value)',
      sent('PATCH', `${FLOW}/connections/abc/`, {
        body: { op: 'REPLACE', path: '/auth/params', value: { connectionString: 'x' } }
      })
    ],
    [
      'a DELETE with the declared slash',
      sent('DELETE', `${FLOW}/connections/abc/`, { status: 204 })
    ],
    [
      'charset on the content type',
      sent('POST', `${FLOW}/connections`, {
        body: createConnection,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        status: 201
      })
    ]
  ])('%s', async (_what, rec) => {
    expect(await examine(rec)).toMatchObject({ problems: [], excused: [] })
  })
})

describe('the listed departures', () => {
  const SCHEMA = 'https://ns.adobe.com/tenant/schemas/orders'
  const XDM = 'application/vnd.adobe.xed-full+json;version=1'
  const replyDepartures = (operationId: string) =>
    DEPARTURES.filter((d) => d.operationId === operationId && d.problem.startsWith('reply '))
  const dated = { createdDate: 1614901254724, modifiedDate: 1614901254724 }
  const storedSet = () => ({
    id: 'a'.repeat(32),
    version: 1,
    ...dated,
    outputSchema: { schemaRef: { id: SCHEMA, contentType: XDM } },
    mappings: [
      {
        id: 'b'.repeat(32),
        sourceType: 'text/x.schema-path',
        source: 'id',
        destination: '_id',
        ...dated
      },
      {
        id: 'c'.repeat(32),
        sourceType: 'text/x.aep-xl',
        source: 'lower(e)',
        destination: 'x',
        ...dated
      }
    ]
  })
  const storedFlow = () => ({
    id: 'f1',
    name: 'orders',
    flowSpec: { id: FLOW_SPEC, version: '1.0' },
    scheduleParams: { startTime: '1612310466', frequency: 'day', interval: '1', backfill: 'true' }
  })
  const showing: Array<[string, RecordedRequest, Departure[]]> = [
    [
      'PATCH without the slash, an array, lower-case ops, a string value',
      sent('PATCH', `${FLOW}/connections/abc`, { body: connectionPatch }),
      [SLASH_PATCH, PATCH_ARRAY, PATCH_LOWER, PATCH_STRING]
    ],
    [
      'PATCH of the credentials only',
      sent('PATCH', `${FLOW}/connections/abc`, { body: connectionPatch.slice(0, 1) }),
      [SLASH_PATCH, PATCH_ARRAY, PATCH_LOWER]
    ],
    [
      'DELETE without the slash',
      sent('DELETE', `${FLOW}/connections/abc`, { status: 204, reply: '' }),
      [SLASH_DELETE]
    ],
    [
      'explore with objectType=root',
      sent('GET', `${FLOW}/connections/abc/explore?objectType=root`, {
        reply: [{ type: 'table', name: 'public.orders', path: 'public.orders', canPreview: true }]
      }),
      [EXPLORE_ROOT]
    ],
    [
      'a flow PATCH of the schedule',
      sent('PATCH', `${FLOW}/flows/f1`, {
        body: [{ op: 'replace', path: '/scheduleParams/frequency', value: 'hour' }]
      }),
      [FLOW_PATCH_LOWER, FLOW_PATCH_STRING]
    ],
    [
      'a flow PATCH of the mapping (an object value)',
      sent('PATCH', `${FLOW}/flows/f1`, {
        body: [
          {
            op: 'replace',
            path: '/transformations/1',
            value: { name: 'Mapping', params: { mappingId: 'm1', mappingVersion: 1 } }
          }
        ]
      }),
      [FLOW_PATCH_LOWER]
    ],
    [
      'a flow with a numeric mapping version and interval',
      sent('POST', `${FLOW}/flows`, {
        body: {
          flowSpec: { id: FLOW_SPEC, version: '1.0' },
          transformations: [{ name: 'Mapping', params: { mappingId: 'm1', mappingVersion: 0 } }],
          scheduleParams: { startTime: 1612310466, frequency: 'minute', interval: 15 }
        },
        status: 201
      }),
      [MAPPING_VERSION, INTERVAL]
    ],
    ['enable', sent('POST', `${FLOW}/flows/f1/action?op=enable`), [NO_SUB_OP, ACTION_LOWER]],
    ['disable', sent('POST', `${FLOW}/flows/f1/action?op=disable`), [NO_SUB_OP, ACTION_LOWER]],
    ['enable in the declared case', sent('POST', `${FLOW}/flows/f1/action?op=ENABLE`), [NO_SUB_OP]],
    // Replies as Adobe's examples show them, where the files type them otherwise.
    [
      "a table's columns explored",
      sent('GET', `${FLOW}/connections/abc/explore?objectType=table&object=public.orders`, {
        reply: { format: 'flat', schema: { columns: [{ name: 'id', type: 'integer' }] } }
      }),
      [EXPLORE_ROOT, ...replyDepartures('getByConnectionId')]
    ],
    [
      'a mapping set created, its dates epoch ms',
      sent('POST', `${PREP}/mappingSets`, {
        body: { outputSchema: { schemaRef: { id: SCHEMA, contentType: XDM } }, mappings: [] },
        reply: {
          id: 'a'.repeat(32),
          version: 0,
          createdDate: 1614901254724,
          modifiedDate: 1614901254724
        }
      }),
      replyDepartures('createMappingSet')
    ],
    [
      'a mapping set read, its dates epoch ms and its source types media types',
      sent('GET', `${PREP}/mappingSets/${'a'.repeat(32)}`, { reply: storedSet() }),
      replyDepartures('retrieveMappingSet')
    ],
    [
      'a mapping set replaced',
      sent('PUT', `${PREP}/mappingSets/${'a'.repeat(32)}`, {
        body: { outputSchema: { schemaRef: { id: SCHEMA, contentType: XDM } }, mappings: [] },
        reply: storedSet()
      }),
      replyDepartures('putMappingSet')
    ],
    [
      'mapping sets listed',
      sent('GET', `${PREP}/mappingSets?limit=10&start=0`, {
        reply: { data: [storedSet()], _page: { count: 1, limit: 10 } }
      }),
      replyDepartures('listMappingSets')
    ],
    [
      'flows listed, their schedules as strings',
      sent('GET', `${FLOW}/flows?property=name==orders`, { reply: { items: [storedFlow()] } }),
      replyDepartures('listFlows')
    ],
    [
      'a flow read, its schedule as strings',
      sent('GET', `${FLOW}/flows/f1`, { reply: { items: [storedFlow()] } }),
      replyDepartures('retrieveFlow')
    ]
  ]

  it.each(showing)('excuse %s, and nothing else', async (_what, rec, departures) => {
    const { problems, excused } = await examine(rec)
    expect(problems).toEqual([])
    expect(new Set(excused)).toEqual(new Set(departures))
  })

  it('are each shown by a request above, and each names its operation, problem and source', () => {
    const shown = new Set(showing.flatMap(([, , departures]) => departures))
    expect(DEPARTURES.filter((d) => !shown.has(d))).toEqual([])
    for (const d of DEPARTURES) {
      expect(APIS.map((a) => a.file)).toContain(d.file)
      expect(d.problem.length).toBeGreaterThan(10)
      expect(d.source).toMatch(/^AdobeDocs\/experience-platform\.en help\/.+\.md /)
    }
  })

  it('are listed once each', () => {
    const keys = DEPARTURES.map((d) => JSON.stringify([d.file, d.operationId, d.form]))
    expect(new Set(keys).size).toBe(DEPARTURES.length)
  })
})

describe('requests that depart otherwise are reported', () => {
  const patch = (body: unknown, url = `${FLOW}/connections/abc`) => sent('PATCH', url, { body })
  it.each([
    [
      'a missing x-api-key',
      sent('GET', `${FLOW}/connections`, { without: ['x-api-key'] }),
      /\/header must have required property 'x-api-key'/
    ],
    [
      'a missing org id',
      sent('GET', `${FLOW}/connections/abc`, { without: ['x-gw-ims-org-id'] }),
      /'x-gw-ims-org-id'/
    ],
    [
      'a missing x-sandbox-name (the info block)',
      sent('GET', `${FLOW}/connections`, { without: ['x-sandbox-name'] }),
      /'x-sandbox-name' \(the info block/
    ],
    [
      'a token without Bearer',
      sent('GET', `${FLOW}/connections`, { headers: { authorization: 'tok' } }),
      /authorization must be the access token prefixed with 'Bearer '/
    ],
    [
      'an undeclared query parameter',
      sent('GET', `${FLOW}/connections?start=2`),
      /\/query must NOT have additional properties \(start\)/
    ],
    [
      'a limit that is not an integer',
      sent('GET', `${FLOW}/connections?limit=ten`),
      /\/query\/limit must be integer/
    ],
    [
      'a query on /test',
      sent('GET', `${FLOW}/connections/a/test?deep=1`),
      /additional properties \(deep\)/
    ],
    [
      'an unknown objectType',
      sent('GET', `${FLOW}/connections/a/explore?objectType=tables`),
      /\/query\/objectType must be equal to one of the allowed values/
    ],
    [
      'objectType in mixed case',
      sent('GET', `${FLOW}/connections/a/explore?objectType=Root`),
      /\/query\/objectType must be equal/
    ],
    [
      'a create with a numeric name',
      sent('POST', `${FLOW}/connections`, { body: { ...createConnection, name: 7 } }),
      /\/requestBody\/name must be string/
    ],
    [
      'a create without connectionSpec.version',
      sent('POST', `${FLOW}/connections`, {
        body: { ...createConnection, connectionSpec: { id: POSTGRES_SPEC } }
      }),
      /\/requestBody\/connectionSpec must have required property 'version'/
    ],
    [
      'a create without auth.specName',
      sent('POST', `${FLOW}/connections`, { body: { ...createConnection, auth: { params: {} } } }),
      /\/requestBody\/auth must have required property 'specName'/
    ],
    [
      'a create whose body is not JSON',
      sent('POST', `${FLOW}/connections`, { body: '{"name":' }),
      /\/ Unexpected end of JSON input|JSON/
    ],
    [
      'a create without a body',
      sent('POST', `${FLOW}/connections`),
      /must have required property 'requestBody'/
    ],
    [
      'a create without Content-Type',
      sent('POST', `${FLOW}/connections`, { body: createConnection, without: ['content-type'] }),
      /content-type is missing; the operation declares application\/json/
    ],
    [
      'a create sent as text',
      sent('POST', `${FLOW}/connections`, {
        body: createConnection,
        headers: { 'content-type': 'text/plain' }
      }),
      /content-type is "text\/plain"/
    ],
    [
      'a DELETE with a body',
      sent('DELETE', `${FLOW}/connections/a`, { body: {} }),
      /\/requestBody is sent, but the operation declares no request body/
    ],
    [
      'a PATCH without If-Match',
      sent('PATCH', `${FLOW}/connections/a`, { body: connectionPatch, without: ['if-match'] }),
      /\/header must have required property 'if-match'/
    ],
    [
      'a PATCH with a move',
      patch([{ op: 'move', path: '/x', value: {} }]),
      /\/requestBody\/0\/op must be equal to one of the allowed values \(ADD, REPLACE, REMOVE\)/
    ],
    [
      'an upper-case op that is not declared',
      patch([{ op: 'MOVE', path: '/x', value: {} }]),
      /\/requestBody\/0\/op must be equal/
    ],
    [
      'an op in mixed case',
      patch([{ op: 'Replace', path: '/x', value: {} }]),
      /\/requestBody\/0\/op must be equal/
    ],
    [
      'a PATCH instruction without a value',
      patch([{ op: 'remove', path: '/x' }]),
      /\/requestBody\/0 must have required property 'value'/
    ],
    [
      'a numeric PATCH value (only strings are listed)',
      patch([connectionPatch[0], { op: 'replace', path: '/x', value: 5 }]),
      /\/requestBody\/1\/value must be object/
    ],
    ['an empty PATCH array', patch([]), /\/requestBody is an empty array/],
    [
      'a lower-case op where none is listed (source connections)',
      patch([{ op: 'replace', path: '/name', value: {} }], `${FLOW}/sourceConnections/s1`),
      /patchSourceConnection\): \/requestBody\/0\/op must be equal/
    ],
    [
      'a string value where none is listed (source connections)',
      patch([{ op: 'REPLACE', path: '/name', value: 'n' }], `${FLOW}/sourceConnections/s1`),
      /\/requestBody\/0\/value must be object/
    ],
    [
      'an unknown flow action',
      sent('POST', `${FLOW}/flows/f1/action?op=restart`),
      /\/query\/op must be equal to one of the allowed values \(ENABLE, DISABLE/
    ],
    [
      'an upper-case flow action that is not declared',
      sent('POST', `${FLOW}/flows/f1/action?op=RESTART`),
      /\/query\/op must be equal/
    ],
    [
      'no subOp where none is listed (connection actions)',
      sent('POST', `${FLOW}/connections/c1/action?op=PUBLISH`),
      /performAction\): \/query must have required property 'subOp'/
    ],
    [
      'a mapping version that is not an integer',
      sent('POST', `${FLOW}/flows`, {
        body: {
          flowSpec: { id: FLOW_SPEC },
          transformations: [{ name: 'Mapping', params: { mappingVersion: 0.5 } }]
        }
      }),
      /mappingVersion must be string/
    ],
    [
      'a boolean interval',
      sent('POST', `${FLOW}/flows`, {
        body: { flowSpec: { id: FLOW_SPEC }, scheduleParams: { interval: true } }
      }),
      /\/requestBody\/scheduleParams\/interval must be string/
    ],
    [
      'a mapping-set listing without limit and start',
      sent('GET', `${PREP}/mappingSets?name=x`),
      /\/query must have required property 'limit'/
    ],
    [
      'a mapping set without Content-Type (a declared header there)',
      sent('POST', `${PREP}/mappingSets`, { body: { mappings: [] }, without: ['content-type'] }),
      /\/header must have required property 'content-type'/
    ],
    [
      'an unknown source type',
      sent('POST', `${PREP}/mappingSets`, {
        body: { mappings: [{ sourceType: 'attribute', source: 'a', destination: 'b' }] }
      }),
      /\/requestBody\/mappings\/0\/sourceType must be equal to one of the allowed values \(ATTRIBUTE, EXPRESSION, STATIC\)/
    ],
    [
      'a dataset listing with a count that is not an integer',
      sent('GET', `${CATALOG}/dataSets?limit=all`),
      /\/query\/limit must be integer/
    ]
  ])('%s', async (_what, rec, problem) => {
    const problems = await conformanceProblems(rec)
    expect(problems.length).toBeGreaterThan(0)
    expect(problems.join('\n')).toMatch(problem)
  })

  it('a listed departure never hides another problem of the same request', async () => {
    const rec = sent('PATCH', `${FLOW}/connections/abc`, {
      body: [{ op: 'replace', path: '/description', value: 'd', extra: 1 }, { op: 'replace' }],
      without: ['x-api-key']
    })
    const { problems, excused } = await examine(rec)
    expect(new Set(excused)).toEqual(new Set([SLASH_PATCH, PATCH_ARRAY, PATCH_LOWER, PATCH_STRING]))
    expect(problems.map((p) => p.replace(/^.*patchConnection\): /, ''))).toEqual([
      "/header must have required property 'x-api-key'",
      "/requestBody/1 must have required property 'path'",
      "/requestBody/1 must have required property 'value'"
    ])
  })
})

describe('replies', () => {
  it.each([
    [
      'a listed item with a string date',
      sent('GET', `${FLOW}/connections`, {
        reply: { items: [{ id: 'a', createdAt: '2024-01-01' }] }
      }),
      /reply 200 \/reply\/items\/0\/createdAt must be integer/
    ],
    [
      'a create answered with a numeric id',
      sent('POST', `${FLOW}/connections`, {
        body: createConnection,
        status: 201,
        reply: { id: 7, etag: '"e"' }
      }),
      /reply 201 \/reply\/id must be string/
    ],
    [
      'a reply that is not JSON where a schema is declared',
      sent('GET', `${FLOW}/flows/f1`, { reply: '<html>' }),
      /reply 200 \/reply must be object/
    ],
    [
      'an explore reply that is not the declared array (on an excused request)',
      sent('GET', `${FLOW}/connections/abc/explore?objectType=root`, { reply: { format: 'flat' } }),
      /reply 200 \/reply must be array/
    ],
    [
      'a test result that is not a boolean',
      sent('GET', `${FLOW}/connections/abc/test`, { reply: { result: 'true' } }),
      /\/reply\/result must be boolean/
    ],
    [
      'a mapping set whose version is a string',
      sent('GET', `${PREP}/mappingSets/m1`, { reply: { id: 'm1', version: '1' } }),
      /data-prep\.yaml retrieveMappingSet\): reply 200 \/reply\/version must be integer/
    ],
    [
      'a dataset with a string schemaRef',
      sent('GET', `${CATALOG}/dataSets/d1`, { reply: { d1: { name: 'orders', schemaRef: 'x' } } }),
      /catalog\.yaml retrieveDataset\): reply 200 \/reply\/d1\/schemaRef must be object/
    ]
  ])('reports %s', async (_what, rec, problem) => {
    expect((await conformanceProblems(rec)).join('\n')).toMatch(problem)
  })

  it.each([
    [
      'a status the file gives no schema for',
      sent('GET', `${FLOW}/connections`, { status: 404, reply: { message: 'x' } })
    ],
    [
      'a reply written by an injected fault',
      sent('GET', `${FLOW}/connections`, { reply: '{"items":', replyInjected: true })
    ],
    ['no reply (the client left)', sent('GET', `${FLOW}/connections`, { status: 0 })],
    [
      'a documented one',
      sent('GET', `${FLOW}/connections/abc`, {
        reply: { items: [{ id: 'abc', createdAt: 1, etag: '"e"' }] }
      })
    ]
  ])('leaves alone %s', async (_what, rec) => {
    expect(await conformanceProblems(rec)).toEqual([])
  })
})

describe('a dataflow lifecycle, from Adobe’s documentation', () => {
  const mappingSet = {
    name: 'orders mapping',
    outputSchema: { schemaRef: { id: SCHEMA_ID, contentType: XED } },
    mappings: [
      { sourceType: 'ATTRIBUTE', source: 'id', destination: '_id' },
      { sourceType: 'ATTRIBUTE', source: 'updated_at', destination: 'acme.updatedAt' }
    ]
  }
  const flow = {
    name: 'orders',
    description: 'public.orders to the orders dataset',
    flowSpec: { id: FLOW_SPEC, version: '1.0' },
    sourceConnectionIds: ['s1'],
    targetConnectionIds: ['t1'],
    transformations: [
      {
        name: 'Copy',
        params: { deltaColumn: { name: 'updated_at', dateFormat: 'YYYY-MM-DD', timezone: 'UTC' } }
      },
      { name: 'Mapping', params: { mappingId: 'm1', mappingVersion: 0 } }
    ],
    scheduleParams: { startTime: 1612310466, frequency: 'minute', interval: 15, backfill: true }
  }
  const lifecycle: Array<[string, RecordedRequest, Departure[]]> = [
    [
      'look up the source connection',
      sent('GET', `${FLOW}/sourceConnections?property=name%3D%3D%22orders%20source%22`, {
        reply: { items: [] }
      }),
      []
    ],
    [
      'create the source connection',
      sent('POST', `${FLOW}/sourceConnections`, {
        body: {
          name: 'orders source',
          description: 'public.orders',
          baseConnectionId: 'b1',
          data: { format: 'tabular' },
          params: { tableName: 'public.orders' },
          connectionSpec: { id: POSTGRES_SPEC, version: '1.0' }
        },
        status: 201,
        reply: { id: 's1', etag: '"1"' }
      }),
      []
    ],
    [
      'read the dataset’s schema from Catalog',
      sent('GET', `${CATALOG}/dataSets/d1?properties=schemaRef,name`, {
        reply: { d1: { name: 'orders', schemaRef: { id: SCHEMA_ID, contentType: XED } } }
      }),
      []
    ],
    ['find a dataset by name', sent('GET', `${CATALOG}/dataSets?name=orders`, { reply: {} }), []],
    [
      'look up the target connection',
      sent('GET', `${FLOW}/targetConnections?property=name==x`),
      []
    ],
    [
      'create the target connection',
      sent('POST', `${FLOW}/targetConnections`, {
        body: {
          name: 'orders target',
          description: 'the orders dataset',
          data: { schema: { id: SCHEMA_ID, version: XED } },
          params: { dataSetId: 'd1' },
          connectionSpec: { id: DATA_LAKE_SPEC, version: '1.0' }
        },
        status: 201,
        reply: { id: 't1', etag: '"1"' }
      }),
      []
    ],
    [
      'list mapping sets by name',
      sent('GET', `${PREP}/mappingSets?limit=10&start=0&name=orders%20mapping`, {
        reply: { data: [], _page: { count: 0, limit: 10 } }
      }),
      []
    ],
    [
      'create the mapping set',
      sent('POST', `${PREP}/mappingSets`, { body: mappingSet, reply: { id: 'm1', version: 0 } }),
      []
    ],
    ['replace the mapping set', sent('PUT', `${PREP}/mappingSets/m1`, { body: mappingSet }), []],
    ['read one version of it', sent('GET', `${PREP}/mappingSets/m1?version=1`), []],
    [
      'look up the flow',
      sent('GET', `${FLOW}/flows?property=name==orders`, { reply: { items: [] } }),
      []
    ],
    [
      'create the flow',
      sent('POST', `${FLOW}/flows`, { body: flow, status: 201, reply: { id: 'f1', etag: '"1"' } }),
      [MAPPING_VERSION, INTERVAL]
    ],
    [
      'read the flow',
      sent('GET', `${FLOW}/flows/f1`, {
        reply: { items: [{ id: 'f1', state: 'enabled', etag: '"1"' }] }
      }),
      []
    ],
    [
      'update the schedule',
      sent('PATCH', `${FLOW}/flows/f1`, {
        body: [{ op: 'replace', path: '/scheduleParams/frequency', value: 'hour' }],
        reply: { id: 'f1', etag: '"2"' }
      }),
      [FLOW_PATCH_LOWER, FLOW_PATCH_STRING]
    ],
    [
      'enable the flow',
      sent('POST', `${FLOW}/flows/f1/action?op=enable`, { reply: { id: 'f1', etag: '"3"' } }),
      [NO_SUB_OP, ACTION_LOWER]
    ],
    ['delete the flow', sent('DELETE', `${FLOW}/flows/f1`, { status: 204, reply: '' }), []],
    [
      'delete the source connection',
      sent('DELETE', `${FLOW}/sourceConnections/s1`, { status: 204 }),
      []
    ],
    [
      'delete the target connection',
      sent('DELETE', `${FLOW}/targetConnections/t1`, { status: 204 }),
      []
    ]
  ]

  it.each(lifecycle)('%s', async (_what, rec, departures) => {
    const { problems, excused } = await examine(rec)
    expect(problems).toEqual([])
    expect(new Set(excused)).toEqual(new Set(departures))
  })

  it('only flow creation, the flow PATCH and the enable action need departures', () => {
    expect(lifecycle.filter(([, , d]) => d.length > 0).map(([what]) => what)).toEqual([
      'create the flow',
      'update the schedule',
      'enable the flow'
    ])
  })

  it('the same flow written with the declared types needs none', async () => {
    const declared = {
      ...flow,
      transformations: [{ name: 'Mapping', params: { mappingId: 'm1', mappingVersion: '0' } }],
      scheduleParams: { ...flow.scheduleParams, interval: '15' }
    }
    expect(await examine(sent('POST', `${FLOW}/flows`, { body: declared }))).toMatchObject({
      problems: [],
      excused: []
    })
  })
})

describe('sentByAction', () => {
  it('leaves out requests the action did not send (tests’ own probes, IMS)', () => {
    expect(sentByAction(sent('GET', `${FLOW}/connections`))).toBe(true)
    expect(sentByAction(sent('GET', `${CATALOG}/dataSets/d1`))).toBe(true)
    expect(
      sentByAction(sent('GET', `${FLOW}/connections`, { headers: { 'user-agent': 'node' } }))
    ).toBe(false)
    expect(sentByAction(sent('GET', `${FLOW}/connections`, { without: ['user-agent'] }))).toBe(
      false
    )
    expect(sentByAction(sent('POST', '/ims/token/v3'))).toBe(false)
  })
})

describe('a tour of every operation through dist/index.js', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({ pageSize: 1 })
  })
  afterAll(async () => {
    await sim.close()
  })

  it('list (paged), create, /test, explore, spec, PATCH (412, re-read, again), DELETE: all conform, replies too', async () => {
    const token = sim.issueToken()
    // A name with a double quote that the escaped filter does not find is looked up among all
    // PostgreSQL connections: with a page size of 1 and other connections there, the lookup
    // follows continuation tokens.
    sim.seedConnection('dev', { name: 'other-1' })
    sim.seedConnection('dev', { name: 'other-2' })
    const base = {
      ...adobeInputs(sim, 'dev', { 'access-token': token }),
      'connection-name': 'tour "eu", west',
      'auth-type': 'basic',
      server: 'db.tour.example.com',
      database: 'tour',
      username: 'tour',
      password: 'pw-Tour-1'
    }
    const runs = [
      await runAction({ inputs: { ...base, 'validate-spec': 'true', 'test-connection': 'true' } })
    ]
    sim.inject({ match: { method: 'PATCH' }, action: { type: 'concurrent-update' } })
    runs.push(await runAction({ inputs: { ...base, description: 'the tour', 'dry-run': 'false' } }))
    runs.push(await runAction({ inputs: { ...base, state: 'absent' } }))
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0])
    expect(runs.map((r) => r.outputs.operation)).toEqual(['created', 'updated', 'deleted'])

    const sent = sim.requests.filter(sentByAction)
    const examined = await Promise.all(sent.map(examine))
    expect(examined.flatMap((e) => e.problems)).toEqual([])
    expect([...new Set(examined.map((e) => e.operationId))].sort()).toEqual([
      'createConnection',
      'deleteConnection',
      'getByConnectionId',
      'listConnections',
      'patchConnection',
      'retrieveConnection',
      'retrieveConnectionSpec',
      'testConnection'
    ])
    // The connection action's departures, all of them, and only those.
    expect(new Set(examined.flatMap((e) => e.excused))).toEqual(
      new Set([SLASH_PATCH, SLASH_DELETE, PATCH_ARRAY, PATCH_LOWER, PATCH_STRING, EXPLORE_ROOT])
    )
    expect(sent.some((r) => r.url.includes('continuationToken='))).toBe(true)
    // Every reply the simulator wrote was checked against the file.
    expect(sent.every((r) => r.replyBody !== undefined && !r.replyInjected)).toBe(true)
  })
})
