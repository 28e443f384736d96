import type { Collection } from './collections.js'
import { ActionError, apiError } from './errors.js'
import {
  pauseMs,
  performedUnread,
  readIdEtag,
  unreadChange,
  type FlowApi,
  type FlowItem
} from './flow-api.js'
import { attempt, TransportError, waitBeforeRetry, type Attempt } from './http.js'
import { alive, IncompleteListingError } from './listing.js'
import { findByName } from './lookup.js'
import { markOf, markText, withMark, type Mark } from './marker.js'

/*
 * A POST to a Flow Service collection made safe against lost answers. POST has no idempotency
 * key, so every POST carries its own mark (marker.ts) and a create whose answer was lost, cut
 * short or unreadable is never simply sent again: the run first waits, within a bound, for the
 * listing to show a copy with that mark. Copies a run made are thus always recognisable as its
 * own; racing runs and extra copies are settled after the create (exactly-one.ts).
 */

/** A create body: whatever the collection takes, with the name objects are found by. */
export interface NamedBody {
  readonly name: string
  readonly description?: string
}

/** One copy this run created, known by its id. */
export interface OwnCopy {
  mark: Mark
  id: string
  etag?: string
}

/**
 * What a create led to: the run's mark, every POST it sent that may have been performed (its
 * marks), and the copies among them it knows by id (from an answer, or found by mark), in the
 * order they were sent. At least one copy is known; otherwise the create failed.
 */
export interface Created {
  run: string
  sent: Mark[]
  copies: OwnCopy[]
}

/**
 * How long, at most, a run waits for the listing to show a POST whose answer was lost before it
 * sends another (also at most a quarter of the time left).
 */
export const LOST_ANSWER_WAIT_MS = 10_000

/** The listing was no proof: nothing may be created on it. */
function incomplete(e: IncompleteListingError, label: string, c: Collection): ActionError {
  return new ActionError(
    `${e.message}. ${label} may have gone through, so it was not sent again: run the step again, it finds the ${c.noun} by name`
  )
}

/** This run's copies among listed objects: those carrying one of its marks, in attempt order. */
export function ownCopies(items: FlowItem[], run: string): OwnCopy[] {
  const own: OwnCopy[] = []
  for (const i of alive(items)) {
    const mark = markOf(i.description)
    if (mark?.run === run) own.push({ mark, id: i.id, ...(i.etag ? { etag: i.etag } : {}) })
  }
  return own.sort((a, b) => a.mark.attempt - b.mark.attempt)
}

/**
 * Looks the name up until one of this run's marks is listed, pausing between looks, for at most
 * `budgetMs`. Returns the run's copies then listed (none when the time ran out).
 */
export async function findOwn(
  api: FlowApi,
  c: Collection,
  name: string,
  run: string,
  label: string,
  budgetMs: number
): Promise<OwnCopy[]> {
  let waited = 0
  for (let n = 1; ; n++) {
    let listed: FlowItem[]
    try {
      listed = await findByName(api, c, name)
    } catch (e) {
      if (e instanceof IncompleteListingError) throw incomplete(e, label, c)
      throw e
    }
    const own = ownCopies(listed, run)
    if (own.length > 0) return own
    const wait = pauseMs(n)
    if (waited + wait > budgetMs) return []
    if (!(await api.pause(label, n, 'not listed yet', 'looking again'))) return []
    waited += wait
  }
}

/**
 * Creates the object. Every POST is marked (description + `[aep-gha:<run>.<attempt>]`). After a
 * lost answer, a reset or a 5xx the run waits, within LOST_ANSWER_WAIT_MS, for the listing to
 * show that POST's mark, and sends another only when it does not; after a timeout (the POST may
 * still be in flight) it never sends another. A 2xx whose answer holds no usable id was
 * performed: it is only looked for, never sent again.
 */
export async function createSafely(
  api: FlowApi,
  c: Collection,
  body: NamedBody,
  run: string
): Promise<Created> {
  const label = `creating the ${c.noun}`
  const { retry, transport } = api.o
  const sent: Mark[] = []
  const created = (copies: OwnCopy[]): Created => ({ run, sent, copies })
  const marks = () => sent.map(markText).join(', ')
  let renewed = false
  let attemptNo = 0
  for (let n = 1; ; n++) {
    const mark: Mark = {
      run,
      attempt: ++attemptNo,
      at: Math.floor(retry.clock.now() / 1000)
    }
    // An abandoned POST may still be performed later, and a second POST would then make a
    // duplicate: give it all the time left, keeping one request timeout for the lookup after.
    const { deadline } = retry
    const postTimeout = Math.max(
      deadline.requestTimeout(),
      deadline.remaining() - deadline.requestTimeout()
    )
    let a: Attempt
    try {
      a = await attempt(
        transport,
        await api.request('POST', `${api.base}/${c.path}`, {
          ...body,
          description: withMark(body.description, mark)
        }),
        deadline,
        postTimeout
      )
    } catch (e) {
      if (!(e instanceof TransportError)) throw e
      // A 2xx whose answer is too large to read was performed all the same: found by its mark.
      const status = performedUnread(e)
      if (status === undefined) throw unreadChange(e, label, c.noun)
      sent.push(mark)
      return created(
        await findCommitted(
          api,
          c,
          body.name,
          run,
          label,
          status,
          'is larger than this action reads'
        )
      )
    }
    // Any 2xx was performed (201 as documented; 200, 202 or 204 too): never sent again.
    if (a.kind === 'response' && a.res.status >= 200 && a.res.status < 300) {
      sent.push(mark)
      const answer = readIdEtag(a.res.text)
      if (answer)
        return created([{ mark, id: answer.id, ...(answer.etag ? { etag: answer.etag } : {}) }])
      return created(
        await findCommitted(api, c, body.name, run, label, a.res.status, 'held no usable id')
      )
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
    if (!ambiguous) {
      if (n >= retry.maxAttempts || !(await waitBeforeRetry(retry, label, n, a))) api.fail(label, a)
      continue
    }
    sent.push(mark)
    // A timed-out POST may still be in flight: sending another could create a second one.
    const timedOut = a.kind === 'network' && a.error.reason === 'timeout'
    const what = a.kind === 'response' ? `HTTP ${a.res.status}` : a.error.message
    const why = a.kind === 'network' ? a.error.message : what
    retry.log(
      `${label}: attempt ${n} of ${retry.maxAttempts} failed (${what}) after it was sent; looking for its mark ${markText(mark)} before ${timedOut ? 'giving up' : 'sending it again'}`
    )
    const budget = Math.min(LOST_ANSWER_WAIT_MS, retry.deadline.remaining() * 0.25)
    const own = await findOwn(api, c, body.name, run, label, budget)
    if (own.length > 0) {
      retry.log(
        `${label}: the ${c.noun} this run created is listed (id ${own.map((o) => o.id).join(', ')})`
      )
      return created(own)
    }
    if (timedOut)
      throw new ActionError(
        `${label} failed: ${why}; Flow Service may still create it, so it was not sent again (its description carries ${marks()}). Run the step again: it finds the ${c.noun} by name and removes any extra copy`
      )
    if (n >= retry.maxAttempts || !(await waitBeforeRetry(retry, label, n, a)))
      throw apiError(label, a, api.o.tokens.given).withNote(
        `; the ${c.noun} may have been created all the same and is not listed yet (its description carries ${marks()}): run the step again, it finds the ${c.noun} by name and removes any extra copy`
      )
  }
}

/** A 2xx without a usable id: performed, so look for its mark (a few times), never POST again. */
async function findCommitted(
  api: FlowApi,
  c: Collection,
  name: string,
  run: string,
  label: string,
  status: number,
  answer: string
): Promise<OwnCopy[]> {
  const said = `Flow Service accepted it (HTTP ${status}) but its answer ${answer}`
  api.o.retry.log(`${label}: ${said}; looking for it by name`)
  const budget = Math.min(LOST_ANSWER_WAIT_MS, api.o.retry.deadline.remaining() * 0.25)
  const own = await findOwn(api, c, name, run, label, budget)
  if (own.length > 0) return own
  throw new ActionError(
    `${label} failed: ${said}, and the ${c.noun} is not listed yet; it was not sent again. Run the step again: it finds the ${c.noun} by name`
  )
}
