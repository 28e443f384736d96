/**
 * Conformance to Adobe's own OpenAPI files (vendored unedited in __tests__/fixtures/adobe/): a
 * recorded request, and the simulator's reply to it, validated with openapi-backend. Where the
 * action follows Adobe's tutorials instead of a file, the departure is listed once, in DEPARTURES,
 * and excuses exactly that problem of that operation. Not a test file: imported by the
 * conformance tests and the suite-wide hook (conformance-hook.ts).
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Ajv, ErrorObject } from 'ajv'
import ajvFormats from 'ajv-formats'
import type { OpenAPIBackend, Operation } from 'openapi-backend'
import type { RecordedRequest } from '../../simulator/server.js'
import { ACTION_NAME } from '../../src/platform/version.js'

type Definition = ConstructorParameters<typeof OpenAPIBackend>[0]['definition']

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const FIXTURES = path.join(ROOT, '__tests__/fixtures/adobe')
// Parsing the YAML costs far more than validating; its JSON form is kept between test files,
// keyed by the file's content, so an edited file is parsed again.
const CACHE = path.join(ROOT, 'node_modules/.cache/adobe-api')

export const SOURCE = {
  repository: 'AdobeDocs/experience-platform-apis',
  commit: '16c60cd7a5617582fc21500f5ab3edf0e2ee308b',
  path: 'static/swagger-specs/'
} as const

/** Each file, and the base path its paths are relative to (its `servers` entry). */
export const APIS = [
  { file: 'flow-service.yaml', base: '/data/foundation/flowservice' },
  { file: 'data-prep.yaml', base: '/data/foundation/conversion' },
  { file: 'catalog.yaml', base: '/data/foundation/catalog' }
] as const
export type ApiFile = (typeof APIS)[number]['file']

/** IMS (tokens) is not described by these files. */
const IMS_BASE = '/ims'

/**
 * One problem, as the validator reports it. `at` is a JSON Pointer into what was checked:
 * /path, /query, /header and /requestBody of the request, or /reply (its body).
 */
export interface Problem {
  at: string
  keyword: string
  message: string
  params: Record<string, unknown>
}

/**
 * How a departure shows in the validator's report. `at` is a JSON Pointer pattern where `*`
 * stands for any one segment (an array index).
 */
export type DepartureForm =
  /** no operation matches the path sent; the declared path (one operation) does */
  | { kind: 'path'; declared: (sentPath: string) => string }
  /** the body is a JSON array whose items are each the declared body */
  | { kind: 'body-items' }
  /** an enumerated string sent as the lower case of a declared value */
  | { kind: 'lower-case'; at: string }
  /** a required parameter or property not sent: `at` is its parent, `name` the property */
  | { kind: 'missing'; at: string; name: string }
  /** a value of another JSON type than the declared one */
  | { kind: 'type'; at: string; declared: string; sent: JsonType | readonly JsonType[] }
  /** a string outside the declared enum: exactly one of the listed values */
  | { kind: 'enum-value'; at: string; values: readonly string[] }

export type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null'

export interface Departure {
  file: ApiFile
  operationId: string
  /** what the action sends, against what the file declares */
  problem: string
  /** Adobe's own source for the form the action sends */
  source: string
  form: DepartureForm
  /** only for requests with these query values (compared without case) */
  when?: { query: Readonly<Record<string, string>> }
}

const TUTORIALS = 'AdobeDocs/experience-platform.en'
const UPDATE = `${TUTORIALS} help/sources/tutorials/api/update.md`
const UPDATE_DATAFLOWS = `${TUTORIALS} help/sources/tutorials/api/update-dataflows.md`
const DATABASE_DATAFLOW = `${TUTORIALS} help/sources/tutorials/api/collect/database-nosql.md`

/**
 * The deliberate departures, each once. The same table is in docs/how-it-works.md ("Where the
 * action departs from Adobe's API description"); keep the two together. The last six are for the
 * dataflow requests (source and target connections, mapping sets, flows).
 */
export const DEPARTURES: readonly Departure[] = [
  {
    file: 'flow-service.yaml',
    operationId: 'patchConnection',
    problem: 'sent to /connections/{id}; declared on /connections/{BASE_CONNECTION_ID}/',
    source: `${UPDATE} (PATCH /connections/{CONNECTION_ID})`,
    form: { kind: 'path', declared: (p) => `${p}/` }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'deleteConnection',
    problem: 'sent to /connections/{id}; declared on /connections/{BASE_CONNECTION_ID}/',
    source: `${TUTORIALS} help/sources/tutorials/api/delete.md (DELETE /connections/{CONNECTION_ID})`,
    form: { kind: 'path', declared: (p) => `${p}/` }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'patchConnection',
    problem: 'the body is a JSON Patch array of instructions; declared as one PatchInstruction',
    source: `${UPDATE} (a JSON array of three instructions)`,
    form: { kind: 'body-items' }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'patchConnection',
    problem: 'op in lower case (replace, add); PatchInstruction enumerates ADD, REPLACE, REMOVE',
    source: `${UPDATE} ("op": "replace", "op": "add")`,
    form: { kind: 'lower-case', at: '/requestBody/*/op' }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'patchConnection',
    problem: 'a string value (the description); PatchInstruction types value as an object',
    source: `${UPDATE} ({"op": "add", "path": "/description", "value": "A test salesforce connection"})`,
    form: { kind: 'type', at: '/requestBody/*/value', declared: 'object', sent: 'string' }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'getByConnectionId',
    problem: 'objectType=root in lower case; the objectType enum is upper case (ROOT, TABLE, ...)',
    source: `${TUTORIALS} help/sources/tutorials/api/explore/tabular.md (explore?objectType=root)`,
    form: { kind: 'lower-case', at: '/query/objectType' }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'patchFlow',
    problem: 'op in lower case (replace); PatchInstruction enumerates ADD, REPLACE, REMOVE',
    source: `${UPDATE_DATAFLOWS} ("op": "replace")`,
    form: { kind: 'lower-case', at: '/requestBody/*/op' }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'patchFlow',
    problem:
      'a string or number value (description, schedule frequency, interval); typed as an object',
    source: `${UPDATE_DATAFLOWS} ({"op": "replace", "path": "/scheduleParams/frequency", "value": "day"}); ${DATABASE_DATAFLOW} (the flow spec types interval as an integer)`,
    form: {
      kind: 'type',
      at: '/requestBody/*/value',
      declared: 'object',
      sent: ['string', 'integer']
    }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'createFlow',
    problem:
      'transformations[].params.mappingVersion is a number; TransformationSpecDTO types a string',
    source: `${DATABASE_DATAFLOW} (POST /flows with "mappingVersion": 0)`,
    form: {
      kind: 'type',
      at: '/requestBody/transformations/*/params/mappingVersion',
      declared: 'string',
      sent: 'integer'
    }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'createFlow',
    problem: 'scheduleParams.interval is a number; ScheduleSpecDTO types a string',
    source: `${DATABASE_DATAFLOW} (the flow spec's scheduleSpec types interval as an integer)`,
    form: {
      kind: 'type',
      at: '/requestBody/scheduleParams/interval',
      declared: 'string',
      sent: 'integer'
    }
  },
  {
    file: 'flow-service.yaml',
    operationId: 'postStateTransition',
    problem: 'op=enable or op=disable in lower case; the op enum is upper case (ENABLE, DISABLE)',
    source: `${TUTORIALS} help/destinations/api/update-destination-dataflows.md (POST /flows/{FLOW_ID}/action?op=enable)`,
    form: { kind: 'lower-case', at: '/query/op' }
  },
  ...replyDepartures(),
  {
    file: 'flow-service.yaml',
    operationId: 'postStateTransition',
    problem: 'no subOp; declared a required query parameter',
    source: `${TUTORIALS} help/destinations/api/update-destination-dataflows.md (only ?op=enable)`,
    form: { kind: 'missing', at: '/query', name: 'subOp' }
  }
]

/**
 * How the simulator's replies follow Adobe's documented examples where the files type them
 * otherwise: Data Prep's dates as epoch-ms numbers and an attribute's sourceType as the media
 * type text/x.schema-path (the mapping-set guide's examples, and data-prep.yaml's own create
 * example), a dataflow's scheduleParams as strings (the update-dataflows guide's GET). These
 * are replies the action reads, not requests it sends.
 */
function replyDepartures(): Departure[] {
  const MAPPING_SETS = `${TUTORIALS} help/data-prep/api/mapping-set.md (createdDate: 1614901254724; "sourceType": "text/x.schema-path")`
  const dates = (file: ApiFile, operationId: string, at: string[]): Departure[] =>
    at.flatMap((base) =>
      ['createdDate', 'modifiedDate'].map((field) => ({
        file,
        operationId,
        problem: `reply ${base}/${field} is epoch ms (a number); declared a date-time string`,
        source: MAPPING_SETS,
        form: { kind: 'type', at: `${base}/${field}`, declared: 'string', sent: 'integer' } as const
      }))
    )
  const sourceTypes = (operationId: string, at: string): Departure => ({
    file: 'data-prep.yaml',
    operationId,
    problem: `reply ${at} is a media type (text/x.schema-path, text/x.aep-xl, text/plain); declared ATTRIBUTE, EXPRESSION, STATIC`,
    source: MAPPING_SETS,
    form: { kind: 'enum-value', at, values: ['text/x.schema-path', 'text/x.aep-xl', 'text/plain'] }
  })
  const schedule = (operationId: string, at: string): Departure[] => [
    {
      file: 'flow-service.yaml',
      operationId,
      problem: `reply ${at}/startTime is a string of epoch seconds; declared an integer`,
      source: `${UPDATE_DATAFLOWS} (GET /flows/{FLOW_ID}: "startTime": "1612310466")`,
      form: { kind: 'type', at: `${at}/startTime`, declared: 'integer', sent: 'string' }
    },
    {
      file: 'flow-service.yaml',
      operationId,
      problem: `reply ${at}/backfill is the string "true" or "false"; declared a boolean`,
      source: `${UPDATE_DATAFLOWS} (GET /flows/{FLOW_ID}: "backfill": "true")`,
      form: { kind: 'type', at: `${at}/backfill`, declared: 'boolean', sent: 'string' }
    }
  ]
  return [
    {
      file: 'flow-service.yaml',
      operationId: 'getByConnectionId',
      problem:
        'reply /reply to objectType=table is an object {format, schema: {columns}}; every explore reply is declared an array',
      source: `${TUTORIALS} help/sources/tutorials/api/explore/tabular.md (GET …/explore?objectType=table&object={PATH})`,
      form: { kind: 'type', at: '/reply', declared: 'array', sent: 'object' },
      when: { query: { objectType: 'table' } }
    },
    ...dates('data-prep.yaml', 'createMappingSet', ['/reply']),
    ...dates('data-prep.yaml', 'retrieveMappingSet', ['/reply', '/reply/mappings/*']),
    ...dates('data-prep.yaml', 'listMappingSets', ['/reply/data/*', '/reply/data/*/mappings/*']),
    ...dates('data-prep.yaml', 'putMappingSet', ['/reply', '/reply/mappings/*']),
    sourceTypes('retrieveMappingSet', '/reply/mappings/*/sourceType'),
    sourceTypes('listMappingSets', '/reply/data/*/mappings/*/sourceType'),
    sourceTypes('putMappingSet', '/reply/mappings/*/sourceType'),
    ...schedule('listFlows', '/reply/items/*/scheduleParams'),
    ...schedule('retrieveFlow', '/reply/items/*/scheduleParams')
  ]
}

/** What one recorded request came to: its operation, what departs, and what was excused. */
export interface Examination {
  file?: ApiFile
  operationId?: string
  /** departures not excused, one line each */
  problems: string[]
  /** the listed departures the request (or its reply) showed */
  excused: Departure[]
}

const backends = new Map<ApiFile, OpenAPIBackend>()
// openapi-backend makes a new Ajv for every validator it compiles; one per kind of validator
// (request body, parameters, reply), shared by all three files, saves about a fifth of the time
// a test file spends on compiling. Its options are the same for every validator of a kind.
const ajvs = new Map<string, Ajv>()

async function loadDocument(file: ApiFile): Promise<unknown> {
  const text = readFileSync(path.join(FIXTURES, file), 'utf8')
  const key = createHash('sha256').update(text).digest('hex').slice(0, 16)
  const cached = path.join(CACHE, `${file}.${key}.json`)
  try {
    return JSON.parse(readFileSync(cached, 'utf8')) as unknown
  } catch {
    // not cached yet (or unreadable): parse, then keep it for the next test file
  }
  const { parse } = await import('yaml')
  const document: unknown = parse(text)
  try {
    mkdirSync(CACHE, { recursive: true })
    const partial = `${cached}.${process.pid}`
    writeFileSync(partial, JSON.stringify(document))
    renameSync(partial, cached) // atomic: a parallel worker reads all of it or nothing
  } catch {
    // a cache that cannot be written only costs time
  }
  return document
}

/** The backend for a file, loaded and set up once per test file (module instance), on first use. */
async function backendFor(file: ApiFile): Promise<OpenAPIBackend> {
  const known = backends.get(file)
  if (known) return known
  // Loaded on first use: most test files never need it.
  const { default: openapi } = await import('openapi-backend')
  const backend = new openapi.OpenAPIBackend({
    definition: (await loadDocument(file)) as Definition,
    strict: false,
    validate: true,
    // quick: no validation of the definition (catalog.yaml fails OpenAPI's meta-schema as a
    // whole), and each operation's validators compiled only when first used.
    quick: true,
    // Routing must see a trailing slash: the files declare some paths with one.
    ignoreTrailingSlashes: false,
    // allErrors: one problem must not hide another (a listed departure could hide an unlisted
    // one). validateSchema off: one schema has a non-string description.
    ajvOpts: { strict: false, validateSchema: false, allErrors: true },
    customizeAjv: (fresh, _options, kind) => {
      const known = ajvs.get(kind)
      if (known) return known
      // The files' formats (date-time, uri, ...) are checked, not ignored with a warning.
      const shared = ajvFormats.default(fresh)
      ajvs.set(kind, shared)
      return shared
    }
  })
  await backend.init()
  backends.set(file, backend)
  return backend
}

function apiFor(pathname: string) {
  return APIS.find((a) => pathname === a.base || pathname.startsWith(`${a.base}/`))
}

/** The request as the validator gets it, and the values its problems point at. */
interface Sent {
  method: string
  /** relative to the file's base path, with the query */
  path: string
  headers: Record<string, string>
  body: string | undefined
  values: { query: Record<string, string>; header: Record<string, string>; requestBody: unknown }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

function jsonType(v: unknown): JsonType | 'undefined' {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  if (typeof v === 'string') return 'string'
  if (typeof v === 'boolean') return 'boolean'
  return typeof v === 'object' ? 'object' : 'undefined'
}

function valueAt(root: unknown, pointer: string): unknown {
  let cur = root
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

/** `at` matches a pattern segment by segment; `*` is any one segment. */
function pointerMatches(pattern: string, at: string): boolean {
  const p = pattern.split('/')
  const a = at.split('/')
  return p.length === a.length && p.every((seg, i) => seg === '*' || seg === a[i])
}

function excuses(d: Departure, problem: Problem, values: Sent['values'] & { reply?: unknown }) {
  const only = d.when?.query ?? {}
  for (const [k, v] of Object.entries(only))
    if (values.query[k]?.toLowerCase() !== v.toLowerCase()) return false
  const form = d.form
  switch (form.kind) {
    case 'lower-case': {
      if (problem.keyword !== 'enum' || !pointerMatches(form.at, problem.at)) return false
      const v = valueAt(values, problem.at)
      const allowed = problem.params.allowedValues
      return (
        typeof v === 'string' &&
        v === v.toLowerCase() &&
        v !== v.toUpperCase() &&
        Array.isArray(allowed) &&
        allowed.includes(v.toUpperCase())
      )
    }
    case 'missing':
      return (
        problem.keyword === 'required' &&
        pointerMatches(form.at, problem.at) &&
        problem.params.missingProperty === form.name
      )
    case 'type':
      return (
        problem.keyword === 'type' &&
        pointerMatches(form.at, problem.at) &&
        problem.params.type === form.declared &&
        ([] as ReadonlyArray<JsonType | 'undefined'>)
          .concat(form.sent)
          .includes(jsonType(valueAt(values, problem.at)))
      )
    case 'enum-value': {
      if (problem.keyword !== 'enum' || !pointerMatches(form.at, problem.at)) return false
      const v = valueAt(values, problem.at)
      return typeof v === 'string' && form.values.includes(v)
    }
    default:
      return false
  }
}

function fromAjv(e: ErrorObject, prefix = ''): Problem {
  return {
    at: `${prefix}${e.instancePath}`,
    keyword: e.keyword,
    message: e.message ?? e.keyword,
    params: e.params as Record<string, unknown>
  }
}

function describeProblem(p: Problem): string {
  const detail = Array.isArray(p.params.allowedValues)
    ? ` (${p.params.allowedValues.join(', ')})`
    : typeof p.params.additionalProperty === 'string'
      ? ` (${p.params.additionalProperty})`
      : ''
  return `${p.at || '/'} ${p.message}${detail}`
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

/**
 * What the library does not check, from the same files: a body sent to an operation that
 * declares none, or with a media type it does not declare; and the rules every file's info block
 * (and Authorization's description) states for all requests, which the per-operation parameters
 * of flow-service.yaml leave optional.
 */
function fileRules(op: Operation, sent: Sent): Problem[] {
  const problems: Problem[] = []
  const declared = new Set(
    (op.parameters ?? []).flatMap((p) =>
      'name' in p && p.in === 'header' && p.required ? [p.name.toLowerCase()] : []
    )
  )
  if (!sent.headers['x-sandbox-name'] && !declared.has('x-sandbox-name'))
    problems.push({
      at: '/header',
      keyword: 'required',
      message: "must have required property 'x-sandbox-name' (the info block: all requests)",
      params: { missingProperty: 'x-sandbox-name' }
    })
  const auth = sent.headers.authorization
  if (auth !== undefined && !/^Bearer \S+$/.test(auth))
    problems.push({
      at: '/header/authorization',
      keyword: 'pattern',
      message: "must be the access token prefixed with 'Bearer '",
      params: {}
    })
  if (sent.body === undefined) return problems
  const body = op.requestBody
  if (!body || !('content' in body))
    problems.push({
      at: '/requestBody',
      keyword: 'requestBody',
      message: 'is sent, but the operation declares no request body',
      params: {}
    })
  else {
    const types = Object.keys(body.content)
    const type = mediaType(sent.headers['content-type'])
    if (!types.includes(type))
      problems.push({
        at: '/header/content-type',
        keyword: 'content-type',
        message: `is ${type === '' ? 'missing' : `"${type}"`}; the operation declares ${types.join(', ')}`,
        params: {}
      })
  }
  return problems
}

/** The problems of one request body (or of each item, for a listed body-items departure). */
function requestProblems(
  backend: OpenAPIBackend,
  op: Operation,
  sent: Sent,
  items: boolean
): Problem[] {
  // The query as a server reads it (each pair split at its first "="), not as qs reads it: qs
  // takes `property=sourceConnectionIds[]==x` (Adobe's documented filter) for a key with brackets.
  const query: Record<string, string | string[]> = {}
  for (const [k, v] of new URLSearchParams(sent.path.split('?')[1] ?? '')) {
    const had = query[k]
    query[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v]
  }
  const validate = (body: string | undefined) =>
    (backend.validateRequest({ ...sent, query, body }, op).errors ?? []).map((e) => fromAjv(e))
  if (!items) return validate(sent.body)
  const list = sent.values.requestBody as unknown[]
  if (list.length === 0)
    return [{ at: '/requestBody', keyword: 'minItems', message: 'is an empty array', params: {} }]
  // Each item is checked as the declared body; its problems point into the array.
  const body = /^\/requestBody(?=\/|$)/
  return list.flatMap((item, i) =>
    validate(JSON.stringify(item)).map((p) => ({
      ...p,
      at: p.at.replace(body, `/requestBody/${i}`)
    }))
  )
}

function replyProblems(backend: OpenAPIBackend, op: Operation, rec: RecordedRequest): Problem[] {
  // Only what the simulator itself answered: a fault's reply is a test's invention.
  if (rec.replyBody === undefined || rec.replyInjected || rec.status === 0) return []
  const reply = rec.replyBody === '' ? null : parseJson(rec.replyBody)
  return (backend.validateResponse(reply, op, rec.status).errors ?? []).map((e) =>
    fromAjv(e, '/reply')
  )
}

// A record is examined once its reply is in (the hook runs after every test, over every request
// the simulators saw so far); again only if its status or reply changed since.
const examined = new WeakMap<RecordedRequest, { state: string; result: Promise<Examination> }>()

/**
 * Checks one recorded request, and the simulator's reply to it, against the file its base path
 * belongs to. IMS requests are not described there and pass.
 */
export function examine(rec: RecordedRequest): Promise<Examination> {
  const state = `${rec.status} ${rec.replyBody === undefined ? '' : 'replied'}`
  const known = examined.get(rec)
  if (known?.state === state) return known.result
  const result = examineNow(rec)
  examined.set(rec, { state, result })
  return result
}

async function examineNow(rec: RecordedRequest): Promise<Examination> {
  const q = rec.url.indexOf('?')
  const pathname = q === -1 ? rec.url : rec.url.slice(0, q)
  const search = q === -1 ? '' : rec.url.slice(q)
  if (pathname === IMS_BASE || pathname.startsWith(`${IMS_BASE}/`))
    return { problems: [], excused: [] }
  const api = apiFor(pathname)
  if (!api)
    return {
      problems: [`${rec.method} ${rec.url}: no Adobe API description covers this path`],
      excused: []
    }
  const backend = await backendFor(api.file)
  const body = rec.body === '' ? undefined : rec.body
  const sent: Sent = {
    method: rec.method,
    path: (pathname.slice(api.base.length) || '/') + search,
    headers: rec.headers,
    body,
    values: {
      query: Object.fromEntries(new URLSearchParams(search)),
      header: rec.headers,
      requestBody: parseJson(body)
    }
  }
  const listed = DEPARTURES.filter((d) => d.file === api.file)
  const excused: Departure[] = []
  let op = backend.matchOperation(sent)
  if (!op)
    for (const d of listed) {
      if (d.form.kind !== 'path') continue
      const declared = d.form.declared(pathname.slice(api.base.length)) + search
      const match = backend.matchOperation({ ...sent, path: declared })
      if (match?.operationId !== d.operationId) continue
      sent.path = declared
      op = match
      excused.push(d)
      break
    }
  if (!op)
    return {
      file: api.file,
      problems: [`${rec.method} ${rec.url}: no operation in ${api.file} matches`],
      excused
    }
  const operationId = op.operationId ?? `${op.method} ${op.path}`
  const mine = listed.filter((d) => d.operationId === operationId)
  const items = mine.find((d) => d.form.kind === 'body-items')
  const asItems = items !== undefined && Array.isArray(sent.values.requestBody)
  if (items && asItems) excused.push(items)
  const values = { ...sent.values, reply: parseJson(rec.replyBody) }
  const problems: string[] = []
  const seen = new Set<string>()
  for (const p of [
    ...fileRules(op, sent),
    ...requestProblems(backend, op, sent, asItems),
    ...replyProblems(backend, op, rec)
  ]) {
    const d = mine.find((x) => excuses(x, p, values))
    if (d) {
      if (!excused.includes(d)) excused.push(d)
      continue
    }
    const line = `${rec.method} ${rec.url} (${api.file} ${operationId}): ${p.at.startsWith('/reply') ? `reply ${rec.status} ` : ''}${describeProblem(p)}`
    if (!seen.has(line)) problems.push(line)
    seen.add(line)
  }
  return { file: api.file, operationId, problems, excused }
}

/** How a recorded request (or its reply) departs from Adobe's files beyond DEPARTURES. */
export async function conformanceProblems(rec: RecordedRequest): Promise<string[]> {
  return (await examine(rec)).problems
}

/** The requests the action itself sent (tests' own probes and IMS requests are left out). */
export const sentByAction = (r: RecordedRequest): boolean =>
  r.service !== 'ims' && (r.headers['user-agent'] ?? '').startsWith(`${ACTION_NAME}/`)
