/**
 * What Adobe's published OpenAPI description of Flow Service declares for the operations this
 * action uses, restated in this project's own form, and a checker for recorded requests.
 * Not a test file: imported by the conformance tests and the suite-wide hook.
 *
 * Source: AdobeDocs/experience-platform-apis, static/swagger-specs/flow-service.yaml, read at
 * repository commit 16c60cd (the file itself last changed in commit 5fd9766). Rendered at
 * https://developer.adobe.com/experience-platform-apis/references/flow-service/
 */
import type { RecordedRequest } from '../../simulator/server.js'

export const API_DESCRIPTION = {
  repository: 'AdobeDocs/experience-platform-apis',
  path: 'static/swagger-specs/flow-service.yaml',
  commit: '16c60cd',
  fileLastChanged: '5fd9766'
} as const

/** The Flow Service base path (the description's servers entry and its info block). */
export const BASE_PATH = '/data/foundation/flowservice'

type JsonType = 'string' | 'object' | 'array' | 'boolean' | 'integer'

/** A request body as the description declares it: required fields and types by dotted path. */
export interface BodyFacts {
  /** 'object' or 'array' at the top */
  shape: 'object' | 'array'
  required: string[]
  types: Record<string, JsonType>
  /** fields with a closed set of values */
  enums?: Record<string, string[]>
}

export interface OperationFacts {
  /** the description's operationId */
  operationId: string
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** path template relative to BASE_PATH, exactly as declared */
  path: string
  /** header parameters declared `required: true` for the operation */
  requiredHeaders: string[]
  /** query parameters declared for the operation (none other may be sent) */
  query: Record<string, { type: JsonType; enum?: string[] }>
  body?: BodyFacts
}

const AUTH_HEADERS = ['authorization', 'x-api-key', 'x-gw-ims-org-id']

/**
 * Headers the description's info block requires of every call (x-sandbox-name: "All requests to
 * Platform APIs require the header x-sandbox-name") and of every call with a body (Content-Type:
 * application/json), although the per-operation parameters leave them optional.
 */
export const INFO_BLOCK_HEADERS = {
  everyCall: ['x-sandbox-name'],
  withBody: { 'content-type': 'application/json' }
} as const

const LIST_QUERY: OperationFacts['query'] = {
  property: { type: 'string' },
  limit: { type: 'integer' },
  orderby: { type: 'string' },
  continuationToken: { type: 'string' },
  count: { type: 'boolean' }
}

/** The eight operations the action uses, as declared. */
export const OPERATIONS: OperationFacts[] = [
  {
    operationId: 'listConnections',
    method: 'GET',
    path: '/connections',
    requiredHeaders: AUTH_HEADERS,
    query: LIST_QUERY
  },
  {
    operationId: 'createConnection',
    method: 'POST',
    path: '/connections',
    requiredHeaders: AUTH_HEADERS,
    query: {},
    // The schema CreateConnectionRequest requires only connectionSpec (SpecInfoDTO: id and
    // version; AuthInfoDTO: specName); the request body's prose marks name, auth, auth.specName,
    // auth.params and connectionSpec.id "(Required)". Both are checked.
    body: {
      shape: 'object',
      required: [
        'name',
        'auth',
        'auth.specName',
        'auth.params',
        'connectionSpec',
        'connectionSpec.id',
        'connectionSpec.version'
      ],
      types: {
        name: 'string',
        description: 'string',
        auth: 'object',
        'auth.specName': 'string',
        'auth.params': 'object',
        connectionSpec: 'object',
        'connectionSpec.id': 'string',
        'connectionSpec.version': 'string'
      }
    }
  },
  {
    operationId: 'retrieveConnection',
    method: 'GET',
    path: '/connections/{BASE_CONNECTION_ID}',
    requiredHeaders: AUTH_HEADERS,
    query: {}
  },
  {
    operationId: 'patchConnection',
    method: 'PATCH',
    path: '/connections/{BASE_CONNECTION_ID}/',
    requiredHeaders: [...AUTH_HEADERS, 'if-match'],
    query: {},
    // PatchInstruction: one object, op/path/value required, op one of ADD, REPLACE, REMOVE.
    body: {
      shape: 'object',
      required: ['op', 'path', 'value'],
      types: { op: 'string', path: 'string' },
      enums: { op: ['ADD', 'REPLACE', 'REMOVE'] }
    }
  },
  {
    operationId: 'deleteConnection',
    method: 'DELETE',
    path: '/connections/{BASE_CONNECTION_ID}/',
    requiredHeaders: AUTH_HEADERS,
    query: {}
  },
  {
    operationId: 'testConnection',
    method: 'GET',
    path: '/connections/{BASE_CONNECTION_ID}/test',
    requiredHeaders: AUTH_HEADERS,
    query: {}
  },
  {
    operationId: 'getByConnectionId',
    method: 'GET',
    path: '/connections/{BASE_CONNECTION_ID}/explore',
    requiredHeaders: AUTH_HEADERS,
    query: {
      objectType: { type: 'string', enum: ['ROOT', 'TABLE', 'FILE', 'FOLDER', 'REST'] },
      object: { type: 'string' },
      FileType: { type: 'string', enum: ['Delimited', 'JSON'] },
      CompressionType: { type: 'string' }
    }
  },
  {
    operationId: 'retrieveConnectionSpec',
    method: 'GET',
    path: '/connectionSpecs/{CONNECTION_SPEC_ID}',
    requiredHeaders: AUTH_HEADERS,
    query: {}
  }
]

/**
 * Where the action departs from the description on purpose, following Adobe's tutorials (which
 * are what Flow Service is shown to accept) rather than the generated description:
 * - patchConnection and deleteConnection are declared on `/connections/{id}/` with a trailing
 *   slash; the update and delete tutorials, the Postman collection and aepp use no slash, and the
 *   description declares GET on the same resource without one. The action sends no slash.
 * - patchConnection's body is declared as one PatchInstruction with upper-case ops; the update
 *   tutorial sends a JSON Patch array (RFC 6902) with lower-case ops, and the error catalogue
 *   quotes lower-case ops ("Unsupported operation 'move'"). The action sends an array of
 *   instructions; each one is checked against PatchInstruction with op compared ignoring case.
 * - explore's objectType enum is upper-case (ROOT); the explore tutorial sends objectType=root.
 *   Enum query values are compared ignoring case.
 */
export const DEPARTURES = {
  noTrailingSlash: ['patchConnection', 'deleteConnection'],
  patchBodyIsArray: true,
  enumsIgnoreCase: true
} as const

function templateRegExp(op: OperationFacts): RegExp {
  let template = op.path
  if ((DEPARTURES.noTrailingSlash as readonly string[]).includes(op.operationId))
    template = template.replace(/\/$/, '')
  const pattern = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+')
  return new RegExp(`^${pattern}$`)
}

/** The operation a request is for, by method and path template. */
export function operationFor(method: string, path: string): OperationFacts | undefined {
  if (!path.startsWith(BASE_PATH)) return undefined
  const rest = path.slice(BASE_PATH.length)
  return OPERATIONS.find((op) => op.method === method && templateRegExp(op).test(rest))
}

function typeOf(v: unknown): JsonType | 'number' | 'null' | 'undefined' {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v as JsonType | 'undefined'
}

function at(obj: unknown, dotted: string): unknown {
  let cur = obj
  for (const key of dotted.split('.')) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

function bodyProblems(facts: BodyFacts, value: unknown, where: string): string[] {
  const problems: string[] = []
  if (typeOf(value) !== 'object') return [`${where} is ${typeOf(value)}, declared an object`]
  for (const field of facts.required)
    if (at(value, field) === undefined) problems.push(`${where}: required ${field} is missing`)
  for (const [field, type] of Object.entries(facts.types)) {
    const v = at(value, field)
    if (v !== undefined && typeOf(v) !== type)
      problems.push(`${where}: ${field} is ${typeOf(v)}, declared ${type}`)
  }
  for (const [field, values] of Object.entries(facts.enums ?? {})) {
    const v = at(value, field)
    if (typeof v === 'string' && !values.some((a) => a.toLowerCase() === v.toLowerCase()))
      problems.push(`${where}: ${field} is not one of ${values.join(', ')}`)
  }
  return problems
}

function queryValueProblem(name: string, value: string, q: { type: JsonType; enum?: string[] }) {
  if (q.type === 'integer' && !/^-?\d+$/.test(value)) return `query ${name} is not an integer`
  if (q.type === 'boolean' && !/^(true|false)$/.test(value)) return `query ${name} is not a boolean`
  if (q.enum && !q.enum.some((e) => e.toLowerCase() === value.toLowerCase()))
    return `query ${name} is not one of ${q.enum.join(', ')}`
  return undefined
}

/**
 * How one recorded request departs from the description (beyond the DEPARTURES above): an
 * undeclared method and path, a missing required header, an undeclared query parameter or a
 * bad value, a body missing a required field or with a field of the wrong type.
 */
export function conformanceProblems(r: RecordedRequest): string[] {
  const op = operationFor(r.method, r.path)
  if (!op) return [`${r.method} ${r.path}: no such operation in the description`]
  const problems: string[] = []
  const headers = [...op.requiredHeaders, ...INFO_BLOCK_HEADERS.everyCall]
  for (const h of headers) if (!r.headers[h]) problems.push(`header ${h} is missing`)
  if (r.headers.authorization && !/^Bearer \S+$/.test(r.headers.authorization))
    problems.push('Authorization is not "Bearer <token>"')
  const query = new URLSearchParams(r.url.includes('?') ? r.url.slice(r.url.indexOf('?') + 1) : '')
  for (const [name, value] of query) {
    const declared = op.query[name]
    if (!declared) problems.push(`query ${name} is not declared`)
    else {
      const p = queryValueProblem(name, value, declared)
      if (p) problems.push(p)
    }
  }
  if (op.body) {
    const ct = r.headers['content-type'] ?? ''
    if (!ct.toLowerCase().startsWith(INFO_BLOCK_HEADERS.withBody['content-type']))
      problems.push('Content-Type is not application/json')
    let body: unknown
    try {
      body = JSON.parse(r.body)
    } catch {
      problems.push('the body is not JSON')
    }
    if (body !== undefined) {
      if (op.operationId === 'patchConnection' && DEPARTURES.patchBodyIsArray) {
        if (!Array.isArray(body) || body.length === 0)
          problems.push('the PATCH body is not a non-empty array of instructions')
        else
          body.forEach((b, i) => problems.push(...bodyProblems(op.body as BodyFacts, b, `[${i}]`)))
      } else problems.push(...bodyProblems(op.body, body, 'body'))
    }
  } else if (r.body !== '') problems.push('a body is sent where none is declared')
  return problems.map((p) => `${r.method} ${r.url} (${op.operationId}): ${p}`)
}

/** The requests the action itself sent to Flow Service (tests' own probes are left out). */
export const sentByAction = (r: RecordedRequest): boolean =>
  r.service === 'flow' &&
  (r.headers['user-agent'] ?? '').startsWith('aep-postgresql-connection-action/')
