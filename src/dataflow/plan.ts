import { ActionError } from '../platform/errors.js'
import type { FlowItem, PatchOp } from '../platform/flow-api.js'
import { madeByThisAction } from '../platform/marker.js'
import type { Operation } from '../platform/operation.js'
import type { Dataset } from './catalog.js'
import type { Current } from './current.js'
import type { StoredMappingSet } from './data-prep.js'
import {
  flowOps,
  isEnabled,
  targetSchemaId,
  type StoredSource,
  type StoredTarget
} from './flows.js'
import { mappingDiff, sourceName, targetName, toMappings, type Mapping } from './payloads.js'
import type { DataflowSettings, MappingItem } from './settings.js'

/*
 * What to do with each of the four objects, decided from what exists (current.ts) and the
 * inputs, before anything is sent. A dataflow whose base connection, table or dataset differs
 * from the inputs is refused here: Adobe says not to change a dataflow's source or target in
 * place, so the two ways out are deleting it first or giving a new name.
 */

export type SourcePlan =
  | { do: 'create' }
  | { do: 'keep'; item: StoredSource & FlowItem; adopted?: boolean }
  | { do: 'replace'; old: StoredSource & FlowItem }
export type TargetPlan =
  | { do: 'create' }
  | { do: 'keep'; item: StoredTarget & FlowItem; adopted?: boolean }
  | { do: 'replace'; old: StoredTarget & FlowItem }
export type MappingPlan =
  | { do: 'create'; schemaId: string }
  | { do: 'keep'; id: string; version: number; adopted?: boolean }
  | {
      do: 'update'
      id: string
      version: number
      schemaId: string
      diff: string[]
      adopted?: boolean
    }
export type FlowPlan =
  | { do: 'create' }
  | {
      do: 'change'
      item: FlowItem
      /** PATCH operations other than the Mapping transformation's version. */
      ops: PatchOp[]
      /** enable (true) or disable (false) the dataflow; undefined: as it is. */
      enable?: boolean
    }

/** A connection to delete; byName: found by its name only, not named by the dataflow. */
export interface PipelineConnection {
  what: 'source' | 'target'
  id: string
  byName: boolean
}

export type PipelinePlan =
  | {
      kind: 'present'
      source: SourcePlan
      target: TargetPlan
      mapping: MappingPlan
      flow: FlowPlan
      /** The dataset, when it had to be read (a create, or dataset-name). */
      dataset?: Dataset
      mappings: Mapping[]
    }
  | {
      kind: 'absent'
      flow?: FlowItem
      /** Source and target connections to delete after the dataflow: its own and any by name. */
      connections: PipelineConnection[]
    }

/** What the step does (or would do) overall: the operation output. */
export function operationOf(plan: PipelinePlan, dryRun: boolean): Operation {
  if (plan.kind === 'absent') {
    const any = plan.flow !== undefined || plan.connections.length > 0
    return any ? (dryRun ? 'would-delete' : 'deleted') : 'absent'
  }
  const creates = plan.flow.do === 'create'
  const changes =
    plan.flow.do === 'change' && (plan.flow.ops.length > 0 || plan.flow.enable !== undefined)
  const others =
    plan.source.do !== 'keep' || plan.target.do !== 'keep' || plan.mapping.do !== 'keep'
  if (creates) return dryRun ? 'would-create' : 'created'
  if (changes || others) return dryRun ? 'would-update' : 'updated'
  return 'unchanged'
}

/** What the outputs of a dry run name: the objects that exist (nothing is made). */
export function existingOf(plan: PipelinePlan): {
  source?: { id: string; etag?: string; done: string }
  target?: { id: string; etag?: string; done: string }
  mapping?: { id: string; version: number; done: string }
  flow?: { id: string; etag?: string; done: string }
} {
  if (plan.kind === 'absent')
    return plan.flow
      ? { flow: { id: plan.flow.id, etag: plan.flow.etag, done: 'would be deleted' } }
      : {}
  const keep = (x: { id: string; etag?: string }) => ({ id: x.id, etag: x.etag, done: 'exists' })
  return {
    ...(plan.source.do === 'keep' ? { source: keep(plan.source.item) } : {}),
    ...(plan.target.do === 'keep' ? { target: keep(plan.target.item) } : {}),
    ...(plan.mapping.do !== 'create'
      ? { mapping: { id: plan.mapping.id, version: plan.mapping.version, done: 'exists' } }
      : {}),
    ...(plan.flow.do === 'change' ? { flow: keep(plan.flow.item) } : {})
  }
}

/** What a run did overall, from what happened to each object (a racing copy may change it). */
export function operationDone(
  p: {
    source?: { done: string }
    target?: { done: string }
    mapping?: { done: string }
    flow?: { done: string }
    deleted?: string
    deletedConnections?: string[]
  },
  kind: PipelinePlan['kind']
): Operation {
  if (kind === 'absent') return p.deleted || p.deletedConnections?.length ? 'deleted' : 'absent'
  if (p.flow?.done.startsWith('created')) return 'created'
  const steps = [p.source, p.target, p.mapping, p.flow]
  return steps.every((x) => x === undefined || x.done === 'unchanged' || x.done === 'adopted')
    ? 'unchanged'
    : 'updated'
}

interface Deciding {
  /** The dataset, read from Catalog on first use (only when needed). */
  dataset: () => Promise<Dataset>
  /**
   * Whether a dataflow uses a connection (undefined: cannot tell); asked only for connections
   * found by name that state absent would delete. Without it, none is taken as used.
   */
  inUse?: (what: 'source' | 'target', id: string) => Promise<boolean | undefined>
  warn?: (line: string) => void
}

/** The source's and target's identity as the inputs want it, compared with what is stored. */
async function differences(s: DataflowSettings, c: Current, d: Deciding): Promise<string[]> {
  const out: string[] = []
  const source = c.source
  if (source && source.baseConnectionId !== s.baseConnectionId)
    out.push(
      `base-connection-id: it reads from base connection ${source.baseConnectionId ?? '(none)'}, the input says ${s.baseConnectionId}`
    )
  if (source && source.params?.tableName !== s.table)
    out.push(
      `table: it reads table ${source.params?.tableName ?? '(none)'}, the input says ${s.table}`
    )
  const stored = c.target?.params?.dataSetId
  if (c.target && s.dataset) {
    const wanted = 'id' in s.dataset ? s.dataset.id : (await d.dataset()).id
    if (stored !== wanted)
      out.push(
        `${'id' in s.dataset ? 'dataset-id' : 'dataset-name'}: it writes to dataset ${stored ?? '(none)'}, the input names dataset ${wanted}`
      )
  }
  return out
}

/** A source connection found by name (no dataflow yet): adopted when it matches the inputs. */
function orphanPlan<T extends FlowItem>(
  found: T | undefined,
  matches: boolean,
  name: string,
  noun: string,
  why: string
): { do: 'create' } | { do: 'keep'; item: T; adopted: true } | { do: 'replace'; old: T } {
  if (!found) return { do: 'create' }
  if (matches) return { do: 'keep', item: found, adopted: true }
  if (madeByThisAction(found)) return { do: 'replace', old: found }
  throw new ActionError(
    `a ${noun} named "${name}" exists (id ${found.id}) for ${why}, and this action did not make it: delete it, or give another dataflow-name`
  )
}

/** Decides what happens to each object. Only reads (the dataset, when needed). */
export async function decide(
  s: DataflowSettings,
  items: MappingItem[],
  c: Current,
  d: Deciding
): Promise<PipelinePlan> {
  if (s.state === 'absent') {
    const connections: PipelineConnection[] = []
    const add = (what: 'source' | 'target', id: string | undefined, byName = false) => {
      if (id && !connections.some((x) => x.id === id)) connections.push({ what, id, byName })
    }
    add('source', c.flow?.sourceConnectionIds?.[0])
    add('target', c.flow?.targetConnectionIds?.[0])
    add('source', c.source?.id)
    add('target', c.target?.id)
    // Found by name only: deleted when this action made them (a run that failed before its
    // dataflow); one made by hand, or for another pipeline, is not this dataflow's to delete.
    const byName = [
      ...(c.named?.sources ?? []).map((item) => ({ what: 'source' as const, item })),
      ...(c.named?.targets ?? []).map((item) => ({ what: 'target' as const, item }))
    ]
    for (const { what, item } of byName) {
      if (!madeByThisAction(item) || connections.some((x) => x.id === item.id)) continue
      // One another dataflow uses is not this dataflow's: it stays (a dry run says so too).
      if (await d.inUse?.(what, item.id)) {
        d.warn?.(`${what} connection ${item.id} stays: a dataflow uses it`)
        continue
      }
      add(what, item.id, true)
    }
    return { kind: 'absent', ...(c.flow ? { flow: c.flow } : {}), connections }
  }
  const mappings = toMappings(items)
  let dataset: Dataset | undefined
  const readDataset = async () => (dataset ??= await d.dataset())
  if (c.flow) {
    const id = c.flow.id
    if (s.ifExists === 'fail')
      throw new ActionError(
        `a dataflow named "${s.dataflowName}" already exists in sandbox ${s.sandboxName} (id ${id}) and if-exists is fail`
      )
    if (!c.source || !c.target)
      throw new ActionError(
        `dataflow "${s.dataflowName}" (id ${id}) uses a ${c.source ? 'target' : 'source'} connection that cannot be read (gone, or not this kind): delete the dataflow (state: absent) and run again`
      )
    const diff = await differences(s, c, { dataset: readDataset })
    if (diff.length > 0)
      throw new ActionError(
        `dataflow "${s.dataflowName}" (id ${id}) cannot take these inputs in place (Adobe: a dataflow keeps the source and target it was created with): ${diff.join('; ')}. Either delete it first (state: absent, then run again with state: present), or give a new dataflow-name`
      )
    const keepSource: SourcePlan = { do: 'keep', item: c.source }
    const keepTarget: TargetPlan = { do: 'keep', item: c.target }
    if (!c.mapping)
      throw new ActionError(
        `dataflow "${s.dataflowName}" (id ${id}) has no mapping set this action can read: delete it (state: absent) and run again`
      )
    if (s.ifExists === 'reuse')
      return {
        kind: 'present',
        source: keepSource,
        target: keepTarget,
        mapping: { do: 'keep', id: c.mapping.id, version: c.mapping.version },
        flow: { do: 'change', item: c.flow, ops: [] },
        ...(dataset ? { dataset } : {}),
        mappings
      }
    const changed = mappingDiff(c.mapping.mappings, mappings)
    const schemaId =
      c.mapping.schemaId ?? targetSchemaId(c.target) ?? (await readDataset()).schemaId
    const mapping: MappingPlan =
      changed.length > 0
        ? { do: 'update', id: c.mapping.id, version: c.mapping.version, schemaId, diff: changed }
        : { do: 'keep', id: c.mapping.id, version: c.mapping.version }
    const ops = flowOps(c.flow, s)
    const enable = isEnabled(c.flow) === s.enabled ? undefined : s.enabled
    return {
      kind: 'present',
      source: keepSource,
      target: keepTarget,
      mapping,
      flow: { do: 'change', item: c.flow, ops, ...(enable !== undefined ? { enable } : {}) },
      ...(dataset ? { dataset } : {}),
      mappings
    }
  }
  // No dataflow yet: everything is made, connections an earlier run left adopted.
  const ds = await readDataset()
  const source = orphanPlan(
    c.source,
    c.source?.baseConnectionId === s.baseConnectionId && c.source?.params?.tableName === s.table,
    sourceName(s),
    'source connection',
    `base connection ${c.source?.baseConnectionId ?? '(none)'}, table ${c.source?.params?.tableName ?? '(none)'}`
  )
  const target = orphanPlan(
    c.target,
    c.target?.params?.dataSetId === ds.id && targetSchemaId(c.target) === ds.schemaId,
    targetName(s),
    'target connection',
    `dataset ${c.target?.params?.dataSetId ?? '(none)'}`
  )
  return {
    kind: 'present',
    source,
    target,
    mapping: leftMappingPlan(c.leftMapping, ds.schemaId, mappings),
    flow: { do: 'create' },
    dataset: ds,
    mappings
  }
}

/**
 * A mapping set an earlier run made and left unused is taken (its mappings replaced when they
 * differ) rather than another made; one for another schema is not.
 */
function leftMappingPlan(
  left: StoredMappingSet | undefined,
  schemaId: string,
  mappings: Mapping[]
): MappingPlan {
  if (!left || left.schemaId !== schemaId) return { do: 'create', schemaId }
  const diff = mappingDiff(left.mappings, mappings)
  return diff.length > 0
    ? { do: 'update', id: left.id, version: left.version, schemaId, diff, adopted: true }
    : { do: 'keep', id: left.id, version: left.version, adopted: true }
}
