import type { Collection } from './collections.js'
import { ActionError, ApiError } from './errors.js'
import type { FlowApi, FlowItem } from './flow-api.js'
import type { FlowObjects } from './flow-service.js'
import { createdAtOf, isDeleting } from './listing.js'
import { pauseMs } from './flow-api.js'
import { firstCopy, madeByThisAction, markOf } from './marker.js'

/*
 * A later run heals what racing or cancelled runs left: several live copies of one name, every
 * one made by this action (its mark, marker.ts), at most one in use. It keeps the one in use, else
 * one a later run adopted (its mark says so), else the one racing runs keep (the first by
 * compareCopies: not one whose run gave way, as another run may have exited 0 naming the other),
 * and deletes the others, saying so.
 * Copies it did not make, or several in use, are never touched: the step fails naming every id.
 * Copies made less than HEAL_AFTER_MS ago may belong to runs still settling (or that just ended
 * naming them): the run waits for them to settle instead, and never deletes them.
 */

/** A copy made longer ago than this belongs to a run that has settled (see exactly-one.ts). */
export const HEAL_AFTER_MS = 90_000
/** How long a run waits for racing runs to settle their copies before it fails naming them. */
export const SETTLE_WAIT_MS = 30_000

/**
 * How far ahead of this runner's clock a mark's time (another runner's clock) or a server date
 * may be and still count as a time: beyond it, the clock that wrote it was ahead.
 */
export const CLOCK_TOLERANCE_MS = 60_000
/** 2020-01-01: a createdAt before it is not read as a date. */
const SANE_SINCE_MS = Date.UTC(2020, 0, 1)

/**
 * Whether a copy may belong to a run still settling: its mark says its POST was sent less than
 * HEAL_AFTER_MS ago, and Flow Service's createdAt (when readable) does not say it is older. A
 * time from the future (beyond CLOCK_TOLERANCE_MS) is no evidence either way: a runner clock that
 * is ahead would otherwise keep its copies young for as long as it was ahead. A copy with no
 * mark time (earlier versions) is not young.
 */
export function isYoung(item: FlowItem, now: number): boolean {
  const at = markOf(item.description)?.at
  if (at === undefined) return false
  const says = (t: number | undefined) =>
    t === undefined || t > now + CLOCK_TOLERANCE_MS ? undefined : now - t < HEAL_AFTER_MS
  const byMark = says(at * 1000)
  const created = createdAtOf(item)
  // A date before 2020 is not one Flow Service gave these objects (epoch seconds read as ms).
  const byServer = says(created !== undefined && created >= SANE_SINCE_MS ? created : undefined)
  if (byMark === false || byServer === false) return false
  return byMark === true || byServer === true
}

/** Whether an object is in use, per the collection's `usedBy` query; undefined when it cannot tell. */
export async function inUse(api: FlowApi, c: Collection, id: string): Promise<boolean | undefined> {
  const used = c.usedBy
  if (!used) return false
  const label = `checking whether ${c.noun} ${id} is in use`
  const a = await api.send(
    label,
    'GET',
    `${api.base}/${used.path}?property=${used.field}==${encodeURIComponent(id)}`
  )
  if (a.kind !== 'response' || a.res.status !== 200) return undefined
  const body = api.json(label, a) as { items?: unknown }
  return Array.isArray(body.items) ? body.items.length > 0 : undefined
}

export interface Healing {
  objects: FlowObjects
  name: string
  dryRun: boolean
  log: (line: string) => void
  warn: (line: string) => void
  /** Ids known to be in use (read from the object that uses them, not from a listing). */
  usedIds?: readonly string[]
}

/**
 * Several live copies of the name listed: the one to keep, after deleting the others (in a dry
 * run, after saying they would be deleted); none when every copy turns out gone. A listing that
 * lags may still show deleted copies, so each is read by id first. Fails, deleting nothing, when
 * a copy was not made by this action, when several are in use, or when use cannot be told.
 */
export async function heal(h: Healing, listed: FlowItem[]): Promise<FlowItem | undefined> {
  const { objects, name } = h
  const c = objects.c
  const items: FlowItem[] = []
  for (const item of listed) {
    const now = await objects.getIfExists(item.id)
    if (now && !isDeleting(now.state)) items.push(now)
    else h.log(`${c.noun} ${item.id} is listed but gone when read by id: not counted`)
  }
  if (items.length <= 1) return items[0]
  const now = objects.retry.clock.now()
  const young = items.filter((i) => isYoung(i, now))
  if (young.length > 0) {
    const settled = await settle(h, items)
    if (settled.length <= 1) return settled[0]
    // A copy made by hand never goes away by waiting: that is what the message must say.
    if (settled.some((i) => !madeByThisAction(i))) return refuseForeign(c, name, settled)
    throw new ActionError(
      `${settled.length} ${c.kind}s are named "${name}" in this sandbox (ids ${settled.map((i) => i.id).join(', ')}), made by runs in the last ${HEAL_AFTER_MS / 1000} s that raced on the name; nothing was deleted, as those runs may still be settling: run the step again later (a run started ${HEAL_AFTER_MS / 1000} s after them removes the extra copies). To keep runs from racing, give the workflow a concurrency: group`
    )
  }
  const head = headOf(c, name, items)
  if (items.some((i) => !madeByThisAction(i))) return refuseForeign(c, name, items)
  const used: FlowItem[] = []
  for (const item of items) {
    const u = h.usedIds?.includes(item.id) || (await inUse(objects.api, c, item.id))
    if (u === undefined)
      throw new ActionError(
        `${head}; whether ${c.noun} ${item.id} is in use could not be read, so none is deleted: run the step again, or delete all but one`
      )
    if (u) used.push(item)
  }
  if (used.length > 1)
    throw new ActionError(
      `${head}; ${used.map((i) => i.id).join(', ')} are each in use, so none is deleted: move what uses all but one to it, then delete the others`
    )
  // Not in use: a copy a later run adopted (it may have exited 0 naming it), else the first
  // (compareCopies ranks a copy whose run gave way last).
  const adopted = items.filter((i) => markOf(i.description)?.adopted)
  let keep = used[0] ?? (firstCopy(adopted.length > 0 ? adopted : items) as FlowItem)
  const extra = items.filter((i) => i.id !== keep.id)
  const why = used[0]
    ? 'the one in use'
    : adopted.length > 0
      ? `the first created of those ${adopted.length === 1 ? 'a later run adopted' : 'later runs adopted'}`
      : items.some((i) => markOf(i.description)?.yielded) && !markOf(keep.description)?.yielded
        ? 'the first created of those whose runs did not give way'
        : 'the first created'
  const list = extra.map((i) => i.id).join(', ')
  if (h.dryRun) {
    h.warn(
      `${head}, all made by this action: a run would keep ${keep.id} (${why}) and delete ${list} (dry run: nothing deleted)`
    )
    return keep
  }
  h.warn(
    `${head}, all made by this action (racing or cancelled runs): keeping ${keep.id} (${why}) and deleting ${list}`
  )
  // What uses a copy is read from a listing, which may not show a use made moments ago; Flow
  // Service refuses to delete a copy in use. Then that copy is the one to keep, and the one kept
  // so far (not known to be in use) goes instead.
  let keptInUse = used.length > 0
  const remains = (e: unknown, id: string) =>
    new ActionError(
      `${(e as Error).message}; the extra copy ${id} of "${name}" remains: run the step again, or delete it by hand`
    )
  for (let i = 0; i < extra.length; i++) {
    const item = extra[i] as FlowItem
    try {
      await objects.delete(item.id)
    } catch (e) {
      if (!refusedInUse(e)) throw remains(e, item.id)
      if (keptInUse)
        throw new ActionError(
          `${head}; ${keep.id} and ${item.id} are each in use (Flow Service refused deleting ${item.id}: ${(e as ApiError).code}), so ${item.id} is not deleted: move what uses all but one to it, then delete the others`
        )
      h.warn(
        `${c.noun} ${item.id} is in use (Flow Service refused deleting it: ${(e as ApiError).code}), though the listing of what uses it did not show it yet: keeping it, and deleting ${keep.id} instead`
      )
      extra.push(keep)
      keep = item
      keptInUse = true
    }
  }
  return keep
}

const headOf = (c: Collection, name: string, items: FlowItem[]) =>
  `${items.length} ${c.kind}s are named "${name}" in this sandbox (ids ${items.map((i) => i.id).join(', ')})`

/** Copies not made by this action are never deleted: the step fails naming them. */
function refuseForeign(c: Collection, name: string, items: FlowItem[]): never {
  const foreign = items.filter((i) => !madeByThisAction(i))
  throw new ActionError(
    `${headOf(c, name, items)}; ${foreign.map((i) => i.id).join(', ')} ${foreign.length === 1 ? 'was' : 'were'} not made by this action (no mark of it in the description), so none is deleted: delete all but one, then run again`
  )
}

/** A delete Flow Service refused because something uses the object (a dataflow, mostly). */
export const refusedInUse = (e: unknown): boolean =>
  e instanceof ApiError && (e.code === '1418-400' || e.code === '1447-400')

/**
 * Racing runs settle their copies within seconds: the copies read by id, with growing pauses,
 * until one is left or SETTLE_WAIT_MS (at most a quarter of the time left) has passed.
 */
async function settle(h: Healing, items: FlowItem[]): Promise<FlowItem[]> {
  const { objects } = h
  const budget = Math.min(SETTLE_WAIT_MS, objects.retry.deadline.remaining() * 0.25)
  let left = items
  h.log(
    `${items.length} copies of "${h.name}" (ids ${items.map((i) => i.id).join(', ')}) were made in the last ${HEAL_AFTER_MS / 1000} s by runs racing on the name: waiting for them to settle`
  )
  let waited = 0
  for (let n = 1; left.length > 1; n++) {
    const wait = pauseMs(n)
    if (h.dryRun || waited + wait > budget) break
    if (
      !(await objects.pause(
        'waiting for racing runs',
        n,
        `${left.length} copies`,
        'checking again'
      ))
    )
      break
    waited += wait
    const now: FlowItem[] = []
    for (const item of left) {
      const read = await objects.getIfExists(item.id)
      if (read && !isDeleting(read.state)) now.push(read)
    }
    left = now
  }
  return left
}
