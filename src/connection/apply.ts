import { deleteExisting, updateExisting } from '../platform/changes.js'
import { ActionError, ApiError, StoredObjectError } from '../platform/errors.js'
import {
  createExactlyOne,
  markAdopted,
  storedError,
  type Outcome
} from '../platform/exactly-one.js'
import type { FlowItem } from '../platform/flow-api.js'
import type { FlowObjects } from '../platform/flow-service.js'
import { isDeleting } from '../platform/listing.js'
import type { Output } from '../platform/output.js'
import type { CreateBody } from './payload.js'
import { decide, describePlan, operationOf, patchOps, type Plan } from './plan.js'
import { outcomeLine, resultOf, type Result } from './report.js'
import type { Settings } from './settings.js'

/**
 * Sends a create or update with a body; may send it once more with other params after a 400 the
 * params explain (see SpecReferee.guard). The default sends it as it is.
 */
export type Guard = <T>(body: CreateBody, send: (b: CreateBody) => Promise<T>) => Promise<T>
const asIs: Guard = (body, send) => send(body)

/** What applying a plan works with. */
export interface Applying {
  connections: FlowObjects
  settings: Settings
  log: (line: string) => void
  warn: (line: string) => void
  guard?: Guard
}

/** PATCHes the connection with the body's params, refereed by the guard. */
function update(r: Applying, existing: FlowItem, body: CreateBody): Promise<Outcome> {
  const guard = r.guard ?? asIs
  return updateExisting(
    r.connections,
    existing,
    (from, etag) => guard(body, (b) => r.connections.update(existing.id, etag, patchOps(from, b))),
    r.log
  )
}

/**
 * Creates the connection so that exactly one with the name remains (platform/exactly-one.ts);
 * a copy this run did not create gets if-exists, with the params the create was sent with.
 */
function create(r: Applying, body: CreateBody): Promise<Outcome> {
  let sent = body
  return createExactlyOne({
    objects: r.connections,
    name: body.name,
    create: () =>
      (r.guard ?? asIs)(body, (b) => {
        sent = b
        return r.connections.create(b)
      }),
    adopt: (item, why) => applyIfExists(r, sent, item, why),
    log: r.log,
    warn: r.warn
  })
}

/** if-exists applied to a connection this run did not see before its create. */
async function applyIfExists(
  r: Applying,
  body: CreateBody,
  keeper: FlowItem,
  why: 'race' | 'lost'
): Promise<Outcome> {
  const { settings: s, connections, log } = r
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
      case 'reuse': {
        log(`${found}; if-exists is reuse: using it as it is`)
        // Only its mark changes, saying this run adopted it: its run, if still racing, keeps it.
        const etag = await markAdopted(connections, keeper, log)
        return {
          operation: 'unchanged',
          id: keeper.id,
          etag: etag ?? (await connections.get(keeper.id)).etag ?? ''
        }
      }
      case 'update': {
        log(`${found}; if-exists is update: updating it`)
        const plan = decide(s, [keeper], body)
        if (plan.kind !== 'update') throw new ActionError('internal: expected an update')
        return await update(r, keeper, body)
      }
    }
  } catch (e) {
    throw storedError(e, keeper)
  }
}

/** Applies a plan; returns the outputs' view of what happened. */
export async function apply(plan: Plan, r: Applying): Promise<Outcome> {
  switch (plan.kind) {
    case 'create':
      return create(r, plan.body)
    case 'update':
      try {
        return await update(r, plan.existing, plan.body)
      } catch (e) {
        // Deleted, or being deleted, since the lookup (a racing run with state: absent).
        if (!(e instanceof ApiError) || (e.code !== '1457-400' && e.status !== 404)) throw e
        return afterDeletionStarted(r, plan.existing, plan.body, e)
      }
    case 'reuse':
      return { operation: 'unchanged', id: plan.existing.id, etag: plan.existing.etag ?? '' }
    case 'delete':
      return deleteExisting(r.connections, plan.existing, r.log)
    case 'absent':
      return { operation: 'absent', id: '', etag: '' }
  }
}

/**
 * An update refused because the connection is being deleted (1457) or is gone (404): the name is
 * looked up again, and a create follows only when no live connection has it. The connection still
 * live when read by id contradicts the refusal: nothing is created.
 */
async function afterDeletionStarted(
  r: Applying,
  existing: FlowItem,
  body: CreateBody,
  refusal: ApiError
): Promise<Outcome> {
  r.log(
    refusal.status === 404
      ? `connection ${existing.id} was deleted since the lookup (HTTP 404): looking the name up again`
      : `connection ${existing.id} started being deleted since the lookup (1457): looking the name up again`
  )
  const live = (await r.connections.findLive(body.name, r.log)).filter((i) => i.id !== existing.id)
  // A listing may lag behind the delete: the connection read by id is what counts.
  const still = await r.connections.getIfExists(existing.id)
  if (still && !isDeleting(still.state))
    throw new StoredObjectError(
      `${refusal.message}; yet connection ${existing.id} still exists when read by id, so nothing was created: run the step again later`,
      existing.id,
      existing.etag ?? ''
    )
  const plan = decide(r.settings, live, body)
  if (plan.kind === 'create') r.log(`no live connection is named "${body.name}": creating one`)
  if (plan.kind === 'update') return update(r, plan.existing, body)
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
  connections: FlowObjects
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
        for (const line of describePlan(plan, session.connections.api.base)) out.block(line)
      }
    )
  else {
    const applyPlan = () =>
      apply(plan, {
        connections: session.connections,
        settings,
        log: (line) => out.info(line),
        warn: (message) => out.warning(message),
        guard: (body, send) => session.referee.guard(body, send)
      })
    const applying = APPLYING[plan.kind]
    const done = await (applying ? session.phase(applying, applyPlan) : applyPlan())
    r.operation = done.operation
    r.connectionId = done.id
    r.etag = done.etag
  }
  out.info(outcomeLine(r))
  return r
}
