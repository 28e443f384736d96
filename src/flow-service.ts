import { z } from 'zod'
import { POSTGRES_SPEC_ID, type CreateBody } from './connection.js'
import { ActionError, ApiError, apiError } from './errors.js'
import {
  attempt,
  Deadline,
  DeadlineError,
  TransportError,
  sendWithRetries,
  waitBeforeRetry,
  type Attempt,
  type HttpRequest,
  type Method,
  type RetryContext,
  type Transport
} from './http.js'
import type { TokenSource } from './ims.js'
import {
  alive,
  classify,
  IncompleteListingError,
  isDeleting,
  isInProgress,
  nameFilter,
  passesFilter,
  SPEC_FILTER
} from './listing.js'

export const FLOW_BASE_PATH = '/data/foundation/flowservice'

/**
 * A connection id as Flow Service writes them (UUIDs, or 24-hex ids). Ids are data: one that is
 * anything else (a line break, "..", a path) makes the whole response malformed, so it is never
 * printed and never sent back in a URL.
 */
export const CONNECTION_ID = /^[A-Za-z0-9_-]{1,128}$/
export const ConnectionIdSchema = z.string().regex(CONNECTION_ID, {
  message: 'is not a connection id (1-128 letters, digits, - or _)'
})

/** An etag is sent back in If-Match and printed: printable ASCII only, no control characters. */
export const EtagSchema = z.string().regex(/^[\x20-\x7e]{1,1024}$/, {
  message: 'is not a usable etag (control or non-ASCII characters, or too long)'
})

/** A connection as Flow Service lists it; fields we do not use pass through unchecked. */
export const ConnectionItemSchema = z.looseObject({
  id: ConnectionIdSchema,
  name: z.string().optional(),
  description: z.string().optional(),
  etag: EtagSchema.optional(),
  state: z.string().optional(),
  // Epoch ms per Adobe's API description; only compared, so an odd value is ignored, not fatal.
  createdAt: z.union([z.number(), z.string()]).optional().catch(undefined),
  connectionSpec: z
    .looseObject({ id: z.string().optional(), version: z.string().optional() })
    .optional(),
  auth: z.looseObject({ specName: z.string().optional() }).optional()
})
export type ConnectionItem = z.infer<typeof ConnectionItemSchema>

/** A list page (also the envelope of GET by id): `items` must be there, as an array. */
const PageSchema = z.looseObject({
  items: z.array(ConnectionItemSchema),
  _links: z
    .looseObject({ next: z.looseObject({ href: z.string().optional() }).nullish() })
    .nullish()
})

/** The reply to a create or an update. */
export const IdEtagSchema = z.looseObject({ id: ConnectionIdSchema, etag: EtagSchema.optional() })

/** What is wrong with a response, by field path: never the offending value. */
export function issueOf(error: z.ZodError): string {
  const issue = error.issues[0]
  const path = (issue?.path ?? [])
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`))
    .join('')
  const what = issue?.code === 'invalid_format' ? issue.message : 'is missing or has the wrong type'
  return `${path || 'the body'} ${what}`
}

/** A malformed response: the error names the field, never its value. */
export function malformed(label: string, error: z.ZodError): ActionError {
  return new ActionError(`${label} failed: malformed response (${issueOf(error)})`)
}

const ExploreSchema = z.array(
  z.looseObject({
    type: z.unknown().optional(),
    path: z.unknown().optional(),
    name: z.unknown().optional()
  })
)

const TestSchema = z.looseObject({ result: z.boolean() })

export type PatchOp = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown }

/**
 * What a create led to: the connection this run created (its id read from the answer), or,
 * after an answer that was lost or unreadable, the live connections then found by name (this
 * run's own among them, or another run's).
 */
export type CreateOutcome =
  | { kind: 'created'; id: string; etag?: string; afterLost?: boolean }
  | { kind: 'found'; items: ConnectionItem[] }

/** The id and etag in a POST or PATCH answer, or undefined when the answer has no usable id. */
function readIdEtag(text: string): { id: string; etag?: string } | undefined {
  try {
    const parsed = IdEtagSchema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/**
 * The status of a reply that arrived but was not read (over the size cap), when it is a 2xx:
 * the call was performed, only its answer is missing. Undefined for anything else.
 */
export function performedUnread(e: unknown): number | undefined {
  const status = e instanceof TransportError ? e.replyStatus : undefined
  return status !== undefined && status >= 200 && status < 300 ? status : undefined
}

/**
 * A create, update or delete that failed without a usable reply: when the status of the reply
 * that was not read says the change may have been made (a 2xx, or a 5xx that may follow the
 * change), the message says so. A 4xx was refused; an error with no status had no reply at all.
 * `label` is put in front when the message does not carry it yet.
 */
export function unreadChange(e: TransportError, label?: string): TransportError {
  const status = e.replyStatus
  const maybe = status !== undefined && ((status >= 200 && status < 300) || status >= 500)
  return new TransportError(
    (label ? `${label} failed: ` : '') +
      e.message +
      (maybe
        ? '. The change may have been made: run the step again, it finds the connection by name'
        : ''),
    status
  )
}

export interface FlowServiceOptions {
  platformUrl: string
  clientId: string
  imsOrgId: string
  sandboxName: string
  tokens: TokenSource
  transport: Transport
  retry: RetryContext
}

/** Beyond this many pages a listing is taken as broken (20,000 connections at 20 a page). */
export const MAX_PAGES = 1000

/**
 * The spec read's own budget: a fifth of the time left, at most 20 s, and at most 2 attempts
 * (each a quarter of that budget, at least 1 s). The spec is optional; the create or update it
 * referees must keep its time even when the spec endpoint hangs.
 */
export const SPEC_READ_SHARE = 0.2
export const SPEC_READ_MAX_MS = 20_000
export const SPEC_READ_ATTEMPTS = 2

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
    extra?: Record<string, string>,
    retry: RetryContext = this.o.retry
  ): Promise<Attempt & { attempts: number }> {
    let a = await sendWithRetries(
      this.o.transport,
      await this.request(method, url, body, extra),
      retry,
      label
    )
    if (a.kind === 'response' && a.res.status === 401 && !this.o.tokens.given) {
      this.o.retry.log(`${label}: the access token was rejected (HTTP 401); fetching a new one`)
      await this.o.tokens.refresh()
      a = await sendWithRetries(
        this.o.transport,
        await this.request(method, url, body, extra),
        retry,
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

  /**
   * Resolves a _links.next.href: relative to the Flow Service base path, or to the host. With
   * `property`, the filter is added to a link that does not carry one.
   */
  private nextUrl(href: string, property?: string): string {
    const origin = new URL(this.base).origin
    let url: string
    if (/^https?:\/\//i.test(href)) {
      // Never send the token to another host.
      if (parseUrl(href)?.origin !== origin)
        throw new ActionError('listing connections failed: the next page points to another host')
      url = href
    } else if (href.startsWith(FLOW_BASE_PATH)) url = this.o.platformUrl + href
    else url = this.base + (href.startsWith('/') ? href : `/${href}`)
    const parsed = parseUrl(url)
    if (!parsed || parsed.origin !== origin)
      throw new IncompleteListingError('a next-page link is not a usable URL')
    if (property && !parsed.searchParams.has('property'))
      url += `${url.includes('?') ? '&' : '?'}property=${property}`
    return url
  }

  /**
   * Every PostgreSQL connection with exactly this name in the sandbox, from a complete listing
   * (or an IncompleteListingError). The name is filtered server-side (see nameFilter) and
   * matched exactly here. Every PostgreSQL connection is read instead when Flow Service refuses
   * a quoted filter, when an escaped name finds nothing, or when `mustInclude` (a connection
   * known to exist) is missing from a quoted lookup: the filter then cannot be trusted.
   */
  async findByName(name: string, opts: { mustInclude?: string } = {}): Promise<ConnectionItem[]> {
    const log = (why: string) =>
      this.o.retry.log(`listing connections by name: ${why}; reading every PostgreSQL connection`)
    const filter = nameFilter(name)
    let found: ConnectionItem[] | undefined
    try {
      found = await this.listMatching(name, filter.property)
    } catch (e) {
      if (filter.kind === 'plain' || !(e instanceof ApiError) || e.status !== 400) throw e
      log(`Flow Service refused the quoted name filter (HTTP 400${e.code ? ` ${e.code}` : ''})`)
    }
    if (found && filter.kind === 'escaped' && found.length === 0)
      log('no match for a name with a quote or backslash (Flow Service does not document escaping)')
    else if (found && filter.kind !== 'plain' && opts.mustInclude)
      if (!found.some((i) => i.id === opts.mustInclude))
        log('the name filter did not return the connection just created')
      else return found
    else if (found) return found
    return this.listMatching(name, SPEC_FILTER)
  }

  /** Reads every page of a filtered listing; keeps the exact PostgreSQL matches for the name. */
  private async listMatching(name: string, property: string): Promise<ConnectionItem[]> {
    const label = 'listing connections by name'
    // By id: a connection listed on two pages (the listing moved while it was read) is one.
    const matches = new Map<string, ConnectionItem>()
    const unclassified = new Map<string, ConnectionItem>()
    const seen = new Set<string>()
    let url: string | undefined = `${this.base}/connections?property=${property}`
    let resendFilter = false
    for (let page = 1; url; page++) {
      if (seen.has(url))
        throw new IncompleteListingError(`page ${page - 1} links back to a page already read`)
      if (page > MAX_PAGES)
        throw new IncompleteListingError(`Flow Service sent more than ${MAX_PAGES} pages`)
      seen.add(url)
      const a = await this.send(label, 'GET', url)
      if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
      const parsed = PageSchema.safeParse(this.json(label, a))
      if (!parsed.success)
        throw new IncompleteListingError(
          `page ${page} is not a list of connections (${issueOf(parsed.error)})`
        )
      for (const item of parsed.data.items) {
        const kind = classify(item, name)
        if (kind === 'match') matches.set(item.id, item)
        else if (kind === 'unknown') unclassified.set(item.id, item)
      }
      // Whether a continuation link keeps the filter is not documented: once a followed link
      // shows items the filter excludes, the filter is sent again with the following links.
      if (
        page > 1 &&
        !new URL(url).searchParams.has('property') &&
        parsed.data.items.some((i) => !passesFilter(i, property, name))
      )
        resendFilter = true
      // The last page has no `next`, or one with href "" (Adobe's own Python client, aepp, stops
      // on ""). An href of only spaces, or one that is not a usable URL, cannot be followed, and
      // the pages after it are unknown.
      const href = parsed.data._links?.next?.href
      if (href !== undefined && href !== '' && href.trim() === '')
        throw new IncompleteListingError(`page ${page} has a next-page link with a blank href`)
      url = href ? this.nextUrl(href, resendFilter ? property : undefined) : undefined
    }
    // A listed item without a name, or with the name but no connection spec, is read by id.
    for (const item of unclassified.values()) {
      if (matches.has(item.id)) continue
      const lacks = item.name === undefined ? 'a name' : 'a connection spec'
      const full = await this.getIfExists(item.id)
      // An item listed with this name that cannot be read is not proof of absence: gone since
      // the listing, or a server that contradicts itself; either way nothing may be created.
      if (!full) {
        if (item.name === undefined) continue
        throw new IncompleteListingError(
          `connection ${item.id} is listed with this name but without a connection spec, and reading it by id answers 404`
        )
      }
      const kind = classify(full, name)
      if (
        full.id !== item.id ||
        kind === 'unknown' ||
        (item.name !== undefined && full.name !== item.name)
      )
        throw new IncompleteListingError(
          `connection ${item.id} is listed without ${lacks}, and reading it by id ${full.id !== item.id || (item.name !== undefined && full.name !== item.name) ? 'gives another connection' : 'does not tell either'}`
        )
      if (kind === 'match') matches.set(full.id, full)
    }
    return [...matches.values()]
  }

  async get(id: string): Promise<ConnectionItem> {
    const r = await this.read(id)
    if (!r.item) this.fail('reading the connection', r.notFound)
    return r.item
  }

  /** Reads a connection by id; undefined when Flow Service answers 404. */
  async getIfExists(id: string): Promise<ConnectionItem | undefined> {
    return (await this.read(id)).item
  }

  private async read(
    id: string
  ): Promise<{ item: ConnectionItem; notFound?: never } | { item?: never; notFound: Attempt }> {
    const label = 'reading the connection'
    const a = await this.send(label, 'GET', `${this.base}/connections/${encodeURIComponent(id)}`)
    if (a.kind === 'response' && a.res.status === 404) return { notFound: a }
    if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
    const parsed = PageSchema.safeParse(this.json(label, a))
    if (!parsed.success) throw malformed(label, parsed.error)
    const item = parsed.data.items[0]
    if (!item) throw new ActionError(`${label} failed: the response held no connection`)
    return { item }
  }

  /**
   * Waits while a connection is in a state Flow Service is still working on (e.g.
   * initializing), reading it again with growing pauses within the step's deadline. Returns
   * the settled connection, or undefined when it went away or started being deleted.
   */
  async settle(item: ConnectionItem): Promise<ConnectionItem | undefined> {
    let current = item
    for (let n = 1; isInProgress(current.state); n++) {
      const why = `connection ${current.id} is "${current.state}"`
      if (!(await this.pause('waiting for the connection', n, why, 'checking again')))
        throw new ActionError(
          `${why} (Flow Service is still working on it) and timeout-seconds leaves no time to wait longer; run the step again later`
        )
      const next = await this.getIfExists(current.id)
      if (!next || isDeleting(next.state)) return undefined
      current = next
    }
    return current
  }

  /** A pause of 0.5 s, 1 s, 2 s, … (at most 5 s); false when the deadline leaves no room. */
  async pause(label: string, n: number, why: string, next: string): Promise<boolean> {
    const { clock, deadline, log } = this.o.retry
    const wait = Math.min(5000, 500 * 2 ** (n - 1))
    if (wait + 1000 >= deadline.remaining()) return false
    log(`${label}: ${why}; ${next} in ${(wait / 1000).toFixed(1)} s`)
    await clock.sleep(wait)
    return true
  }

  /**
   * Creates the connection. POST has no idempotency key, so it is never retried blindly:
   * after a lost response, a reset, a timeout or a 5xx the name is looked up first, and the
   * live connections found there are returned for the caller to adopt. A 2xx whose answer
   * holds no usable id was performed: it is only looked up, never sent again.
   */
  async create(body: CreateBody): Promise<CreateOutcome> {
    const label = 'creating the connection'
    const { retry, transport } = this.o
    let renewed = false
    // Whether an earlier POST of this run may have been performed (its answer lost or a 5xx).
    let afterLost = false
    for (let n = 1; ; n++) {
      // An abandoned POST may still be performed later, and a second POST would then make a
      // duplicate: give it all the time left, keeping one request timeout for the lookup after.
      const { deadline } = retry
      const postTimeout = Math.max(
        deadline.requestTimeout(),
        deadline.remaining() - deadline.requestTimeout()
      )
      let sent: Attempt
      try {
        sent = await attempt(
          transport,
          await this.request('POST', `${this.base}/connections`, body),
          deadline,
          postTimeout
        )
      } catch (e) {
        if (!(e instanceof TransportError)) throw e
        // A 2xx whose answer is too large to read was performed all the same: found by name.
        const status = performedUnread(e)
        if (status !== undefined)
          return this.findCommitted(body.name, label, status, 'is larger than this action reads')
        throw unreadChange(e, label)
      }
      const a = sent
      // Any 2xx was performed (201 as documented; 200, 202 or 204 too): never sent again.
      if (a.kind === 'response' && a.res.status >= 200 && a.res.status < 300) {
        const created = readIdEtag(a.res.text)
        if (created) return { kind: 'created', ...created, ...(afterLost ? { afterLost } : {}) }
        return this.findCommitted(body.name, label, a.res.status, 'held no usable id')
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
        afterLost = true
        // A timed-out POST may still be in flight: sending another could create a second one,
        // so after a timeout the name is only looked up (after a pause that lets it land).
        const timedOut = a.kind === 'network' && a.error.reason === 'timeout'
        const next = timedOut
          ? 'looking the name up'
          : 'looking the name up, then sending it again if it is not there,'
        const canWait =
          (timedOut || n < retry.maxAttempts) && (await waitBeforeRetry(retry, label, n, a, next))
        const found = await this.findLive(body.name, label)
        if (found.length > 0) {
          retry.log(`${label}: the name is listed (id ${found.map((i) => i.id).join(', ')})`)
          return { kind: 'found', items: found }
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

  /** The live connections with the name, after a create that may have been performed. */
  private async findLive(name: string, label: string): Promise<ConnectionItem[]> {
    try {
      return alive(await this.findByName(name))
    } catch (e) {
      if (!(e instanceof IncompleteListingError)) throw e
      throw new ActionError(
        `${e.message}. ${label} may have gone through, so it was not sent again: run the step again, it finds the connection by name`
      )
    }
  }

  /** A 2xx without a usable id: performed, so look for it (a few times), never POST again. */
  private async findCommitted(
    name: string,
    label: string,
    status: number,
    answer: string
  ): Promise<CreateOutcome> {
    const said = `Flow Service accepted it (HTTP ${status}) but its answer ${answer}`
    this.o.retry.log(`${label}: ${said}; looking the name up`)
    for (let n = 1; ; n++) {
      const found = await this.findLive(name, label)
      if (found.length > 0) return { kind: 'found', items: found }
      if (n >= 3 || !(await this.pause(label, n, 'not listed yet', 'looking again'))) break
    }
    throw new ActionError(
      `${label} failed: ${said}, and the connection is not listed yet; it was not sent again. Run the step again: it finds the connection by name`
    )
  }

  /**
   * PATCH with If-Match exactly as the etag was received (quotes included). A 200 whose answer
   * holds no usable etag was performed: the connection is read again for its etag.
   */
  async update(id: string, etag: string, ops: PatchOp[]): Promise<{ id: string; etag?: string }> {
    const label = 'updating the connection'
    let a: Attempt
    try {
      a = await this.send(
        label,
        'PATCH',
        `${this.base}/connections/${encodeURIComponent(id)}`,
        ops,
        {
          'if-match': etag
        }
      )
    } catch (e) {
      if (!(e instanceof TransportError)) throw e
      // A 2xx whose answer is too large to read was performed: the etag is read from the connection.
      const status = performedUnread(e)
      if (status === undefined) throw unreadChange(e)
      return this.reread(id, label, status, 'is larger than this action reads')
    }
    if (a.kind === 'response' && a.res.status === 400) {
      const e = apiError(label, a, this.o.tokens.given)
      if (e.code === '1445-400')
        throw e.withNote(
          ` — PATCH is not enabled for connections in this org, so the connection (id ${id}) cannot be updated in place. ` +
            'Set if-exists: reuse to keep it with its stored credentials, or delete it (state: absent) and run again to create it with these credentials; it then gets a new id, so update whatever uses the old one'
        )
      throw e
    }
    if (a.kind !== 'response' || a.res.status < 200 || a.res.status >= 300) this.fail(label, a)
    const answer = readIdEtag(a.res.text)
    if (answer?.etag) return { id, etag: answer.etag }
    return this.reread(id, label, a.res.status, 'held no usable etag')
  }

  /** An update that was performed but whose answer gave no etag: the connection is read for it. */
  private async reread(
    id: string,
    label: string,
    status: number,
    answer: string
  ): Promise<{ id: string; etag?: string }> {
    this.o.retry.log(
      `${label}: Flow Service accepted it (HTTP ${status}) but its answer ${answer}; reading the connection`
    )
    return { id, etag: (await this.get(id)).etag }
  }

  /** Deletes; returns false when the connection was already gone before this call. */
  async delete(id: string): Promise<boolean> {
    const label = 'deleting the connection'
    let a: Attempt & { attempts: number }
    try {
      a = await this.send(label, 'DELETE', `${this.base}/connections/${encodeURIComponent(id)}`)
    } catch (e) {
      if (!(e instanceof TransportError)) throw e
      // A 2xx was performed: deleted, whatever its answer held.
      if (performedUnread(e) !== undefined) return true
      throw unreadChange(e)
    }
    if (a.kind === 'response' && (a.res.status === 204 || a.res.status === 200)) return true
    // A 404 after a lost first answer means our earlier attempt deleted it.
    if (a.kind === 'response' && a.res.status === 404) return a.attempts > 1
    if (a.kind === 'response' && a.res.status === 400 && /1418/.test(a.res.text)) {
      throw apiError(label, a, this.o.tokens.given).withNote(
        ' — the connection is still used by one or more dataflows; delete those dataflows (and their source connections) first, then run again'
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
   * authentication or rate limiting. A 200 without a true/false result fails.
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
    const parsed = TestSchema.safeParse(parseOrUndefined(a.res.text))
    // A 200 is the endpoint answering: one that breaks its contract says nothing about the
    // database, so it fails the test rather than passing it on to explore.
    if (!parsed.success)
      throw new ActionError(
        `testing the connection failed: GET /connections/${id}/test answered HTTP 200 without the documented {"result": true|false} (${testShape(a.res.text)}), so it does not show whether Flow Service could connect to the database`
      )
    return { result: parsed.data.result }
  }

  /** GET /connectionSpecs/{id}: the live spec, parsed but not judged (see connection-spec.ts). */
  async connectionSpec(id: string = POSTGRES_SPEC_ID): Promise<unknown> {
    const label = 'reading the connection spec'
    const parent = this.o.retry.deadline
    const budgetMs = Math.floor(Math.min(SPEC_READ_MAX_MS, parent.remaining() * SPEC_READ_SHARE))
    const retry: RetryContext = {
      ...this.o.retry,
      deadline: new Deadline(this.o.retry.clock, budgetMs),
      maxAttempts: Math.min(SPEC_READ_ATTEMPTS, this.o.retry.maxAttempts)
    }
    let a: Attempt
    try {
      a = await this.send(
        label,
        'GET',
        `${this.base}/connectionSpecs/${encodeURIComponent(id)}`,
        undefined,
        undefined,
        retry
      )
    } catch (e) {
      // The spec's budget ran out, not the step's: the referee is unavailable, the step goes on.
      if (e instanceof DeadlineError && parent.remaining() > 0)
        throw new ActionError(
          `${label} failed: no answer within its share of the step's time (${(budgetMs / 1000).toFixed(1)} s)`
        )
      // A reply over the size cap (or the like) only makes the optional spec unavailable.
      if (e instanceof TransportError) throw new ActionError(e.message)
      throw e
    }
    if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
    return this.json(label, a)
  }
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A JSON value's kind in words: "null", "an array", "a string", "an object". */
const kindOf = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : /^[aeiou]/.test(typeof v)
        ? `an ${typeof v}`
        : `a ${typeof v}`

/** What a /test reply held instead of {"result": true|false}, in words: never its content. */
function testShape(text: string): string {
  const body = parseOrUndefined(text)
  if (body === undefined) return `a body that is not JSON, ${text.length} characters`
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return `the body is ${kindOf(body)}, not an object`
  if (!('result' in body)) return 'no "result" field'
  const result: unknown = (body as { result: unknown }).result
  return result === null ? '"result" is null' : `"result" is ${kindOf(result)}, not true or false`
}

export function duplicatesError(name: string, items: ConnectionItem[]): ActionError {
  return new ActionError(
    `${items.length} PostgreSQL connections are named "${name}" in this sandbox (ids ${items
      .map((i) => i.id)
      .join(', ')}); delete all but one, then run again`
  )
}
