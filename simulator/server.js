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
const FILTER_FIELDS = ['name', 'id', 'description', 'connectionSpec.id', 'state']
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
  idOrder: 'random'
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
  'quoteEscapes'
]

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Cosmos-DB style etag as Flow Service returns it, quotes included. */
function newEtag() {
  const ts = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0')
  return `"${randomBytes(4).toString('hex')}-0000-0200-0000-${ts}0000"`
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

function fieldValue(conn, field) {
  if (field === 'connectionSpec.id') return conn.connectionSpec.id
  return conn[field]
}

/** Simulators started and not yet closed, so test hooks can inspect every request they saw. */
const live = new Set()
export function liveSimulators() {
  return [...live]
}

export async function startSimulator(options = {}) {
  const opts = { ...DEFAULTS, ...stripUndefined(options) }
  const config = Object.fromEntries(CONFIGURABLE.map((k) => [k, opts[k]]))
  const currentSpec = () => postgresConnectionSpec(config.spec)
  // Compile the served spec's validators now, not inside the first create a test times.
  for (const a of currentSpec().authSpec) if (a.spec) validatorFor(a.spec)
  const sandboxes = [...opts.sandboxes]
  const sandboxIds = new Map(sandboxes.map((s) => [s, randomUUID()]))

  /** sandbox -> connections in creation order */
  let store = new Map(sandboxes.map((s) => [s, []]))
  /** id -> creation sequence, used as the paging cursor (stable under deletes). */
  const createdSeq = new Map()
  let createCounter = 0
  /** createdAt of the newest connection: each new one is at least 1 ms younger. */
  let lastCreatedAt = 0
  let made = 0
  /** A new connection's id; with idOrder 'descending' each sorts before the one made before. */
  const newId = () => {
    const id = randomUUID()
    if (opts.idOrder !== 'descending') return id
    return (0xffffffff - ++made).toString(16).padStart(8, '0') + id.slice(8)
  }
  /**
   * id -> { afterMs, to, at }: a state change ('removed' takes the connection away), due afterMs
   * after the connection was first served (listed or read), so a slow client still sees it.
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

  const findConn = (sandbox, id) => (store.get(sandbox) ?? []).find((c) => c.id === id)

  /** Applies the state changes that are due (seeded with `transition`). */
  function applyTransitions() {
    const now = Date.now()
    for (const [id, t] of transitions) {
      if (t.at === undefined || t.at > now) continue
      transitions.delete(id)
      for (const list of store.values()) {
        const idx = list.findIndex((c) => c.id === id)
        if (idx === -1) continue
        if (t.to === 'removed') list.splice(idx, 1)
        else {
          list[idx].state = t.to
          list[idx].etag = newEtag()
          list[idx].updatedAt = Math.max(now, list[idx].updatedAt + 1)
        }
      }
    }
  }

  function mintToken(uses) {
    const token = 'sim-' + randomBytes(32).toString('base64url')
    tokens.set(token, { valid: true, usesLeft: uses })
    return token
  }

  function makeConnection(sandbox, c) {
    const now = c.createdAt ?? Math.max(Date.now(), lastCreatedAt + 1)
    lastCreatedAt = Math.max(lastCreatedAt, now)
    const conn = {
      id: newId(),
      name: c.name,
      ...(c.description !== undefined ? { description: c.description } : {}),
      sandboxName: sandbox,
      imsOrgId: opts.orgId,
      auth: structuredClone(c.auth),
      connectionSpec: { ...c.connectionSpec },
      etag: newEtag(),
      state: c.state ?? 'enabled',
      createdAt: now,
      updatedAt: now,
      inUse: c.inUse ?? false,
      tables: [...(c.tables ?? ['public.customers', 'public.orders'])]
    }
    createdSeq.set(conn.id, ++createCounter)
    store.get(sandbox).push(conn)
    return conn
  }

  /** The wire representation of a connection: secrets masked, version === etag. */
  function toItem(conn) {
    const t = transitions.get(conn.id)
    if (t && t.at === undefined) t.at = Date.now() + t.afterMs
    return {
      id: conn.id,
      createdAt: conn.createdAt,
      updatedAt: conn.updatedAt,
      createdBy: `${opts.clientId}@AdobeID`,
      updatedBy: `${opts.clientId}@AdobeID`,
      createdClient: opts.clientId,
      updatedClient: opts.clientId,
      sandboxId: sandboxIds.get(conn.sandboxName),
      sandboxName: conn.sandboxName,
      imsOrgId: conn.imsOrgId,
      name: conn.name,
      ...(conn.description !== undefined ? { description: conn.description } : {}),
      connectionSpec: { ...conn.connectionSpec },
      state: conn.state,
      auth: { specName: conn.auth.specName, params: maskParams(conn.auth.params) },
      version: conn.etag,
      etag: conn.etag
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
  const notFound = (ctx, id) =>
    flowError(ctx, 404, 1101, 'Resource not found', `Resource with id=[${id}] does not exist`, {
      id,
      type: 'connections'
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
    if (!store.has(sandbox)) {
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
    if (rest === '/connections') {
      if (ctx.method === 'GET') return listConnections(ctx)
      if (ctx.method === 'POST') return createConnection(ctx)
      return methodNotAllowed(ctx)
    }
    // S1 declares PATCH/DELETE with a trailing slash; tolerate it.
    if ((m = /^\/connections\/([^/]+)\/?$/.exec(rest))) {
      const id = decodeURIComponent(m[1])
      if (ctx.method === 'GET') return getConnection(ctx, id)
      if (ctx.method === 'PATCH') return patchConnection(ctx, id)
      if (ctx.method === 'DELETE') return deleteConnection(ctx, id)
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

  function createConnection(ctx) {
    const parsed = parseJsonBody(ctx)
    if (parsed.error) return parsed.error
    const b = parsed.value
    const invalid = (detail) => flowError(ctx, 400, 1400, 'Bad request', detail)
    if (!b || typeof b !== 'object' || Array.isArray(b))
      return invalid('Request body must be an object')
    const specId = b.connectionSpec?.id
    const specVersion = b.connectionSpec?.version ?? '1.0'
    if (specId !== POSTGRES_SPEC_ID || specVersion !== '1.0') {
      return flowError(
        ctx,
        400,
        1413,
        'Bad request',
        `Invalid connection spec id=[${specId}] version=[${specVersion}]`
      )
    }
    if (typeof b.name !== 'string' || b.name.trim() === '') return invalid('name is required')
    if (b.description !== undefined && typeof b.description !== 'string') {
      return invalid('description must be a string')
    }
    if (!b.auth || typeof b.auth !== 'object' || !AUTH_SPECS.includes(b.auth.specName)) {
      return flowError(
        ctx,
        400,
        1415,
        'Bad request',
        `The auth spec '${b.auth?.specName}' could not be found for the connection spec ID ${specId}`
      )
    }
    const problem = authParamsProblem(currentSpec(), b.auth)
    if (problem) return invalid(problem)
    const conn = makeConnection(ctx.sandbox, {
      name: b.name,
      description: b.description,
      auth: { specName: b.auth.specName, params: b.auth.params },
      connectionSpec: { id: specId, version: specVersion }
    })
    mutations++
    return json(
      201,
      { id: conn.id, etag: conn.etag },
      { location: `${sim.url}${FLOW_BASE_PATH}/connections/${conn.id}` }
    )
  }

  function parseFilters(ctx, props) {
    const filters = []
    for (const p of props) {
      const m = /^([A-Za-z0-9_.[\]]+)\s*(==|!=|>=|<=|~|>|<|=)?(.*)$/s.exec(p)
      if (!m || m[2] !== '==') {
        const op = m?.[2] ?? ''
        return {
          error: flowError(ctx, 400, 1450, 'Bad request', `Invalid operator '${op}' in ${p}`)
        }
      }
      if (!FILTER_FIELDS.includes(m[1])) {
        return { error: flowError(ctx, 400, 1449, 'Bad request', `Invalid field ${m[1]}`) }
      }
      if (m[3] === '') {
        return { error: flowError(ctx, 400, 1453, 'Bad request', `Invalid query value ${p}`) }
      }
      const values = parseValueList(m[3], config.quoteEscapes)
      if (!values) {
        return { error: flowError(ctx, 400, 1453, 'Bad request', `Invalid query value ${p}`) }
      }
      filters.push({ field: m[1], values })
    }
    return { filters }
  }

  const encodeToken = (t) => Buffer.from(JSON.stringify(t)).toString('base64url')
  const pageLink = (t) => ({ next: { href: `/connections?continuationToken=${encodeToken(t)}` } })

  /**
   * GET /connections. `ctx.view` carries listing faults: `pad` (empty pages before the real
   * ones; -1 for no end), `cycle` (two empty pages linking to each other), `stripSpec` (items
   * without connectionSpec) and `onlyIds` (a stale reply: only the connections in the set).
   */
  function listConnections(ctx) {
    const view = ctx.view ?? {}
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
    const parsed = parseFilters(ctx, props)
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
    const matching = store
      .get(ctx.sandbox)
      .filter((c) => !view.onlyIds || view.onlyIds.has(c.id))
      .filter((c) => parsed.filters.every((f) => f.values.includes(fieldValue(c, f.field))))
    if (count === 'true') return json(200, { count: matching.length })
    const remaining = matching.filter((c) => createdSeq.get(c.id) > after)
    const page = remaining.slice(0, limit)
    const items = page.map(toItem)
    if (view.stripSpec) for (const item of items) delete item.connectionSpec
    const body = { items }
    if (remaining.length > limit) {
      const last = page[page.length - 1]
      body._links = pageLink({ p: props, a: createdSeq.get(last.id), l: limit })
    }
    return json(200, body)
  }

  function getConnection(ctx, id) {
    const conn = findConn(ctx.sandbox, id)
    if (!conn) return notFound(ctx, id)
    return json(200, { items: [toItem(conn)] })
  }

  function patchConnection(ctx, id) {
    // An org-level switch in Flow Service's error catalogue (1445-400).
    if (!config.patchEnabled)
      return flowError(ctx, 400, 1445, 'Invalid request', 'PATCH Connection Feature not enabled.')
    const ifMatch = ctx.headers['if-match']
    if (!ifMatch) return flowError(ctx, 400, 1403, 'Bad request', 'Header is missing: If-Match')
    const parsed = parseJsonBody(ctx)
    if (parsed.error) return parsed.error
    const conn = findConn(ctx.sandbox, id)
    if (!conn) return notFound(ctx, id)
    const refused = stateRefusal(ctx, conn, 'update')
    if (refused) return refused
    if (unquote(ifMatch.trim()) !== unquote(conn.etag)) {
      return flowError(
        ctx,
        412,
        1404,
        'Version not matching',
        `Supplied version=[${ifMatch}] does not match the current version on entity=[${conn.etag}]`
      )
    }
    const ops = parsed.value
    const invalid = (detail) => flowError(ctx, 400, 1455, 'Bad request', detail)
    if (!Array.isArray(ops)) return invalid('Patch document must be a JSON array')
    // Apply to a copy so a failing operation leaves the entity untouched.
    const draft = structuredClone(conn)
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
      if (path === '/connectionSpec' || path.startsWith('/connectionSpec/')) {
        return flowError(ctx, 400, 1414, 'Bad request', 'Connection spec cannot be updated')
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
      } else if (path === '/auth/params') {
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
    }
    const problem = authParamsProblem(currentSpec(), draft.auth)
    if (problem) return invalid(problem)
    conn.name = draft.name
    if (draft.description === undefined) delete conn.description
    else conn.description = draft.description
    conn.auth = draft.auth
    conn.etag = newEtag()
    conn.updatedAt = Math.max(Date.now(), conn.updatedAt + 1)
    mutations++
    return json(200, { id: conn.id, etag: conn.etag })
  }

  /** Flow Service's state rules for update and delete (1416, 1457, 1458 in its catalogue). */
  function stateRefusal(ctx, conn, operation) {
    if (conn.state === 'delete-finalizing')
      return flowError(
        ctx,
        400,
        operation === 'update' ? 1457 : 1458,
        'Invalid request',
        `Operation ${operation} cannot be applied in state delete-finalizing.`
      )
    if (!['enabled', 'disabled', 'initializing'].includes(conn.state))
      return flowError(
        ctx,
        400,
        1416,
        'Invalid request',
        'Delete or Update can only be applied on connection with enabled, disabled or initializing state.'
      )
    return null
  }

  function deleteConnection(ctx, id) {
    const list = store.get(ctx.sandbox)
    const idx = list.findIndex((c) => c.id === id)
    if (idx === -1) return notFound(ctx, id)
    const refused = stateRefusal(ctx, list[idx], 'delete')
    if (refused) return refused
    if (list[idx].inUse) {
      return flowError(
        ctx,
        400,
        1418,
        'Bad request',
        `Connection with id=[${id}] is used by one or more flows; ensure that corresponding flows are deleted`
      )
    }
    list.splice(idx, 1)
    mutations++
    return { status: 204, headers: {}, body: '' }
  }

  function explore(ctx, id) {
    const conn = findConn(ctx.sandbox, id)
    if (!conn) return notFound(ctx, id)
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
    const conn = findConn(ctx.sandbox, id)
    if (!conn) return notFound(ctx, id)
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
  function awaitBarrier(entry) {
    const { parties, timeoutMs = 10_000 } = entry.action
    entry.waiting ??= []
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        entry.waiting = entry.waiting.filter((r) => r !== release)
        resolve()
      }, timeoutMs)
      timer.unref()
      const release = () => {
        clearTimeout(timer)
        resolve()
      }
      entry.waiting.push(release)
      if (entry.waiting.length >= parties) for (const r of entry.waiting.splice(0)) r()
    })
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
      const conn = [...store.keys()].map((s) => findConn(s, id)).find(Boolean)
      const p = conn?.auth.params ?? {}
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

  /** The connection a /connections/{id}... request targets, in any sandbox. */
  function targetOf(ctx) {
    const m = /^\/connections\/([^/]+)/.exec(ctx.path.slice(FLOW_BASE_PATH.length))
    if (!m) return undefined
    const id = decodeURIComponent(m[1])
    const preferred = ctx.headers['x-sandbox-name']
    return findConn(preferred, id) ?? [...store.keys()].map((s) => findConn(s, id)).find(Boolean)
  }

  /** Someone else moved the connection to another state first; it may move back later. */
  function concurrentState(ctx, action) {
    const conn = targetOf(ctx)
    if (!conn) return
    const before = conn.state
    conn.state = action.state
    if (action.revertAfterMs !== undefined)
      transitions.set(conn.id, {
        afterMs: action.revertAfterMs,
        to: before,
        at: Date.now() + action.revertAfterMs
      })
  }

  function concurrentUpdate(ctx) {
    const conn = targetOf(ctx)
    if (!conn) return
    conn.etag = newEtag()
    conn.updatedAt = Math.max(Date.now(), conn.updatedAt + 1)
  }

  // ---- server ----
  function route(ctx) {
    if (ctx.service === 'ims') return handleIms(ctx)
    if (ctx.service === 'flow') return handleFlow(ctx)
    return json(404, { error_code: '404000', message: 'Not found' })
  }

  /** `injected`: the status or body was written by a fault, not by the simulator's handling. */
  async function send(req, res, rec, resp, injected = false) {
    if (config.latencyMs > 0) await sleep(config.latencyMs)
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
      socket: socketIds.get(req.socket) ?? 0
    }
    requests.push(rec)
    // requestId is kept off the recorded object (not part of RecordedRequest). The reply is kept
    // off its enumerable fields too, so tests that compare records are not affected by it.
    Object.defineProperty(rec, 'requestId', { value: randomUUID(), enumerable: false })
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
          route(ctx)
          req.socket.destroy()
          return
        case 'commit-then-status':
          route(ctx)
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
          if (fault.perform) route(ctx)
          return sendLarge(res, rec, fault)
        case 'echo':
          return send(req, res, rec, echoResponse(ctx, fault), true)
        case 'rewrite': {
          // Performed as usual; only the JSON reply is changed on its way out.
          const resp = route(ctx)
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
          await sleep(fault.ms)
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
    return send(req, res, rec, route(ctx))
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-request-id': randomUUID() })
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
      for (const k of CONFIGURABLE) {
        if (k in o) config[k] = o[k] ?? DEFAULTS[k]
      }
    },
    connectionSpec() {
      return currentSpec()
    },
    seedConnection(sandbox, c) {
      if (!store.has(sandbox)) throw new Error(`unknown sandbox ${sandbox}`)
      const conn = makeConnection(sandbox, {
        createdAt: c.createdAt,
        state: c.state,
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
      if (c.transition)
        transitions.set(conn.id, { afterMs: c.transition.afterMs, to: c.transition.to })
      return structuredClone(conn)
    },
    setState(id, state) {
      const conn = [...store.values()].flat().find((c) => c.id === id)
      if (!conn) throw new Error(`unknown connection ${id}`)
      conn.state = state
    },
    connections(sandbox) {
      applyTransitions()
      const lists = sandbox === undefined ? [...store.values()] : [store.get(sandbox) ?? []]
      return structuredClone(lists.flat())
    },
    setInUse(id, inUse) {
      const conn = [...store.values()].flat().find((c) => c.id === id)
      if (!conn) throw new Error(`unknown connection ${id}`)
      conn.inUse = inUse
    },
    inject(fault) {
      const entry = { ...fault, remaining: fault.times ?? 1 }
      // A stale listing answers as of now: connections created later are not in it.
      if (fault.action.type === 'stale-list')
        entry.snapshot = new Set([...store.values()].flat().map((c) => c.id))
      faults.push(entry)
    },
    clearFaults() {
      faults = []
    },
    reset() {
      store = new Map(sandboxes.map((s) => [s, []]))
      createdSeq.clear()
      transitions.clear()
      requests.length = 0
      seq = 0
      faults = []
      mutations = 0
      socketsAtReset = socketCounter
      tokens.clear()
      // A variant spec or test answer set for one test must not leak into the next.
      config.spec = opts.spec
      config.connectionTest = opts.connectionTest
      for (const k of ['patchEnabled', 'tokenKeepsFilter', 'quoteEscapes']) config[k] = opts[k]
    },
    close() {
      live.delete(sim)
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
