/**
 * Local simulator of Adobe IMS, the AEP Flow Service (base, source and target connections,
 * dataflows, the CRMToAEP flow spec), Data Prep mapping sets and Catalog datasets (see server.js).
 * Keys such as D3 or O1 name Adobe's documents; server.js lists them.
 */

export declare const POSTGRES_SPEC_ID: '74a1c565-4e59-48d7-9d67-7c03b8a13137'
export declare const DATA_LAKE_SPEC_ID: 'c604ff05-7f1a-43c0-8e18-33bf874cb11c'
export declare const CRM_TO_AEP_FLOW_SPEC_ID: '14518937-270c-4525-bdec-c2ba7cce3860'
export declare const FLOW_BASE_PATH: '/data/foundation/flowservice'
export declare const DATAPREP_BASE_PATH: '/data/foundation/conversion'
export declare const CATALOG_BASE_PATH: '/data/foundation/catalog'
export declare const IMS_TOKEN_PATH: '/ims/token/v3'
/** The dataset seeded in every sandbox (at start and on reset) unless `defaultDataset` is false. */
export declare const DEFAULT_DATASET: {
  readonly name: 'orders-dataset'
  readonly schemaId: 'https://ns.adobe.com/simtenant/schemas/orders'
}

/** Masks the Password=/PWD= value of an ODBC-style connection string (brace-quoted values too). */
export declare function maskConnectionString(connectionString: string): string

/** A connection-string pattern that refuses brace-quoted values; the default of `connectionStringPattern: true`. */
export declare const STRICT_CONNECTION_STRING_PATTERN: string

/** How the served PostgreSQL connection spec departs from the default (which follows Adobe's docs). */
export interface SpecVariant {
  /** Basic auth `port` typed integer instead of string */
  portInteger?: boolean
  /** `sslMode` values spelled with a space (`Verify Ca`) instead of a hyphen */
  sslModeSpaces?: boolean
  /** `Require` missing from the `sslMode` values */
  withoutRequire?: boolean
  /** a `pattern` on `connectionString`: true for STRICT_CONNECTION_STRING_PATTERN, or the pattern */
  connectionStringPattern?: boolean | string
  /** auth types served without a `spec` (no schema) */
  withoutSchemaFor?: string[]
}

export interface JsonSchemaObject {
  [key: string]: unknown
}

export interface AuthSpecEntry {
  name: string
  type: string
  spec?: JsonSchemaObject
}

export interface ConnectionSpecItem {
  id: string
  name: string
  providerId: string
  version: string
  authSpec: AuthSpecEntry[]
  attributes: Record<string, unknown>
}

/** The PostgreSQL connection spec item GET /connectionSpecs/{id} serves for a variant. */
export declare function postgresConnectionSpec(variant?: SpecVariant): ConnectionSpecItem

export interface FlowSpecItem {
  id: typeof CRM_TO_AEP_FLOW_SPEC_ID
  name: 'CRMToAEP'
  providerId: string
  version: string
  sourceConnectionSpecIds: string[]
  targetConnectionSpecIds: string[]
  transformationSpecs: Array<{ name: 'Copy' | 'Mapping'; spec: JsonSchemaObject }>
  scheduleSpec: { name: string; type: string; spec: JsonSchemaObject }
  attributes: Record<string, unknown>
}

/** The CRMToAEP flow spec GET /flowSpecs serves (D2's content). */
export declare function crmToAepFlowSpec(): FlowSpecItem

/** What GET /connections/{id}/test answers: result true, result false, or a 400 refusal. */
export type ConnectionTestAnswer = 'pass' | 'fail' | 'unsupported'

/**
 * The value list of a filter: commas outside double quotes separate values; a quoted value is
 * literal (with \" and \\ escapes when `escapes`, default true). undefined when malformed.
 */
export declare function parseValueList(raw: string, escapes?: boolean): string[] | undefined

/**
 * What the simulator reads the time from and waits on. The simulator never calls Date.now or
 * setTimeout itself, so tests can give it the virtual clock the code under test uses.
 */
export interface SimulatorClock {
  /** epoch ms */
  now(): number
  /**
   * Resolves after ms on this clock. The simulator passes a signal for waits it may no longer need
   * (a barrier that opened, a simulator that closed); a clock should then resolve at once, and one
   * that ignores it only keeps a needless wait pending.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /**
   * Optional. When present, every wait of a request held in the simulator (commit latency, reply
   * latency, delay faults, barriers, HookReply.sleep) goes through it: the request is not a
   * real activity while the wait lasts, so a virtual clock may move time on.
   */
  idleWhile?<T>(wait: Promise<T>): Promise<T>
  /** Optional: used as the random source when `random` is not given. */
  random?(): number
}

/** A duration in ms: fixed, or drawn from random (whole ms, min and max included) at each use. */
export type Millis = number | { min: number; max: number }

/** The real clock (Date.now and setTimeout); the default. */
export declare const realClock: SimulatorClock

/**
 * How a property= filter field is read from a stored object: a dotted path ('connectionSpec.id',
 * 'params.tableName'), ending in '[]' for an array any of whose elements may match
 * ('sourceConnectionIds[]'), or a function. Returns the comparable values (strings; numbers and
 * booleans as their text); a filter matches when one of them is among its values.
 */
export declare function fieldReader(
  how: string | ((obj: Record<string, unknown>) => unknown)
): (obj: Record<string, unknown>) => string[]

export interface SimulatorOptions {
  /** default realClock */
  clock?: SimulatorClock
  /**
   * Every random choice (ids, etags, tokens, request ids, drawn latencies, lags and skews) is
   * taken from it, so a trial replays from a seed; values in [0, 1). Default: the clock's
   * random() when it has one, else node:crypto for ids and tokens and Math.random for draws.
   */
  random?: () => number
  /** default '127.0.0.1' */
  host?: string
  /** default 0 (ephemeral) */
  port?: number
  /**
   * wait on the clock before every reply is sent (after afterHandled), default 0: one duration
   * for every request, or one per method ({ GET: 50, POST: { min: 100, max: 900 } }; methods
   * not named get none). Ranges are drawn per reply.
   */
  latencyMs?: Millis | MethodLatency
  /** GET /connections default page size, default 20 */
  pageSize?: number
  /** default 'SIMORG@AdobeOrg' */
  orgId?: string
  /** default 'sim-client-id' */
  clientId?: string
  /** default 'sim-client-secret' */
  clientSecret?: string
  /** default ['prod', 'dev', 'stage'] */
  sandboxes?: string[]
  /** expires_in for IMS tokens, default 86399 */
  tokenTtlSeconds?: number
  /**
   * When set, every token IMS issues from then on becomes invalid after this many Platform
   * requests (Flow Service, Data Prep, Catalog; simulates expiry mid-run). Applies to tokens
   * issued after it is set.
   */
  tokenUses?: number
  /**
   * The connection spec served and enforced on create and update (params validated against its
   * JSON Schema; 400 naming the failing param). Default {}: the documented spec.
   */
  spec?: SpecVariant
  /** GET /connections/{id}/test, default 'pass' */
  connectionTest?: ConnectionTestAnswer
  /** default true; false answers every PATCH with FLOW-1445-400 "PATCH Connection Feature not enabled" */
  patchEnabled?: boolean
  /**
   * default true: a continuation token keeps the filters of the first request. false: only the
   * page position is kept, and filters apply only when sent again as property params.
   */
  tokenKeepsFilter?: boolean
  /** default true: \" and \\ are escapes inside a quoted filter value; false: taken literally */
  quoteEscapes?: boolean
  /**
   * default 'random' (UUIDs); 'descending': each new connection's id sorts before the ids made
   * before it, so "ties broken by id" picks the newest (the hard case for racing runs)
   */
  idOrder?: 'random' | 'descending'
  /** https mode: serve TLS with this key and certificate (PEM); url becomes https://... */
  tls?: { key: string | Buffer; cert: string | Buffer }
  /**
   * Eventual consistency of listings, default 0. A list request (GET /connections, each page
   * and count=true) answers with the collection as it was `lag` ms ago, lag drawn per request
   * when { min, max }: an object is listed once now - lag >= its committedAt; a deleted one
   * stays listed, as it last was, until now - lag >= its deletion; a changed one (PATCH, state)
   * is listed as it was then. GET, PATCH and DELETE by id always see the current state.
   */
  listingLagMs?: Millis
  /**
   * How objects are dated (createdAt), default 'epoch-ms':
   * - 'epoch-ms': epoch ms at commit, at least 1 ms after the previous object's (as ever)
   * - 'iso': the same instant as an ISO 8601 string ('2026-01-01T00:00:00.000Z')
   * - 'missing': no createdAt in listings or reads (updatedAt stays)
   * - 'tied': the commit time cut to the second (epoch ms), so objects created in the same
   *   second share one date
   * - 'arrival': epoch ms stamped when the POST arrives, growing in arrival order; the object
   *   commits only after commitLatencyMs, so racing POSTs may commit in another order
   * - 'skewed': the commit time plus a random offset in [-skewMs, +skewMs], one per POST, as
   *   from servers whose clocks disagree: dates may contradict the order of creation
   * Seeded objects follow the mode too (an explicit createdAt is served in its form). The
   * stored object (connections()) always has the epoch ms; updatedAt starts equal to it.
   */
  createdAtMode?: CreatedAtMode
  /** the largest clock offset of 'skewed', default 1000 */
  skewMs?: number
  /**
   * default 0. A POST is checked, dated, then held this long on the clock (drawn per POST when
   * { min, max }); only then is the object inserted (its committedAt) and the reply sent.
   */
  commitLatencyMs?: Millis
  /** default {}; see SimulatorHooks */
  hooks?: SimulatorHooks
  /**
   * DELETE of a source or target connection a dataflow still uses, default 'refuse': 400
   * FLOW-1447 "Found active flows containing id …" (report.flowIds names them). No refusal is
   * documented (D7 has 1447 without naming an operation); refusing makes a deletion in the wrong
   * order fail here. 'allow' deletes and leaves the dataflow naming a connection that is gone.
   */
  deleteInUse?: 'refuse' | 'allow'
  /**
   * How a dataflow's scheduleParams are read back, default 'strings': startTime, interval and
   * backfill as strings, as D3's GET shows; 'spec-types': integers and a boolean, as the flow
   * spec types them. A Mapping transformation's mappingVersion is read as a string either way
   * (D3, O1, the spec). Requests may send either form.
   */
  scheduleParamsAs?: 'strings' | 'spec-types'
  /**
   * How mapping set reads give each mapping's sourceType, default 'media-types' (D6's reads:
   * text/x.schema-path, text/x.aep-xl; text/plain for STATIC, undocumented); 'as-sent':
   * ATTRIBUTE, EXPRESSION, STATIC, as requests send them (O2's enum). Requests may send either.
   */
  mappingSourceTypes?: 'media-types' | 'as-sent'
  /**
   * Where a target connection's read carries the schema id, default 'id' (data.schema.id, as
   * created); 'schemaId': data.schema.schemaId instead, an inconsistency aepp handles.
   */
  targetSchemaKey?: 'id' | 'schemaId'
  /** default true: every sandbox starts (and is reset) with DEFAULT_DATASET in Catalog */
  defaultDataset?: boolean
}

export type MethodLatency = Partial<Record<'GET' | 'POST' | 'PATCH' | 'DELETE', Millis>>

/** What afterHandled may do with the reply it is shown. */
export interface HookReply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** send nothing: the connection is destroyed (the effect stays; status is recorded as 0) */
  drop(): void
  /** waits on the simulator's clock, as the simulator's own waits do (not busy meanwhile) */
  sleep(ms: number): Promise<void>
}

export interface SimulatorHooks {
  /**
   * Called, and awaited, for every request about to be answered: after it was handled (its
   * effect committed, commitLatencyMs included) and any fault applied, before the latency and
   * the reply. Tests use it to kill or signal a run right after its POST was performed, or to
   * hold (reply.sleep) or drop the reply. Not called when a fault resets the connection
   * (reset, commit-then-reset) or sends a large body. The request's `run` tells which run sent
   * it. What it awaits other than reply.sleep counts as busy for a virtual clock.
   */
  afterHandled?(request: RecordedRequest, reply: HookReply): void | Promise<void>
}

/** The header a test may set (the action never does) to tag a request with its run's name. */
export declare const RUN_HEADER: 'x-sim-run'

export type CreatedAtMode = 'epoch-ms' | 'iso' | 'missing' | 'tied' | 'arrival' | 'skewed'

/** Which service a request was for, by path: Flow Service, Data Prep, Catalog, IMS. */
export type Service = 'ims' | 'flow' | 'dataprep' | 'catalog'

export interface RecordedRequest {
  seq: number
  service: Service | 'other'
  method: string
  /** path + query exactly as received */
  url: string
  /** path without query */
  path: string
  /** lower-case names */
  headers: Record<string, string>
  /** raw body text */
  body: string
  /** status sent (0 if the socket was reset or the client left before a response) */
  status: number
  /** which TCP connection (1-based counter) carried it */
  socket: number
  /** the value of the x-sim-run header (RUN_HEADER), when the request carried one */
  run?: string
  /**
   * The reply body as sent (not enumerable, so records compare as before): undefined while no
   * reply was sent, and for streamed (`large-body`) replies.
   */
  replyBody?: string
  /**
   * The reply's status or body came from an injected fault, or its dates from createdAtMode
   * 'iso', a form Adobe does not document (not enumerable).
   */
  replyInjected?: boolean
}

export interface ConnectionAuth {
  specName: string
  params: Record<string, unknown>
}

export interface ConnectionSpecRef {
  id: string
  version: string
}

export interface StoredConnection {
  id: string
  name: string
  description?: string
  sandboxName: string
  imsOrgId: string
  /** full, unmasked (test oracle) */
  auth: ConnectionAuth
  connectionSpec: ConnectionSpecRef
  /** quoted, e.g. '"1700e582-0000-0200-0000-5e3c85180000"' */
  etag: string
  /**
   * 'enabled' unless seeded otherwise. PATCH and DELETE accept enabled, disabled and
   * initializing; delete-finalizing gives 1457 (update) or 1458 (delete), other states 1416.
   */
  state: string
  /**
   * epoch ms (in every createdAtMode; 'iso' serves it as a string, 'missing' not at all);
   * strictly increasing in creation order in 'epoch-ms', 'iso' and 'missing' unless seeded
   */
  createdAt: number
  updatedAt: number
  /**
   * when it became part of the collection (listings that lag show it from committedAt + lag);
   * -Infinity for a seeded one unless seeded otherwise
   */
  committedAt: number
  /**
   * when true DELETE fails with FLOW-1418-400 (setInUse). DELETE also fails while a dataflow
   * uses a source connection naming this connection, whatever this says.
   */
  inUse: boolean
  /** what explore?objectType=root lists */
  tables: string[]
}

/** What every Flow Service object carries besides its own fields (as stored, not as served). */
export interface StoredObject {
  id: string
  description?: string
  sandboxName: string
  imsOrgId: string
  /** quoted */
  etag: string
  state: string
  /** epoch ms (see StoredConnection.createdAt) */
  createdAt: number
  updatedAt: number
  /** see StoredConnection.committedAt */
  committedAt: number
}

/** A PostgreSQL source connection (POST /sourceConnections): one table of a base connection. */
export interface StoredSourceConnection extends StoredObject {
  name: string
  connectionSpec: ConnectionSpecRef
  baseConnectionId: string
  /** { format: 'tabular' } */
  data: { format: string } & Record<string, unknown>
  /** tableName as explore lists it; anything else as sent (columns, ...) */
  params: { tableName: string } & Record<string, unknown>
}

/** A Data Lake target connection (POST /targetConnections): one Catalog dataset. */
export interface StoredTargetConnection extends StoredObject {
  /** optional on create (O1) */
  name?: string
  connectionSpec: ConnectionSpecRef
  /** schema.id is the dataset's schemaRef.id; version as sent */
  data: { schema: { id: string; version: string }; format?: string }
  params: { dataSetId: string }
}

export interface FlowTransformation {
  name: 'Copy' | 'Mapping'
  params: Record<string, unknown>
}

/** A dataflow (POST /flows) of the CRMToAEP flow spec. */
export interface StoredFlow extends StoredObject {
  name: string
  flowSpec: ConnectionSpecRef
  sourceConnectionIds: string[]
  targetConnectionIds: string[]
  /** as sent, except a Mapping's mappingVersion, stored as a number */
  transformations: FlowTransformation[]
  /** normalised to the spec's types whatever was sent: reads serve them per scheduleParamsAs */
  scheduleParams: {
    /** epoch seconds */
    startTime: number
    frequency: 'once' | 'minute' | 'hour' | 'day' | 'week'
    interval?: number
    backfill?: boolean
  }
}

/** One mapping of a mapping set version, normalised from either request dialect. */
export interface StoredMapping {
  /** 32 hex digits; new in every version */
  id: string
  sourceType: 'ATTRIBUTE' | 'EXPRESSION' | 'STATIC'
  source: string
  destination: string
  name?: string
  description?: string
}

export interface StoredMappingVersion {
  /** 0, 1, ... (each PUT adds one) */
  version: number
  outputSchema: { schemaRef: { id: string; contentType: string } }
  mappings: StoredMapping[]
  /** epoch ms */
  modifiedDate: number
}

/** A Data Prep mapping set with every version it had. */
export interface StoredMappingSet {
  /** 32 hex digits, no dashes */
  id: string
  name?: string
  sandboxName: string
  /** epoch ms */
  createdDate: number
  /** the latest version's */
  modifiedDate: number
  versions: StoredMappingVersion[]
}

/** A Catalog dataset. */
export interface StoredDataset {
  /** 24 hex digits */
  id: string
  name: string
  description?: string
  sandboxName: string
  schemaRef: { id: string; contentType: string }
  /** epoch ms */
  created: number
  updated: number
}

/** What every seed may say about the object's life (see SeedConnection). */
export interface SeedMeta {
  createdAt?: number
  state?: string
  committedAt?: number
  transition?: { afterMs: number; to: string }
}

export interface SeedSourceConnection extends SeedMeta {
  name: string
  description?: string
  /** not checked: a source connection may outlive its base connection */
  baseConnectionId: string
  /** default 'public.orders' */
  tableName?: string
  /** more params (a tableName here wins) */
  params?: Record<string, unknown>
}

export interface SeedTargetConnection extends SeedMeta {
  name?: string
  description?: string
  dataSetId: string
  /** default: the schema of the dataset dataSetId names (then it must exist) */
  schemaId?: string
}

export interface SeedFlow extends SeedMeta {
  name: string
  description?: string
  sourceConnectionIds: string[]
  targetConnectionIds: string[]
  /** default: a Copy transformation with deltaColumn updated_at; not checked */
  transformations?: FlowTransformation[]
  /** default: daily from now, interval 1, backfill; not checked, normalised when valid */
  scheduleParams?: Record<string, unknown>
}

export interface SeedMappingSet {
  name?: string
  /** the output schema's $id */
  schemaId: string
  /** default application/vnd.adobe.xed-full+json;version=1 */
  contentType?: string
  /** sourceType defaults to ATTRIBUTE; a non-empty list, checked as a POST's */
  mappings: Array<{
    source: string
    destination: string
    sourceType?: 'ATTRIBUTE' | 'EXPRESSION' | 'STATIC'
    name?: string
    description?: string
  }>
}

export interface SeedDataset {
  name: string
  /** the XDM schema's $id (schemaRef.id) */
  schemaId: string
  /** default application/vnd.adobe.xed+json;version=1 */
  contentType?: string
  description?: string
}

export type FaultAction =
  | {
      type: 'status'
      status: number
      headers?: Record<string, string>
      body?: string
      contentType?: string
    }
  /** destroy the socket before handling (nothing is performed) */
  | { type: 'reset' }
  /** perform the request fully, then destroy the socket without responding */
  | { type: 'commit-then-reset' }
  /** wait ms, then handle normally (the request is still performed if the client gave up) */
  | { type: 'delay'; ms: number }
  /** respond 200 application/json with a truncated JSON body, without performing anything */
  | { type: 'invalid-json' }
  /** change the target connection's etag first (as if someone else PATCHed it), then handle */
  | { type: 'concurrent-update' }
  /** set the target connection's state first (back to the old one after revertAfterMs) */
  | { type: 'concurrent-state'; state: string; revertAfterMs?: number }
  /** perform the request fully, then answer with this status and body (e.g. 503, or 201 '{}') */
  | {
      type: 'commit-then-status'
      status: number
      headers?: Record<string, string>
      body?: string
      contentType?: string
    }
  /** a listing: `pages` empty pages, each with a next link, before the real listing */
  | { type: 'pad-pages'; pages: number }
  /** a listing: empty pages with next links that never end (each link is new) */
  | { type: 'endless-pages' }
  /** a listing: two empty pages whose next links point at each other */
  | { type: 'cycle-pages' }
  /** a listing whose items have no connectionSpec (GET by id still has it) */
  | { type: 'strip-spec' }
  /** a listing as of when the fault was injected: connections created since are missing */
  | { type: 'stale-list' }
  /**
   * hold matching requests until `parties` of them arrived (or timeoutMs, default 10000), then
   * handle them all: concurrent runs all see the same state (use times: parties)
   */
  | { type: 'barrier'; parties: number; timeoutMs?: number }
  /**
   * reply with a body of exactly `bytes` bytes (JSON when complete), generated while it is sent;
   * status default 200; Content-Length unless `chunked`; `perform` handles the request first
   * (e.g. a create that happened, then an oversized reply)
   */
  | { type: 'large-body'; bytes: number; status?: number; chunked?: boolean; perform?: boolean }
  /**
   * answer with an error whose message echoes what the request carried, as a careless server
   * does. `message` is a template: `{name}` is replaced by the raw value, `{name:json}` by the
   * value written as a JSON string with \u escapes (JSON embedded in the message). Names:
   * connectionString, password, authParams (from the JSON body, or a PATCH's /auth/params op),
   * token and authorization (the Authorization header), clientSecret (IMS form), body (raw), and
   * stored (the stored connection string or password of the connection the path names).
   * Nothing is performed.
   */
  | {
      type: 'echo'
      status: number
      message: string
      /** body layout: Flow Service (default), gateway {error_code, message}, IMS {error, error_description} (default for IMS) */
      shape?: 'flow' | 'gateway' | 'ims'
      /** Flow code (e.g. '1400'), gateway error_code or IMS error; a default per shape */
      code?: string
      /** 'unicode': the body escapes non-ASCII, control and " & ' < > + ` characters as \uXXXX */
      escape?: 'none' | 'unicode'
      /** squeeze whitespace runs in the message to one space */
      collapse?: boolean
      /** cut the message to this many characters (after collapse) */
      cut?: number
    }
  /** perform the request as usual, then replace its JSON reply by edit(reply) (forged ids, etags) */
  | { type: 'rewrite'; edit: (reply: unknown, request: RecordedRequest) => unknown }

export interface Fault {
  /** path is matched against the path without query; a string must match exactly */
  match: { method?: string; path?: string | RegExp; service?: Service }
  /** default 1; Infinity allowed */
  times?: number
  action: FaultAction
}

export interface SimulatorStats {
  requests: number
  tcpConnections: number
  /**
   * writes that passed all checks and changed state: Flow Service POST, PATCH, DELETE and flow
   * actions; Data Prep POST and PUT
   */
  mutations: number
}

export interface SeedConnection {
  name: string
  /**
   * epoch ms, served in the form createdAtMode gives; default: what createdAtMode stamps now
   * ('epoch-ms': now, at least 1 ms after the previous object)
   */
  createdAt?: number
  /** default 'enabled' */
  state?: string
  /**
   * default -Infinity: there before the test, listed at once whatever the lag. A time (e.g.
   * clock.now()) stands for an object someone else has just created.
   */
  committedAt?: number
  /** a state change afterMs after it is first listed or read ('removed' takes it away) */
  transition?: { afterMs: number; to: string }
  description?: string
  auth?: ConnectionAuth
  connectionSpec?: ConnectionSpecRef
  inUse?: boolean
  tables?: string[]
}

export interface Simulator {
  /** 'http://127.0.0.1:PORT' ('https://...' in https mode) */
  url: string
  /** url + '/data/foundation/flowservice' */
  flowBase: string
  /** url + '/data/foundation/conversion' */
  dataPrepBase: string
  /** url + '/data/foundation/catalog' */
  catalogBase: string
  orgId: string
  clientId: string
  clientSecret: string
  sandboxes: string[]
  /** live list, in arrival order */
  requests: RecordedRequest[]
  stats(): SimulatorStats
  /** a valid bearer token (as if obtained elsewhere), optionally limited to N uses */
  issueToken(opts?: { uses?: number }): string
  /** every token issued so far becomes invalid (401 401013) */
  expireTokens(): void
  /**
   * Changes settings while running. spec, connectionTest, patchEnabled, tokenKeepsFilter,
   * quoteEscapes, listingLagMs, createdAtMode, skewMs, commitLatencyMs, hooks, deleteInUse,
   * scheduleParamsAs, mappingSourceTypes and targetSchemaKey return to their start values on
   * reset(). Throws on a setting that cannot work (a negative duration, an unknown
   * mode).
   */
  configure(
    opts: Partial<
      Pick<
        SimulatorOptions,
        | 'latencyMs'
        | 'pageSize'
        | 'tokenUses'
        | 'spec'
        | 'connectionTest'
        | 'patchEnabled'
        | 'tokenKeepsFilter'
        | 'quoteEscapes'
        | 'listingLagMs'
        | 'createdAtMode'
        | 'skewMs'
        | 'commitLatencyMs'
        | 'hooks'
        | 'deleteInUse'
        | 'scheduleParamsAs'
        | 'mappingSourceTypes'
        | 'targetSchemaKey'
      >
    >
  ): void
  /** the connection spec item currently served */
  connectionSpec(): ConnectionSpecItem
  /**
   * Seeds a base connection. Defaults: PostgreSQL spec 74a1c565-4e59-48d7-9d67-7c03b8a13137 v1.0, a connection-string
   * auth, tables ['public.customers', 'public.orders']. Throws on an unknown sandbox.
   */
  seedConnection(sandbox: string, c: SeedConnection): StoredConnection
  /**
   * Seeds a source connection (PostgreSQL spec, data.format tabular), e.g. one an earlier run
   * left without its dataflow. Throws on an unknown sandbox.
   */
  seedSourceConnection(sandbox: string, c: SeedSourceConnection): StoredSourceConnection
  /** Seeds a Data Lake target connection. Throws on an unknown sandbox. */
  seedTargetConnection(sandbox: string, c: SeedTargetConnection): StoredTargetConnection
  /** Seeds a CRMToAEP dataflow, enabled unless told otherwise. Throws on an unknown sandbox. */
  seedFlow(sandbox: string, c: SeedFlow): StoredFlow
  /** Seeds a mapping set at version 0. Throws on an unknown sandbox or a body a POST refuses. */
  seedMappingSet(sandbox: string, c: SeedMappingSet): StoredMappingSet
  /** Adds a Catalog dataset; returns its id. Throws on an unknown sandbox. */
  seedDataset(sandbox: string, d: SeedDataset): string
  /** deep copies, creation order (all sandboxes when none given) */
  connections(sandbox?: string): StoredConnection[]
  /**
   * The live objects of any collection the simulator serves ('connections', 'sourceConnections',
   * 'targetConnections', 'flows'), as stored: deep copies in commit order (all sandboxes when
   * none given). Throws on an unknown collection.
   */
  objects(collection: 'connections', sandbox?: string): StoredConnection[]
  objects(collection: 'sourceConnections', sandbox?: string): StoredSourceConnection[]
  objects(collection: 'targetConnections', sandbox?: string): StoredTargetConnection[]
  objects(collection: 'flows', sandbox?: string): StoredFlow[]
  objects(collection: string, sandbox?: string): Array<Record<string, unknown> & { id: string }>
  /** Data Prep's mapping sets with every version, deep copies in creation order */
  mappingSets(sandbox?: string): StoredMappingSet[]
  /** Catalog's datasets, deep copies in creation order (the default one included) */
  datasets(sandbox?: string): StoredDataset[]
  setInUse(id: string, inUse: boolean): void
  setState(id: string, state: string): void
  /** faults are checked in order; a matching one with times left is consumed */
  inject(fault: Fault): void
  clearFaults(): void
  /**
   * clears every object (tombstones too), mapping set and dataset (then seeds the default
   * dataset again), requests, faults, stats, tokens (clientId/secret stay valid); the settings
   * listed at configure() return to their start values. A POST still held
   * by commitLatencyMs when it happens is not committed (it gets a 503).
   */
  reset(): void
  /** closes server and all sockets */
  close(): Promise<void>
}

/** JSON written the way HTML-safe serialisers write it: non-ASCII, control and " & ' < > + ` as \uXXXX. */
export declare function unicodeJson(value: unknown): string

export declare function startSimulator(options?: SimulatorOptions): Promise<Simulator>

/** The simulators started in this module instance and not yet closed (for test hooks). */
export declare function liveSimulators(): Simulator[]
/**
 * The simulators whose requests a test hook has yet to see: the live ones and those closed since
 * the last call.
 */
export declare function simulatorsToInspect(): Simulator[]
