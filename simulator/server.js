// Local simulator of Adobe IMS (OAuth server-to-server token endpoint), the AEP Flow Service (base,
// source and target connections, dataflows, the CRMToAEP flow spec), Data Prep mapping sets and
// Catalog datasets. Behaviour follows Adobe's documentation and published API descriptions;
// anything the docs leave open is flagged in comments. It is a test double: no Adobe account or
// network is involved.
import http from 'node:http'
import https from 'node:https'
import { randomUUID, randomBytes } from 'node:crypto'
import { Ajv } from 'ajv'

export const POSTGRES_SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
export const FLOW_BASE_PATH = '/data/foundation/flowservice'
export const DATAPREP_BASE_PATH = '/data/foundation/conversion'
export const CATALOG_BASE_PATH = '/data/foundation/catalog'
export const IMS_TOKEN_PATH = '/ims/token/v3'
/** The Data Lake's connection spec: every target connection here is one. */
export const DATA_LAKE_SPEC_ID = 'c604ff05-7f1a-43c0-8e18-33bf874cb11c'
/** CRMToAEP: the flow spec of table sources (databases, CRMs) batch-ingested into the Data Lake. */
export const CRM_TO_AEP_FLOW_SPEC_ID = '14518937-270c-4525-bdec-c2ba7cce3860'
/** The dataset seeded in every sandbox unless `defaultDataset` is false (`npm start` uses it). */
export const DEFAULT_DATASET = Object.freeze({
  name: 'orders-dataset',
  schemaId: 'https://ns.adobe.com/simtenant/schemas/orders'
})
const AUTH_SPECS = ['Connection String Based Authentication', 'Basic Authentication']
const TRUNCATED_JSON = '{"items":[{"id":"5f0c'

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  latencyMs: 0,
  pageSize: 20,
  orgId: 'SIMORG@AdobeOrg',
  clientId: 'sim-client-id',
  clientSecret: 'sim-client-secret',
  sandboxes: ['prod', 'dev', 'stage'],
  tokenTtlSeconds: 86399,
  tokenUses: undefined,
  spec: {},
  connectionTest: 'pass',
  patchEnabled: true,
  tokenKeepsFilter: true,
  quoteEscapes: true,
  idOrder: 'random',
  listingLagMs: 0,
  createdAtMode: 'epoch-ms',
  skewMs: 1000,
  commitLatencyMs: 0,
  hooks: {},
  deleteInUse: 'refuse',
  scheduleParamsAs: 'strings',
  mappingSourceTypes: 'media-types',
  targetSchemaKey: 'id',
  defaultDataset: true
}
/** A trial's time model and hooks: configure() changes them, reset() restores the start ones. */
const TRIAL = ['listingLagMs', 'createdAtMode', 'skewMs', 'commitLatencyMs', 'hooks']
/**
 * Where Adobe's documents disagree about the dataflow objects, each reading the simulator can take
 * (see server.d.ts): configure() changes them, reset() restores the start ones.
 */
const READINGS = {
  deleteInUse: ['refuse', 'allow'],
  scheduleParamsAs: ['strings', 'spec-types'],
  mappingSourceTypes: ['media-types', 'as-sent'],
  targetSchemaKey: ['id', 'schemaId']
}
/** Settings that configure() can change while the simulator runs. */
const CONFIGURABLE = [
  'latencyMs',
  'pageSize',
  'tokenUses',
  'spec',
  'connectionTest',
  'patchEnabled',
  'tokenKeepsFilter',
  'quoteEscapes',
  ...TRIAL,
  ...Object.keys(READINGS)
]
/** Settings that reset() returns to their start values. */
const RESET = [
  'spec',
  'connectionTest',
  'patchEnabled',
  'tokenKeepsFilter',
  'quoteEscapes',
  ...TRIAL,
  ...Object.keys(READINGS)
]
/** Settings that take a duration: a number of ms, or { min, max } drawn anew each time. */
const DURATIONS = ['listingLagMs', 'commitLatencyMs']
const CREATED_AT_MODES = ['epoch-ms', 'iso', 'missing', 'tied', 'arrival', 'skewed']
const METHODS = ['GET', 'POST', 'PATCH', 'DELETE']
/** The request header a test may set to say which run a request came from (RecordedRequest.run). */
export const RUN_HEADER = 'x-sim-run'

/** latencyMs: one duration for every request, or { GET, POST, PATCH, DELETE } durations. */
const perMethod = (v) => v !== null && typeof v === 'object' && !('min' in v) && !('max' in v)

/** Throws unless `v` is a duration: ms >= 0, or { min, max } with 0 <= min <= max. */
function checkMillis(name, v) {
  const ms = (x) => typeof x === 'number' && Number.isFinite(x) && x >= 0
  if (ms(v) || (v && typeof v === 'object' && ms(v.min) && ms(v.max) && v.min <= v.max)) return
  throw new TypeError(
    `${name} must be a number of ms >= 0 or { min, max }, got ${JSON.stringify(v)}`
  )
}
/** Throws on a setting that cannot work, so a typo fails the test that made it. */
function checkSettings(o) {
  for (const k of DURATIONS) if (o[k] !== undefined) checkMillis(k, o[k])
  if (o.latencyMs !== undefined) {
    if (!perMethod(o.latencyMs)) checkMillis('latencyMs', o.latencyMs)
    else
      for (const [method, v] of Object.entries(o.latencyMs)) {
        if (!METHODS.includes(method))
          throw new TypeError(`latencyMs: ${method} is not one of ${METHODS.join(', ')}`)
        checkMillis(`latencyMs.${method}`, v)
      }
  }
  if (o.createdAtMode !== undefined && !CREATED_AT_MODES.includes(o.createdAtMode))
    throw new TypeError(
      `createdAtMode must be one of ${CREATED_AT_MODES.join(', ')}, got ${JSON.stringify(o.createdAtMode)}`
    )
  if (o.skewMs !== undefined && !(Number.isFinite(o.skewMs) && o.skewMs >= 0))
    throw new TypeError(`skewMs must be a number of ms >= 0, got ${JSON.stringify(o.skewMs)}`)
  for (const [k, values] of Object.entries(READINGS))
    if (o[k] !== undefined && !values.includes(o[k]))
      throw new TypeError(`${k} must be one of ${values.join(', ')}, got ${JSON.stringify(o[k])}`)
}
const maxMillis = (v) => (typeof v === 'number' ? v : v.max)

/**
 * The real clock, the default. `sleep` resolves early when `signal` aborts, so a wait the
 * simulator no longer needs (a released barrier, a closed simulator) leaves no timer behind.
 */
export const realClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve()
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal?.addEventListener('abort', done, { once: true })
    })
}

/**
 * Where random values come from: `random` (() => number in [0, 1)) when given, so a trial can be
 * replayed from a seed; otherwise node:crypto for ids and tokens and Math.random for draws.
 */
function randomSource(random) {
  const bytes = (n) =>
    random
      ? Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)))
      : randomBytes(n)
  return {
    next: random ?? Math.random,
    bytes,
    uuid() {
      if (!random) return randomUUID()
      const b = bytes(16)
      b[6] = (b[6] & 0x0f) | 0x40
      b[8] = (b[8] & 0x3f) | 0x80
      const h = b.toString('hex')
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
    }
  }
}

const unquote = (s) => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s)

/**
 * Replace the value of Password=/PWD= in an ODBC-style connection string with ***.
 * Values may be brace-quoted (Password={a;b}}c}) where '}}' is an escaped '}'.
 */
export function maskConnectionString(cs) {
  let out = ''
  let i = 0
  while (i < cs.length) {
    const eq = cs.indexOf('=', i)
    const semi = cs.indexOf(';', i)
    if (eq === -1 || (semi !== -1 && semi < eq)) {
      // A segment without '=': copy it through unchanged.
      const end = semi === -1 ? cs.length : semi + 1
      out += cs.slice(i, end)
      i = end
      continue
    }
    const key = cs.slice(i, eq)
    let j = eq + 1
    if (cs[j] === '{') {
      j++
      while (j < cs.length) {
        if (cs[j] === '}') {
          if (cs[j + 1] === '}') {
            j += 2
            continue
          }
          j++
          break
        }
        j++
      }
      // Anything after the closing brace up to ';' belongs to the same segment.
      const semiAfter = cs.indexOf(';', j)
      j = semiAfter === -1 ? cs.length : semiAfter
    } else {
      const semiAfter = cs.indexOf(';', j)
      j = semiAfter === -1 ? cs.length : semiAfter
    }
    const value = cs.slice(eq + 1, j)
    const secret = /^\s*(password|pwd)\s*$/i.test(key)
    out += key + '=' + (secret ? '***' : value)
    if (j < cs.length) {
      out += ';'
      j++
    }
    i = j
  }
  return out
}

function maskParams(params) {
  const out = {}
  for (const [k, v] of Object.entries(params ?? {})) {
    if (k === 'connectionString' && typeof v === 'string') out[k] = maskConnectionString(v)
    else if (/pass|secret|token|pwd/i.test(k)) out[k] = '***'
    else out[k] = v
  }
  return out
}

/** A connection string form that refuses brace-quoted values (the `pattern` variant's default). */
export const STRICT_CONNECTION_STRING_PATTERN =
  '^Server=[^;{}]+;Database=[^;{}]+;Port=[0-9]+;UID=[^;{}]+;Password=[^;{}]+(;(EncryptionMethod|ValidateServerCertificate)=[0-9])*$'

const SSL_MODES = ['Disable', 'Allow', 'Prefer', 'Require', 'Verify-Ca', 'Verify-Full']

/**
 * The PostgreSQL connection spec as GET /connectionSpecs/{id} serves it, in the self-serve sources
 * format Adobe documents (authSpec[i] = {name, type, spec: draft-07 JSON Schema of auth.params}).
 * The real document is not public: the default follows the connector overview (sslMode spellings)
 * and the API tutorial (port sent as a string). Variants stand for what a sandbox may serve instead.
 */
export function postgresConnectionSpec(variant = {}) {
  let sslModes = [...SSL_MODES]
  if (variant.withoutRequire) sslModes = sslModes.filter((m) => m !== 'Require')
  if (variant.sslModeSpaces) sslModes = sslModes.map((m) => m.replace('-', ' '))
  const connectionString = {
    type: 'string',
    description: 'connection string to connect to any PostgreSQL instance.',
    format: 'password',
    examples: ['Server={SERVER};Database={DATABASE};Port={PORT};UID={USERNAME};Password={PASSWORD}']
  }
  if (variant.connectionStringPattern)
    connectionString.pattern =
      variant.connectionStringPattern === true
        ? STRICT_CONNECTION_STRING_PATTERN
        : variant.connectionStringPattern
  const authSpec = [
    {
      name: 'Connection String Based Authentication',
      type: 'connectionStringAuth',
      spec: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        description: 'defines auth params required for connecting to PostgreSQL',
        properties: { connectionString },
        required: ['connectionString']
      }
    },
    {
      name: 'Basic Authentication',
      type: 'basicAuthentication',
      spec: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        description: 'defines auth params required for connecting to PostgreSQL',
        properties: {
          server: { type: 'string', description: 'The server name or IP address' },
          port: {
            type: variant.portInteger ? 'integer' : 'string',
            description: 'The port number of the PostgreSQL server'
          },
          database: { type: 'string', description: 'The name of the database' },
          username: { type: 'string', description: 'User name for the database' },
          password: { type: 'string', description: 'Password for the user', format: 'password' },
          sslMode: {
            type: 'string',
            description: 'The SSL mode of the connection',
            enum: sslModes
          }
        },
        required: ['server', 'database', 'username', 'password']
      }
    }
  ]
  for (const a of authSpec) if ((variant.withoutSchemaFor ?? []).includes(a.name)) delete a.spec
  return {
    id: POSTGRES_SPEC_ID,
    name: 'postgres-sql',
    providerId: '0ed90a81-07f4-4586-8190-b40eccef1c5a',
    version: '1.0',
    authSpec,
    attributes: { category: 'Database', isSource: true, connectorName: 'PostgreSQL' }
  }
}

/** JSON Schema validators per schema text, compiled with a real validator (ajv). */
const validators = new Map()
function validatorFor(schema) {
  const key = JSON.stringify(schema)
  let fn = validators.get(key)
  if (!fn) {
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, logger: false })
    const { $schema: _ignored, ...rest } = schema
    fn = ajv.compile(rest)
    validators.set(key, fn)
  }
  return fn
}

/**
 * Validates auth.params against the auth type's schema in a spec; returns an error message naming
 * each failing param (never its value) in the style of a JSON Schema validator, or null.
 * Flow Service's exact wording for this is not documented.
 */
function authParamsProblem(spec, auth) {
  const params = auth.params
  if (!params || typeof params !== 'object' || Array.isArray(params)) {
    return 'auth.params must be an object'
  }
  const schema = spec.authSpec.find((a) => a.name === auth.specName)?.spec
  if (!schema) return null
  const validate = validatorFor(schema)
  if (validate(params)) return null
  const messages = (validate.errors ?? []).map((e) => {
    const name = e.instancePath.slice(1)
    switch (e.keyword) {
      case 'required':
        return `$.${e.params.missingProperty}: is missing but it is required`
      case 'additionalProperties':
        return `$.${e.params.additionalProperty}: is not defined in the schema and the schema does not allow additional properties`
      case 'type':
        return `$.${name}: ${Array.isArray(params[name]) ? 'array' : typeof params[name]} found, ${e.params.type} expected`
      case 'enum':
        return `$.${name}: does not have a value in the enumeration [${e.params.allowedValues.join(', ')}]`
      case 'pattern':
        return `$.${name}: does not match the regex pattern ${e.params.pattern}`
      default:
        return `$.${name}: ${e.message}`
    }
  })
  return `Invalid auth params for auth spec '${auth.specName}': ${messages.join('; ')}`
}

function flatHeaders(raw) {
  const out = {}
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v)
  }
  return out
}

function serviceOf(path) {
  const under = (base) => path === base || path.startsWith(base + '/')
  if (under(FLOW_BASE_PATH)) return 'flow'
  if (under(DATAPREP_BASE_PATH)) return 'dataprep'
  if (under(CATALOG_BASE_PATH)) return 'catalog'
  if (under('/ims')) return 'ims'
  return 'other'
}

/**
 * Parses the value list of a filter (`a,b`, `"a,b"`, `"say \"hi\""`): values are separated by
 * commas outside double quotes; a double-quoted value is taken literally, commas and spaces
 * included, with `\"` and `\\` as escapes when `escapes` is on (Adobe documents quoting, as
 * in `property=name=="CloudStorageToAEP"`, but not escaping: with `escapes` off a backslash is an
 * ordinary character and the first `"` ends the value). A bare value is taken as it is.
 * Returns undefined when a quoted value is not closed or is followed by something other than a comma.
 */
export function parseValueList(raw, escapes = true) {
  const values = []
  let i = 0
  for (;;) {
    if (raw[i] === '"') {
      let value = ''
      let j = i + 1
      for (; j < raw.length; j++) {
        const ch = raw[j]
        if (escapes && ch === '\\' && j + 1 < raw.length) {
          value += raw[++j]
          continue
        }
        if (ch === '"') break
        value += ch
      }
      if (j >= raw.length) return undefined
      values.push(value)
      i = j + 1
      if (i === raw.length) return values
      if (raw[i] !== ',') return undefined
      i++
    } else {
      const comma = raw.indexOf(',', i)
      values.push(raw.slice(i, comma === -1 ? raw.length : comma))
      if (comma === -1) return values
      i = comma + 1
    }
  }
}

// ---- response helpers: handlers return { status, headers, body } and never write directly,
// so faults like commit-then-reset can run a handler and then drop its response.
const json = (status, obj, headers = {}) => ({
  status,
  headers: { 'content-type': 'application/json;charset=utf-8', ...headers },
  body: JSON.stringify(obj)
})
const gatewayError = (status, code, message) => json(status, { error_code: code, message })
function flowError(ctx, status, code, title, detail, extraReport = {}) {
  return json(status, {
    type: `https://ns.adobe.com/aep/errors/FLOW-${code}-${status}`,
    title,
    status,
    report: { 'detailed-message': detail, 'request-id': ctx.requestId, ...extraReport },
    errorMessage: detail,
    errorDetails: detail
  })
}
const badRequest = (detail) =>
  json(400, { type: '/placeholder/type/uri', status: 400, title: 'BadRequestError', detail })

/**
 * How a property= filter field is read from a stored object: a function, or a dotted path
 * ('connectionSpec.id', 'params.tableName') ending in '[]' when the value is an array any of
 * whose elements may match ('sourceConnectionIds[]'). Returns the values to compare: strings,
 * with numbers and booleans as their text; anything else never matches.
 */
export function fieldReader(how) {
  const comparable = (v) =>
    typeof v === 'string' ? [v] : typeof v === 'number' || typeof v === 'boolean' ? [String(v)] : []
  if (typeof how === 'function') return (obj) => comparable(how(obj))
  const many = how.endsWith('[]')
  const path = (many ? how.slice(0, -2) : how).split('.')
  return (obj) => {
    let v = obj
    for (const key of path) v = v !== null && typeof v === 'object' ? v[key] : undefined
    return many ? (Array.isArray(v) ? v.flatMap(comparable) : []) : comparable(v)
  }
}

/**
 * The Flow Service collections served. The store gives every one the same machinery: ids,
 * createdAt, etag, state, paging with continuation tokens, property= filters, the listing faults,
 * listing lag, and GET, PATCH and DELETE by id. A declaration says what differs:
 * - name: the path segment (/connections) and the `type` its 404s report
 * - specField: the field naming the spec an object is an instance of; served after
 *   `description`, refused by PATCH (1414)
 * - filters: each field property= accepts and how to read it (see fieldReader)
 * - create(ctx, body, env): checks a POST body: { error } (a reply), or { fields } with name,
 *   description, the spec reference and the collection's own fields
 * - wire(obj, env): the collection's own fields as served, after `state` (secrets masked)
 * - patch(ctx, draft, op, kind, env) (optional): applies an operation on a path other than
 *   /name, /description and the spec to the draft; returns an error reply or undefined. Without
 *   it such paths are refused (1455).
 * - check(ctx, draft, env) (optional): the object a PATCH leaves (it may normalise it); an error
 *   reply or undefined
 * - deleteRefusal(ctx, obj, env) (optional): an error reply when the object cannot be deleted
 * - patchSwitch (optional): the message a PATCH gets while `patchEnabled` is off (1445)
 * `env` holds what depends on the simulator's state and settings: currentSpec(), config, now(),
 * find(collection, sandbox, id) (a live object), flowsUsing(collection, obj) (the live dataflows
 * using it), dataset(sandbox, id) (Catalog) and mappingSet(sandbox, id) (Data Prep).
 */
const CONNECTIONS = {
  name: 'connections',
  specField: 'connectionSpec',
  filters: {
    name: 'name',
    id: 'id',
    description: 'description',
    'connectionSpec.id': 'connectionSpec.id',
    state: 'state'
  },
  patchSwitch: 'PATCH Connection Feature not enabled.',
  create(ctx, b, env) {
    const invalid = (detail) => ({ error: flowError(ctx, 400, 1400, 'Bad request', detail) })
    if (!b || typeof b !== 'object' || Array.isArray(b))
      return invalid('Request body must be an object')
    const specId = b.connectionSpec?.id
    const specVersion = b.connectionSpec?.version ?? '1.0'
    if (specId !== POSTGRES_SPEC_ID || specVersion !== '1.0') {
      return {
        error: flowError(
          ctx,
          400,
          1413,
          'Bad request',
          `Invalid connection spec id=[${specId}] version=[${specVersion}]`
        )
      }
    }
    if (typeof b.name !== 'string' || b.name.trim() === '') return invalid('name is required')
    if (b.description !== undefined && typeof b.description !== 'string') {
      return invalid('description must be a string')
    }
    if (!b.auth || typeof b.auth !== 'object' || !AUTH_SPECS.includes(b.auth.specName)) {
      return {
        error: flowError(
          ctx,
          400,
          1415,
          'Bad request',
          `The auth spec '${b.auth?.specName}' could not be found for the connection spec ID ${specId}`
        )
      }
    }
    const problem = authParamsProblem(env.currentSpec(), b.auth)
    if (problem) return invalid(problem)
    return {
      fields: connectionFields({
        name: b.name,
        description: b.description,
        auth: { specName: b.auth.specName, params: b.auth.params },
        connectionSpec: { id: specId, version: specVersion }
      })
    }
  },
  wire: (conn) => ({
    auth: { specName: conn.auth.specName, params: maskParams(conn.auth.params) }
  }),
  patch(ctx, draft, op, kind) {
    const invalid = (detail) => flowError(ctx, 400, 1455, 'Bad request', detail)
    const path = op.path
    const needsValue = kind !== 'remove'
    if (path === '/auth/params') {
      if (!needsValue) return invalid('Missing field "params" cannot be removed')
      if (!op.value || typeof op.value !== 'object' || Array.isArray(op.value)) {
        return invalid('auth.params must be an object')
      }
      draft.auth.params = structuredClone(op.value)
    } else if (path.startsWith('/auth/params/') && path.length > '/auth/params/'.length) {
      const key = path.slice('/auth/params/'.length).replace(/~1/g, '/').replace(/~0/g, '~')
      if (key.includes('/')) return invalid(`Unsupported path ${path}`)
      if (!needsValue) {
        if (!(key in draft.auth.params)) return invalid(`Missing field "${key}"`)
        delete draft.auth.params[key]
      } else {
        draft.auth.params[key] = structuredClone(op.value)
      }
    } else {
      return invalid(`Unsupported path ${path}`)
    }
    return undefined
  },
  check(ctx, draft, env) {
    const problem = authParamsProblem(env.currentSpec(), draft.auth)
    return problem ? flowError(ctx, 400, 1455, 'Bad request', problem) : undefined
  },
  deleteRefusal(ctx, conn, env) {
    // In use when told so (setInUse), or while a dataflow reads it through a source connection.
    if (!conn.inUse && env.flowsUsing('connections', conn).length === 0) return undefined
    return flowError(
      ctx,
      400,
      1418,
      'Bad request',
      `Connection with id=[${conn.id}] is used by one or more flows; ensure that corresponding flows are deleted`
    )
  }
}

/** A base connection's own fields, with the defaults a seeded one gets. */
function connectionFields(c) {
  return {
    name: c.name,
    ...(c.description !== undefined ? { description: c.description } : {}),
    auth: structuredClone(c.auth),
    connectionSpec: { ...c.connectionSpec },
    inUse: c.inUse ?? false,
    tables: [...(c.tables ?? ['public.customers', 'public.orders'])]
  }
}

// ---- The dataflow objects: source and target connections, dataflows, the flow spec, mapping sets
// and datasets. The comments cite Adobe's sources by key:
// - O1, O2, O3: the published API descriptions, AdobeDocs/experience-platform-apis
//   static/swagger-specs/flow-service.yaml, data-prep.yaml and catalog.yaml (read at 16c60cd)
// - D1 to D12: AdobeDocs/experience-platform.en, help/sources/tutorials/api/: D1
//   collect/database-nosql.md, D2 collect/table-dataflow-template.md, D3 update-dataflows.md;
//   D6 help/data-prep/api/mapping-set.md; D7 help/sources/errors/flow-service-errors.md (the error
//   catalogue); D8 help/dataflows/api/sort-and-filter.md; D11
//   help/destinations/api/update-destination-dataflows.md; D12 help/catalog/api/look-up-object.md
// - aepp: pitchmuc/aepp (flowservice.py, dataprep.py), a Python client of these APIs
// Where they disagree, the simulator accepts every form in requests and lets a test choose the
// form of replies (READINGS).
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)
const nonEmpty = (v) => typeof v === 'string' && v.trim() !== ''
/** An integer sent as a number or as a string of digits (Adobe's examples send both). */
function integerOf(v) {
  if (typeof v === 'number' && Number.isInteger(v)) return v
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v)
  return undefined
}
/** A boolean sent as one or as "true"/"false" (D1/D2 send `"backfill": "true"`). */
const booleanOf = (v) =>
  typeof v === 'boolean' ? v : v === 'true' || v === 'false' ? v === 'true' : undefined

/**
 * Applies one JSON Patch operation at a JSON Pointer inside `root` (RFC 6901 escapes; '-'
 * appends to an array). Returns what went wrong, or undefined. Lenient as for /description:
 * replace of a missing member behaves like add.
 */
function applyPointer(root, pointer, kind, value) {
  const keys = pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
  // A test double still must not let a request write onto Object.prototype.
  if (keys.some((k) => ['__proto__', 'constructor', 'prototype'].includes(k)))
    return `Invalid path ${pointer}`
  const index = (arr, key, extra) => {
    const i = key === '-' && extra ? arr.length : /^\d+$/.test(key) ? Number(key) : NaN
    return i < arr.length + (extra ? 1 : 0) ? i : undefined
  }
  let parent = root
  for (const key of keys.slice(0, -1)) {
    const next = Array.isArray(parent) ? parent[index(parent, key, false) ?? -1] : parent[key]
    if (next === null || typeof next !== 'object') return `Missing field "${key}"`
    parent = next
  }
  const last = keys[keys.length - 1]
  if (Array.isArray(parent)) {
    const i = index(parent, last, kind === 'add')
    if (i === undefined) return `Invalid array index "${last}" in ${pointer}`
    if (kind === 'add') parent.splice(i, 0, structuredClone(value))
    else if (kind === 'remove') parent.splice(i, 1)
    else parent[i] = structuredClone(value)
    return undefined
  }
  if (kind === 'remove') {
    if (!Object.hasOwn(parent, last)) return `Missing field "${last}"`
    delete parent[last]
  } else parent[last] = structuredClone(value)
  return undefined
}

/** A PATCH operation on one of `prefixes` (or below one), applied to the draft; 1455 otherwise. */
function patchUnder(ctx, draft, op, kind, prefixes) {
  const invalid = (detail) => flowError(ctx, 400, 1455, 'Bad request', detail)
  if (!prefixes.some((p) => op.path === p || op.path.startsWith(p + '/')))
    return invalid(`Unsupported path ${op.path}`)
  const problem = applyPointer(draft, op.path, kind, op.value)
  return problem ? invalid(problem) : undefined
}

/** A spec reference: { id, version } with the version defaulting to 1.0; 1413 for another id. */
function specRefOf(ctx, ref, id, what) {
  const specId = ref?.id
  const version = ref?.version ?? '1.0'
  if (specId !== id || version !== '1.0')
    return {
      error: flowError(
        ctx,
        400,
        1413,
        'Invalid request',
        `Invalid ${what} id=[${specId}] version=[${version}]; expected id=[${id}] version=[1.0]`
      )
    }
  return { ref: { id: specId, version } }
}

/** name (required unless `optional`) and description: strings. A reply when they are not. */
function namesProblem(ctx, b, optional = false) {
  const invalid = (detail) => flowError(ctx, 400, 1400, 'Bad request', detail)
  if (optional ? b.name !== undefined && typeof b.name !== 'string' : !nonEmpty(b.name))
    return invalid('name is required and must be a string')
  if (b.description !== undefined && typeof b.description !== 'string')
    return invalid('description must be a string')
  return undefined
}

/**
 * A body field naming an object that does not exist. Flow Service's catalogue has no code for it;
 * 1439-400 ("The requested flows resource … is not found") is its nearest: a 400 for a missing
 * resource named in a request.
 */
const missingResource = (ctx, field, type, id) =>
  flowError(
    ctx,
    400,
    1439,
    'Resource not found',
    `${field}: the requested ${type} resource ${id} is not found in this sandbox`
  )

/**
 * PostgreSQL source connections (D1, D2, O1): one table of a base connection. Checks that the
 * base connection lives in the sandbox (1439-400) and that the table is one explore lists
 * (1400-400, naming params.tableName).
 */
const SOURCE_CONNECTIONS = {
  name: 'sourceConnections',
  specField: 'connectionSpec',
  filters: {
    id: 'id',
    name: 'name',
    description: 'description',
    'connectionSpec.id': 'connectionSpec.id',
    baseConnectionId: 'baseConnectionId',
    'params.tableName': 'params.tableName',
    state: 'state'
  },
  create(ctx, b, env) {
    if (!isObject(b))
      return { error: flowError(ctx, 400, 1400, 'Bad request', 'Request body must be an object') }
    const spec = specRefOf(ctx, b.connectionSpec, POSTGRES_SPEC_ID, 'connection spec')
    if (spec.error) return spec
    const names = namesProblem(ctx, b)
    if (names) return { error: names }
    const fields = {
      name: b.name,
      description: b.description,
      connectionSpec: spec.ref,
      baseConnectionId: b.baseConnectionId,
      data: structuredClone(b.data),
      params: structuredClone(b.params)
    }
    const problem = this.check(ctx, fields, env)
    return problem ? { error: problem } : { fields }
  },
  wire: (s, env) => {
    const base = env.find('connections', s.sandboxName, s.baseConnectionId)
    return {
      baseConnectionId: s.baseConnectionId,
      data: structuredClone(s.data),
      params: structuredClone(s.params),
      providerRefId: postgresConnectionSpec().providerId,
      inheritedAttributes: {
        baseConnection: {
          id: s.baseConnectionId,
          connectionSpec: { ...(base?.connectionSpec ?? s.connectionSpec) }
        }
      }
    }
  },
  // O1 declares PATCH without saying which fields may change: params and data here.
  patch: (ctx, draft, op, kind) => patchUnder(ctx, draft, op, kind, ['/params', '/data']),
  check(ctx, s, env) {
    const invalid = (detail) => flowError(ctx, 400, 1400, 'Bad request', detail)
    if (!nonEmpty(s.baseConnectionId)) return invalid('baseConnectionId is required')
    const base = env.find('connections', ctx.sandbox, s.baseConnectionId)
    if (!base) return missingResource(ctx, 'baseConnectionId', 'connections', s.baseConnectionId)
    // D1: "tabular" for every table-based source.
    if (!isObject(s.data) || s.data.format !== 'tabular')
      return invalid('data.format must be "tabular" for a table-based source')
    if (!isObject(s.params) || !nonEmpty(s.params.tableName))
      return invalid('params.tableName is required')
    if (!base.tables.includes(s.params.tableName))
      return invalid(
        `params.tableName: table ${s.params.tableName} not found in connection ${base.id} (explore lists ${base.tables.join(', ')})`
      )
    if (s.params.columns !== undefined && !Array.isArray(s.params.columns))
      return invalid('params.columns must be a list of columns')
    return undefined
  },
  deleteRefusal: (ctx, obj, env) => inUseRefusal(ctx, 'sourceConnections', obj, env)
}

/**
 * Data Lake target connections (D1, D2, O1): one Catalog dataset and its XDM schema. The dataset
 * must exist in the sandbox (1439-400) and data.schema.id must be its schemaRef.id (1425-400).
 * data.schema.version is taken as sent: D1 says "…;version=1", O1 and aepp "1.0".
 */
const TARGET_CONNECTIONS = {
  name: 'targetConnections',
  specField: 'connectionSpec',
  filters: {
    id: 'id',
    name: 'name',
    description: 'description',
    'connectionSpec.id': 'connectionSpec.id',
    baseConnectionId: 'baseConnectionId',
    'params.dataSetId': 'params.dataSetId',
    state: 'state'
  },
  create(ctx, b, env) {
    if (!isObject(b))
      return { error: flowError(ctx, 400, 1400, 'Bad request', 'Request body must be an object') }
    const spec = specRefOf(ctx, b.connectionSpec, DATA_LAKE_SPEC_ID, 'connection spec')
    if (spec.error) return spec
    // O1 makes name optional here, unlike every other object.
    const names = namesProblem(ctx, b, true)
    if (names) return { error: names }
    const fields = {
      name: b.name,
      description: b.description,
      connectionSpec: spec.ref,
      data: structuredClone(b.data),
      params: structuredClone(b.params)
    }
    const problem = this.check(ctx, fields, env)
    return problem ? { error: problem } : { fields }
  },
  wire(t, env) {
    const data = structuredClone(t.data)
    // aepp reads data.schema.id or data.schema.schemaId, "handling inconsistency in the response".
    if (env.config.targetSchemaKey === 'schemaId' && isObject(data.schema)) {
      data.schema = { schemaId: data.schema.id, ...data.schema }
      delete data.schema.id
    }
    return { data, params: structuredClone(t.params) }
  },
  patch: (ctx, draft, op, kind) => patchUnder(ctx, draft, op, kind, ['/params', '/data']),
  check(ctx, t, env) {
    const invalid = (detail) => flowError(ctx, 400, 1400, 'Bad request', detail)
    if (!isObject(t.data) || !isObject(t.data.schema) || !nonEmpty(t.data.schema.id))
      return invalid('data.schema.id is required: the $id of the target XDM schema')
    if (typeof t.data.schema.version !== 'string')
      return invalid('data.schema.version is required and must be a string')
    if (t.data.format !== undefined && typeof t.data.format !== 'string')
      return invalid('data.format must be a string')
    if (!isObject(t.params) || !nonEmpty(t.params.dataSetId))
      return invalid('params.dataSetId is required')
    const dataset = env.dataset(ctx.sandbox, t.params.dataSetId)
    if (!dataset) return missingResource(ctx, 'params.dataSetId', 'dataSets', t.params.dataSetId)
    if (dataset.schemaRef.id !== t.data.schema.id)
      return schemaMismatch(ctx, dataset, t.data.schema.id)
    return undefined
  },
  deleteRefusal: (ctx, obj, env) => inUseRefusal(ctx, 'targetConnections', obj, env)
}

/** D7's 1425-400, naming both schemas. */
const schemaMismatch = (ctx, dataset, schemaId) =>
  flowError(
    ctx,
    400,
    1425,
    'Invalid request',
    `Error while matching schema in target dataset ${dataset.id} (${dataset.schemaRef.id}) with schema ${schemaId}. Schema with same id and version must be used in both mapping and target dataset.`
  )

/**
 * A source or target connection a dataflow still uses. No refusal is documented for deleting
 * one (D7, O1); D7's 1447-400 "Found active flows containing id …" fits it. deleteInUse
 * 'refuse' (the default, so a deletion in the wrong order fails here rather than against
 * Platform) answers with it; 'allow' deletes, leaving the dataflow pointing at nothing.
 */
function inUseRefusal(ctx, collection, obj, env) {
  if (env.config.deleteInUse === 'allow') return undefined
  const flows = env.flowsUsing(collection, obj).map((f) => f.id)
  if (flows.length === 0) return undefined
  return flowError(
    ctx,
    400,
    1447,
    'Invalid request',
    `Found active flows containing id ${obj.id}.`,
    { flowIds: flows }
  )
}

const FREQUENCIES = ['once', 'minute', 'hour', 'day', 'week']

/**
 * The CRMToAEP flow spec as D2 shows it (sourceConnectionSpecIds, targetConnectionSpecIds, the
 * Copy and Mapping transformation specs, the schedule spec); D1 names the transformations key
 * `transformationSpec`, D2 `transformationSpecs`: served as D2.
 */
export function crmToAepFlowSpec() {
  const draft7 = 'http://json-schema.org/draft-07/schema#'
  const deltaColumn = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      dateFormat: { type: 'string' },
      timezone: { type: 'string' }
    },
    required: ['name']
  }
  return {
    id: CRM_TO_AEP_FLOW_SPEC_ID,
    name: 'CRMToAEP',
    providerId: '0ed90a81-07f4-4586-8190-b40eccef1c5a',
    version: '1.0',
    sourceConnectionSpecIds: [
      '3416976c-a9ca-4bba-901a-1f08f66978ff',
      '38ad80fe-8b06-4938-94f4-d4ee80266b07',
      'd771e9c1-4f26-40dc-8617-ce58c4b53702',
      '3c9b37f8-13a6-43d8-bad3-b863b941fedd',
      'cc6a4487-9e91-433e-a3a3-9cf6626c1806',
      '3000eb99-cd47-43f3-827c-43caf170f015',
      '26d738e0-8963-47ea-aadf-c60de735468a',
      POSTGRES_SPEC_ID,
      'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5',
      '4f63aa36-bd48-4e33-bb83-49fbcd11c708',
      'cb66ab34-8619-49cb-96d1-39b37ede86ea',
      'eb13cb25-47ab-407f-ba89-c0125281c563',
      '1f372ff9-38a4-4492-96f5-b9a4e4bd00ec',
      '37b6bf40-d318-4655-90be-5cd6f65d334b',
      'a49bcc7d-8038-43af-b1e4-5a7a089a7d79',
      'a8b6a1a4-5735-42b4-952c-85dce0ac38b5'
    ],
    targetConnectionSpecIds: [DATA_LAKE_SPEC_ID],
    transformationSpecs: [
      {
        name: 'Copy',
        spec: {
          $schema: draft7,
          type: 'object',
          properties: { deltaColumn },
          required: ['deltaColumn']
        }
      },
      {
        name: 'Mapping',
        spec: {
          $schema: draft7,
          type: 'object',
          description:
            'defines various params required for different mapping from source to target',
          properties: { mappingId: { type: 'string' }, mappingVersion: { type: 'string' } }
        }
      }
    ],
    scheduleSpec: {
      name: 'PeriodicSchedule',
      type: 'Periodic',
      spec: {
        $schema: draft7,
        type: 'object',
        properties: {
          startTime: { description: 'epoch time', type: 'integer' },
          frequency: { type: 'string', enum: [...FREQUENCIES] },
          interval: { type: 'integer' },
          backfill: { type: 'boolean', default: true }
        },
        required: ['startTime', 'frequency'],
        if: { properties: { frequency: { const: 'once' } } },
        then: { allOf: [{ not: { required: ['interval'] } }, { not: { required: ['backfill'] } }] },
        else: {
          required: ['interval'],
          if: { properties: { frequency: { const: 'minute' } } },
          then: { properties: { interval: { minimum: 15 } } },
          else: { properties: { interval: { minimum: 1 } } }
        }
      }
    },
    attributes: { isSourceFlow: true, isDraftModeSupported: true, frequency: 'batch' }
  }
}

/**
 * scheduleParams as the CRMToAEP schedule spec has them (D1, D2): startTime (epoch seconds) and a
 * frequency; no interval or backfill with once; otherwise an interval of at least 15 (minute) or
 * 1. Numbers and booleans are accepted as they are or as strings, since the tutorials send
 * strings and the spec types them (D2, D3); normalised in place to the spec's types.
 * Returns what is wrong, or undefined.
 */
function scheduleProblem(s) {
  if (!isObject(s)) return 'scheduleParams is required and must be an object'
  const startTime = integerOf(s.startTime)
  if (startTime === undefined || startTime < 0)
    return `scheduleParams.startTime must be an integer (epoch seconds), got ${JSON.stringify(s.startTime)}`
  if (!FREQUENCIES.includes(s.frequency))
    return `scheduleParams.frequency must be one of ${FREQUENCIES.join(', ')}, got ${JSON.stringify(s.frequency)}`
  s.startTime = startTime
  if (s.frequency === 'once') {
    if (s.interval !== undefined)
      return 'scheduleParams.interval is not allowed with frequency once'
    if (s.backfill !== undefined)
      return 'scheduleParams.backfill is not allowed with frequency once'
    return undefined
  }
  if (s.interval === undefined)
    return `scheduleParams.interval is required with frequency ${s.frequency}`
  const interval = integerOf(s.interval)
  const least = s.frequency === 'minute' ? 15 : 1
  if (interval === undefined || interval < least)
    return `scheduleParams.interval must be an integer of at least ${least} with frequency ${s.frequency}, got ${JSON.stringify(s.interval)}`
  s.interval = interval
  if (s.backfill !== undefined) {
    const backfill = booleanOf(s.backfill)
    if (backfill === undefined)
      return `scheduleParams.backfill must be a boolean, got ${JSON.stringify(s.backfill)}`
    s.backfill = backfill
  }
  return undefined
}

/**
 * Checks a whole dataflow (a POST body made into one, or what a PATCH leaves) as Flow Service
 * would, normalising scheduleParams and mappingVersion in place. Returns an error reply or
 * undefined. Codes: 1413 flow spec, 1439 a source, target or mapping set that does not exist,
 * 1412 a mapping version that does not, 1425 the mapping's schema is not the target's, 1400
 * the rest (each message names the field).
 */
function flowProblem(ctx, f, env) {
  const invalid = (detail) => flowError(ctx, 400, 1400, 'Bad request', detail)
  const names = namesProblem(ctx, f)
  if (names) return names
  const connections = {}
  for (const [field, collection] of [
    ['sourceConnectionIds', 'sourceConnections'],
    ['targetConnectionIds', 'targetConnections']
  ]) {
    const ids = f[field]
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every(nonEmpty))
      return invalid(`${field} must be a non-empty list of ids`)
    connections[field] = []
    for (const id of ids) {
      const found = env.find(collection, ctx.sandbox, id)
      if (!found) return missingResource(ctx, field, collection, id)
      connections[field].push(found)
    }
  }
  const schedule = scheduleProblem(f.scheduleParams)
  if (schedule) return invalid(schedule)
  if (!Array.isArray(f.transformations)) return invalid('transformations must be a list')
  const seen = new Set()
  for (const [i, t] of f.transformations.entries()) {
    const at = `transformations[${i}]`
    if (!isObject(t) || !['Copy', 'Mapping'].includes(t.name))
      return invalid(`${at}.name must be Copy or Mapping, got ${JSON.stringify(t?.name)}`)
    if (seen.has(t.name)) return invalid(`${at}: more than one ${t.name} transformation`)
    seen.add(t.name)
    if (!isObject(t.params)) return invalid(`${at}.params must be an object`)
    if (t.name === 'Copy') {
      const dc = t.params.deltaColumn
      if (!isObject(dc) || !nonEmpty(dc.name))
        return invalid(`${at}.params.deltaColumn.name is required by the Copy transformation`)
      for (const k of ['dateFormat', 'timezone'])
        if (dc[k] !== undefined && typeof dc[k] !== 'string')
          return invalid(`${at}.params.deltaColumn.${k} must be a string`)
      continue
    }
    const { mappingId } = t.params
    if (!nonEmpty(mappingId)) return invalid(`${at}.params.mappingId is required`)
    const set = env.mappingSet(ctx.sandbox, mappingId)
    if (!set) return missingResource(ctx, `${at}.params.mappingId`, 'mappingSets', mappingId)
    // A number in the tutorials' requests, a string in the spec, O1 and D3's GET.
    const version = integerOf(t.params.mappingVersion)
    const stored = set.versions.find((v) => v.version === version)
    if (!stored)
      return flowError(
        ctx,
        400,
        1412,
        'Invalid request',
        `Invalid Mapping Version in request: ${at}.params.mappingVersion ${JSON.stringify(t.params.mappingVersion)} is not a version of mapping set ${mappingId} (0 to ${set.versions.length - 1}). Please provide correct mapping version.`
      )
    t.params.mappingVersion = version
    // D7 speaks of id and version; the versions are spelled differently across the docs
    // (1.0, ;version=1), so only the ids are compared.
    const schemaId = stored.outputSchema.schemaRef.id
    for (const target of connections.targetConnectionIds)
      if (target.data.schema.id !== schemaId)
        return flowError(
          ctx,
          400,
          1425,
          'Invalid request',
          `Error while matching schema in target dataset ${target.params.dataSetId} with schema in mapping ${mappingId}. Schema with same id and version must be used in both mapping and target dataset.`
        )
  }
  // O1: database sources "require … deltaColumn"; a one-off run may go without.
  if (f.scheduleParams.frequency !== 'once' && !seen.has('Copy'))
    return invalid(
      'transformations: a Copy transformation with params.deltaColumn is required unless scheduleParams.frequency is once'
    )
  return undefined
}

/**
 * Dataflows of the CRMToAEP flow spec (D1, D2, D3, O1). created enabled; PATCH takes name,
 * description, scheduleParams (startTime only until the scheduled start has passed, D3) and
 * transformations, whole or below params; the result is checked as a POST is.
 * POST /flows/{id}/action enables and disables (see flowAction in startSimulator).
 */
const FLOWS = {
  name: 'flows',
  specField: 'flowSpec',
  filters: {
    id: 'id',
    name: 'name',
    description: 'description',
    'flowSpec.id': 'flowSpec.id',
    state: 'state',
    // D8 writes the array filters with [] (sourceConnectionIds[]==a,b); plain names too.
    'sourceConnectionIds[]': 'sourceConnectionIds[]',
    'targetConnectionIds[]': 'targetConnectionIds[]',
    sourceConnectionIds: 'sourceConnectionIds[]',
    targetConnectionIds: 'targetConnectionIds[]'
  },
  create(ctx, b, env) {
    if (!isObject(b))
      return { error: flowError(ctx, 400, 1400, 'Bad request', 'Request body must be an object') }
    if (b.state !== undefined)
      return {
        error: flowError(
          ctx,
          400,
          1410,
          'Invalid request',
          'State is not allowed in the create flow request.'
        )
      }
    const spec = specRefOf(ctx, b.flowSpec, CRM_TO_AEP_FLOW_SPEC_ID, 'flow spec')
    if (spec.error) return spec
    const fields = {
      name: b.name,
      description: b.description,
      flowSpec: spec.ref,
      sourceConnectionIds: structuredClone(b.sourceConnectionIds),
      targetConnectionIds: structuredClone(b.targetConnectionIds),
      transformations: structuredClone(b.transformations),
      scheduleParams: structuredClone(b.scheduleParams)
    }
    const problem = flowProblem(ctx, fields, env)
    return problem ? { error: problem } : { fields }
  },
  wire(f, env) {
    // D3's GET serves every schedule value and mappingVersion as a string; the spec types them.
    const asStrings = env.config.scheduleParamsAs === 'strings'
    const scheduleParams = Object.fromEntries(
      Object.entries(f.scheduleParams).map(([k, v]) => [
        k,
        asStrings && ['startTime', 'interval', 'backfill'].includes(k) ? String(v) : v
      ])
    )
    const transformations = f.transformations.map((t) =>
      t.name === 'Mapping'
        ? { ...t, params: { ...t.params, mappingVersion: String(t.params.mappingVersion) } }
        : structuredClone(t)
    )
    const specOf = (collection, id) => env.find(collection, f.sandboxName, id)?.connectionSpec
    return {
      sourceConnectionIds: [...f.sourceConnectionIds],
      targetConnectionIds: [...f.targetConnectionIds],
      // Read from the connections as they are now (D3 shows it on reads, O1 declares it).
      inheritedAttributes: {
        sourceConnections: f.sourceConnectionIds.map((id) => {
          const source = env.find('sourceConnections', f.sandboxName, id)
          return {
            id,
            ...(source ? { connectionSpec: { ...source.connectionSpec } } : {}),
            ...(source
              ? {
                  baseConnection: {
                    id: source.baseConnectionId,
                    connectionSpec: {
                      ...(specOf('connections', source.baseConnectionId) ?? source.connectionSpec)
                    }
                  }
                }
              : {})
          }
        }),
        targetConnections: f.targetConnectionIds.map((id) => {
          const spec = specOf('targetConnections', id)
          return { id, ...(spec ? { connectionSpec: { ...spec } } : {}) }
        })
      },
      scheduleParams,
      transformations,
      runs: `/runs?property=flowId==${f.id}`
    }
  },
  patch: (ctx, draft, op, kind) =>
    patchUnder(ctx, draft, op, kind, ['/scheduleParams', '/transformations']),
  check(ctx, draft, env) {
    const before = env.find('flows', ctx.sandbox, draft.id)
    const problem = flowProblem(ctx, draft, env)
    if (problem) return problem
    // D3: "You cannot update the startTime of a dataflow if the initially scheduled startTime
    // has already occurred."
    const was = before?.scheduleParams.startTime
    if (was !== undefined && draft.scheduleParams.startTime !== was && env.now() >= was * 1000)
      return flowError(
        ctx,
        400,
        1455,
        'Invalid request',
        `scheduleParams.startTime cannot be updated: the scheduled start time ${was} has already occurred`
      )
    return undefined
  }
}

/** The pseudo-collection GET /flowSpecs filters (there is one flow spec here). */
const FLOW_SPECS = { readers: { id: fieldReader('id'), name: fieldReader('name') } }

const SOURCE_TYPES = ['ATTRIBUTE', 'EXPRESSION', 'STATIC']
/**
 * The media types Data Prep reads sourceType back as (D6's GET and PUT replies; aepp sends
 * them too). STATIC's is not documented: text/plain is taken from Destination SDK's mappings.
 */
const SOURCE_MEDIA_TYPES = {
  ATTRIBUTE: 'text/x.schema-path',
  EXPRESSION: 'text/x.aep-xl',
  STATIC: 'text/plain'
}
const XDM_FULL = 'application/vnd.adobe.xed-full+json;version=1'

/**
 * A mapping set body (POST, PUT, validate) in either dialect the docs show: O2 and D6's
 * `outputSchema.schemaRef` + `mappings[].{sourceType, source, destination}`, or D1 and D2's
 * `xdmSchema` (+ `xdmVersion`) + `mappings[].{sourceAttribute, destinationXdmPath}` (attribute
 * mappings). Returns { error } naming the field, or { value: { name, outputSchema, mappings } }
 * with mappings as { sourceType: ATTRIBUTE|EXPRESSION|STATIC, source, destination, name?,
 * description? }. sourceType may also be sent as the media type reads return.
 */
function mappingSetOf(b) {
  if (!isObject(b)) return { error: 'The request body must be a JSON object' }
  if (b.name !== undefined && b.name !== null && typeof b.name !== 'string')
    return { error: 'name must be a string' }
  const xdmVersion = typeof b.xdmVersion === 'string' ? b.xdmVersion : ''
  const schemaRef = isObject(b.outputSchema)
    ? b.outputSchema.schemaRef
    : typeof b.xdmSchema === 'string'
      ? { id: b.xdmSchema, contentType: xdmVersion.includes('/') ? xdmVersion : XDM_FULL }
      : undefined
  if (!isObject(schemaRef) || !nonEmpty(schemaRef.id))
    return { error: 'outputSchema.schemaRef.id (or xdmSchema) is required: the target schema $id' }
  if (schemaRef.contentType !== undefined && typeof schemaRef.contentType !== 'string')
    return { error: 'outputSchema.schemaRef.contentType must be a string' }
  if (!Array.isArray(b.mappings) || b.mappings.length === 0)
    return { error: 'mappings must be a non-empty list' }
  const mappings = []
  for (const [i, m] of b.mappings.entries()) {
    const at = `mappings[${i}]`
    if (!isObject(m)) return { error: `${at} must be an object` }
    const dialectB = m.source === undefined && m.sourceAttribute !== undefined
    let sourceType = m.sourceType
    if (sourceType === undefined && dialectB) sourceType = 'ATTRIBUTE'
    const fromMedia = Object.keys(SOURCE_MEDIA_TYPES).find(
      (k) => SOURCE_MEDIA_TYPES[k] === sourceType
    )
    sourceType = fromMedia ?? sourceType
    if (!SOURCE_TYPES.includes(sourceType))
      return {
        error: `${at}.sourceType must be one of ${SOURCE_TYPES.join(', ')}, got ${JSON.stringify(m.sourceType)}`
      }
    const source = dialectB ? m.sourceAttribute : m.source
    const destination = m.destination ?? m.destinationXdmPath
    if (!nonEmpty(source)) return { error: `${at}.source is required` }
    if (!nonEmpty(destination)) return { error: `${at}.destination is required` }
    for (const k of ['name', 'description'])
      if (m[k] !== undefined && m[k] !== null && typeof m[k] !== 'string')
        return { error: `${at}.${k} must be a string` }
    mappings.push({
      sourceType,
      source,
      destination,
      ...(typeof m.name === 'string' ? { name: m.name } : {}),
      ...(typeof m.description === 'string' ? { description: m.description } : {})
    })
  }
  return {
    value: {
      ...(typeof b.name === 'string' ? { name: b.name } : {}),
      outputSchema: {
        schemaRef: { id: schemaRef.id, contentType: schemaRef.contentType ?? XDM_FULL }
      },
      mappings
    }
  }
}

const COLLECTIONS = [CONNECTIONS, SOURCE_CONNECTIONS, TARGET_CONNECTIONS, FLOWS].map((c) => ({
  ...c,
  readers: Object.fromEntries(Object.entries(c.filters).map(([k, how]) => [k, fieldReader(how)]))
}))

/** Simulators started and not yet closed, so test hooks can inspect every request they saw. */
const live = new Set()
export function liveSimulators() {
  return [...live]
}
/** Simulators closed since simulatorsToInspect() was last called. */
const closedSince = new Set()
/**
 * The simulators whose requests a test hook has yet to see: the live ones and those closed since
 * the last call (a test that starts and closes its own simulator is inspected too).
 */
export function simulatorsToInspect() {
  const all = [...live, ...closedSince]
  closedSince.clear()
  return all
}

export async function startSimulator(options = {}) {
  const opts = { ...DEFAULTS, ...stripUndefined(options) }
  checkSettings(opts)
  const config = Object.fromEntries(CONFIGURABLE.map((k) => [k, opts[k]]))
  // Every reading of the time and every wait goes through the clock, so tests can share a
  // virtual one with the code under test; the clock's random() serves when no random is given.
  const clock = opts.clock ?? realClock
  const rnd = randomSource(opts.random ?? (clock.random ? () => clock.random() : undefined))
  /** Aborted on close(): ends every wait still pending, so nothing outlives the simulator. */
  const closing = new AbortController()
  /**
   * Waits on the clock while a request is held. A clock with idleWhile() is told that the
   * request is not busy meanwhile (a virtual clock may then move time on).
   */
  const idle = (promise) => (clock.idleWhile ? clock.idleWhile(promise) : promise)
  const wait = (ms) => idle(clock.sleep(ms, closing.signal))
  /** A duration setting's value for one use: { min, max } draws a whole number of ms. */
  const drawMillis = (v) =>
    typeof v === 'number'
      ? v
      : Math.min(v.max, v.min + Math.floor(rnd.next() * (v.max - v.min + 1)))
  /** Cosmos-DB style etag as Flow Service returns it, quotes included. */
  const newEtag = () => {
    const ts = Math.floor(clock.now() / 1000)
      .toString(16)
      .padStart(8, '0')
    return `"${rnd.bytes(4).toString('hex')}-0000-0200-0000-${ts}0000"`
  }
  const currentSpec = () => postgresConnectionSpec(config.spec)
  // Compile the served spec's validators now, not inside the first create a test times.
  for (const a of currentSpec().authSpec) if (a.spec) validatorFor(a.spec)
  const sandboxes = [...opts.sandboxes]
  const sandboxIds = new Map(sandboxes.map((s) => [s, rnd.uuid()]))

  const collections = new Map(COLLECTIONS.map((c) => [c.name, c]))
  /** What the collection declarations read of the simulator (see COLLECTIONS). */
  const env = {
    currentSpec,
    config,
    now: () => clock.now(),
    find: (collection, sandbox, id) => findLive(collection, sandbox, id)?.obj,
    /** The live dataflows using an object (a base connection: through its source connections). */
    flowsUsing(collection, obj) {
      const flows = liveObjects('flows', obj.sandboxName)
      if (collection === 'sourceConnections')
        return flows.filter((f) => f.sourceConnectionIds.includes(obj.id))
      if (collection === 'targetConnections')
        return flows.filter((f) => f.targetConnectionIds.includes(obj.id))
      const sources = new Set(
        liveObjects('sourceConnections', obj.sandboxName)
          .filter((source) => source.baseConnectionId === obj.id)
          .map((source) => source.id)
      )
      return flows.filter((f) => f.sourceConnectionIds.some((id) => sources.has(id)))
    },
    dataset: (sandbox, id) => datasets.get(sandbox)?.find((d) => d.id === id),
    mappingSet: (sandbox, id) => mappingSets.get(sandbox)?.find((m) => m.id === id)
  }
  /**
   * collection -> sandbox -> entries in commit order. An entry is { collection, obj, seq, shown,
   * committedAt, deletedAt, versions }: `obj` the object as it is now (what connections()
   * returns), `seq` its place in commit order (the paging cursor, stable under deletes), `shown`
   * how its createdAt is served, `versions` [{ at, obj }] what it was from each change on, for
   * listings that lag. A deleted object stays as a tombstone (deletedAt set) while a lagging
   * listing may still show it.
   */
  let store = newStore()
  function newStore() {
    return new Map(COLLECTIONS.map((c) => [c.name, new Map(sandboxes.map((s) => [s, []]))]))
  }
  let commitCounter = 0
  /** Counts resets, so a POST held across one can tell. */
  let generation = 0
  /** createdAt of the newest object: each new one is at least 1 ms younger. */
  let lastCreatedAt = 0
  let made = 0
  /** A new object's id; with idOrder 'descending' each sorts before the one made before. */
  const newId = () => {
    const id = rnd.uuid()
    if (opts.idOrder !== 'descending') return id
    return (0xffffffff - ++made).toString(16).padStart(8, '0') + id.slice(8)
  }
  /**
   * id -> { afterMs, to, at }: a state change ('removed' takes the object away), due afterMs
   * after the object was first served (listed or read), so a slow client still sees it.
   */
  const transitions = new Map()
  /** token -> { valid, usesLeft } */
  const tokens = new Map()
  const requests = []
  let faults = []
  let mutations = 0
  let socketCounter = 0
  let socketsAtReset = 0
  const socketIds = new WeakMap()
  let seq = 0

  /**
   * Data Prep: sandbox -> mapping sets in creation order, each { id, name?, sandboxName,
   * createdDate, modifiedDate, versions: [{ version, outputSchema, mappings, modifiedDate }] }
   * (every version kept: a dataflow pins one). Catalog: sandbox -> datasets in creation order.
   * Neither is a Flow Service collection: no listing lag, createdAt modes or state.
   */
  let mappingSets
  let datasets
  const hexId = (bytes) => rnd.bytes(bytes).toString('hex')
  function addDataset(sandbox, d) {
    const now = clock.now()
    const dataset = {
      // Catalog ids are 24 hex digits (MongoDB object ids) in every example.
      id: hexId(12),
      name: d.name,
      ...(d.description !== undefined ? { description: d.description } : {}),
      sandboxName: sandbox,
      schemaRef: {
        id: d.schemaId,
        contentType: d.contentType ?? 'application/vnd.adobe.xed+json;version=1'
      },
      created: now,
      updated: now
    }
    datasets.get(sandbox).push(dataset)
    return dataset
  }
  /** Empty Data Prep and Catalog, with the default dataset in every sandbox unless told not to. */
  function newPlatformData() {
    mappingSets = new Map(sandboxes.map((s) => [s, []]))
    datasets = new Map(sandboxes.map((s) => [s, []]))
    if (opts.defaultDataset) for (const s of sandboxes) addDataset(s, DEFAULT_DATASET)
  }
  newPlatformData()
  /** A new version of a mapping set (0 for a new one): new mapping ids, as D6 shows. */
  function addMappingVersion(set, value, at) {
    set.versions.push({
      version: set.versions.length,
      outputSchema: structuredClone(value.outputSchema),
      mappings: value.mappings.map((m) => ({ id: hexId(16), ...m })),
      modifiedDate: at
    })
    set.modifiedDate = at
    if (value.name !== undefined) set.name = value.name
  }
  function addMappingSet(sandbox, value) {
    const now = clock.now()
    // 32 hex digits, no dashes, as every example shows.
    const set = { id: hexId(16), sandboxName: sandbox, createdDate: now, versions: [] }
    addMappingVersion(set, value, now)
    mappingSets.get(sandbox).push(set)
    return set
  }

  const entriesOf = (collection, sandbox) => store.get(collection)?.get(sandbox) ?? []
  const liveObjects = (collection, sandbox) =>
    entriesOf(collection, sandbox)
      .filter((e) => e.deletedAt === undefined)
      .map((e) => e.obj)
  /** The entry of a live object in one collection and sandbox. */
  const findLive = (collection, sandbox, id) =>
    entriesOf(collection, sandbox).find((e) => e.obj.id === id && e.deletedAt === undefined)
  /** The entry of a live object in any collection and sandbox, the given sandbox first. */
  function findAnywhere(id, sandbox) {
    for (const [name, bySandbox] of store) {
      const found =
        (sandbox !== undefined ? findLive(name, sandbox, id) : undefined) ??
        [...bySandbox.keys()].map((s) => findLive(name, s, id)).find(Boolean)
      if (found) return found
    }
    return undefined
  }

  /**
   * The longest listing lag configured since the start or the last reset: versions and
   * tombstones older than that can no longer be listed and are dropped.
   */
  let horizonMs = maxMillis(config.listingLagMs)
  /** Drops the tombstones and versions no listing can show any more. */
  function prune(list) {
    const oldest = clock.now() - horizonMs
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i]
      if (e.deletedAt !== undefined && e.deletedAt <= oldest) list.splice(i, 1)
      else {
        const shown = e.versions.findLastIndex((v) => v.at <= oldest)
        if (shown > 0) e.versions.splice(0, shown)
      }
    }
  }
  /** Changes a live object at time `at` (default now), keeping what it was for lagging listings. */
  function change(entry, edit, at = clock.now()) {
    edit(entry.obj)
    const last = entry.versions[entry.versions.length - 1]
    entry.versions.push({ at: Math.max(at, last?.at ?? at), obj: structuredClone(entry.obj) })
    prune(entriesOf(entry.collection, entry.obj.sandboxName))
  }
  /** Deletes an object at time `at`; a lagging listing still shows it as it last was. */
  function removeEntry(entry, at = clock.now()) {
    entry.deletedAt = at
    prune(entriesOf(entry.collection, entry.obj.sandboxName))
  }
  /**
   * What a listing with this lag shows of a collection, in commit order: the objects committed
   * at least `lag` ms ago and not deleted by then, each as it was then ({ seq, shown, obj }).
   */
  function listedAt(collection, sandbox, lag) {
    const list = entriesOf(collection, sandbox)
    prune(list)
    if (lag === 0)
      return list
        .filter((e) => e.deletedAt === undefined)
        .map((e) => ({ seq: e.seq, shown: e.shown, obj: e.obj }))
    const then = clock.now() - lag
    return list
      .filter((e) => e.committedAt <= then && !(e.deletedAt <= then))
      .map((e) => ({
        seq: e.seq,
        shown: e.shown,
        obj: e.versions.findLast((v) => v.at <= then)?.obj ?? e.obj
      }))
  }

  /** Applies the state changes that are due (seeded with `transition`). */
  function applyTransitions() {
    const now = clock.now()
    for (const [id, t] of transitions) {
      if (t.at === undefined || t.at > now) continue
      transitions.delete(id)
      const entry = findAnywhere(id)
      if (!entry) continue
      // The change happened when it was due, not when a request came to notice it.
      if (t.to === 'removed') removeEntry(entry, t.at)
      else
        change(
          entry,
          (obj) => {
            obj.state = t.to
            obj.etag = newEtag()
            obj.updatedAt = Math.max(now, obj.updatedAt + 1)
          },
          t.at
        )
    }
  }

  function mintToken(uses) {
    const token = 'sim-' + rnd.bytes(32).toString('base64url')
    tokens.set(token, { valid: true, usesLeft: uses })
    return token
  }

  /** The next date of the modes whose dates grow strictly: at least 1 ms after the last one. */
  const nextCreatedAt = (t) => (lastCreatedAt = Math.max(t, lastCreatedAt + 1))
  /**
   * The createdAt (epoch ms) an object committed now gets in `mode` ('arrival' is stamped at
   * the POST's arrival instead, see create()).
   */
  function commitCreatedAt(mode) {
    const now = clock.now()
    // Second resolution: every object created in the same second gets the same date.
    if (mode === 'tied') return Math.floor(now / 1000) * 1000
    // The date a server whose clock is off by up to skewMs gives, one offset per request.
    if (mode === 'skewed') return now + Math.round((2 * rnd.next() - 1) * config.skewMs)
    return nextCreatedAt(now)
  }
  /** How createdAt is served: epoch ms, an ISO 8601 string, or not at all. */
  const shownAs = (mode) => (mode === 'iso' || mode === 'missing' ? mode : 'epoch-ms')

  /**
   * Adds an object to a collection: the common fields around the collection's own (`fields`:
   * name, description, the spec reference and the rest). `meta` may give createdAt (epoch ms),
   * the createdAtMode it is served in (default the current one), state, and committedAt
   * (default now; -Infinity for an object listed at once whatever the lag).
   */
  function insert(collection, sandbox, fields, meta = {}) {
    const mode = meta.mode ?? config.createdAtMode
    const createdAt = meta.createdAt ?? commitCreatedAt(mode)
    const { name, description, ...own } = fields
    const obj = {
      id: newId(),
      name,
      ...(description !== undefined ? { description } : {}),
      sandboxName: sandbox,
      imsOrgId: opts.orgId,
      ...own,
      etag: newEtag(),
      state: meta.state ?? 'enabled',
      createdAt,
      updatedAt: createdAt
    }
    const committedAt = meta.committedAt ?? clock.now()
    const entry = {
      collection,
      obj,
      seq: ++commitCounter,
      shown: shownAs(mode),
      committedAt,
      deletedAt: undefined,
      versions: [{ at: committedAt, obj: structuredClone(obj) }]
    }
    entriesOf(collection, sandbox).push(entry)
    return entry
  }

  /**
   * The wire representation of an object: common fields, then the collection's own. `shown`:
   * how its createdAt is served (see shownAs).
   */
  function toItem(coll, obj, shown) {
    const t = transitions.get(obj.id)
    if (t && t.at === undefined) t.at = clock.now() + t.afterMs
    return {
      id: obj.id,
      ...(shown === 'missing'
        ? {}
        : { createdAt: shown === 'iso' ? new Date(obj.createdAt).toISOString() : obj.createdAt }),
      updatedAt: obj.updatedAt,
      createdBy: `${opts.clientId}@AdobeID`,
      updatedBy: `${opts.clientId}@AdobeID`,
      createdClient: opts.clientId,
      updatedClient: opts.clientId,
      sandboxId: sandboxIds.get(obj.sandboxName),
      sandboxName: obj.sandboxName,
      imsOrgId: obj.imsOrgId,
      name: obj.name,
      ...(obj.description !== undefined ? { description: obj.description } : {}),
      [coll.specField]: { ...obj[coll.specField] },
      state: obj.state,
      ...coll.wire(obj, env),
      version: obj.etag,
      etag: obj.etag
    }
  }

  const notFound = (ctx, coll, id) =>
    flowError(ctx, 404, 1101, 'Resource not found', `Resource with id=[${id}] does not exist`, {
      id,
      type: coll.name
    })

  // ---- IMS ----
  function handleIms(ctx) {
    if (ctx.path !== IMS_TOKEN_PATH) {
      return json(404, { error: 'not_found', error_description: 'Not found' })
    }
    if (ctx.method !== 'POST') {
      return json(405, { error: 'method_not_allowed', error_description: 'Use POST' })
    }
    // Body params win; query params are accepted as a fallback, as IMS documents.
    const params = new URLSearchParams(ctx.query)
    const ct = ctx.headers['content-type'] ?? ''
    if (ct.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(ctx.body)) params.set(k, v)
    }
    const grant = params.get('grant_type')
    if (grant !== 'client_credentials') {
      return json(400, {
        error: 'unsupported_grant_type',
        error_description: grant
          ? `unsupported grant_type ${grant}`
          : 'missing grant_type parameter'
      })
    }
    const clientId = params.get('client_id')
    if (!clientId) {
      return json(400, {
        error: 'invalid_client',
        error_description: 'missing client_id parameter'
      })
    }
    if (clientId !== opts.clientId) {
      return json(400, {
        error: 'invalid_client',
        error_description: 'invalid client_id parameter'
      })
    }
    if (params.get('client_secret') !== opts.clientSecret) {
      return json(401, { error: 'invalid_client', error_description: 'invalid client secret' })
    }
    if (!params.get('scope')) {
      return json(400, { error: 'invalid_scope', error_description: 'scope parameter is required' })
    }
    return json(200, {
      access_token: mintToken(config.tokenUses),
      token_type: 'bearer',
      expires_in: opts.tokenTtlSeconds
    })
  }

  // ---- Flow Service ----
  function gatewayCheck(ctx) {
    const h = ctx.headers
    if (!h.authorization) return gatewayError(403, '403010', 'Oauth token is missing.')
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h.authorization)
    const tok = m ? tokens.get(m[1]) : undefined
    if (!tok || !tok.valid || (tok.usesLeft !== undefined && tok.usesLeft <= 0)) {
      return gatewayError(401, '401013', 'Oauth token is not valid')
    }
    if (tok.usesLeft !== undefined) tok.usesLeft--
    if (!h['x-api-key']) return gatewayError(403, '403000', 'Api Key is required')
    if (h['x-api-key'] !== opts.clientId) return gatewayError(403, '403003', 'Api Key is invalid')
    if (!h['x-gw-ims-org-id']) return gatewayError(400, '400003', 'Missing header')
    if (h['x-gw-ims-org-id'] !== opts.orgId)
      return gatewayError(403, '403025', 'Profile is not valid')
    return null
  }

  function handleFlow(ctx) {
    const gw = gatewayCheck(ctx)
    if (gw) return gw
    const sandbox = ctx.headers['x-sandbox-name']
    if (!sandbox) {
      return flowError(ctx, 400, 2105, 'Bad request', 'Header is missing: x-sandbox-name')
    }
    if (!sandboxIds.has(sandbox)) {
      return flowError(
        ctx,
        404,
        2100,
        'Sandbox not found',
        `Sandbox with name=[${sandbox}] not found`
      )
    }
    const rest = ctx.path.slice(FLOW_BASE_PATH.length)
    let m = /^\/flows\/([^/]+)\/action$/.exec(rest)
    // An action is sent without a body (D11), so without a content type.
    const bodyless = m && ctx.body === ''
    if ((ctx.method === 'POST' || ctx.method === 'PATCH') && !bodyless) {
      const ct = (ctx.headers['content-type'] ?? '').toLowerCase()
      if (!ct.startsWith('application/json'))
        return badRequest('A valid content-type must be specified')
    }
    ctx.sandbox = sandbox
    if (m) {
      if (ctx.method !== 'POST') return methodNotAllowed(ctx)
      return flowAction(ctx, decodeURIComponent(m[1]))
    }
    if (rest === '/flowSpecs') {
      if (ctx.method !== 'GET') return methodNotAllowed(ctx)
      return listFlowSpecs(ctx)
    }
    if ((m = /^\/flowSpecs\/([^/]+)$/.exec(rest))) {
      if (ctx.method !== 'GET') return methodNotAllowed(ctx)
      return getFlowSpec(ctx, decodeURIComponent(m[1]))
    }
    const top = /^\/([^/]+)/.exec(rest)?.[1]
    const coll = top === undefined ? undefined : collections.get(top)
    if (coll && rest === `/${coll.name}`) {
      if (ctx.method === 'GET') return list(ctx, coll)
      if (ctx.method === 'POST') return create(ctx, coll)
      return methodNotAllowed(ctx)
    }
    // S1 declares PATCH/DELETE with a trailing slash; tolerate it.
    if (coll && (m = /^\/[^/]+\/([^/]+)\/?$/.exec(rest))) {
      const id = decodeURIComponent(m[1])
      if (ctx.method === 'GET') return getById(ctx, coll, id)
      if (ctx.method === 'PATCH') return patch(ctx, coll, id)
      if (ctx.method === 'DELETE') return remove(ctx, coll, id)
      return methodNotAllowed(ctx)
    }
    if ((m = /^\/connectionSpecs\/([^/]+)$/.exec(rest))) {
      if (ctx.method !== 'GET') return methodNotAllowed(ctx)
      return getConnectionSpec(ctx, decodeURIComponent(m[1]))
    }
    if ((m = /^\/connections\/([^/]+)\/(explore|test)$/.exec(rest))) {
      if (ctx.method !== 'GET') return methodNotAllowed(ctx)
      const id = decodeURIComponent(m[1])
      return m[2] === 'explore' ? explore(ctx, id) : testConnection(ctx, id)
    }
    return flowError(ctx, 404, 1101, 'Resource not found', `No resource at ${ctx.path}`)
  }

  const methodNotAllowed = (ctx) =>
    flowError(
      ctx,
      405,
      1100,
      'Method not allowed',
      `Method ${ctx.method} not allowed on ${ctx.path}`
    )

  function parseJsonBody(ctx) {
    if (ctx.body.trim() === '') {
      return { error: flowError(ctx, 400, 1405, 'Bad request', 'Request body is empty') }
    }
    try {
      return { value: JSON.parse(ctx.body) }
    } catch (e) {
      // Undocumented; a deserialisation failure is reported by the same layer as a bad content-type.
      return { error: badRequest(`JSON parse error: ${e.message}`) }
    }
  }

  /**
   * POST /{collection}. The date is stamped (see createdAtMode), the POST waits commitLatencyMs,
   * and only then is the object inserted (its committedAt) and the reply sent: racing POSTs may
   * commit in another order than their dates say.
   */
  async function create(ctx, coll) {
    const parsed = parseJsonBody(ctx)
    if (parsed.error) return parsed.error
    const checked = coll.create(ctx, parsed.value, env)
    if (checked.error) return checked.error
    const mode = config.createdAtMode
    const arrival = mode === 'arrival' ? nextCreatedAt(clock.now()) : undefined
    const latency = drawMillis(config.commitLatencyMs)
    if (latency > 0) {
      const before = generation
      await wait(latency)
      // A reset while the POST was held: the test that sent it is over; keep its object out.
      if (generation !== before)
        return flowError(ctx, 503, 9000, 'Service unavailable', 'The simulator was reset')
    }
    const { obj } = insert(coll.name, ctx.sandbox, checked.fields, {
      mode,
      createdAt: arrival ?? commitCreatedAt(mode)
    })
    mutations++
    return json(
      201,
      { id: obj.id, etag: obj.etag },
      { location: `${sim.url}${FLOW_BASE_PATH}/${coll.name}/${obj.id}` }
    )
  }

  function parseFilters(ctx, coll, props) {
    const filters = []
    for (const p of props) {
      const m = /^([A-Za-z0-9_.[\]]+)\s*(==|!=|>=|<=|~|>|<|=)?(.*)$/s.exec(p)
      if (!m || m[2] !== '==') {
        const op = m?.[2] ?? ''
        return {
          error: flowError(ctx, 400, 1450, 'Bad request', `Invalid operator '${op}' in ${p}`)
        }
      }
      if (!Object.hasOwn(coll.readers, m[1])) {
        return { error: flowError(ctx, 400, 1449, 'Bad request', `Invalid field ${m[1]}`) }
      }
      if (m[3] === '') {
        return { error: flowError(ctx, 400, 1453, 'Bad request', `Invalid query value ${p}`) }
      }
      const values = parseValueList(m[3], config.quoteEscapes)
      if (!values) {
        return { error: flowError(ctx, 400, 1453, 'Bad request', `Invalid query value ${p}`) }
      }
      filters.push({ read: coll.readers[m[1]], values })
    }
    return { filters }
  }

  const encodeToken = (t) => Buffer.from(JSON.stringify(t)).toString('base64url')

  /**
   * GET /{collection}. `ctx.view` carries listing faults: `pad` (empty pages before the real
   * ones; -1 for no end), `cycle` (two empty pages linking to each other), `stripSpec` (items
   * without their spec reference) and `onlyIds` (a stale reply: only the objects in the set).
   */
  function list(ctx, coll) {
    const view = ctx.view ?? {}
    const pageLink = (t) => ({
      next: { href: `/${coll.name}?continuationToken=${encodeToken(t)}` }
    })
    const q = new URLSearchParams(ctx.query)
    let props = q.getAll('property')
    let limitRaw = q.get('limit')
    let after = 0
    let paging
    const ct = q.get('continuationToken')
    if (ct !== null) {
      let t
      try {
        t = JSON.parse(Buffer.from(ct, 'base64url').toString('utf8'))
        if (!Array.isArray(t.p) || typeof t.a !== 'number' || typeof t.l !== 'number')
          throw new Error()
      } catch {
        return flowError(ctx, 400, 1453, 'Bad request', 'Invalid continuationToken')
      }
      // The token keeps the position and the page size. Whether it keeps the filters too is not
      // documented: with tokenKeepsFilter off, only filters sent again as property params apply.
      props = config.tokenKeepsFilter ? [...new Set([...t.p, ...props])] : props
      after = t.a
      limitRaw = String(t.l)
      paging = t.s
    }
    const count = q.get('count')
    if (count === 'true' && q.has('limit')) {
      return flowError(ctx, 400, 1401, 'Bad request', 'limit and count cannot be used together')
    }
    let limit = config.pageSize
    if (limitRaw !== null) {
      limit = Number(limitRaw)
      if (!Number.isInteger(limit) || limit < 1) {
        return flowError(ctx, 400, 1453, 'Bad request', `Invalid query value limit=${limitRaw}`)
      }
    }
    const parsed = parseFilters(ctx, coll, props)
    if (parsed.error) return parsed.error
    const base = { p: props, a: 0, l: limit }
    // Listing faults: empty pages in front of the real listing, or a loop of empty pages.
    if (view.pad !== undefined && paging === undefined) paging = { pad: view.pad, k: 0 }
    if (view.cycle && paging === undefined) paging = { cycle: 'a' }
    if (paging?.cycle) {
      return json(200, {
        items: [],
        _links: pageLink({ ...base, s: { cycle: paging.cycle === 'a' ? 'b' : 'a' } })
      })
    }
    if (paging && paging.pad !== 0) {
      const left = paging.pad < 0 ? -1 : paging.pad - 1
      return json(200, {
        items: [],
        _links: pageLink({ ...base, s: { pad: left, k: paging.k + 1 } })
      })
    }
    // Eventual consistency: the collection as it was `lag` ms ago (see listedAt).
    const lag = drawMillis(config.listingLagMs)
    const matching = listedAt(coll.name, ctx.sandbox, lag)
      .filter((e) => !view.onlyIds || view.onlyIds.has(e.obj.id))
      .filter((e) => parsed.filters.every((f) => f.read(e.obj).some((v) => f.values.includes(v))))
    if (count === 'true') return json(200, { count: matching.length })
    const remaining = matching.filter((e) => e.seq > after)
    const page = remaining.slice(0, limit)
    const items = page.map((e) => toItem(coll, e.obj, e.shown))
    if (view.stripSpec) for (const item of items) delete item[coll.specField]
    const body = { items }
    if (remaining.length > limit) {
      body._links = pageLink({ p: props, a: page[page.length - 1].seq, l: limit })
    }
    return json(200, body)
  }

  function getById(ctx, coll, id) {
    const entry = findLive(coll.name, ctx.sandbox, id)
    if (!entry) return notFound(ctx, coll, id)
    return json(200, { items: [toItem(coll, entry.obj, entry.shown)] })
  }

  function patch(ctx, coll, id) {
    // An org-level switch in Flow Service's error catalogue (1445-400).
    if (coll.patchSwitch && !config.patchEnabled)
      return flowError(ctx, 400, 1445, 'Invalid request', coll.patchSwitch)
    const ifMatch = ctx.headers['if-match']
    if (!ifMatch) return flowError(ctx, 400, 1403, 'Bad request', 'Header is missing: If-Match')
    const parsed = parseJsonBody(ctx)
    if (parsed.error) return parsed.error
    const entry = findLive(coll.name, ctx.sandbox, id)
    if (!entry) return notFound(ctx, coll, id)
    const current = entry.obj
    const refused = stateRefusal(ctx, current, 'update')
    if (refused) return refused
    if (unquote(ifMatch.trim()) !== unquote(current.etag)) {
      return flowError(
        ctx,
        412,
        1404,
        'Version not matching',
        `Supplied version=[${ifMatch}] does not match the current version on entity=[${current.etag}]`
      )
    }
    const ops = parsed.value
    const invalid = (detail) => flowError(ctx, 400, 1455, 'Bad request', detail)
    if (!Array.isArray(ops)) return invalid('Patch document must be a JSON array')
    const specPath = `/${coll.specField}`
    const specLabel = coll.specField.replace(/Spec$/, ' spec')
    // Apply to a copy so a failing operation leaves the object untouched.
    const draft = structuredClone(current)
    for (const op of ops) {
      if (
        !op ||
        typeof op !== 'object' ||
        typeof op.op !== 'string' ||
        typeof op.path !== 'string'
      ) {
        return invalid('Each patch operation needs op and path')
      }
      const kind = op.op.toLowerCase()
      if (!['add', 'replace', 'remove'].includes(kind)) {
        return flowError(ctx, 400, 1434, 'Bad request', `Unsupported operation '${op.op}'`)
      }
      const path = op.path
      if (path === specPath || path.startsWith(specPath + '/')) {
        const what = specLabel[0].toUpperCase() + specLabel.slice(1)
        return flowError(ctx, 400, 1414, 'Bad request', `${what} cannot be updated`)
      }
      const needsValue = kind !== 'remove'
      if (needsValue && op.value === undefined) return invalid(`Missing value for ${path}`)
      if (path === '/name') {
        if (!needsValue) return invalid('Missing field "name" cannot be removed')
        if (typeof op.value !== 'string' || op.value.trim() === '')
          return invalid('name must be a string')
        draft.name = op.value
      } else if (path === '/description') {
        if (!needsValue) {
          if (draft.description === undefined) return invalid('Missing field "description"')
          delete draft.description
        } else {
          if (typeof op.value !== 'string') return invalid('description must be a string')
          // Lenient: replace of an absent description behaves like add (undocumented either way).
          draft.description = op.value
        }
      } else {
        const problem = coll.patch
          ? coll.patch(ctx, draft, op, kind, env)
          : invalid(`Unsupported path ${path}`)
        if (problem) return problem
      }
    }
    const problem = coll.check?.(ctx, draft, env)
    if (problem) return problem
    draft.etag = newEtag()
    draft.updatedAt = Math.max(clock.now(), current.updatedAt + 1)
    change(entry, (obj) => {
      for (const k of Object.keys(obj)) delete obj[k]
      Object.assign(obj, draft)
    })
    mutations++
    return json(200, { id: draft.id, etag: draft.etag })
  }

  /** Flow Service's state rules for update and delete (1416, 1457, 1458 in its catalogue). */
  function stateRefusal(ctx, obj, operation) {
    if (obj.state === 'delete-finalizing')
      return flowError(
        ctx,
        400,
        operation === 'update' ? 1457 : 1458,
        'Invalid request',
        `Operation ${operation} cannot be applied in state delete-finalizing.`
      )
    if (!['enabled', 'disabled', 'initializing'].includes(obj.state))
      return flowError(
        ctx,
        400,
        1416,
        'Invalid request',
        'Delete or Update can only be applied on connection with enabled, disabled or initializing state.'
      )
    return null
  }

  function remove(ctx, coll, id) {
    const entry = findLive(coll.name, ctx.sandbox, id)
    if (!entry) return notFound(ctx, coll, id)
    const refused =
      stateRefusal(ctx, entry.obj, 'delete') ?? coll.deleteRefusal?.(ctx, entry.obj, env)
    if (refused) return refused
    removeEntry(entry)
    mutations++
    return { status: 204, headers: {}, body: '' }
  }

  function explore(ctx, id) {
    const conn = findLive('connections', ctx.sandbox, id)?.obj
    if (!conn) return notFound(ctx, CONNECTIONS, id)
    const q = new URLSearchParams(ctx.query)
    const type = (q.get('objectType') ?? '').toLowerCase()
    if (type === 'root') {
      return json(
        200,
        conn.tables.map((t) => ({
          type: 'table',
          name: t.includes('.') ? t.slice(t.lastIndexOf('.') + 1) : t,
          path: t,
          canPreview: true,
          canFetchSchema: true
        }))
      )
    }
    if (type === 'table') {
      const object = q.get('object')
      if (!object || !conn.tables.includes(object)) {
        return flowError(ctx, 404, 1101, 'Resource not found', `Table ${object} not found`)
      }
      return json(200, {
        format: 'flat',
        schema: {
          columns: [
            { name: 'id', type: 'integer', xdm: { type: 'integer' } },
            { name: 'name', type: 'string', xdm: { type: 'string' } }
          ]
        }
      })
    }
    return flowError(ctx, 400, 1400, 'Bad request', `Invalid objectType=[${q.get('objectType')}]`)
  }

  function getConnectionSpec(ctx, id) {
    if (id !== POSTGRES_SPEC_ID)
      return flowError(
        ctx,
        404,
        1101,
        'Resource not found',
        `Resource with id=[${id}] does not exist`,
        {
          id,
          type: 'connectionSpecs'
        }
      )
    return json(200, { items: [currentSpec()] })
  }

  /**
   * POST /flows/{id}/action?op=enable|disable (D11 shows it for destinations; the same for
   * sources is our reading). O1 enumerates op upper-case and declares a required subOp the docs
   * never send: op is read ignoring case and subOp is optional. No body and no If-Match needed;
   * an If-Match that is given must match (1404-412), as on PATCH.
   */
  function flowAction(ctx, id) {
    const entry = findLive('flows', ctx.sandbox, id)
    if (!entry) return notFound(ctx, FLOWS, id)
    const q = new URLSearchParams(ctx.query)
    const op = q.get('op')
    if (!op)
      return flowError(
        ctx,
        400,
        2119,
        'Query parameter missing',
        'The request context does not contain the required query parameter op.'
      )
    const action = op.toLowerCase()
    if (action !== 'enable' && action !== 'disable')
      return flowError(
        ctx,
        400,
        1434,
        'Invalid request',
        `Unsupported operation '${op}' received. Please use one of the supported operation types and try again.`
      )
    for (const sub of q.getAll('subOp').flatMap((v) => v.split(','))) {
      const name = sub.trim().toUpperCase()
      if (!['APPLY', 'ROLLBACK', 'PROGRESS'].includes(name))
        return flowError(
          ctx,
          400,
          1435,
          'Invalid request',
          `Unsupported sub action '${sub}' received.`
        )
      if (name === 'PROGRESS')
        return flowError(
          ctx,
          400,
          1436,
          'Invalid request',
          `Unsupported sub operation PROGRESS received for operation ${action}.`
        )
    }
    const ifMatch = ctx.headers['if-match']
    if (ifMatch && unquote(ifMatch.trim()) !== unquote(entry.obj.etag))
      return flowError(
        ctx,
        412,
        1404,
        'Version not matching',
        `Supplied version=[${ifMatch}] does not match the current version on entity=[${entry.obj.etag}]`
      )
    const [from, to] = action === 'enable' ? ['disabled', 'enabled'] : ['enabled', 'disabled']
    if (entry.obj.state !== from)
      return flowError(
        ctx,
        400,
        1422,
        'Invalid request',
        `The action ${action} cannot be applied on the current state ${entry.obj.state}. Please update the action and try again.`
      )
    change(entry, (obj) => {
      obj.state = to
      obj.etag = newEtag()
      obj.updatedAt = Math.max(clock.now(), obj.updatedAt + 1)
    })
    mutations++
    return json(200, { id, etag: entry.obj.etag })
  }

  /** GET /flowSpecs?property=name=="CRMToAEP" (D2): {items}, filtered by id or name. */
  function listFlowSpecs(ctx) {
    const parsed = parseFilters(ctx, FLOW_SPECS, new URLSearchParams(ctx.query).getAll('property'))
    if (parsed.error) return parsed.error
    const spec = crmToAepFlowSpec()
    const match = parsed.filters.every((f) => f.read(spec).some((v) => f.values.includes(v)))
    return json(200, { items: match ? [spec] : [] })
  }

  function getFlowSpec(ctx, id) {
    if (id !== CRM_TO_AEP_FLOW_SPEC_ID)
      return flowError(
        ctx,
        404,
        1101,
        'Resource not found',
        `Resource with id=[${id}] does not exist`,
        {
          id,
          type: 'flowSpecs'
        }
      )
    return json(200, { items: [crmToAepFlowSpec()] })
  }

  // GET /connections/{id}/test answers {"result": true|false} (Adobe's API description). Whether
  // every connection spec supports it is not documented; 'unsupported' stands for a refusal.
  function testConnection(ctx, id) {
    const conn = findLive('connections', ctx.sandbox, id)?.obj
    if (!conn) return notFound(ctx, CONNECTIONS, id)
    if (config.connectionTest === 'unsupported')
      return flowError(
        ctx,
        400,
        1400,
        'Invalid request',
        `Test connection is not supported for connection spec ${conn.connectionSpec.id}`
      )
    return json(200, { result: config.connectionTest !== 'fail' })
  }

  // ---- Data Prep and Catalog ----
  /**
   * Data Prep's and Catalog's error bodies are not documented (O2, O3, D6). Both answer with
   * RFC 7807 problem details, the shape other Platform services use, the type naming the
   * service: { type: …/DATAPREP-<code>-<status> | …/CATALOG-<code>-<status>, title, status,
   * detail }. The codes are the simulator's own.
   */
  function problem(ctx, status, code, title, detail, headers = {}) {
    const service = ctx.service === 'catalog' ? 'CATALOG' : 'DATAPREP'
    return json(
      status,
      {
        type: `https://ns.adobe.com/aep/errors/${service}-${code}-${status}`,
        title,
        status,
        detail
      },
      headers
    )
  }
  const by = () => `${opts.clientId}@AdobeID`

  /** The gateway's checks, then the sandbox header, as on Flow Service: the sandbox, or a reply. */
  function platformCheck(ctx) {
    const gw = gatewayCheck(ctx)
    if (gw) return { reply: gw }
    const sandbox = ctx.headers['x-sandbox-name']
    if (!sandbox)
      return {
        reply: problem(ctx, 400, 2105, 'Header is missing', 'Header is missing: x-sandbox-name')
      }
    if (!sandboxIds.has(sandbox))
      return {
        reply: problem(
          ctx,
          404,
          2100,
          'Sandbox not found',
          `Sandbox with name=[${sandbox}] not found`
        )
      }
    return { sandbox }
  }
  const notAllowedHere = (ctx, allow) =>
    problem(
      ctx,
      405,
      1405,
      'Method not allowed',
      `Method ${ctx.method} not allowed on ${ctx.path}`,
      {
        allow
      }
    )
  const badQuery = (ctx, detail) => problem(ctx, 400, 1400, 'Bad request', detail)

  function handleDataPrep(ctx) {
    const checked = platformCheck(ctx)
    if (checked.reply) return checked.reply
    ctx.sandbox = checked.sandbox
    if (ctx.method === 'POST' || ctx.method === 'PUT') {
      const ct = (ctx.headers['content-type'] ?? '').toLowerCase()
      if (!ct.startsWith('application/json'))
        return problem(
          ctx,
          415,
          1415,
          'Unsupported media type',
          'Content-Type must be application/json'
        )
    }
    const rest = ctx.path.slice(DATAPREP_BASE_PATH.length)
    let m
    if (rest === '/mappingSets') {
      if (ctx.method === 'GET') return listMappingSets(ctx)
      if (ctx.method === 'POST') return createMappingSet(ctx)
      return notAllowedHere(ctx, 'GET, POST')
    }
    if (rest === '/mappingSets/validate') {
      if (ctx.method === 'POST') return validateMappingSet(ctx)
      return notAllowedHere(ctx, 'POST')
    }
    if ((m = /^\/mappingSets\/([^/]+)$/.exec(rest))) {
      const id = decodeURIComponent(m[1])
      if (ctx.method === 'GET') return getMappingSet(ctx, id)
      if (ctx.method === 'PUT') return putMappingSet(ctx, id)
      // O2 and D6 declare no DELETE (aepp sends one): refused like any undeclared
      // method, so nothing can rely on deleting a mapping set.
      return notAllowedHere(ctx, 'GET, PUT')
    }
    return problem(ctx, 404, 1404, 'Not found', `No resource at ${ctx.path}`)
  }

  /** A mapping set body checked (mappingSetOf): { value } or { error: reply }. */
  function mappingSetBody(ctx) {
    let body
    try {
      body = JSON.parse(ctx.body)
    } catch (e) {
      return { error: badQuery(ctx, `JSON parse error: ${e.message}`) }
    }
    const checked = mappingSetOf(body)
    if (checked.error) return { error: badQuery(ctx, checked.error) }
    return { body, value: checked.value }
  }

  /**
   * A mapping set version as GET and PUT answer (D6): the set's fields, outputSchema and
   * xdmSchema, and mappings in both vocabularies ({sourceType, source, destination} and
   * {sourceAttribute, destinationXdmPath}); sourceType read back as a media type
   * (mappingSourceTypes 'media-types', D6) or as requests send it ('as-sent', O2's enum).
   */
  function servedMappingSet(set, v, expandSchema) {
    const media = config.mappingSourceTypes === 'media-types'
    const schemaRef = { ...v.outputSchema.schemaRef }
    return {
      id: set.id,
      ...(set.name !== undefined ? { name: set.name } : {}),
      version: v.version,
      createdDate: set.createdDate,
      modifiedDate: v.modifiedDate,
      createdBy: by(),
      modifiedBy: by(),
      supportVersion: '1.1',
      outputSchema: {
        schemaRef,
        ...(expandSchema
          ? { jsonSchema: { $id: schemaRef.id, type: 'object', properties: {} } }
          : {})
      },
      mappings: v.mappings.map((m) => ({
        id: m.id,
        version: 0,
        createdDate: v.modifiedDate,
        modifiedDate: v.modifiedDate,
        createdBy: by(),
        modifiedBy: by(),
        sourceType: media ? SOURCE_MEDIA_TYPES[m.sourceType] : m.sourceType,
        source: m.source,
        destination: m.destination,
        ...(m.name !== undefined ? { name: m.name } : {}),
        ...(m.description !== undefined ? { description: m.description } : {}),
        identity: false,
        primaryIdentity: false,
        matchScore: 0,
        functionVersion: 1,
        sourceAttribute: m.source,
        destinationXdmPath: m.destination
      })),
      status: 'DRAFT',
      strictMapping: false,
      allowNullValues: false,
      xdmVersion: schemaRef.contentType,
      schemaRef: { ...schemaRef },
      xdmSchema: schemaRef.id
    }
  }

  /** POST /mappingSets: 200 (not 201) with the new set's id, version 0 and dates (D6, O2). */
  function createMappingSet(ctx) {
    const parsed = mappingSetBody(ctx)
    if (parsed.error) return parsed.error
    const set = addMappingSet(ctx.sandbox, parsed.value)
    mutations++
    return json(200, {
      id: set.id,
      version: 0,
      createdDate: set.createdDate,
      modifiedDate: set.modifiedDate,
      createdBy: by(),
      modifiedBy: by()
    })
  }

  function findMappingSet(ctx, id) {
    const set = mappingSets.get(ctx.sandbox).find((x) => x.id === id)
    return set
      ? { set }
      : { error: problem(ctx, 404, 1404, 'Not found', `Mapping set ${id} not found`) }
  }

  /**
   * GET /mappingSets/{id}: the latest version, or ?version=N. O2 gives version a default of 0
   * while aepp reads a plain GET as the latest; the latest is what a reader
   * comparing the set with what it wants needs, and a PUT's answer shows it too.
   */
  function getMappingSet(ctx, id) {
    const found = findMappingSet(ctx, id)
    if (found.error) return found.error
    const q = new URLSearchParams(ctx.query)
    let v = found.set.versions.at(-1)
    const asked = q.get('version')
    if (asked !== null) {
      const n = integerOf(asked)
      if (n === undefined || n < 0) return badQuery(ctx, `Invalid query value version=${asked}`)
      v = found.set.versions[n]
      if (!v)
        return problem(ctx, 404, 1404, 'Not found', `Version ${n} of mapping set ${id} not found`)
    }
    return json(200, servedMappingSet(found.set, v, q.get('expandSchema') === 'true'))
  }

  /** PUT /mappingSets/{id}: the full body; version + 1, new mapping ids; 200 with the set (D6). */
  function putMappingSet(ctx, id) {
    const found = findMappingSet(ctx, id)
    if (found.error) return found.error
    const parsed = mappingSetBody(ctx)
    if (parsed.error) return parsed.error
    if (parsed.body.id !== undefined && parsed.body.id !== null && parsed.body.id !== id)
      return badQuery(ctx, `id ${JSON.stringify(parsed.body.id)} in the body is not ${id}`)
    addMappingVersion(found.set, parsed.value, clock.now())
    mutations++
    return json(200, servedMappingSet(found.set, found.set.versions.at(-1), false))
  }

  /** POST /mappingSets/validate: every mapping SUCCESS when the body is valid (D6), else 400. */
  function validateMappingSet(ctx) {
    const parsed = mappingSetBody(ctx)
    if (parsed.error) return parsed.error
    return json(200, {
      validationResponse: parsed.value.mappings.map(() => ({ status: 'SUCCESS', errors: null }))
    })
  }

  /**
   * GET /mappingSets?limit=&start= (both required, O2 and D6) with optional name= (exact) and
   * orderBy=±createdDate|updatedDate: {data, _page: {count, limit}, _links}. O2's default
   * order (lastUpdateDate) has no stated direction: the most recently updated first, as D6's
   * "last two mapping sets".
   */
  function listMappingSets(ctx) {
    const q = new URLSearchParams(ctx.query)
    const limit = integerOf(q.get('limit') ?? '')
    const start = integerOf(q.get('start') ?? '')
    if (q.get('limit') === null || q.get('start') === null)
      return badQuery(ctx, 'Query parameters limit and start are required')
    if (limit === undefined || limit < 1 || start === undefined || start < 0)
      return badQuery(ctx, `Invalid query value limit=${q.get('limit')} or start=${q.get('start')}`)
    // A '+' reaches a form decoder as a space.
    const orderBy = (q.get('orderBy') ?? '-updatedDate').replace(/^ /, '+')
    const order = /^([+-]?)(createdDate|updatedDate)$/.exec(orderBy)
    if (!order) return badQuery(ctx, `Invalid query value orderBy=${orderBy}`)
    const key = order[2] === 'createdDate' ? 'createdDate' : 'modifiedDate'
    const sign = order[1] === '-' ? -1 : 1
    const name = q.get('name')
    const sets = mappingSets
      .get(ctx.sandbox)
      .filter((x) => name === null || x.name === name)
      .map((x, i) => ({ x, i }))
      .sort((a, b) => sign * (a.x[key] - b.x[key] || a.i - b.i))
      .map(({ x }) => x)
    const page = sets.slice(start, start + limit)
    const next = new URLSearchParams(q)
    next.set('start', String(start + limit))
    return json(200, {
      data: page.map((x) =>
        servedMappingSet(x, x.versions.at(-1), q.get('expandSchema') === 'true')
      ),
      _page: { count: page.length, limit },
      _links: sets.length > start + limit ? { next: { href: `/mappingSets?${next}` } } : {}
    })
  }

  function handleCatalog(ctx) {
    const checked = platformCheck(ctx)
    if (checked.reply) return checked.reply
    ctx.sandbox = checked.sandbox
    const rest = ctx.path.slice(CATALOG_BASE_PATH.length)
    let m
    if (rest === '/dataSets') {
      if (ctx.method === 'GET') return listDatasets(ctx)
      return notAllowedHere(ctx, 'GET')
    }
    if ((m = /^\/dataSets\/([^/]+)$/.exec(rest))) {
      if (ctx.method === 'GET') return getDataset(ctx, decodeURIComponent(m[1]))
      return notAllowedHere(ctx, 'GET')
    }
    return problem(ctx, 404, 1404, 'Not found', `No resource at ${ctx.path}`)
  }

  /** A dataset as Catalog serves it (O3's dataSetResponse), cut to ?properties= when given. */
  function servedDataset(d, properties) {
    const full = {
      name: d.name,
      ...(d.description !== undefined ? { description: d.description } : {}),
      imsOrg: opts.orgId,
      sandboxId: sandboxIds.get(d.sandboxName),
      version: '1.0.0',
      created: d.created,
      updated: d.updated,
      createdClient: opts.clientId,
      createdUser: by(),
      updatedUser: by(),
      schemaRef: { ...d.schemaRef },
      tags: {},
      files: `@/dataSetFiles?dataSetId=${d.id}`
    }
    if (properties === null) return full
    const keep = properties.split(',').map((p) => p.trim())
    return Object.fromEntries(Object.entries(full).filter(([k]) => keep.includes(k)))
  }

  /** GET /dataSets/{id}: an object keyed by the id (O3, D12); 404 when there is none. */
  function getDataset(ctx, id) {
    const d = env.dataset(ctx.sandbox, id)
    if (!d) return problem(ctx, 404, 1404, 'Not found', `Dataset ${id} not found`)
    const properties = new URLSearchParams(ctx.query).get('properties')
    return json(200, { [id]: servedDataset(d, properties) })
  }

  /**
   * GET /dataSets: an object keyed by the ids of the datasets listed, in creation order; name=
   * filters on the exact name; limit (default 50, at most 100, O3) and start page. No match is
   * an empty object.
   */
  function listDatasets(ctx) {
    const q = new URLSearchParams(ctx.query)
    const limit = q.get('limit') === null ? 50 : integerOf(q.get('limit'))
    const start = q.get('start') === null ? 0 : integerOf(q.get('start'))
    if (limit === undefined || limit < 1 || limit > 100)
      return badQuery(ctx, `Invalid query value limit=${q.get('limit')}: 1 to 100`)
    if (start === undefined || start < 0)
      return badQuery(ctx, `Invalid query value start=${q.get('start')}`)
    const name = q.get('name')
    const page = datasets
      .get(ctx.sandbox)
      .filter((d) => name === null || d.name === name)
      .slice(start, start + limit)
    const properties = q.get('properties')
    return json(200, Object.fromEntries(page.map((d) => [d.id, servedDataset(d, properties)])))
  }

  // ---- faults ----
  function takeFault(rec) {
    for (const f of faults) {
      if (!(f.remaining > 0)) continue
      const m = f.match ?? {}
      if (m.method && m.method.toUpperCase() !== rec.method) continue
      if (m.service && m.service !== rec.service) continue
      if (m.path !== undefined) {
        if (m.path instanceof RegExp) {
          m.path.lastIndex = 0
          if (!m.path.test(rec.path)) continue
        } else if (m.path !== rec.path) continue
      }
      f.remaining--
      return f
    }
    return null
  }

  /**
   * Holds a request until `parties` requests have reached the same barrier fault (or until
   * `timeoutMs`), then lets them all through together: concurrent runs all see the same state.
   */
  async function awaitBarrier(entry) {
    const { parties, timeoutMs = 10_000 } = entry.action
    entry.waiting ??= []
    let open
    const opened = new Promise((resolve) => (open = resolve))
    // The timeout's sleep is also cut short when the barrier opens (or the simulator closes).
    const stop = new AbortController()
    const release = () => {
      stop.abort()
      open()
    }
    entry.waiting.push(release)
    if (entry.waiting.length >= parties) for (const r of entry.waiting.splice(0)) r()
    const timeout = clock.sleep(timeoutMs, AbortSignal.any([stop.signal, closing.signal]))
    await idle(Promise.race([opened, timeout]))
    entry.waiting = entry.waiting.filter((r) => r !== release)
  }

  function faultStatusResponse(ctx, action) {
    const status = action.status
    let body = action.body
    if (body === undefined && (ctx.service === 'dataprep' || ctx.service === 'catalog'))
      body = problem(ctx, status, 9000, http.STATUS_CODES[status] ?? 'Error', 'Injected fault').body
    if (body === undefined) {
      body =
        ctx.service === 'ims'
          ? JSON.stringify({ error: 'server_error', error_description: http.STATUS_CODES[status] })
          : JSON.stringify({
              type: `https://ns.adobe.com/aep/errors/FLOW-9000-${status}`,
              title: http.STATUS_CODES[status] ?? 'Error',
              status,
              report: { 'detailed-message': 'Injected fault', 'request-id': ctx.requestId },
              errorMessage: 'Injected fault',
              errorDetails: 'Injected fault'
            })
    }
    return {
      status,
      headers: {
        'content-type': action.contentType ?? 'application/json',
        ...(action.headers ?? {})
      },
      body
    }
  }

  /**
   * What a careless server may echo back in an error message: values taken from the request it
   * received (the connection string, the password, the bearer token, the IMS client secret, the
   * raw body) or stored for the connection the path names. Missing values are empty strings.
   */
  function echoValues(ctx) {
    const v = {
      body: ctx.body,
      authorization: ctx.headers.authorization ?? '',
      token: /^Bearer\s+(.*)$/is.exec(ctx.headers.authorization ?? '')?.[1] ?? '',
      clientSecret: '',
      connectionString: '',
      password: '',
      /** an object: `{authParams}` writes it with JSON.stringify, `{authParams:json}` escaped */
      authParams: {},
      stored: ''
    }
    if (ctx.service === 'ims') {
      const form = new URLSearchParams(ctx.body)
      v.clientSecret = form.get('client_secret') ?? ''
      return v
    }
    let parsed
    try {
      parsed = JSON.parse(ctx.body)
    } catch {
      parsed = undefined
    }
    const params = Array.isArray(parsed)
      ? parsed.find((op) => op && op.path === '/auth/params')?.value
      : parsed?.auth?.params
    if (params && typeof params === 'object') {
      v.connectionString =
        typeof params.connectionString === 'string' ? params.connectionString : ''
      v.password = typeof params.password === 'string' ? params.password : ''
      v.authParams = params
    }
    const m = /^\/connections\/([^/]+)/.exec(ctx.path.slice(FLOW_BASE_PATH.length))
    if (m) {
      const id = decodeURIComponent(m[1])
      const p = findAnywhere(id)?.obj.auth?.params ?? {}
      v.stored = String(p.connectionString ?? p.password ?? '')
    }
    return v
  }

  /**
   * An error body that echoes request values: `message` is a template whose `{name}` placeholders
   * (see echoValues) are replaced by the raw value, and `{name:json}` by the value serialised as
   * a JSON string with \u escapes (a server that embeds JSON it re-serialised in its message).
   * `collapse` squeezes whitespace runs to one space and `cut` truncates the message, as servers
   * that shorten their messages do; `escape: 'unicode'` writes the whole body the way serialisers
   * that escape non-ASCII and HTML-sensitive characters do (p\u0026ss).
   */
  function echoResponse(ctx, action) {
    const values = echoValues(ctx)
    let message = action.message.replace(/\{(\w+)(:json)?\}/g, (_, name, json) => {
      const value = values[name] ?? ''
      if (json) return unicodeJson(value)
      return typeof value === 'string' ? value : JSON.stringify(value)
    })
    if (action.collapse) message = message.replace(/\s+/g, ' ')
    if (action.cut !== undefined) message = message.slice(0, action.cut)
    const status = action.status
    const shape = action.shape ?? (ctx.service === 'ims' ? 'ims' : 'flow')
    let body
    if (shape === 'ims')
      body = { error: action.code ?? 'invalid_client', error_description: message }
    else if (shape === 'gateway') body = { error_code: action.code ?? `${status}050`, message }
    else
      body = {
        type: `https://ns.adobe.com/aep/errors/FLOW-${action.code ?? '1400'}-${status}`,
        title: http.STATUS_CODES[status] ?? 'Error',
        status,
        report: { 'detailed-message': message, 'request-id': ctx.requestId },
        errorMessage: message
      }
    return {
      status,
      headers: { 'content-type': 'application/json;charset=utf-8' },
      body: action.escape === 'unicode' ? unicodeJson(body) : JSON.stringify(body)
    }
  }

  /** The object a /{collection}/{id}... request targets, in any sandbox (its own first). */
  function targetOf(ctx) {
    const m = /^\/([^/]+)\/([^/]+)/.exec(ctx.path.slice(FLOW_BASE_PATH.length))
    if (!m || !collections.has(m[1])) return undefined
    return findAnywhere(decodeURIComponent(m[2]), ctx.headers['x-sandbox-name'])
  }

  /** Someone else moved the object to another state first; it may move back later. */
  function concurrentState(ctx, action) {
    const entry = targetOf(ctx)
    if (!entry) return
    const before = entry.obj.state
    change(entry, (obj) => (obj.state = action.state))
    if (action.revertAfterMs !== undefined)
      transitions.set(entry.obj.id, {
        afterMs: action.revertAfterMs,
        to: before,
        at: clock.now() + action.revertAfterMs
      })
  }

  function concurrentUpdate(ctx) {
    const entry = targetOf(ctx)
    if (!entry) return
    change(entry, (obj) => {
      obj.etag = newEtag()
      obj.updatedAt = Math.max(clock.now(), obj.updatedAt + 1)
    })
  }

  // ---- server ----
  function route(ctx) {
    if (ctx.service === 'ims') return handleIms(ctx)
    if (ctx.service === 'flow') return handleFlow(ctx)
    if (ctx.service === 'dataprep') return handleDataPrep(ctx)
    if (ctx.service === 'catalog') return handleCatalog(ctx)
    return json(404, { error_code: '404000', message: 'Not found' })
  }

  /** The latency of one reply to `method` (latencyMs, drawn when a range). */
  function latencyFor(method) {
    const v = config.latencyMs
    if (!perMethod(v)) return drawMillis(v)
    return v[method] === undefined ? 0 : drawMillis(v[method])
  }

  /**
   * Sends a reply: afterHandled first (the request's effect is committed, the reply not yet
   * sent; it may hold or drop the reply), then the latency, then the reply. `injected`: the
   * status or body was written by a fault, not by the simulator's handling.
   */
  async function send(req, res, rec, resp, injected = false) {
    const hook = config.hooks?.afterHandled
    if (hook) {
      let dropped = false
      const reply = {
        status: resp.status,
        headers: { ...resp.headers },
        body: resp.body,
        drop: () => void (dropped = true),
        sleep: (ms) => (ms > 0 ? wait(ms) : Promise.resolve())
      }
      await hook(rec, reply)
      if (dropped) {
        req.socket.destroy()
        return
      }
    }
    const latency = latencyFor(rec.method)
    if (latency > 0) await wait(latency)
    if (res.socket === null || res.socket.destroyed) return // client gone; status stays 0
    rec.status = resp.status
    rec.replyBody = resp.body
    // ISO dates are a form a test chose to see the action cope with, not one Adobe documents.
    rec.replyInjected = injected || config.createdAtMode === 'iso'
    res.writeHead(resp.status, { 'x-request-id': rec.requestId, ...resp.headers })
    res.end(resp.body)
  }

  /**
   * A reply of exactly `bytes` bytes (valid JSON when complete), generated as it is sent so even
   * a 500 MB one costs no memory here; stops when the client goes away.
   */
  async function sendLarge(res, rec, action) {
    const status = action.status ?? 200
    const head = Buffer.from('{"items":[],"padding":"')
    const tail = Buffer.from('"}')
    const fill = Buffer.alloc(64 * 1024, 'x')
    const total = Math.max(action.bytes, head.length + tail.length)
    rec.status = status
    res.writeHead(status, {
      'x-request-id': rec.requestId,
      'content-type': 'application/json',
      ...(action.chunked ? {} : { 'content-length': String(total) })
    })
    res.on('error', () => {})
    let left = total - head.length - tail.length
    res.write(head)
    while (left > 0 && !res.destroyed) {
      const n = Math.min(left, fill.length)
      left -= n
      const ok = res.write(n === fill.length ? fill : fill.subarray(0, n))
      if (!ok && !res.destroyed)
        await new Promise((resolve) => {
          const done = () => {
            res.off('drain', done)
            res.off('close', done)
            resolve()
          }
          res.on('drain', done)
          res.on('close', done)
        })
    }
    if (!res.destroyed) res.end(tail)
  }

  async function handle(req, res) {
    const chunks = []
    for await (const c of req) chunks.push(c)
    const url = req.url ?? '/'
    const qIdx = url.indexOf('?')
    const path = qIdx === -1 ? url : url.slice(0, qIdx)
    const query = qIdx === -1 ? '' : url.slice(qIdx + 1)
    const headers = flatHeaders(req.headers)
    const rec = {
      seq: ++seq,
      service: serviceOf(path),
      method: (req.method ?? 'GET').toUpperCase(),
      url,
      path,
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
      status: 0,
      socket: socketIds.get(req.socket) ?? 0,
      ...(headers[RUN_HEADER] !== undefined ? { run: headers[RUN_HEADER] } : {})
    }
    requests.push(rec)
    // requestId is kept off the recorded object (not part of RecordedRequest). The reply is kept
    // off its enumerable fields too, so tests that compare records are not affected by it.
    Object.defineProperty(rec, 'requestId', { value: rnd.uuid(), enumerable: false })
    for (const [name, value] of [
      ['replyBody', undefined],
      ['replyInjected', false]
    ])
      Object.defineProperty(rec, name, { value, writable: true, enumerable: false })
    const ctx = {
      method: rec.method,
      path,
      query,
      headers,
      body: rec.body,
      service: rec.service,
      requestId: rec.requestId
    }

    applyTransitions()
    const entry = takeFault(rec)
    const fault = entry?.action
    if (fault) {
      switch (fault.type) {
        case 'reset':
          req.socket.destroy()
          return
        case 'commit-then-reset':
          await route(ctx)
          req.socket.destroy()
          return
        case 'commit-then-status':
          await route(ctx)
          return send(req, res, rec, faultStatusResponse(ctx, fault), true)
        case 'pad-pages':
          ctx.view = { pad: fault.pages }
          break
        case 'endless-pages':
          ctx.view = { pad: -1 }
          break
        case 'cycle-pages':
          ctx.view = { cycle: true }
          break
        case 'strip-spec':
          ctx.view = { stripSpec: true }
          break
        case 'stale-list':
          ctx.view = { onlyIds: entry.snapshot }
          break
        case 'barrier':
          await awaitBarrier(entry)
          break
        case 'status':
          return send(req, res, rec, faultStatusResponse(ctx, fault), true)
        case 'large-body':
          if (fault.perform) await route(ctx)
          return sendLarge(res, rec, fault)
        case 'echo':
          return send(req, res, rec, echoResponse(ctx, fault), true)
        case 'rewrite': {
          // Performed as usual; only the JSON reply is changed on its way out.
          const resp = await route(ctx)
          let parsed
          try {
            parsed = JSON.parse(resp.body)
          } catch {
            return send(req, res, rec, resp)
          }
          return send(
            req,
            res,
            rec,
            { ...resp, body: JSON.stringify(fault.edit(parsed, rec)) },
            true
          )
        }
        case 'invalid-json':
          return send(
            req,
            res,
            rec,
            {
              status: 200,
              headers: { 'content-type': 'application/json;charset=utf-8' },
              body: TRUNCATED_JSON
            },
            true
          )
        case 'delay':
          await wait(fault.ms)
          break
        case 'concurrent-update':
          concurrentUpdate(ctx)
          break
        case 'concurrent-state':
          concurrentState(ctx, fault)
          break
        default:
          throw new Error(`unknown fault type ${fault.type}`)
      }
    }
    return send(req, res, rec, await route(ctx))
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-request-id': rnd.uuid() })
        res.end(JSON.stringify({ error_code: '500000', message: String(err?.message ?? err) }))
      }
    })
  }
  // https mode (opts.tls = { key, cert }): the sockets requests arrive on are the TLS ones.
  const server = opts.tls
    ? https.createServer({ keepAlive: true, key: opts.tls.key, cert: opts.tls.cert }, onRequest)
    : http.createServer({ keepAlive: true }, onRequest)
  server.on(opts.tls ? 'secureConnection' : 'connection', (socket) => {
    socketIds.set(socket, ++socketCounter)
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address()
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  const url = `${opts.tls ? 'https' : 'http'}://${hostForUrl}:${addr.port}`

  /**
   * Adds a seeded object: there before the test starts, so listed at once whatever the lag unless
   * given a committedAt; createdAt, state and a later transition as the seed says.
   */
  function seedInto(collection, sandbox, fields, c) {
    if (!sandboxIds.has(sandbox)) throw new Error(`unknown sandbox ${sandbox}`)
    const entry = insert(collection, sandbox, fields, {
      createdAt: c.createdAt,
      state: c.state,
      committedAt: c.committedAt ?? -Infinity
    })
    if (c.transition)
      transitions.set(entry.obj.id, { afterMs: c.transition.afterMs, to: c.transition.to })
    return structuredClone({ ...entry.obj, committedAt: entry.committedAt })
  }

  const sim = {
    url,
    flowBase: url + FLOW_BASE_PATH,
    dataPrepBase: url + DATAPREP_BASE_PATH,
    catalogBase: url + CATALOG_BASE_PATH,
    orgId: opts.orgId,
    clientId: opts.clientId,
    clientSecret: opts.clientSecret,
    sandboxes: [...sandboxes],
    requests,
    stats() {
      return {
        requests: requests.length,
        tcpConnections: socketCounter - socketsAtReset,
        mutations
      }
    },
    issueToken(o = {}) {
      return mintToken(o.uses)
    },
    expireTokens() {
      for (const t of tokens.values()) t.valid = false
    },
    configure(o) {
      checkSettings(o)
      for (const k of CONFIGURABLE) {
        if (k in o) config[k] = o[k] ?? DEFAULTS[k]
      }
      horizonMs = Math.max(horizonMs, maxMillis(config.listingLagMs))
    },
    connectionSpec() {
      return currentSpec()
    },
    seedConnection(sandbox, c) {
      const fields = connectionFields({
        name: c.name,
        description: c.description,
        auth: c.auth ?? {
          specName: 'Connection String Based Authentication',
          params: {
            connectionString:
              'Server=seed.example.com;Database=seed;Port=5432;UID=seed_user;Password=seed-pass'
          }
        },
        connectionSpec: c.connectionSpec ?? { id: POSTGRES_SPEC_ID, version: '1.0' },
        inUse: c.inUse,
        tables: c.tables
      })
      return seedInto('connections', sandbox, fields, c)
    },
    seedSourceConnection(sandbox, c) {
      return seedInto(
        'sourceConnections',
        sandbox,
        {
          name: c.name,
          description: c.description,
          connectionSpec: { id: POSTGRES_SPEC_ID, version: '1.0' },
          baseConnectionId: c.baseConnectionId,
          data: { format: 'tabular' },
          params: { tableName: c.tableName ?? 'public.orders', ...structuredClone(c.params) }
        },
        c
      )
    },
    seedTargetConnection(sandbox, c) {
      const schemaId = c.schemaId ?? env.dataset(sandbox, c.dataSetId)?.schemaRef.id
      if (schemaId === undefined)
        throw new Error(
          `seedTargetConnection: no dataset ${c.dataSetId} in ${sandbox}; give schemaId`
        )
      return seedInto(
        'targetConnections',
        sandbox,
        {
          name: c.name,
          description: c.description,
          connectionSpec: { id: DATA_LAKE_SPEC_ID, version: '1.0' },
          data: { schema: { id: schemaId, version: XDM_FULL } },
          params: { dataSetId: c.dataSetId }
        },
        c
      )
    },
    seedFlow(sandbox, c) {
      const scheduleParams = structuredClone(
        c.scheduleParams ?? {
          startTime: Math.floor(clock.now() / 1000),
          frequency: 'day',
          interval: 1,
          backfill: true
        }
      )
      // Stored as a POST would leave it (numbers, booleans) when it is valid.
      scheduleProblem(scheduleParams)
      const transformations = structuredClone(
        c.transformations ?? [
          {
            name: 'Copy',
            params: {
              deltaColumn: {
                name: 'updated_at',
                dateFormat: 'yyyy-MM-dd HH:mm:ss',
                timezone: 'UTC'
              }
            }
          }
        ]
      )
      for (const t of transformations)
        if (t?.name === 'Mapping' && integerOf(t.params?.mappingVersion) !== undefined)
          t.params.mappingVersion = integerOf(t.params.mappingVersion)
      return seedInto(
        'flows',
        sandbox,
        {
          name: c.name,
          description: c.description,
          flowSpec: { id: CRM_TO_AEP_FLOW_SPEC_ID, version: '1.0' },
          sourceConnectionIds: [...c.sourceConnectionIds],
          targetConnectionIds: [...c.targetConnectionIds],
          transformations,
          scheduleParams
        },
        c
      )
    },
    seedMappingSet(sandbox, c) {
      if (!sandboxIds.has(sandbox)) throw new Error(`unknown sandbox ${sandbox}`)
      const checked = mappingSetOf({
        name: c.name,
        outputSchema: { schemaRef: { id: c.schemaId, contentType: c.contentType } },
        mappings: (c.mappings ?? []).map((m) => ({ sourceType: 'ATTRIBUTE', ...m }))
      })
      if (checked.error) throw new Error(`seedMappingSet: ${checked.error}`)
      return structuredClone(addMappingSet(sandbox, checked.value))
    },
    seedDataset(sandbox, d) {
      if (!sandboxIds.has(sandbox)) throw new Error(`unknown sandbox ${sandbox}`)
      return addDataset(sandbox, d).id
    },
    mappingSets(sandbox) {
      const from = sandbox === undefined ? sandboxes : [sandbox]
      return structuredClone(from.flatMap((s) => mappingSets.get(s) ?? []))
    },
    datasets(sandbox) {
      const from = sandbox === undefined ? sandboxes : [sandbox]
      return structuredClone(from.flatMap((s) => datasets.get(s) ?? []))
    },
    setState(id, state) {
      const entry = findAnywhere(id)
      if (!entry) throw new Error(`unknown object ${id}`)
      change(entry, (obj) => (obj.state = state))
    },
    connections(sandbox) {
      return sim.objects('connections', sandbox)
    },
    objects(collection, sandbox) {
      if (!collections.has(collection)) throw new Error(`unknown collection ${collection}`)
      applyTransitions()
      const from = sandbox === undefined ? sandboxes : [sandbox]
      return structuredClone(
        from.flatMap((s) =>
          entriesOf(collection, s)
            .filter((e) => e.deletedAt === undefined)
            .map((e) => ({ ...e.obj, committedAt: e.committedAt }))
        )
      )
    },
    setInUse(id, inUse) {
      const entry = findAnywhere(id)
      if (!entry) throw new Error(`unknown object ${id}`)
      change(entry, (obj) => (obj.inUse = inUse))
    },
    inject(fault) {
      const entry = { ...fault, remaining: fault.times ?? 1 }
      // A stale listing answers as of now: objects created later are not in it.
      if (fault.action.type === 'stale-list')
        entry.snapshot = new Set(
          [...store.values()].flatMap((bySandbox) =>
            [...bySandbox.values()].flatMap((list) =>
              list.filter((e) => e.deletedAt === undefined).map((e) => e.obj.id)
            )
          )
        )
      faults.push(entry)
    },
    clearFaults() {
      faults = []
    },
    reset() {
      store = newStore()
      newPlatformData()
      generation++
      transitions.clear()
      requests.length = 0
      seq = 0
      faults = []
      mutations = 0
      socketsAtReset = socketCounter
      tokens.clear()
      // A variant spec, test answer or time model set for one test must not leak into the next.
      for (const k of RESET) config[k] = opts[k]
      horizonMs = maxMillis(config.listingLagMs)
    },
    close() {
      if (live.delete(sim)) closedSince.add(sim)
      closing.abort()
      return new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    }
  }
  live.add(sim)
  return sim
}

/**
 * JSON as serialisers that escape for HTML embedding write it (System.Text.Json's default, Gson's
 * HTML-safe mode): every non-ASCII character, control character and " & ' < > + ` as \uXXXX
 * (surrogate pairs as two escapes); backslash as \\.
 */
export function unicodeJson(value) {
  const str = (s) => {
    let out = '"'
    // By UTF-16 code unit, so a character outside the BMP becomes its two surrogate escapes.
    for (let i = 0; i < s.length; i++) {
      const c = s[i]
      const code = s.charCodeAt(i)
      if (c === '\\') out += '\\\\'
      else if (code < 0x20 || code > 0x7e || `"&'<>+\``.includes(c))
        out += '\\u' + code.toString(16).padStart(4, '0')
      else out += c
    }
    return out + '"'
  }
  const walk = (v) => {
    if (typeof v === 'string') return str(v)
    if (Array.isArray(v)) return '[' + v.map(walk).join(',') + ']'
    if (v && typeof v === 'object')
      return (
        '{' +
        Object.entries(v)
          .filter(([, x]) => x !== undefined)
          .map(([k, x]) => str(k) + ':' + walk(x))
          .join(',') +
        '}'
      )
    return JSON.stringify(v)
  }
  return walk(value)
}

function stripUndefined(o) {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
}
