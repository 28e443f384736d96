import type { CreateBody } from './connection.js'
import { ActionError, ApiError, StoredConnectionError } from './errors.js'
import type { ConnectionItem, FlowService } from './flow-service.js'
import { pauseMs } from './flow-api.js'
import type { Settings } from './settings.js'
import { DeadlineError } from './http.js'
import { findLive } from './lookup.js'
import {
  alive,
  isDeleting,
  isInProgress,
  isUpdatable,
  keeperOf,
  strictlyOldest
} from './listing.js'
import type { Output } from './output.js'
import { decide, describePlan, operationOf, patchOps, type Operation, type Plan } from './plan.js'
import { outcomeLine, resultOf, type Result } from './report.js'

/** What the step did to the connection: the outputs' view. */
export interface Outcome {
  operation: Operation
  connectionId: string
  etag: string
}

/**
 * Sends a create or update with a body; may send it once more with other params after a 400 the
 * params explain (see SpecReferee.guard). The default sends it as it is.
 */
export type Guard = <T>(body: CreateBody, send: (b: CreateBody) => Promise<T>) => Promise<T>
const asIs: Guard = (body, send) => send(body)

export interface Reconcile {
  flow: FlowService
  settings: Settings
  body: CreateBody
  log: (line: string) => void
  warn: (line: string) => void
  guard?: Guard
}

/**
 * How long, at most, the run keeping a copy whose age the dates cannot tell waits for the other
 * runs to delete theirs before it gives way to a copy that stays (also at most a quarter of the
 * time left).
 */
export const GIVE_WAY_WAIT_MS = 15_000

/** How long the keeper of a copy of unknown age waits before it gives way (see converge). */
const giveWayWait = (r: Reconcile) =>
  Math.min(GIVE_WAY_WAIT_MS, r.flow.o.retry.deadline.remaining() * 0.25)

/** A failure with no connection left to name in the outputs. */
class NoConnectionError extends ActionError {}

const ids = (items: ConnectionItem[]) => items.map((i) => i.id).join(', ')

function stored(e: unknown, item: { id: string; etag?: string }): ActionError {
  if (e instanceof StoredConnectionError || e instanceof NoConnectionError) return e
  return new StoredConnectionError(
    e instanceof Error ? e.message : String(e),
    item.id,
    item.etag ?? ''
  )
}

/**
 * Creates the connection so that exactly one with the name remains, even when other runs
 * create it at the same time or an answer is lost. See README "Idempotency".
 */
export async function createExactlyOne(req: Reconcile): Promise<Outcome> {
  let sent = req.body
  const outcome = await (req.guard ?? asIs)(req.body, (b) => {
    sent = b
    return req.flow.create(b)
  })
  // Later updates (after adopting) carry the params the create was sent with.
  const r = { ...req, body: sent }
  if (outcome.kind === 'found') return adopt(r, outcome.items)
  try {
    return await checkAfterCreate(r, outcome.id, outcome.etag, outcome.afterLost === true)
  } catch (e) {
    throw stored(e, outcome)
  }
}

/**
 * The lookup before the create found none, so any other live connection with the name now was
 * created meanwhile: all runs keep the oldest, and each deletes its own if it is not that one.
 * `afterLost`: an earlier POST of this run may have been performed too (its answer was lost and
 * a lookup did not show it); then a check that cannot be made fails the step, since a second
 * connection may exist.
 */
async function checkAfterCreate(
  r: Reconcile,
  ownId: string,
  ownEtag: string | undefined,
  afterLost: boolean
): Promise<Outcome> {
  const { flow, log } = r
  const name = r.body.name
  const unchecked = (why: string) => {
    if (afterLost)
      throw new ActionError(
        `${why}, and an earlier attempt of this run (whose answer was lost) may have created "${name}" too: this run's connection is id ${ownId}; if the sandbox now lists two, delete the one not in use (the next run fails until one is left)`
      )
    r.warn(`${why}: whether another run created "${name}" at the same time could not be checked`)
  }
  for (let round = 1; ; round++) {
    let listed: ConnectionItem[]
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
        throw new NoConnectionError(
          `the connection this run created (id ${ownId}) was deleted while the step ran, and no other connection named "${name}" is listed; run the step again`
        )
      log(`this run's connection (id ${ownId}) was deleted by another run that created one too`)
      return applyIfExists(r, keeperOf(listed), 'race')
    }
    const why = `the connection just created (id ${ownId}) is not listed yet`
    if (round >= 3 || !(await flow.pause('checking the name', round, why, 'looking again'))) {
      unchecked(`${why}, so the listing cannot be trusted`)
      return created(r, ownId, ownEtag ?? mine.etag)
    }
  }
}

/**
 * Several live connections have the name after this run's create. The keeper is the oldest
 * (ties by id). The keeper's run waits for the others' runs to delete theirs; a copy that stays
 * belongs to a run that ended keeping it (it listed before this one was visible, or the dates
 * could not tell which came first), so this run gives way to it: every run ends on one.
 */
async function converge(
  r: Reconcile,
  listed: ConnectionItem[],
  own: ConnectionItem,
  ownEtag: string | undefined
): Promise<Outcome> {
  const { flow, log } = r
  const name = r.body.name
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
          `timeout-seconds leaves no time to wait for the other runs: ${others.length + 1} connections may remain named "${name}" (ids ${own.id}, ${ids(others)})`
        )
        return kept()
      }
      break
    }
    waited += wait
    let now: ConnectionItem[]
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
        throw new NoConnectionError(
          `the connection this run created (id ${own.id}) was deleted while the step ran, and no other connection named "${name}" is listed; run the step again`
        )
      log(`this run's connection (id ${own.id}) was deleted by another run`)
      return applyIfExists(r, keeperOf(others), 'race')
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
async function confirmKept(r: Reconcile, kept: ConnectionItem, outcome: Outcome): Promise<Outcome> {
  const name = r.body.name
  // Longer than the kept copy's run waits before it gives way (see converge).
  const budget = giveWayWait(r) + 5000
  let waited = 0
  for (let n = 1; waited < budget; n++) {
    const why = `confirming that connection ${kept.id} is the one kept`
    if (!(await r.flow.pause('checking the name', n, why, 'looking again'))) {
      r.warn(`timeout-seconds leaves no time to confirm that connection ${kept.id} is the one kept`)
      return outcome
    }
    waited += pauseMs(n)
    let now: ConnectionItem[]
    try {
      now = alive(await r.flow.findByName(name, { mustInclude: kept.id }))
    } catch (e) {
      if (!(e instanceof ActionError) && !(e instanceof DeadlineError)) throw e
      r.warn(`${e.message}: whether connection ${kept.id} stays the one kept could not be checked`)
      return outcome
    }
    if (now.some((i) => i.id === kept.id)) {
      if (now.length === 1) return outcome
      continue
    }
    if (now.length === 0)
      throw new NoConnectionError(
        `the connection this run adopted (id ${kept.id}) was deleted while the step ran, and no other connection named "${name}" is listed; run the step again`
      )
    const next = keeperOf(now)
    r.log(
      `connection ${kept.id} was given up by its run for a copy that stays (id ${next.id}): using that one`
    )
    return applyIfExists(r, next, 'race')
  }
  return outcome
}

/** Deletes this run's copy and applies if-exists to the connection kept instead. */
async function giveWay(r: Reconcile, keeper: ConnectionItem, own: ConnectionItem) {
  const name = r.body.name
  try {
    await r.flow.delete(own.id)
  } catch (e) {
    throw new StoredConnectionError(
      `another run created "${name}" at the same time (id ${keeper.id}, kept), and this run's copy (id ${own.id}) could not be deleted: ${(e as Error).message}; delete it by hand`,
      keeper.id,
      keeper.etag ?? ''
    )
  }
  return applyIfExists(r, keeper, 'race')
}

async function created(r: Reconcile, id: string, etag: string | undefined): Promise<Outcome> {
  return {
    operation: 'created',
    connectionId: id,
    etag: etag ?? (await r.flow.get(id)).etag ?? ''
  }
}

/**
 * After an answer that was lost or unreadable, the connections found by name: this run's own
 * perhaps, another run's perhaps. The oldest is kept (the others can only be copies made at
 * the same time) and if-exists applies to it as to any connection found.
 */
async function adopt(r: Reconcile, items: ConnectionItem[]): Promise<Outcome> {
  const keeper = keeperOf(items)
  const others = items.filter((i) => i.id !== keeper.id)
  if (others.length > 0) {
    r.log(
      `${items.length} connections named "${r.body.name}" appeared while this run was creating one: keeping the oldest (id ${keeper.id}), deleting ${ids(others)}`
    )
    for (const other of others) {
      try {
        await r.flow.delete(other.id)
      } catch (e) {
        throw stored(
          new ActionError(`${(e as Error).message}; delete connection ${other.id} by hand`),
          keeper
        )
      }
    }
  }
  return applyIfExists(r, keeper, 'lost')
}

/** if-exists applied to a connection this run did not see before its create. */
async function applyIfExists(
  r: Reconcile,
  keeper: ConnectionItem,
  why: 'race' | 'lost'
): Promise<Outcome> {
  const { settings: s, flow, log } = r
  const found =
    why === 'race'
      ? `another run created "${s.connectionName}" at the same time (id ${keeper.id})`
      : `a connection named "${s.connectionName}" is listed (id ${keeper.id}) after this run's create answer was lost or unreadable, so it may be this run's or another run's`
  try {
    switch (s.ifExists) {
      case 'fail':
        throw new ActionError(
          `${found}; if-exists is fail, so it is not adopted${why === 'race' ? ' (this run deleted its own copy)' : ''}`
        )
      case 'reuse':
        log(`${found}; if-exists is reuse: using it as it is`)
        return {
          operation: 'unchanged',
          connectionId: keeper.id,
          etag: keeper.etag ?? (await flow.get(keeper.id)).etag ?? ''
        }
      case 'update': {
        log(`${found}; if-exists is update: updating it`)
        const plan = decide(s, [keeper], r.body)
        if (plan.kind !== 'update') throw new ActionError('internal: expected an update')
        return await updateExisting(flow, keeper, r.body, log, r.guard)
      }
    }
  } catch (e) {
    throw stored(e, keeper)
  }
}

/** 412s in a row that an update re-reads and retries through (racing runs all patch one). */
export const MAX_PRECONDITION_RETRIES = 5

/**
 * PATCHes a connection. A 412 (changed since read: another run patched it) re-reads and retries,
 * up to MAX_PRECONDITION_RETRIES times with growing pauses; a refusal in the connection's
 * current state (1416, 1417) waits for the state to settle, then retries once.
 */
export async function updateExisting(
  flow: FlowService,
  existing: ConnectionItem,
  body: CreateBody,
  log: (line: string) => void,
  guard: Guard = asIs
): Promise<Outcome> {
  const id = existing.id
  let current = existing
  let etag = existing.etag ?? (await flow.get(id)).etag
  if (!etag)
    throw new ActionError('updating the connection failed: Flow Service gave no etag for it')
  let waitedForState = false
  for (let n = 1; ; n++) {
    try {
      const from = current
      const ifMatch = etag
      const r = await guard(body, (b) => flow.update(id, ifMatch, patchOps(from, b)))
      return { operation: 'updated', connectionId: id, etag: r.etag ?? '' }
    } catch (e) {
      if (!(e instanceof ApiError)) throw e
      if (e.status === 412 && n <= MAX_PRECONDITION_RETRIES) {
        const why = 'it changed since it was read (HTTP 412)'
        // Other runs are patching it too: after the first, a pause spreads the retries out.
        if (n > 1 && !(await flow.pause('updating the connection', n - 1, why, 're-reading')))
          throw e
        if (n === 1) log(`updating the connection: ${why}; re-reading and retrying`)
        current = await flow.get(id)
      } else if ((e.code === '1416-400' || e.code === '1417-400') && !waitedForState) {
        waitedForState = true
        log(
          `updating the connection: Flow Service refused it in the connection's current state (${e.code}); waiting for the state to settle, then retrying once`
        )
        current = await settled(flow, id)
      } else throw e
      etag = current.etag ?? ''
    }
  }
}

/** Deletes a connection; one already being deleted (1458) counts as absent. */
export async function deleteExisting(
  flow: FlowService,
  existing: ConnectionItem,
  log: (line: string) => void
): Promise<Outcome> {
  const del = async () =>
    (await flow.delete(existing.id))
      ? { operation: 'deleted' as const, connectionId: existing.id, etag: '' }
      : { operation: 'absent' as const, connectionId: '', etag: '' }
  try {
    return await del()
  } catch (e) {
    if (!(e instanceof ApiError)) throw e
    if (e.code === '1458-400') {
      log(`connection ${existing.id} is already being deleted (1458): nothing to do`)
      return { operation: 'absent', connectionId: '', etag: '' }
    }
    if (e.code !== '1416-400') throw e
    log(
      `deleting the connection: Flow Service refused it in the connection's current state (${e.code}); waiting for the state to settle, then retrying once`
    )
    await settled(flow, existing.id)
    return del()
  }
}

/**
 * Reads the connection until its state accepts an update or delete (see isUpdatable), with
 * growing pauses within the deadline.
 */
async function settled(flow: FlowService, id: string): Promise<ConnectionItem> {
  let current = await flow.get(id)
  for (let n = 1; !isUpdatable(current.state) || isInProgress(current.state); n++) {
    const why = `connection ${id} is "${current.state ?? ''}"`
    if (isDeleting(current.state))
      throw new ActionError(`${why}: it started being deleted while this run waited`)
    if (!(await flow.pause('waiting for the connection', n, why, 'checking again')))
      throw new ActionError(
        `${why} (Flow Service is still working on it) and timeout-seconds leaves no time to wait longer; run the step again later`
      )
    const next = await flow.getIfExists(id)
    if (!next) throw new ActionError(`connection ${id} went away while this run waited for it`)
    current = next
  }
  return current
}

/** The parts of a run that applying a plan needs. */
export type Applying = Omit<Reconcile, 'body'>

/** Applies a plan; returns the outputs' view of what happened. */
export async function apply(plan: Plan, r: Applying): Promise<Outcome> {
  switch (plan.kind) {
    case 'create':
      return createExactlyOne({ ...r, body: plan.body })
    case 'update':
      try {
        return await updateExisting(r.flow, plan.existing, plan.body, r.log, r.guard)
      } catch (e) {
        if (!(e instanceof ApiError) || e.code !== '1457-400') throw e
        return afterDeletionStarted(r, plan.existing, plan.body, e)
      }
    case 'reuse':
      return {
        operation: 'unchanged',
        connectionId: plan.existing.id,
        etag: plan.existing.etag ?? ''
      }
    case 'delete':
      return deleteExisting(r.flow, plan.existing, r.log)
    case 'absent':
      return { operation: 'absent', connectionId: '', etag: '' }
  }
}

/**
 * An update refused because the connection is being deleted (1457): the name is looked up
 * again, and a create follows only when no live connection has it. A connection still listed
 * as live contradicts the refusal: nothing is created.
 */
async function afterDeletionStarted(
  r: Applying,
  existing: ConnectionItem,
  body: CreateBody,
  refusal: ApiError
): Promise<Outcome> {
  r.log(
    `connection ${existing.id} started being deleted since the lookup (1457): looking the name up again`
  )
  const live = await findLive(r.flow, body.name, r.log)
  if (live.some((i) => i.id === existing.id))
    throw new StoredConnectionError(
      `${refusal.message}; yet connection ${existing.id} is still listed as live, so nothing was created: run the step again later`,
      existing.id,
      existing.etag ?? ''
    )
  const plan = decide(r.settings, live, body)
  if (plan.kind === 'create') r.log(`no live connection is named "${body.name}": creating one`)
  if (plan.kind === 'update') return updateExisting(r.flow, plan.existing, body, r.log, r.guard)
  return apply(plan, r)
}

/** What applying each kind of plan does, as the debug-mode group of its requests says it. */
const APPLYING: Record<Plan['kind'], string | undefined> = {
  create: 'creating the connection',
  update: 'updating the connection',
  delete: 'deleting the connection',
  // These send nothing.
  reuse: undefined,
  absent: undefined
}

/** What the apply step needs from the session (see session.ts). */
export interface ApplySession {
  flow: FlowService
  referee: { guard: Guard }
  phase<T>(title: string, fn: () => Promise<T>): Promise<T>
}

/**
 * The apply step: the plan carried out (or, in a dry run, the request that would be sent
 * shown), and the outcome said in one line.
 */
export async function applyStep(
  plan: Plan,
  settings: Settings,
  session: ApplySession,
  out: Output,
  runUrl: string | undefined
): Promise<Result> {
  const operation = operationOf(plan, settings.dryRun)
  const r = resultOf(plan, operation, settings, runUrl)
  if (settings.dryRun)
    await out.group(
      `Dry run: ${operation}. The request that would be sent (secrets shown as ***)`,
      async () => {
        for (const line of describePlan(plan, session.flow.base)) out.block(line)
      }
    )
  else {
    const applyPlan = () =>
      apply(plan, {
        flow: session.flow,
        settings,
        log: (line) => out.info(line),
        warn: (message) => out.warning(message),
        guard: (body, send) => session.referee.guard(body, send)
      })
    const applying = APPLYING[plan.kind]
    Object.assign(r, await (applying ? session.phase(applying, applyPlan) : applyPlan()))
  }
  out.info(outcomeLine(r))
  return r
}
