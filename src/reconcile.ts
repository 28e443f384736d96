import type { CreateBody } from './connection.js'
import { ActionError, ApiError } from './errors.js'
import type { ConnectionItem, FlowService } from './flow-service.js'
import type { Settings } from './inputs.js'
import { DeadlineError } from './http.js'
import { alive, IncompleteListingError, isDeleting, isInProgress, keeperOf } from './listing.js'
import { decide, patchOps, type Operation } from './plan.js'

/** What the step did to the connection: the outputs' view. */
export interface Outcome {
  operation: Operation
  connectionId: string
  etag: string
}

/**
 * A failure once a connection with the name exists (this run's, or one it adopted): the step
 * fails, and connection-id and etag still say which connection it is.
 */
export class StoredConnectionError extends ActionError {
  constructor(
    message: string,
    readonly connectionId: string,
    readonly etag: string
  ) {
    super(message)
    this.name = 'StoredConnectionError'
  }
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
 * The live connections with the name, from a complete listing: those being deleted are not
 * counted, those Flow Service is still working on (e.g. initializing) are waited for.
 */
export async function findLive(
  flow: FlowService,
  name: string,
  log: (line: string) => void
): Promise<ConnectionItem[]> {
  let found: ConnectionItem[]
  try {
    found = await flow.findByName(name)
  } catch (e) {
    if (e instanceof IncompleteListingError)
      throw new ActionError(`${e.message}; nothing was created or changed`)
    throw e
  }
  const live: ConnectionItem[] = []
  for (const item of found) {
    if (isDeleting(item.state)) {
      log(`connection ${item.id} is being deleted (state ${item.state}): not counted`)
      continue
    }
    const settled = isInProgress(item.state) ? await flow.settle(item) : item
    if (settled) live.push(settled)
    else log(`connection ${item.id} went away while this run waited for it: not counted`)
  }
  return live
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
    return await checkAfterCreate(r, outcome.id, outcome.etag)
  } catch (e) {
    throw stored(e, outcome)
  }
}

/**
 * The lookup before the create found none, so any other live connection with the name now was
 * created meanwhile: all runs keep the oldest, and each deletes its own if it is not that one.
 */
async function checkAfterCreate(r: Reconcile, ownId: string, ownEtag?: string): Promise<Outcome> {
  const { flow, log } = r
  const name = r.body.name
  for (let round = 1; ; round++) {
    let listed: ConnectionItem[]
    try {
      listed = alive(await flow.findByName(name, { mustInclude: ownId }))
    } catch (e) {
      // The create went through; only the safety net failed (a later run still sees duplicates).
      if (!(e instanceof ActionError) && !(e instanceof DeadlineError)) throw e
      r.warn(
        `${e.message}: whether another run created "${name}" at the same time could not be checked`
      )
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
      r.warn(`${why}, so whether another run created "${name}" at the same time was not checked`)
      return created(r, ownId, ownEtag ?? mine.etag)
    }
  }
}

async function converge(
  r: Reconcile,
  listed: ConnectionItem[],
  own: ConnectionItem,
  ownEtag: string | undefined
): Promise<Outcome> {
  const name = r.body.name
  const keeper = keeperOf(listed)
  if (keeper.id === own.id) {
    const others = listed.filter((i) => i.id !== own.id)
    if (others.length > 0)
      r.log(
        `other runs created "${name}" at the same time (id ${ids(others)}); this run's is the oldest, so it is kept and they delete theirs`
      )
    return created(r, own.id, ownEtag ?? own.etag)
  }
  r.log(
    `another run created "${name}" at the same time (id ${keeper.id}, the oldest): deleting this run's (id ${own.id}) and using that one`
  )
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

/**
 * PATCHes a connection. A 412 (changed since read) re-reads and retries once; a refusal in the
 * connection's current state (1416, 1417) waits for the state to settle, then retries once.
 */
export async function updateExisting(
  flow: FlowService,
  existing: ConnectionItem,
  body: CreateBody,
  log: (line: string) => void,
  guard: Guard = asIs
): Promise<Outcome> {
  const id = existing.id
  const etag = existing.etag ?? (await flow.get(id)).etag
  if (!etag)
    throw new ActionError('updating the connection failed: Flow Service gave no etag for it')
  const patch = async (from: ConnectionItem, ifMatch: string) => {
    const r = await guard(body, (b) => flow.update(id, ifMatch, patchOps(from, b)))
    return { operation: 'updated' as const, connectionId: id, etag: r.etag ?? '' }
  }
  try {
    return await patch(existing, etag)
  } catch (e) {
    if (!(e instanceof ApiError)) throw e
    let fresh: ConnectionItem | undefined
    if (e.status === 412) {
      log(
        'updating the connection: it changed since it was read (HTTP 412); re-reading and retrying once'
      )
      fresh = await flow.get(id)
    } else if (e.code === '1416-400' || e.code === '1417-400') {
      log(
        `updating the connection: Flow Service refused it in the connection's current state (${e.code}); waiting for the state to settle, then retrying once`
      )
      fresh = await settled(flow, id)
    } else throw e
    return patch(fresh, fresh.etag ?? '')
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

async function settled(flow: FlowService, id: string): Promise<ConnectionItem> {
  const current = await flow.get(id)
  const fresh = isInProgress(current.state) ? await flow.settle(current) : current
  if (!fresh)
    throw new ActionError(`connection ${id} went away or started being deleted while waiting`)
  return fresh
}
