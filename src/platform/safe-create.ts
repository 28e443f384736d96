import type { Collection } from './collections.js'
import { ActionError } from './errors.js'
import {
  performedUnread,
  readIdEtag,
  unreadChange,
  type FlowApi,
  type FlowItem
} from './flow-api.js'
import { attempt, TransportError, waitBeforeRetry, type Attempt } from './http.js'
import { alive, IncompleteListingError } from './listing.js'
import { findByName } from './lookup.js'

/*
 * A POST to a Flow Service collection made safe against lost answers: POST has no idempotency
 * key, so a create whose answer was lost, cut short or unreadable is never simply sent again; the
 * name is looked up first. Racing runs are reconciled after the create (exactly-one.ts).
 */

/** A create body: whatever the collection takes, with the name objects are found by. */
export interface NamedBody {
  readonly name: string
}

/**
 * What a create led to: the object this run created (its id read from the answer), or, after an
 * answer that was lost or unreadable, the live objects then found by name (this run's own among
 * them, or another run's).
 */
export type CreateOutcome =
  | { kind: 'created'; id: string; etag?: string; afterLost?: boolean }
  | { kind: 'found'; items: FlowItem[] }

/**
 * Creates the object. POST has no idempotency key, so it is never retried blindly: after a lost
 * response, a reset, a timeout or a 5xx the name is looked up first, and the live objects found
 * there are returned for the caller to adopt. A 2xx whose answer holds no usable id was
 * performed: it is only looked up, never sent again.
 */
export async function createSafely(
  api: FlowApi,
  c: Collection,
  body: NamedBody
): Promise<CreateOutcome> {
  const label = `creating the ${c.noun}`
  const { retry, transport } = api.o
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
        await api.request('POST', `${api.base}/${c.path}`, body),
        deadline,
        postTimeout
      )
    } catch (e) {
      if (!(e instanceof TransportError)) throw e
      // A 2xx whose answer is too large to read was performed all the same: found by name.
      const status = performedUnread(e)
      if (status !== undefined)
        return findCommitted(api, c, body.name, label, status, 'is larger than this action reads')
      throw unreadChange(e, label, c.noun)
    }
    const a = sent
    // Any 2xx was performed (201 as documented; 200, 202 or 204 too): never sent again.
    if (a.kind === 'response' && a.res.status >= 200 && a.res.status < 300) {
      const created = readIdEtag(a.res.text)
      if (created) return { kind: 'created', ...created, ...(afterLost ? { afterLost } : {}) }
      return findCommitted(api, c, body.name, label, a.res.status, 'held no usable id')
    }
    if (a.kind === 'response' && a.res.status === 401 && !api.o.tokens.given && !renewed) {
      retry.log(`${label}: the access token was rejected (HTTP 401); fetching a new one`)
      renewed = true
      await api.o.tokens.refresh()
      n--
      continue
    }
    // Certainly not performed: rate limited, or the connection could not even be opened.
    const notPerformed =
      (a.kind === 'response' && a.res.status === 429) || (a.kind === 'network' && !a.error.sent)
    // Perhaps performed: the answer was lost or the server failed part-way.
    const ambiguous =
      (a.kind === 'network' && a.error.sent) || (a.kind === 'response' && a.res.status >= 500)
    if (!notPerformed && !ambiguous) api.fail(label, a)
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
      const found = await findLiveAfter(api, c, body.name, label)
      if (found.length > 0) {
        retry.log(`${label}: the name is listed (id ${found.map((i) => i.id).join(', ')})`)
        return { kind: 'found', items: found }
      }
      if (timedOut)
        throw new ActionError(
          `${label} failed: ${a.error.message}; Flow Service may still create it, so it was not sent again. Run the step again: it finds the ${c.noun} by name and adopts it`
        )
      if (!canWait || n >= retry.maxAttempts) api.fail(label, a)
    } else if (n >= retry.maxAttempts || !(await waitBeforeRetry(retry, label, n, a))) {
      api.fail(label, a)
    }
  }
}

/** The live objects with the name, after a create that may have been performed. */
async function findLiveAfter(
  api: FlowApi,
  c: Collection,
  name: string,
  label: string
): Promise<FlowItem[]> {
  try {
    return alive(await findByName(api, c, name))
  } catch (e) {
    if (!(e instanceof IncompleteListingError)) throw e
    throw new ActionError(
      `${e.message}. ${label} may have gone through, so it was not sent again: run the step again, it finds the ${c.noun} by name`
    )
  }
}

/** A 2xx without a usable id: performed, so look for it (a few times), never POST again. */
async function findCommitted(
  api: FlowApi,
  c: Collection,
  name: string,
  label: string,
  status: number,
  answer: string
): Promise<CreateOutcome> {
  const said = `Flow Service accepted it (HTTP ${status}) but its answer ${answer}`
  api.o.retry.log(`${label}: ${said}; looking the name up`)
  for (let n = 1; ; n++) {
    const found = await findLiveAfter(api, c, name, label)
    if (found.length > 0) return { kind: 'found', items: found }
    if (n >= 3 || !(await api.pause(label, n, 'not listed yet', 'looking again'))) break
  }
  throw new ActionError(
    `${label} failed: ${said}, and the ${c.noun} is not listed yet; it was not sent again. Run the step again: it finds the ${c.noun} by name`
  )
}
