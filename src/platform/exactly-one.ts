import { ActionError, ApiError, StoredObjectError } from './errors.js'
import { pauseMs, type FlowItem } from './flow-api.js'
import type { FlowObjects } from './flow-service.js'
import { DeadlineError } from './http.js'
import { isDeleting } from './listing.js'
import { adoptedDescription, firstCopy, markOf, markText, yieldedDescription } from './marker.js'
import type { Operation } from './operation.js'
import type { Mark } from './marker.js'
import type { Created, OwnCopy } from './safe-create.js'

/*
 * Exactly one object of a name, in any collection, after a create. What a run may conclude:
 *  - A listing that shows this run's latest copy shows every copy committed before it (a lagging
 *    listing shows the past, not a jumbled present). So the run first waits for that listing.
 *  - Every run ranks the copies it sees the same way (marker.ts compareCopies) and keeps the first.
 *    The run that made the first never deletes it, and runs delete only their own copies, so the
 *    first copy ever made always stays: racing runs can never leave none.
 *  - A copy is gone when reading it by id says so (404); a lagging listing is no proof either way.
 *  - A run exits 0 only when nothing it sent or saw is unresolved: every extra copy of its own
 *    deleted, every other run's copy it saw gone, the copy it names alive. Otherwise it fails,
 *    naming the ids; the next run removes extra copies this action made (heal.ts).
 * Copies no run saw in time (a racing run that committed later than every listing the others
 * read) can still leave two; a `concurrency:` group in the workflow prevents the race itself.
 */

/** What the step did to an object: the outputs' view. */
export interface Outcome {
  operation: Operation
  id: string
  etag: string
}

/** What converging on one object needs. */
export interface ExactlyOne {
  objects: FlowObjects
  /** The name the object is created with and found by. */
  name: string
  /** Sends the create (safe-create.ts), perhaps refereed by the action. */
  create(): Promise<Created>
  /** if-exists applied to another run's copy this run keeps instead of its own. */
  adopt(item: FlowItem, why: 'race'): Promise<Outcome>
  log: (line: string) => void
  warn: (line: string) => void
}

/** At most this long (and at most 40% of the time left) for the listing to show this run's copy. */
export const VISIBILITY_WAIT_MS = 20_000
/**
 * At most this long (and at most 40% of the time left) for other runs' copies to go, before the
 * run fails naming them (it never gives up a copy that is first: see above). Long enough for a
 * racing run whose DELETE is rate limited for 20 s.
 */
export const RACE_WAIT_MS = 30_000

/** A failure with no object left to name in the outputs. */
class NoObjectError extends ActionError {}

const ids = (items: Array<{ id: string }>) => items.map((i) => i.id).join(', ')

/** A failure once an object exists: the outputs still name it. */
export function storedError(e: unknown, item: { id: string; etag?: string }): ActionError {
  if (e instanceof StoredObjectError || e instanceof NoObjectError) return e
  return new StoredObjectError(e instanceof Error ? e.message : String(e), item.id, item.etag ?? '')
}

/**
 * Creates the object so that exactly one with the name remains, even when an answer is lost or
 * other runs create it at the same time. See README "Idempotency".
 */
export async function createExactlyOne(r: ExactlyOne): Promise<Outcome> {
  const created = await r.create()
  const latest = created.copies.at(-1)
  if (!latest) throw new ActionError(`internal: a create left no copy of ${r.objects.c.noun}`)
  const state = { names: latest as { id: string; etag?: string } }
  try {
    return await settle(r, created, latest, state)
  } catch (e) {
    throw storedError(e, state.names)
  }
}

/** Pauses of the waits below, within a budget; false when the budget or the deadline is spent. */
class Waiting {
  private n = 0
  private waited = 0
  constructor(
    private readonly r: ExactlyOne,
    readonly budgetMs: number
  ) {}
  async pause(why: string): Promise<boolean> {
    const wait = pauseMs(++this.n)
    if (this.waited + wait > this.budgetMs) return false
    if (!(await this.r.objects.pause('checking the name', this.n, why, 'looking again')))
      return false
    this.waited += wait
    return true
  }
  get seconds(): string {
    return (this.waited / 1000).toFixed(1)
  }
}

async function settle(
  r: ExactlyOne,
  created: Created,
  latest: OwnCopy,
  state: { names: { id: string; etag?: string } }
): Promise<Outcome> {
  const { objects, name } = r
  const c = objects.c
  const { clock, deadline } = objects.retry
  // This run's copies: known by the ids its creates answered, or by its mark.
  const ownIds = new Set(created.copies.map((o) => o.id))
  const isOwn = (i: FlowItem) => ownIds.has(i.id) || markOf(i.description)?.run === created.run
  const gone = new Set<string>()
  const several = created.sent.length > 1

  // 1. The listing that shows this run's latest copy shows every copy committed before it. A
  // POST sent after that copy's (its answer lost too) may have made another: its mark is looked
  // for as well, as nothing listed before it can prove it was not performed.
  const later = created.sent.filter((m) => m.attempt > latest.mark.attempt)
  const start = clock.now()
  const seen = await untilListed(r, latest, created.run, later)
  if (!seen) {
    const what =
      later.length > 0
        ? `the ${c.noun} a later create of this run may have made (marks ${later.map(markText).join(', ')}) is not listed next to the one found (id ${latest.id})`
        : `the ${c.noun} just created (id ${latest.id}) is not listed`
    const why = `${what} after ${(VISIBILITY_WAIT_MS / 1000).toFixed(0)} s at most, so the listing cannot be trusted`
    if (several)
      throw new ActionError(
        `${why}, and this run sent ${created.sent.length} creates whose answers it did not all get (marks ${created.sent.map(markText).join(', ')}): more than one may exist. Run the step again: it removes the extra copies this action made`
      )
    r.warn(`${why}: whether another run created "${name}" at the same time could not be checked`)
    return { operation: 'created', id: latest.id, etag: await etagOf(r, latest) }
  }
  // How far behind the listing was: how long a later look must wait to see what is new.
  const lagMs = clock.now() - start
  // Every copy seen in any listing. A listing that lags may show an older picture than the one
  // before it, so a copy missing from a listing is not gone: only reading it by id says so.
  const known = new Map<string, FlowItem>()
  const learn = (items: FlowItem[]) => {
    for (const i of items) {
      if (gone.has(i.id)) continue
      if (isDeleting(i.state)) gone.add(i.id)
      else known.set(i.id, i)
    }
  }
  learn(seen.listed)
  if (seen.gone) {
    gone.add(latest.id)
    r.log(
      `this run's ${c.noun} (id ${latest.id}) was deleted while the step ran, by another run that kept an earlier copy`
    )
  }

  const race = new Waiting(r, Math.min(RACE_WAIT_MS, deadline.remaining() * 0.4))
  let confirmed: string | undefined
  for (;;) {
    const live = [...known.values()].filter((i) => !gone.has(i.id))
    const keeper = firstCopy(live)
    if (!keeper) {
      // Every copy seen is gone: the one kept is one not seen yet (the first copy ever made is
      // never deleted by anyone), so look again until the listing shows it.
      if (!(await race.pause(`no copy of "${name}" is listed yet`)))
        throw new NoObjectError(
          `every ${c.noun} named "${name}" that this run saw was deleted while the step ran, this run's own among them, and no other is listed after ${race.seconds} s; run the step again`
        )
      learn(await relist(r))
      continue
    }
    state.names = keeper
    // This run's other copies go: extra creates after lost answers, or its copy in a race it lost.
    for (const own of live.filter((i) => isOwn(i) && i.id !== keeper.id)) {
      // Read by id first: a run that started later may have found this copy alone (its listing
      // lagged), updated it (its mark says adopted) and exited 0 naming it. Then it stays.
      const read = await objects.getIfExists(own.id)
      if (!read || isDeleting(read.state)) {
        gone.add(own.id)
        continue
      }
      if (markOf(read.description)?.adopted) {
        state.names = read
        // This run's first copy gives way to the one the later run named.
        const gaveWay = isOwn(keeper) && (await giveWay(r, keeper, created))
        throw new ActionError(
          `${live.length} ${c.plural} are named "${name}": this run's copy (id ${own.id}) was updated by a run that started later (its mark says adopted; that run may have exited 0 naming it), so it is not deleted, though ${isOwn(keeper) ? "this run's" : "another run's"} copy (id ${keeper.id}) is the first by creation date${gaveWay ? ' (it gives way: its mark now says so)' : ''}. Run the step again: it removes the extra copies this action made. To keep runs from racing, give the workflow a concurrency: group`
        )
      }
      r.log(
        isOwn(keeper)
          ? `this run created "${name}" more than once (its answers were lost): keeping id ${keeper.id}, deleting id ${own.id}`
          : `another run created "${name}" at the same time (id ${keeper.id}, the first by creation date): deleting this run's copy (id ${own.id}) and using that one`
      )
      await deleteOwn(r, own, keeper)
      gone.add(own.id)
    }
    const others = live.filter((i) => i.id !== keeper.id && !isOwn(i))
    // Another run's copy that is not first goes when its run sees the first: by id, not listing.
    for (const other of others) {
      const now = await objects.getIfExists(other.id)
      if (!now || isDeleting(now.state)) gone.add(other.id)
    }
    const staying = others.filter((i) => !gone.has(i.id))
    if (staying.length === 0) {
      if (isOwn(keeper)) {
        if (others.length > 0) r.log(`the other copies of "${name}" (id ${ids(others)}) are gone`)
        return { operation: 'created', id: keeper.id, etag: await etagOf(r, keeper, latest) }
      }
      // Another run's copy is first. Before using it, one more look after the listing's lag, in
      // case a copy that ranks before it was committed late: its run would delete this one.
      if (confirmed !== keeper.id) {
        confirmed = keeper.id
        await clock.sleep(
          Math.min(Math.max(1000, 2 * lagMs), Math.max(0, deadline.remaining() - 1000))
        )
        learn(await relist(r))
        const still = await objects.getIfExists(keeper.id)
        if (!still || isDeleting(still.state)) gone.add(keeper.id)
        continue
      }
      return r.adopt(keeper, 'race')
    }
    if (!(await race.pause(`other copies listed (id ${ids(staying)})`))) {
      const head = `${staying.length + 1} ${c.plural} are named "${name}": ${isOwn(keeper) ? "this run's" : 'another run\u2019s'} (id ${keeper.id}, the first by creation date) and ${staying.length === 1 ? 'a copy' : 'copies'} racing runs created at the same time (id ${ids(staying)}), still there after ${race.seconds} s`
      const tail = `Run the step again: it removes the extra copies this action made. To keep runs from racing, give the workflow a concurrency: group`
      // The other copies' runs did not give way in time: each may have exited 0 naming its own,
      // having never seen this one. This run's copy gives way, so the next run keeps theirs.
      if (isOwn(keeper) && (await giveWay(r, keeper, created)))
        throw new ActionError(
          `${head}. This run's copy gives way (its mark now says so): the next run keeps ${staying.length === 1 ? 'the other one' : 'one of the others'} and deletes this run's. ${tail}`
        )
      throw new ActionError(`${head}. ${tail}`)
    }
    learn(await relist(r))
  }
}

/**
 * Looks the name up until the listing shows the copy and a copy for each of `later` (marks of
 * this run's POSTs sent after the copy's, answers lost), within VISIBILITY_WAIT_MS; undefined
 * when it does not in time. `gone`: reading the copy by id says another run (or a person)
 * deleted it. Every listing read is returned, so copies seen in an earlier one are not lost.
 */
async function untilListed(
  r: ExactlyOne,
  copy: OwnCopy,
  run: string,
  later: Mark[]
): Promise<{ listed: FlowItem[]; gone: boolean } | undefined> {
  const { objects } = r
  const wait = new Waiting(
    r,
    Math.min(VISIBILITY_WAIT_MS, objects.retry.deadline.remaining() * 0.4)
  )
  const all: FlowItem[] = []
  const found = new Set<number>()
  let gone = false
  let shown = false
  for (let read = false; ;) {
    const listed = await relist(r, copy.id)
    all.push(...listed)
    if (listed.some((i) => i.id === copy.id)) shown = true
    for (const i of listed) {
      const m = markOf(i.description)
      if (m?.run === run) found.add(m.attempt)
    }
    if (!shown && !gone && !read) {
      // Not listed yet: the listing lags, or the copy is already gone. Reading by id tells.
      read = true
      const now = await objects.getIfExists(copy.id)
      if (!now || isDeleting(now.state)) gone = true
    }
    const missing = later.filter((m) => !found.has(m.attempt))
    if ((shown || gone) && missing.length === 0) return { listed: all, gone: gone && !shown }
    if (
      !(await wait.pause(
        missing.length > 0 && (shown || gone)
          ? `a later create of this run (${missing.map(markText).join(', ')}) is not listed yet`
          : `the ${objects.c.noun} just created (id ${copy.id}) is not listed yet`
      ))
    )
      return undefined
  }
}

/** The live objects with the name, from a complete listing (a failed look is tried again). */
async function relist(r: ExactlyOne, mustInclude?: string): Promise<FlowItem[]> {
  for (let n = 1; ; n++) {
    try {
      return await r.objects.findByName(r.name, mustInclude ? { mustInclude } : {})
    } catch (e) {
      // The safety net itself failed: tried again before giving up (the create went through).
      if (!(e instanceof ActionError) || e instanceof DeadlineError || n >= 3) throw e
      if (!(await r.objects.pause('checking the name', n, e.message, 'looking again'))) throw e
    }
  }
}

/** Why a mark could not be written, in a few words (Flow Service's code, not its advice). */
const refusal = (e: unknown) =>
  e instanceof ApiError
    ? `Flow Service answered ${e.code ?? `HTTP ${e.status}`}`
    : (e as Error).message

/**
 * Marks this run's copy as giving way (marker.ts). Read by id first: a copy another run adopted
 * (its mark says so; that run may have exited 0 naming it) does not give way. If-Match is the
 * etag the create answered, else the one just read: a 412 means another run updated it since,
 * and it does not give way either. True when the copy's mark says it gives way.
 */
async function giveWay(r: ExactlyOne, copy: FlowItem, created: Created): Promise<boolean> {
  const { objects } = r
  if (!objects.c.mayGiveWay) return false
  const noun = `this run's ${objects.c.noun} (id ${copy.id})`
  const marked = async () => markOf((await objects.getIfExists(copy.id))?.description)
  try {
    const read = await objects.getIfExists(copy.id)
    const m = markOf(read?.description)
    if (!read || !m || m.adopted) {
      if (m?.adopted) r.log(`${noun} does not give way: a later run adopted it`)
      return false
    }
    if (m.yielded) return true
    const etag = created.copies.find((o) => o.id === copy.id)?.etag ?? read.etag
    const description = yieldedDescription(read.description)
    if (!etag || description === undefined) return false
    try {
      await objects.update(copy.id, etag, [
        { op: 'replace', path: '/description', value: description }
      ])
      return true
    } catch (e) {
      if (e instanceof DeadlineError) throw e
      // A PATCH whose answer was lost may have been performed: the mark tells.
      if ((await marked())?.yielded) return true
      r.log(`${noun} was not marked as giving way: ${refusal(e)}`)
      return false
    }
  } catch (e) {
    if (e instanceof DeadlineError) throw e
    r.log(`${noun} was not marked as giving way: ${refusal(e)}`)
    return false
  }
}

/**
 * Says in a copy's mark that this run adopted it, for an adoption that writes nothing else
 * (if-exists: reuse; the dataflow action's own dataflow), so that the run that made it, if still
 * racing, neither gives it up nor deletes it (see settle). Only where copies give way (the same
 * PATCH form). Returns the etag to output: the new one, or the one known when the mark could not
 * be written (PATCH disabled in the org, a 412), which the log says.
 */
export async function markAdopted(
  objects: FlowObjects,
  item: FlowItem,
  log: (line: string) => void
): Promise<string | undefined> {
  const description = objects.c.mayGiveWay
    ? adoptedDescription(undefined, item.description)
    : undefined
  if (description === undefined || !item.etag) return item.etag
  try {
    const done = await objects.update(item.id, item.etag, [
      { op: 'replace', path: '/description', value: description }
    ])
    return done.etag ?? item.etag
  } catch (e) {
    if (e instanceof DeadlineError) throw e
    log(`${objects.c.noun} ${item.id} was not marked as adopted by this run: ${refusal(e)}`)
    return (await objects.getIfExists(item.id))?.etag ?? item.etag
  }
}

/** Deletes a copy of this run's; a failure names the copy to delete by hand. */
async function deleteOwn(r: ExactlyOne, own: FlowItem, keeper: FlowItem): Promise<void> {
  try {
    await r.objects.delete(own.id)
  } catch (e) {
    throw new StoredObjectError(
      `${(e as Error).message}; this run's extra copy of "${r.name}" (id ${own.id}) remains next to the one kept (id ${keeper.id}): run the step again to remove it, or delete it by hand`,
      keeper.id,
      keeper.etag ?? ''
    )
  }
}

/** The etag to output: from the create's answer for that copy, else as listed, else read. */
async function etagOf(
  r: ExactlyOne,
  item: { id: string; etag?: string },
  answer?: OwnCopy
): Promise<string> {
  if (answer?.id === item.id && answer.etag) return answer.etag
  return item.etag ?? (await r.objects.get(item.id)).etag ?? ''
}
