import { ActionError } from '../platform/errors.js'
import type { FlowItem, PatchOp } from '../platform/flow-api.js'
import type { FlowObjects } from '../platform/flow-service.js'
import { heal } from '../platform/heal.js'
import { adoptedDescription } from '../platform/marker.js'
import type { Operation } from '../platform/operation.js'
import { redactAuth, type CreateBody } from './payload.js'
import type { Settings } from './settings.js'

export type Plan =
  | { kind: 'create'; body: CreateBody }
  | { kind: 'update'; existing: FlowItem; ops: PatchOp[]; body: CreateBody }
  | { kind: 'reuse'; existing: FlowItem }
  | { kind: 'delete'; existing: FlowItem }
  | { kind: 'absent' }

/**
 * Decides what to do from the settings and the connections found by name. Pure.
 * `body` is the create body (absent when state is absent).
 */
export function decide(s: Settings, found: FlowItem[], body: CreateBody | undefined): Plan {
  if (found.length > 1) throw duplicatesError(s.connectionName, found)
  const [existing] = found
  if (s.state === 'absent') return existing ? { kind: 'delete', existing } : { kind: 'absent' }
  if (!body) throw new ActionError('internal: no connection payload to apply')
  if (!existing) return { kind: 'create', body }
  switch (s.ifExists) {
    case 'fail':
      throw new ActionError(
        `a connection named "${s.connectionName}" already exists in sandbox ${s.sandboxName} (id ${existing.id}) and if-exists is fail`
      )
    case 'reuse':
      return { kind: 'reuse', existing }
    case 'update': {
      const specName = existing.auth?.specName
      if (specName && specName !== body.auth.specName)
        throw new ActionError(
          `the existing connection (id ${existing.id}) uses "${specName}" but auth-type asks for "${body.auth.specName}"; ` +
            'Flow Service cannot change a connection’s auth type in place: set auth-type to match, or delete the connection (state: absent) and run again'
        )
      return { kind: 'update', existing, ops: patchOps(existing, body), body }
    }
  }
}

/**
 * The JSON Patch for an update. Secrets come back masked from Flow Service, so they cannot be
 * compared: the credentials are always replaced, the description only when it changed (the mark
 * the create left at its end is not part of it, and is kept) or when its mark does not yet say
 * that a later run adopted the copy (marker.ts: a run still racing then keeps it).
 */
export function patchOps(existing: FlowItem, body: CreateBody): PatchOp[] {
  const ops: PatchOp[] = [{ op: 'replace', path: '/auth/params', value: body.auth.params }]
  const description = adoptedDescription(body.description, existing.description)
  if (description !== undefined)
    ops.push({
      op: existing.description === undefined ? 'add' : 'replace',
      path: '/description',
      value: description
    })
  return ops
}

/** The operation a plan reports, live or as a dry run. */
export function operationOf(plan: Plan, dryRun: boolean): Operation {
  switch (plan.kind) {
    case 'create':
      return dryRun ? 'would-create' : 'created'
    case 'update':
      return dryRun ? 'would-update' : 'updated'
    case 'reuse':
      return 'unchanged'
    case 'delete':
      return dryRun ? 'would-delete' : 'deleted'
    case 'absent':
      return 'absent'
  }
}

/**
 * The request a plan would send, for the dry-run log: secrets shown as ***. Built from the
 * structure (never by searching strings), so nothing secret can slip through.
 */
export function describePlan(plan: Plan, base: string): string[] {
  switch (plan.kind) {
    case 'create':
      return [
        `POST ${base}/connections`,
        JSON.stringify({ ...plan.body, auth: redactAuth(plan.body.auth) }, null, 2)
      ]
    case 'update':
      return [
        `PATCH ${base}/connections/${plan.existing.id}`,
        `If-Match: ${plan.existing.etag ?? '(etag from a fresh read)'}`,
        JSON.stringify(
          plan.ops.map((o) =>
            o.path === '/auth/params' ? { ...o, value: redactAuth(plan.body.auth).params } : o
          ),
          null,
          2
        )
      ]
    case 'delete':
      return [`DELETE ${base}/connections/${plan.existing.id}`]
    case 'reuse':
      return [`no request: the connection exists (id ${plan.existing.id}) and if-exists is reuse`]
    case 'absent':
      return ['no request: no connection with this name exists']
  }
}

/** What looking up and deciding needs from the session (see session.ts). */
export interface Planning {
  connections: FlowObjects
  referee: { vetPlan(plan: Plan, s: Settings): Promise<Plan> }
  phase<T>(title: string, fn: () => Promise<T>): Promise<T>
}

/**
 * The plan step: the live connections with the name (lookup.ts); several made by this action are
 * healed down to one (heal.ts); what to do about it (decide), checked against the live
 * connection spec where that can help (connection-spec.ts).
 */
export async function planStep(
  session: Planning,
  settings: Settings,
  body: CreateBody | undefined,
  log: (line: string) => void,
  warn: (line: string) => void
): Promise<Plan> {
  log(
    `Looking up PostgreSQL connection "${settings.connectionName}" in sandbox ${settings.sandboxName}`
  )
  return session.phase('looking up the connection', async () => {
    let live = await session.connections.findLive(settings.connectionName, log)
    if (live.length > 1) {
      const kept = await heal(
        {
          objects: session.connections,
          name: settings.connectionName,
          dryRun: settings.dryRun,
          log,
          warn
        },
        live
      )
      live = kept ? [kept] : []
    }
    return session.referee.vetPlan(decide(settings, live, body), settings)
  })
}

export function duplicatesError(name: string, items: FlowItem[]): ActionError {
  return new ActionError(
    `${items.length} PostgreSQL connections are named "${name}" in this sandbox (ids ${items
      .map((i) => i.id)
      .join(', ')}); delete all but one, then run again`
  )
}
