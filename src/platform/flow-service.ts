import type { Collection } from './collections.js'
import { apiError, type ApiError } from './errors.js'
import {
  performedUnread,
  readIdEtag,
  unreadChange,
  type FlowApi,
  type FlowItem,
  type PatchOp
} from './flow-api.js'
import { TransportError, type Attempt, type RetryContext } from './http.js'
import { findByName, findLive } from './lookup.js'
import { createSafely, type Created, type NamedBody } from './safe-create.js'

/**
 * One Flow Service collection's objects, as the actions manage them: found by name from complete
 * listings, created safe against lost answers, updated with If-Match, deleted, read by id. The
 * collection (its path, its spec, its states, its refusal notes) is passed in, so the same
 * guarantees hold for base connections, source and target connections and dataflows.
 */
export class FlowObjects {
  constructor(
    readonly api: FlowApi,
    readonly c: Collection
  ) {}

  get retry(): RetryContext {
    return this.api.o.retry
  }

  /** Every object of this kind with exactly this name, from a complete listing (lookup.ts). */
  findByName(name: string, opts: { mustInclude?: string } = {}): Promise<FlowItem[]> {
    return findByName(this.api, this.c, name, opts)
  }

  /** The live objects with the name: those being deleted left out, those in progress waited for. */
  findLive(name: string, log: (line: string) => void): Promise<FlowItem[]> {
    return findLive(this.api, this.c, name, log)
  }

  /** Creates the object, safe against lost answers, its POSTs marked as this run's (safe-create.ts). */
  create(body: NamedBody): Promise<Created> {
    return createSafely(this.api, this.c, body, this.api.o.run)
  }

  get(id: string): Promise<FlowItem> {
    return this.api.get(this.c, id)
  }

  getIfExists(id: string): Promise<FlowItem | undefined> {
    return this.api.getIfExists(this.c, id)
  }

  settle(item: FlowItem): Promise<FlowItem | undefined> {
    return this.api.settle(this.c, item)
  }

  pause(label: string, n: number, why: string, next: string): Promise<boolean> {
    return this.api.pause(label, n, why, next)
  }

  /** A refusal with the collection's note for its code, when it has one. */
  private refusal(label: string, a: Attempt, op: 'update' | 'delete', id: string): ApiError {
    const e = apiError(label, a, this.api.o.tokens.given)
    const note = e.code ? this.c.notes?.[op]?.[e.code] : undefined
    return note ? e.withNote(note(id)) : e
  }

  /**
   * PATCH with If-Match exactly as the etag was received (quotes included). A 200 whose answer
   * holds no usable etag was performed: the object is read again for its etag.
   */
  async update(id: string, etag: string, ops: PatchOp[]): Promise<{ id: string; etag?: string }> {
    const label = `updating the ${this.c.noun}`
    let a: Attempt
    try {
      a = await this.api.send(label, 'PATCH', this.api.url(this.c, id), ops, { 'if-match': etag })
    } catch (e) {
      if (!(e instanceof TransportError)) throw e
      // A 2xx whose answer is too large to read was performed: the etag is read from the object.
      const status = performedUnread(e)
      if (status === undefined) throw unreadChange(e, undefined, this.c.noun)
      return this.reread(id, label, status, 'is larger than this action reads')
    }
    if (a.kind === 'response' && a.res.status === 400) throw this.refusal(label, a, 'update', id)
    if (a.kind !== 'response' || a.res.status < 200 || a.res.status >= 300) this.api.fail(label, a)
    const answer = readIdEtag(a.res.text)
    if (answer?.etag) return { id, etag: answer.etag }
    return this.reread(id, label, a.res.status, 'held no usable etag')
  }

  /** An update that was performed but whose answer gave no etag: the object is read for it. */
  private async reread(
    id: string,
    label: string,
    status: number,
    answer: string
  ): Promise<{ id: string; etag?: string }> {
    this.retry.log(
      `${label}: Flow Service accepted it (HTTP ${status}) but its answer ${answer}; reading the ${this.c.noun}`
    )
    return { id, etag: (await this.get(id)).etag }
  }

  /** Deletes; returns false when the object was already gone before this call. */
  async delete(id: string): Promise<boolean> {
    const label = `deleting the ${this.c.noun}`
    let a: Attempt & { attempts: number }
    try {
      a = await this.api.send(label, 'DELETE', this.api.url(this.c, id))
    } catch (e) {
      if (!(e instanceof TransportError)) throw e
      // A 2xx was performed: deleted, whatever its answer held.
      if (performedUnread(e) !== undefined) return true
      throw unreadChange(e, undefined, this.c.noun)
    }
    if (a.kind === 'response' && (a.res.status === 204 || a.res.status === 200)) return true
    // A 404 after a lost first answer means our earlier attempt deleted it.
    if (a.kind === 'response' && a.res.status === 404) return a.attempts > 1
    if (a.kind === 'response' && a.res.status === 400) throw this.refusal(label, a, 'delete', id)
    this.api.fail(label, a)
  }
}
