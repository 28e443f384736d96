// Local simulator of Adobe IMS (OAuth server-to-server token endpoint) and the AEP Flow Service
// base-connection API. Behaviour follows Adobe's Flow Service and IMS documentation; anything the docs
// leave open is flagged in comments. It is a test double: no Adobe account or network is involved.
import http from 'node:http'
import https from 'node:https'
import { randomUUID, randomBytes } from 'node:crypto'
import { Ajv } from 'ajv'

export const POSTGRES_SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
export const FLOW_BASE_PATH = '/data/foundation/flowservice'
export const IMS_TOKEN_PATH = '/ims/token/v3'
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
  hooks: {}
}
/** A trial's time model and hooks: configure() changes them, reset() restores the start ones. */
const TRIAL = ['listingLagMs', 'createdAtMode', 'skewMs', 'commitLatencyMs', 'hooks']
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
  ...TRIAL
]
/** Settings that reset() returns to their start values. */
const RESET = [
  'spec',
  'connectionTest',
  'patchEnabled',
  'tokenKeepsFilter',
  'quoteEscapes',
  ...TRIAL
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
  if (path === FLOW_BASE_PATH || path.startsWith(FLOW_BASE_PATH + '/')) return 'flow'
  if (path === '/ims' || path.startsWith('/ims/')) return 'ims'
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
 * - wire(obj): the collection's own fields as served, after `state` (secrets masked)
 * - patch(ctx, draft, op, kind, env) (optional): applies an operation on a path other than
 *   /name, /description and the spec to the draft; returns an error reply or undefined. Without
 *   it such paths are refused (1455).
 * - check(ctx, draft, env) (optional): the object a PATCH leaves; an error reply or undefined
 * - deleteRefusal(ctx, obj) (optional): an error reply when the object cannot be deleted
 * - patchSwitch (optional): the message a PATCH gets while `patchEnabled` is off (1445)
 * `env` holds what depends on the simulator's settings: currentSpec().
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
  deleteRefusal(ctx, conn) {
    if (!conn.inUse) return undefined
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

const COLLECTIONS = [CONNECTIONS].map((c) => ({
  ...c,
  readers: Object.fromEntries(Object.entries(c.filters).map(([k, how]) => [k, fieldReader(how)]))
}))

/** Simulators started and not yet closed, so test hooks can inspect every request they saw. */
const live = new Set()
export function liveSimulators() {
  return [...live]
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
  const env = { currentSpec }
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

  const entriesOf = (collection, sandbox) => store.get(collection)?.get(sandbox) ?? []
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
      ...coll.wire(obj),
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
    if (ctx.method === 'POST' || ctx.method === 'PATCH') {
      const ct = (ctx.headers['content-type'] ?? '').toLowerCase()
      if (!ct.startsWith('application/json'))
        return badRequest('A valid content-type must be specified')
    }
    const rest = ctx.path.slice(FLOW_BASE_PATH.length)
    ctx.sandbox = sandbox
    let m
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
    const refused = stateRefusal(ctx, entry.obj, 'delete') ?? coll.deleteRefusal?.(ctx, entry.obj)
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
    rec.replyInjected = injected
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

  const sim = {
    url,
    flowBase: url + FLOW_BASE_PATH,
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
      if (!sandboxIds.has(sandbox)) throw new Error(`unknown sandbox ${sandbox}`)
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
      // A seeded object is there before the test starts: listed at once unless told otherwise.
      const entry = insert('connections', sandbox, fields, {
        createdAt: c.createdAt,
        state: c.state,
        committedAt: c.committedAt ?? -Infinity
      })
      if (c.transition)
        transitions.set(entry.obj.id, { afterMs: c.transition.afterMs, to: c.transition.to })
      return structuredClone({ ...entry.obj, committedAt: entry.committedAt })
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
      live.delete(sim)
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
