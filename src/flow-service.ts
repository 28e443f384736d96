import { z } from 'zod'
import { POSTGRES_SPEC_ID, type CreateBody } from './connection.js'
import { ActionError, ApiError, apiError } from './errors.js'
import {
  attempt,
  sendWithRetries,
  waitBeforeRetry,
  type Attempt,
  type HttpRequest,
  type Method,
  type RetryContext,
  type Transport
} from './http.js'
import type { TokenSource } from './ims.js'

export const FLOW_BASE_PATH = '/data/foundation/flowservice'

/** A connection as Flow Service lists it; fields we do not use pass through unchecked. */
export const ConnectionItemSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  etag: z.string().optional(),
  state: z.string().optional(),
  connectionSpec: z
    .looseObject({ id: z.string().optional(), version: z.string().optional() })
    .optional(),
  auth: z.looseObject({ specName: z.string().optional() }).optional()
})
export type ConnectionItem = z.infer<typeof ConnectionItemSchema>

const ListSchema = z.looseObject({
  items: z.array(ConnectionItemSchema).default([]),
  _links: z
    .looseObject({ next: z.looseObject({ href: z.string().optional() }).optional() })
    .optional()
})

const IdEtagSchema = z.looseObject({ id: z.string().min(1), etag: z.string().optional() })

const ExploreSchema = z.array(
  z.looseObject({
    type: z.unknown().optional(),
    path: z.unknown().optional(),
    name: z.unknown().optional()
  })
)

const TestSchema = z.looseObject({ result: z.boolean() })

export type PatchOp = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown }

export interface FlowServiceOptions {
  platformUrl: string
  clientId: string
  imsOrgId: string
  sandboxName: string
  tokens: TokenSource
  transport: Transport
  retry: RetryContext
}

const MAX_PAGES = 100

/** The Flow Service calls this action makes, each with retries, 401 renewal and clear errors. */
export class FlowService {
  readonly base: string

  constructor(private readonly o: FlowServiceOptions) {
    this.base = `${o.platformUrl}${FLOW_BASE_PATH}`
  }

  private async headers(body: boolean): Promise<Record<string, string>> {
    const h: Record<string, string> = {
      authorization: `Bearer ${await this.o.tokens.token()}`,
      'x-api-key': this.o.clientId,
      'x-gw-ims-org-id': this.o.imsOrgId,
      'x-sandbox-name': this.o.sandboxName,
      accept: 'application/json'
    }
    if (body) h['content-type'] = 'application/json'
    return h
  }

  private async request(
    method: Method,
    url: string,
    body?: unknown,
    extra: Record<string, string> = {}
  ): Promise<HttpRequest> {
    return {
      method,
      url,
      headers: { ...(await this.headers(body !== undefined)), ...extra },
      body: body === undefined ? undefined : JSON.stringify(body)
    }
  }

  /**
   * Sends an idempotent call with retries; on a 401 with a token this action fetched, fetches
   * a new one once and tries again. Returns the final attempt for the caller to judge.
   */
  private async send(
    label: string,
    method: Method,
    url: string,
    body?: unknown,
    extra?: Record<string, string>
  ): Promise<Attempt & { attempts: number }> {
    let a = await sendWithRetries(
      this.o.transport,
      await this.request(method, url, body, extra),
      this.o.retry,
      label
    )
    if (a.kind === 'response' && a.res.status === 401 && !this.o.tokens.given) {
      this.o.retry.log(`${label}: the access token was rejected (HTTP 401); fetching a new one`)
      await this.o.tokens.refresh()
      a = await sendWithRetries(
        this.o.transport,
        await this.request(method, url, body, extra),
        this.o.retry,
        label
      )
    }
    return a
  }

  private fail(label: string, a: Attempt): never {
    throw apiError(label, a, this.o.tokens.given)
  }

  private json(label: string, a: Attempt): unknown {
    if (a.kind !== 'response') this.fail(label, a)
    try {
      return JSON.parse(a.res.text)
    } catch {
      throw new ApiError(
        `${label} failed: HTTP ${a.res.status} with a body that is not valid JSON`,
        a.res.status,
        undefined,
        a.res.headers['x-request-id']
      )
    }
  }

  /** Resolves a _links.next.href: relative to the Flow Service base path, or to the host. */
  private nextUrl(href: string): string {
    const origin = new URL(this.base).origin
    if (/^https?:\/\//i.test(href)) {
      // Never send the token to another host.
      if (new URL(href).origin !== origin)
        throw new ActionError('listing connections failed: the next page points to another host')
      return href
    }
    if (href.startsWith(FLOW_BASE_PATH)) return this.o.platformUrl + href
    return this.base + (href.startsWith('/') ? href : `/${href}`)
  }

  /**
   * Every PostgreSQL connection with exactly this name in the sandbox, across all pages.
   * Flow Service's filter narrows the list; exact name and spec are checked here.
   */
  async findByName(name: string): Promise<ConnectionItem[]> {
    const label = 'listing connections by name'
    const found: ConnectionItem[] = []
    let url: string | undefined = `${this.base}/connections?property=${lookupFilter(name)}`
    const seen = new Set<string>()
    for (let page = 0; url && page < MAX_PAGES; page++) {
      seen.add(url)
      const a = await this.send(label, 'GET', url)
      if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
      const parsed = ListSchema.safeParse(this.json(label, a))
      if (!parsed.success) throw new ActionError(`${label} failed: unexpected response shape`)
      for (const item of parsed.data.items)
        if (item.name === name && item.connectionSpec?.id === POSTGRES_SPEC_ID) found.push(item)
      const href = parsed.data._links?.next?.href
      url = href ? this.nextUrl(href) : undefined
      if (url && seen.has(url)) break
    }
    return found
  }

  async get(id: string): Promise<ConnectionItem> {
    const label = 'reading the connection'
    const a = await this.send(label, 'GET', `${this.base}/connections/${encodeURIComponent(id)}`)
    if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
    const parsed = ListSchema.safeParse(this.json(label, a))
    const item = parsed.success ? parsed.data.items[0] : undefined
    if (!item) throw new ActionError(`${label} failed: the response held no connection`)
    return item
  }

  /**
   * Creates the connection. POST has no idempotency key, so it is never retried blindly:
   * after a lost response, a reset, a timeout or a 5xx, the name is looked up first, and a
   * connection found there is adopted as the one this call created.
   */
  async create(body: CreateBody): Promise<{ id: string; etag?: string; adopted: boolean }> {
    const label = 'creating the connection'
    const { retry, transport } = this.o
    let renewed = false
    for (let n = 1; ; n++) {
      // An abandoned POST may still be performed later, and a second POST would then make a
      // duplicate: give it all the time left, keeping one request timeout for the lookup after.
      const { deadline } = retry
      const postTimeout = Math.max(
        deadline.requestTimeout(),
        deadline.remaining() - deadline.requestTimeout()
      )
      const a = await attempt(
        transport,
        await this.request('POST', `${this.base}/connections`, body),
        deadline,
        postTimeout
      )
      if (a.kind === 'response' && (a.res.status === 201 || a.res.status === 200)) {
        const parsed = IdEtagSchema.safeParse(this.json(label, a))
        if (!parsed.success) throw new ActionError(`${label} failed: the response held no id`)
        return { id: parsed.data.id, etag: parsed.data.etag, adopted: false }
      }
      if (a.kind === 'response' && a.res.status === 401 && !this.o.tokens.given && !renewed) {
        retry.log(`${label}: the access token was rejected (HTTP 401); fetching a new one`)
        renewed = true
        await this.o.tokens.refresh()
        n--
        continue
      }
      // Certainly not performed: rate limited, or the connection could not even be opened.
      const notPerformed =
        (a.kind === 'response' && a.res.status === 429) || (a.kind === 'network' && !a.error.sent)
      // Perhaps performed: the answer was lost or the server failed part-way.
      const ambiguous =
        (a.kind === 'network' && a.error.sent) || (a.kind === 'response' && a.res.status >= 500)
      if (!notPerformed && !ambiguous) this.fail(label, a)
      if (ambiguous) {
        // A timed-out POST may still be in flight: sending another could create a second one,
        // so after a timeout the name is only looked up (after a pause that lets it land).
        const timedOut = a.kind === 'network' && a.error.reason === 'timeout'
        const next = timedOut
          ? 'looking the name up'
          : 'looking the name up, then sending it again if it is not there,'
        const canWait =
          (timedOut || n < retry.maxAttempts) && (await waitBeforeRetry(retry, label, n, a, next))
        const existing = await this.findByName(body.name)
        if (existing.length > 1) throw duplicatesError(body.name, existing)
        const [found] = existing
        if (found) {
          retry.log(`${label}: the connection exists (id ${found.id}); adopting it`)
          return { id: found.id, etag: found.etag, adopted: true }
        }
        if (timedOut)
          throw new ActionError(
            `${label} failed: ${a.error.message}; Flow Service may still create it, so it was not sent again. Run the step again: it finds the connection by name and adopts it`
          )
        if (!canWait || n >= retry.maxAttempts) this.fail(label, a)
      } else if (n >= retry.maxAttempts || !(await waitBeforeRetry(retry, label, n, a))) {
        this.fail(label, a)
      }
    }
  }

  /** PATCH with If-Match exactly as the etag was received (quotes included). */
  async update(id: string, etag: string, ops: PatchOp[]): Promise<{ id: string; etag?: string }> {
    const label = 'updating the connection'
    const a = await this.send(
      label,
      'PATCH',
      `${this.base}/connections/${encodeURIComponent(id)}`,
      ops,
      {
        'if-match': etag
      }
    )
    if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
    const parsed = IdEtagSchema.safeParse(this.json(label, a))
    return {
      id: parsed.success ? parsed.data.id : id,
      etag: parsed.success ? parsed.data.etag : undefined
    }
  }

  /** Deletes; returns false when the connection was already gone before this call. */
  async delete(id: string): Promise<boolean> {
    const label = 'deleting the connection'
    const a = await this.send(label, 'DELETE', `${this.base}/connections/${encodeURIComponent(id)}`)
    if (a.kind === 'response' && (a.res.status === 204 || a.res.status === 200)) return true
    // A 404 after a lost first answer means our earlier attempt deleted it.
    if (a.kind === 'response' && a.res.status === 404) return a.attempts > 1
    if (a.kind === 'response' && a.res.status === 400 && /1418/.test(a.res.text)) {
      const e = apiError(label, a, this.o.tokens.given)
      throw new ApiError(
        `${e.message} — the connection is still used by one or more dataflows; delete those dataflows (and their source connections) first, then run again`,
        e.status,
        e.code,
        e.requestId
      )
    }
    this.fail(label, a)
  }

  /**
   * Lists the root of the database as Flow Service sees it: the tables (items typed "table", or
   * untyped) counted, and their paths (`path`, else `name`). A reply that is not an array of
   * objects fails: it cannot show that Flow Service reached the database.
   */
  async explore(id: string): Promise<{ tables: number; paths: string[] }> {
    const label = 'testing the connection'
    const a = await this.send(
      label,
      'GET',
      `${this.base}/connections/${encodeURIComponent(id)}/explore?objectType=root`
    )
    if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
    const parsed = ExploreSchema.safeParse(this.json(label, a))
    if (!parsed.success)
      throw new ActionError(
        `${label} failed: Flow Service's explore reply (HTTP 200) is not a list of objects, so it does not show the database was reached`
      )
    // Adobe lists tables as {type: 'table', ...}; an item without a type is counted as one too.
    const tables = parsed.data.filter((i) => i.type === 'table' || i.type === undefined)
    const paths = tables
      .map((i) => (typeof i.path === 'string' ? i.path : i.name))
      .filter((p): p is string => typeof p === 'string')
    return { tables: tables.length, paths }
  }

  /**
   * GET /connections/{id}/test, the connectivity test in Adobe's API description: its result, or
   * `unsupported` (with why) when Flow Service refuses it with a 4xx that is not about
   * authentication or rate limiting, or answers without a true/false result.
   */
  async test(id: string): Promise<{ result: boolean } | { unsupported: string }> {
    const label = 'testing the connection (GET /test)'
    const a = await this.send(
      label,
      'GET',
      `${this.base}/connections/${encodeURIComponent(id)}/test`
    )
    if (a.kind === 'response' && a.res.status >= 400 && a.res.status < 500) {
      if ([401, 403, 407, 429].includes(a.res.status)) this.fail(label, a)
      return { unsupported: apiError(label, a, this.o.tokens.given).message }
    }
    if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
    let body: unknown
    try {
      body = JSON.parse(a.res.text)
    } catch {
      body = undefined
    }
    const parsed = TestSchema.safeParse(body)
    if (!parsed.success) return { unsupported: `${label}: HTTP 200 without a true/false result` }
    return { result: parsed.data.result }
  }

  /** GET /connectionSpecs/{id}: the live spec, parsed but not judged (see connection-spec.ts). */
  async connectionSpec(id: string = POSTGRES_SPEC_ID): Promise<unknown> {
    const label = 'reading the connection spec'
    const a = await this.send(
      label,
      'GET',
      `${this.base}/connectionSpecs/${encodeURIComponent(id)}`
    )
    if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
    return this.json(label, a)
  }
}

/**
 * The list filter for a name. Flow Service reads a comma in a filter value as an OR list and
 * strips surrounding double quotes, so such names (and names with edge spaces) are looked up
 * among all PostgreSQL connections instead; the exact name is matched client-side either way.
 */
export function lookupFilter(name: string): string {
  return /[,"]|^\s|\s$/.test(name)
    ? `connectionSpec.id==${POSTGRES_SPEC_ID}`
    : `name==${encodeURIComponent(name)}`
}

export function duplicatesError(name: string, items: ConnectionItem[]): ActionError {
  return new ActionError(
    `${items.length} PostgreSQL connections are named "${name}" in this sandbox (ids ${items
      .map((i) => i.id)
      .join(', ')}); delete all but one, then run again`
  )
}
