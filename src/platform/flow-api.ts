import * as z from './zod.js'
import { lazy } from './lazy.js'
import { ActionError, ApiError, apiError } from './errors.js'
import {
  sendWithRetries,
  TransportError,
  type Attempt,
  type HttpRequest,
  type Method,
  type RetryContext,
  type Transport
} from './http.js'
import type { TokenSource } from './ims.js'
import type { Collection } from './collections.js'
import { isDeleting, isInProgress } from './listing.js'

/*
 * The Flow Service client's base: the response schemas (server values are data, checked before
 * they are printed or sent back), the request headers, sending with retries and 401 renewal,
 * error mapping (errors.ts), and reading one object of any collection. lookup.ts (finding by
 * name), safe-create.ts (the create) and flow-service.ts (the other calls) build on it.
 */

export const FLOW_BASE_PATH = '/data/foundation/flowservice'

/**
 * An object id as Flow Service writes them (UUIDs, or 24-hex ids). Ids are data: one that is
 * anything else (a line break, "..", a path) makes the whole response malformed, so it is never
 * printed and never sent back in a URL.
 */
export const CONNECTION_ID = /^[A-Za-z0-9_-]{1,128}$/
export const ConnectionIdSchema = lazy(() =>
  z
    .string()
    .check(
      z.regex(CONNECTION_ID, { message: 'is not a connection id (1-128 letters, digits, - or _)' })
    )
)

/**
 * An etag as Flow Service documents it: an opaque token in double quotes (`"0c00a4d2-0000-…"`),
 * optionally weak (`W/"…"`). It is sent back in If-Match, printed and set as an output that later
 * steps echo, so it is data: one holding anything else (a space, a control character, `#`, `[`,
 * `:` that the runner could read as a workflow command) makes the reply malformed.
 */
export const ETAG = /^(?:W\/)?"[A-Za-z0-9._~+/=-]{0,1022}"$/
export const EtagSchema = lazy(() =>
  z.string().check(
    z.regex(ETAG, {
      message: 'is not a usable etag (a quoted token of letters, digits and -._~+/=)'
    })
  )
)

/** An optional string field: one schema serves them all (schemas hold no state). */
export const OptionalString = lazy(() => z.optional(z.string()))

/** An object as Flow Service lists it; fields we do not use pass through unchecked. */
export const FlowItemSchema = lazy(() => {
  const text = OptionalString()
  const specRef = z.optional(z.looseObject({ id: text, version: text }))
  return z.looseObject({
    id: ConnectionIdSchema(),
    name: text,
    description: text,
    etag: z.optional(EtagSchema()),
    state: text,
    // Epoch ms per Adobe's API description; only compared, so an odd value is ignored, not fatal.
    createdAt: z.catch(z.optional(z.union([z.number(), z.string()])), undefined),
    connectionSpec: specRef,
    flowSpec: specRef,
    // Base connections only: which auth type the stored credentials use.
    auth: z.optional(z.looseObject({ specName: text }))
  })
})
export type FlowItem = z.infer<ReturnType<typeof FlowItemSchema>>

/** A list page (also the envelope of GET by id): `items` must be there, as an array. */
export const PageSchema = lazy(() =>
  z.looseObject({
    items: z.array(FlowItemSchema()),
    _links: z.nullish(z.looseObject({ next: z.nullish(z.looseObject({ href: OptionalString() })) }))
  })
)

/** The reply to a create or an update. */
export const IdEtagSchema = lazy(() =>
  z.looseObject({ id: ConnectionIdSchema(), etag: z.optional(EtagSchema()) })
)

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

export type PatchOp = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown }

/** The id and etag in a POST or PATCH answer, or undefined when the answer has no usable id. */
export function readIdEtag(text: string): { id: string; etag?: string } | undefined {
  try {
    const parsed = IdEtagSchema().safeParse(JSON.parse(text))
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
export function unreadChange(
  e: TransportError,
  label?: string,
  noun = 'connection'
): TransportError {
  const status = e.replyStatus
  const maybe = status !== undefined && ((status >= 200 && status < 300) || status >= 500)
  return new TransportError(
    (label ? `${label} failed: ` : '') +
      e.message +
      (maybe
        ? `. The change may have been made: run the step again, it finds the ${noun} by name`
        : ''),
    status
  )
}

export interface FlowServiceOptions {
  /** This run's mark on what it creates (marker.ts): random per run. */
  run: string
  platformUrl: string
  clientId: string
  imsOrgId: string
  sandboxName: string
  tokens: TokenSource
  transport: Transport
  retry: RetryContext
}

/** Sends Flow Service calls with retries, 401 renewal and clear errors; reads objects by id. */
export class FlowApi {
  readonly base: string

  constructor(readonly o: FlowServiceOptions) {
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

  async request(
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
  async send(
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

  fail(label: string, a: Attempt): never {
    throw apiError(label, a, this.o.tokens.given)
  }

  json(label: string, a: Attempt): unknown {
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

  /** The URL of one object of a collection. */
  url(c: Collection, id: string): string {
    return `${this.base}/${c.path}/${encodeURIComponent(id)}`
  }

  async get(c: Collection, id: string): Promise<FlowItem> {
    const r = await this.read(c, id)
    if (!r.item) this.fail(`reading the ${c.noun}`, r.notFound)
    return r.item
  }

  /** Reads an object by id; undefined when Flow Service answers 404. */
  async getIfExists(c: Collection, id: string): Promise<FlowItem | undefined> {
    return (await this.read(c, id)).item
  }

  private async read(
    c: Collection,
    id: string
  ): Promise<{ item: FlowItem; notFound?: never } | { item?: never; notFound: Attempt }> {
    const label = `reading the ${c.noun}`
    const a = await this.send(label, 'GET', this.url(c, id))
    if (a.kind === 'response' && a.res.status === 404) return { notFound: a }
    if (a.kind !== 'response' || a.res.status !== 200) this.fail(label, a)
    const parsed = PageSchema().safeParse(this.json(label, a))
    if (!parsed.success) throw malformed(label, parsed.error)
    const item = parsed.data.items[0]
    if (!item) throw new ActionError(`${label} failed: the response held no ${c.noun}`)
    // A read by id answered with another object must not make the run act on that object.
    if (item.id.toLowerCase() !== id.toLowerCase())
      throw new ActionError(
        `${label} ${id} failed: Flow Service answered with another ${c.noun} (id ${item.id}); the run stops rather than act on it`
      )
    return { item }
  }

  /**
   * Waits while an object is in a state Flow Service is still working on (e.g. initializing),
   * reading it again with growing pauses within the step's deadline. Returns the settled object,
   * or undefined when it went away or started being deleted.
   */
  async settle(c: Collection, item: FlowItem): Promise<FlowItem | undefined> {
    let current = item
    for (let n = 1; isInProgress(current.state, c); n++) {
      const why = `${c.noun} ${current.id} is "${current.state}"`
      if (!(await this.pause(`waiting for the ${c.noun}`, n, why, 'checking again')))
        throw new ActionError(
          `${why} (Flow Service is still working on it) and timeout-seconds leaves no time to wait longer; run the step again later`
        )
      const next = await this.getIfExists(c, current.id)
      if (!next || isDeleting(next.state)) return undefined
      current = next
    }
    return current
  }

  /** Pause n (see pauseMs); false when the deadline leaves no room. */
  async pause(label: string, n: number, why: string, next: string): Promise<boolean> {
    const { clock, deadline, log } = this.o.retry
    const wait = pauseMs(n)
    if (wait + 1000 >= deadline.remaining()) return false
    log(`${label}: ${why}; ${next} in ${(wait / 1000).toFixed(1)} s`)
    await clock.sleep(wait)
    return true
  }
}

/** The n-th pause of a wait: 0.5 s, 1 s, 2 s, … (at most 5 s). */
export const pauseMs = (n: number): number => Math.min(5000, 500 * 2 ** (n - 1))

export function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
