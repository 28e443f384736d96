import { z } from 'zod'
import { POSTGRES_SPEC_ID, type CreateBody } from './connection.js'
import { ActionError, apiError } from './errors.js'
import {
  FlowApi,
  parseOrUndefined,
  performedUnread,
  readIdEtag,
  unreadChange,
  type ConnectionItem,
  type PatchOp
} from './flow-api.js'
import { Deadline, DeadlineError, TransportError, type Attempt, type RetryContext } from './http.js'
import { findByName } from './lookup.js'
import { createSafely, type CreateOutcome } from './safe-create.js'

// Callers take the client and the connection's types from here (schemas live in flow-api.ts).
export type { ConnectionItem, PatchOp } from './flow-api.js'

const ExploreSchema = z.array(
  z.looseObject({
    type: z.unknown().optional(),
    path: z.unknown().optional(),
    name: z.unknown().optional()
  })
)

const TestSchema = z.looseObject({ result: z.boolean() })

/**
 * The spec read's own budget: a fifth of the time left, at most 20 s, and at most 2 attempts
 * (each a quarter of that budget, at least 1 s). The spec is optional; the create or update it
 * referees must keep its time even when the spec endpoint hangs.
 */
export const SPEC_READ_SHARE = 0.2
export const SPEC_READ_MAX_MS = 20_000
export const SPEC_READ_ATTEMPTS = 2

/** The Flow Service calls this action makes: one small client object for callers. */
export class FlowService extends FlowApi {
  /** Every PostgreSQL connection with exactly this name, from a complete listing (lookup.ts). */
  findByName(name: string, opts: { mustInclude?: string } = {}): Promise<ConnectionItem[]> {
    return findByName(this, name, opts)
  }

  /** Creates the connection, safe against lost answers (safe-create.ts). */
  create(body: CreateBody): Promise<CreateOutcome> {
    return createSafely(this, body)
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
