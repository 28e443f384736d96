import { ActionError, StoredObjectError } from './errors.js'
import { pauseMs, type FlowItem } from './flow-api.js'
import type { FlowObjects } from './flow-service.js'
import { DeadlineError } from './http.js'
import { alive, isDeleting, keeperOf, strictlyOldest } from './listing.js'
import type { Operation } from './operation.js'
import type { CreateOutcome } from './safe-create.js'

/*
 * Exactly one object of a name, in any collection, after a create: lost answers and racing runs
 * converge on one copy. The action says what to do with a copy this run did not create
 * (`adopt`: if-exists applied to it).
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
  create(): Promise<CreateOutcome>
  /** if-exists applied to a copy this run did not create: found after a lost answer, or another run's. */
  adopt(item: FlowItem, why: 'race' | 'lost'): Promise<Outcome>
  log: (line: string) => void
  warn: (line: string) => void
}

/**
 * How long, at most, the run keeping a copy whose age the dates cannot tell waits for the other
 * runs to delete theirs before it gives way to a copy that stays (also at most a quarter of the
 * time left).
 */
export const GIVE_WAY_WAIT_MS = 15_000

/** How long the keeper of a copy of unknown age waits before it gives way (see converge). */
const giveWayWait = (r: ExactlyOne) =>
  Math.min(GIVE_WAY_WAIT_MS, r.objects.retry.deadline.remaining() * 0.25)

/** A failure with no object left to name in the outputs. */
class NoObjectError extends ActionError {}

/** The word for one object of the collection, in messages. */
const noun = (r: ExactlyOne) => r.objects.c.noun

const ids = (items: FlowItem[]) => items.map((i) => i.id).join(', ')

export function storedError(e: unknown, item: { id: string; etag?: string }): ActionError {
  if (e instanceof StoredObjectError || e instanceof NoObjectError) return e
  return new StoredObjectError(e instanceof Error ? e.message : String(e), item.id, item.etag ?? '')
}

/**
 * Creates the object so that exactly one with the name remains, even when other runs create it
 * at the same time or an answer is lost. See README "Idempotency".
 */
export async function createExactlyOne(r: ExactlyOne): Promise<Outcome> {
  const outcome = await r.create()
  if (outcome.kind === 'found') return adopt(r, outcome.items)
  try {
    return await checkAfterCreate(r, outcome.id, outcome.etag, outcome.afterLost === true)
  } catch (e) {
    throw storedError(e, outcome)
  }
}

/**
 * The lookup before the create found none, so any other live object with the name now was
 * created meanwhile: all runs keep the oldest, and each deletes its own if it is not that one.
 * `afterLost`: an earlier POST of this run may have been performed too (its answer was lost and
 * a lookup did not show it); then a check that cannot be made fails the step, since a second
 * object may exist.
 */
async function checkAfterCreate(
  r: ExactlyOne,
  ownId: string,
  ownEtag: string | undefined,
  afterLost: boolean
): Promise<Outcome> {
  const { objects: flow, log } = r
  const name = r.name
  const unchecked = (why: string) => {
    if (afterLost)
      throw new ActionError(
        `${why}, and an earlier attempt of this run (whose answer was lost) may have created "${name}" too: this run's ${noun(r)} is id ${ownId}; if the sandbox now lists two, delete the one not in use (the next run fails until one is left)`
      )
    r.warn(`${why}: whether another run created "${name}" at the same time could not be checked`)
  }
  for (let round = 1; ; round++) {
    let listed: FlowItem[]
    try {
      listed = alive(await flow.findByName(name, { mustInclude: ownId }))
    } catch (e) {
      // The create went through; only the safety net failed. It is the one thing that sees a
      // racing run's copy, so it is tried again before giving up (a later run still sees both).
      if (!(e instanceof ActionError) && !(e instanceof DeadlineError)) throw e
      if (
        round < 3 &&
        !(e instanceof DeadlineError) &&
        (await flow.pause('checking the name', round, e.message, 'looking again'))
      )
        continue
      unchecked(e.message)
      return created(r, ownId, ownEtag)
    }
    const own = listed.find((i) => i.id === ownId)
    if (own) return converge(r, listed, own, ownEtag)
    // Not listed: deleted by a racing run that kept an older one, or the listing lags behind.
    const mine = await flow.getIfExists(ownId)
    if (!mine || isDeleting(mine.state)) {
      if (listed.length === 0)
        throw new NoObjectError(
          `the ${noun(r)} this run created (id ${ownId}) was deleted while the step ran, and no other ${noun(r)} named "${name}" is listed; run the step again`
        )
      log(`this run's ${noun(r)} (id ${ownId}) was deleted by another run that created one too`)
      return r.adopt(keeperOf(listed), 'race')
    }
    const why = `the ${noun(r)} just created (id ${ownId}) is not listed yet`
    if (round >= 3 || !(await flow.pause('checking the name', round, why, 'looking again'))) {
      unchecked(`${why}, so the listing cannot be trusted`)
      return created(r, ownId, ownEtag ?? mine.etag)
    }
  }
}

/**
 * Several live objects have the name after this run's create. The keeper is the oldest
 * (ties by id). The keeper's run waits for the others' runs to delete theirs; a copy that stays
 * belongs to a run that ended keeping it (it listed before this one was visible, or the dates
 * could not tell which came first), so this run gives way to it: every run ends on one.
 */
async function converge(
  r: ExactlyOne,
  listed: FlowItem[],
  own: FlowItem,
  ownEtag: string | undefined
): Promise<Outcome> {
  const { objects: flow, log } = r
  const name = r.name
  const keeper = keeperOf(listed)
  if (keeper.id !== own.id) {
    const oldest = strictlyOldest(keeper, listed)
    log(
      `another run created "${name}" at the same time (id ${keeper.id}, the ${oldest ? 'oldest' : 'first by id, as the creation times do not tell'}): deleting this run's (id ${own.id}) and using that one`
    )
    const outcome = await giveWay(r, keeper, own)
    return oldest ? outcome : confirmKept(r, keeper, outcome)
  }
  let others = listed.filter((i) => i.id !== own.id)
  if (others.length === 0) return created(r, own.id, ownEtag ?? own.etag)
  const kept = () => created(r, own.id, ownEtag ?? own.etag)
  // With dates that order the copies, every run that lists them all keeps this one and deletes
  // its own; a copy that stays longer is a slow run's, and giving way to it could leave none.
  if (strictlyOldest(own, listed)) {
    log(
      `other runs created "${name}" at the same time (id ${ids(others)}); this run's is the oldest, so it is kept and they delete theirs`
    )
    return kept()
  }
  log(
    `other runs created "${name}" at the same time (id ${ids(others)}); this run's is the first by id, as the creation times do not tell, so it is kept: waiting for them to delete theirs`
  )
  // A copy that stays may belong to a run that ended keeping it (it listed before this copy was
  // visible): after a wait long enough for a slow run to delete its own, this run gives way.
  const budget = giveWayWait(r)
  let waited = 0
  for (let n = 1; ; n++) {
    const wait = pauseMs(n)
    const paused =
      waited + wait <= budget &&
      (await flow.pause('checking the name', n, 'other copies listed', 'looking again'))
    if (!paused) {
      if (n === 1) {
        r.warn(
          `timeout-seconds leaves no time to wait for the other runs: ${others.length + 1} ${r.objects.c.plural} may remain named "${name}" (ids ${own.id}, ${ids(others)})`
        )
        return kept()
      }
      break
    }
    waited += wait
    let now: FlowItem[]
    try {
      now = alive(await flow.findByName(name, { mustInclude: own.id }))
    } catch (e) {
      if (!(e instanceof ActionError) && !(e instanceof DeadlineError)) throw e
      r.warn(
        `${e.message}: whether the other runs deleted their copies (id ${ids(others)}) could not be checked`
      )
      return kept()
    }
    others = now.filter((i) => i.id !== own.id)
    if (!now.some((i) => i.id === own.id)) {
      if (others.length === 0)
        throw new NoObjectError(
          `the ${noun(r)} this run created (id ${own.id}) was deleted while the step ran, and no other ${noun(r)} named "${name}" is listed; run the step again`
        )
      log(`this run's ${noun(r)} (id ${own.id}) was deleted by another run`)
      return r.adopt(keeperOf(others), 'race')
    }
    if (others.length === 0) return kept()
  }
  const stays = keeperOf(others)
  log(
    `the other copies (id ${ids(others)}) stay: their runs ended keeping them, so this run deletes its own (id ${own.id}) and uses ${stays.id}`
  )
  return giveWay(r, stays, own)
}

/**
 * After giving way to a copy whose age the dates could not tell: that copy's run gives way in
 * turn if a copy from a run that has already ended stays (see converge). So this run looks again
 * (0.5 s, 1 s, 2 s, 4 s, 5 s, …, for longer than that run waits) until only the kept copy is
 * left, and follows it if it changed.
 */
async function confirmKept(r: ExactlyOne, kept: FlowItem, outcome: Outcome): Promise<Outcome> {
  const name = r.name
  // Longer than the kept copy's run waits before it gives way (see converge).
  const budget = giveWayWait(r) + 5000
  let waited = 0
  for (let n = 1; waited < budget; n++) {
    const why = `confirming that ${noun(r)} ${kept.id} is the one kept`
    if (!(await r.objects.pause('checking the name', n, why, 'looking again'))) {
      r.warn(`timeout-seconds leaves no time to confirm that ${noun(r)} ${kept.id} is the one kept`)
      return outcome
    }
    waited += pauseMs(n)
    let now: FlowItem[]
    try {
      now = alive(await r.objects.findByName(name, { mustInclude: kept.id }))
    } catch (e) {
      if (!(e instanceof ActionError) && !(e instanceof DeadlineError)) throw e
      r.warn(`${e.message}: whether ${noun(r)} ${kept.id} stays the one kept could not be checked`)
      return outcome
    }
    if (now.some((i) => i.id === kept.id)) {
      if (now.length === 1) return outcome
      continue
    }
    if (now.length === 0)
      throw new NoObjectError(
        `the ${noun(r)} this run adopted (id ${kept.id}) was deleted while the step ran, and no other ${noun(r)} named "${name}" is listed; run the step again`
      )
    const next = keeperOf(now)
    r.log(
      `${noun(r)} ${kept.id} was given up by its run for a copy that stays (id ${next.id}): using that one`
    )
    return r.adopt(next, 'race')
  }
  return outcome
}

/** Deletes this run's copy and applies if-exists to the object kept instead. */
async function giveWay(r: ExactlyOne, keeper: FlowItem, own: FlowItem) {
  const name = r.name
  try {
    await r.objects.delete(own.id)
  } catch (e) {
    throw new StoredObjectError(
      `another run created "${name}" at the same time (id ${keeper.id}, kept), and this run's copy (id ${own.id}) could not be deleted: ${(e as Error).message}; delete it by hand`,
      keeper.id,
      keeper.etag ?? ''
    )
  }
  return r.adopt(keeper, 'race')
}

async function created(r: ExactlyOne, id: string, etag: string | undefined): Promise<Outcome> {
  return {
    operation: 'created',
    id,
    etag: etag ?? (await r.objects.get(id)).etag ?? ''
  }
}

/**
 * After an answer that was lost or unreadable, the objects found by name: this run's own
 * perhaps, another run's perhaps. The oldest is kept (the others can only be copies made at
 * the same time) and if-exists applies to it as to any object found.
 */
async function adopt(r: ExactlyOne, items: FlowItem[]): Promise<Outcome> {
  const keeper = keeperOf(items)
  const others = items.filter((i) => i.id !== keeper.id)
  if (others.length > 0) {
    r.log(
      `${items.length} ${r.objects.c.plural} named "${r.name}" appeared while this run was creating one: keeping the oldest (id ${keeper.id}), deleting ${ids(others)}`
    )
    for (const other of others) {
      try {
        await r.objects.delete(other.id)
      } catch (e) {
        throw storedError(
          new ActionError(`${(e as Error).message}; delete ${noun(r)} ${other.id} by hand`),
          keeper
        )
      }
    }
  }
  return r.adopt(keeper, 'lost')
}
