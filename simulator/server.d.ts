/** Local simulator of Adobe IMS and the AEP Flow Service base-connection API (see server.js). */

export declare const POSTGRES_SPEC_ID: '74a1c565-4e59-48d7-9d67-7c03b8a13137'
export declare const FLOW_BASE_PATH: '/data/foundation/flowservice'
export declare const IMS_TOKEN_PATH: '/ims/token/v3'

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

/** What GET /connections/{id}/test answers: result true, result false, or a 400 refusal. */
export type ConnectionTestAnswer = 'pass' | 'fail' | 'unsupported'

/**
 * The value list of a filter: commas outside double quotes separate values; a quoted value is
 * literal (with \" and \\ escapes when `escapes`, default true). undefined when malformed.
 */
export declare function parseValueList(raw: string, escapes?: boolean): string[] | undefined

export interface SimulatorOptions {
  /** default '127.0.0.1' */
  host?: string
  /** default 0 (ephemeral) */
  port?: number
  /** extra delay before every response, default 0 */
  latencyMs?: number
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
   * When set, every token IMS issues from then on becomes invalid after this many Flow Service
   * requests (simulates expiry mid-run). Applies to tokens issued after it is set.
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
}

export interface RecordedRequest {
  seq: number
  service: 'ims' | 'flow' | 'other'
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
  /**
   * The reply body as sent (not enumerable, so records compare as before): undefined while no
   * reply was sent, and for streamed (`large-body`) replies.
   */
  replyBody?: string
  /** The reply's status or body came from an injected fault, not the simulator (not enumerable). */
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
  /** epoch ms; strictly increasing in creation order unless seeded */
  createdAt: number
  updatedAt: number
  /** when true DELETE fails with FLOW-1418-400 */
  inUse: boolean
  /** what explore?objectType=root lists */
  tables: string[]
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
  match: { method?: string; path?: string | RegExp; service?: 'ims' | 'flow' }
  /** default 1; Infinity allowed */
  times?: number
  action: FaultAction
}

export interface SimulatorStats {
  requests: number
  tcpConnections: number
  /** POST/PATCH/DELETE to Flow Service that passed all checks and changed state */
  mutations: number
}

export interface SeedConnection {
  name: string
  /** default: now, at least 1 ms after the previous connection */
  createdAt?: number
  /** default 'enabled' */
  state?: string
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
  /** spec, connectionTest, patchEnabled, tokenKeepsFilter and quoteEscapes also return to their start values on reset() */
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
      >
    >
  ): void
  /** the connection spec item currently served */
  connectionSpec(): ConnectionSpecItem
  /**
   * Defaults: PostgreSQL spec 74a1c565-4e59-48d7-9d67-7c03b8a13137 v1.0, a connection-string
   * auth, tables ['public.customers', 'public.orders']. Throws on an unknown sandbox.
   */
  seedConnection(sandbox: string, c: SeedConnection): StoredConnection
  /** deep copies, creation order (all sandboxes when none given) */
  connections(sandbox?: string): StoredConnection[]
  setInUse(id: string, inUse: boolean): void
  setState(id: string, state: string): void
  /** faults are checked in order; a matching one with times left is consumed */
  inject(fault: Fault): void
  clearFaults(): void
  /**
   * clears connections, requests, faults, stats, tokens (clientId/secret stay valid); spec and
   * connectionTest return to their start values
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
