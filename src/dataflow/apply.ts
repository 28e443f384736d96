import { deleteExisting, updateExisting } from '../platform/changes.js'
import { ActionError, ApiError, StoredObjectError } from '../platform/errors.js'
import { createExactlyOne, markAdopted, type Outcome } from '../platform/exactly-one.js'
import {
  issueOf,
  pauseMs,
  type FlowApi,
  type FlowItem,
  type PatchOp
} from '../platform/flow-api.js'
import type { FlowObjects } from '../platform/flow-service.js'
import { refusedInUse } from '../platform/heal.js'
import { isDeleting } from '../platform/listing.js'
import type { Created, NamedBody } from '../platform/safe-create.js'
import * as z from '../platform/zod.js'
import { lazy } from '../platform/lazy.js'
import type { Objects } from './current.js'
import { createMappingSet, putMappingSet } from './data-prep.js'
import {
  asFlow,
  asSource,
  asTarget,
  flowOps,
  mappingChange,
  mappingOf,
  setEnabled,
  storedVersionIsNumber,
  targetSchemaId
} from './flows.js'
import {
  flowBody,
  mappingBody,
  mappingName,
  sourceBody,
  targetBody,
  type SourceBody
} from './payloads.js'
import type { PipelinePlan } from './plan.js'
import type { DataflowSettings, MappingItem } from './settings.js'

/*
 * Carries the plan out, in Adobe's order: source connection, target connection, mapping set,
 * dataflow (and the reverse when deleting). Every create goes through the shared exactly-one
 * path; every object made or found is recorded as soon as it exists, so a failure later still
 * names it in the outputs.
 */

/** One object of the pipeline as the outputs and the summary name it. */
export interface Step {
  id: string
  etag?: string
  /** what happened to it: created, unchanged, updated, adopted, replaced, deleted, absent */
  done: string
}

/** What exists so far: filled in as the run goes. */
export interface Progress {
  source?: Step
  target?: Step
  mapping?: Step & { version: number }
  flow?: Step
  /** The dataflow's id when this run deleted it (state absent). */
  deleted?: string
  /** The source and target connections this run deleted (state absent). */
  deletedConnections?: string[]
}

export interface Applying {
  objects: Objects
  settings: DataflowSettings
  items: MappingItem[]
  /** The description a create sends: the input, or the default provenance text. */
  description: string
  run: string
  now: () => number
  log: (line: string) => void
  warn: (line: string) => void
  progress: Progress
  /**
   * Called before each object's write once the first is done: throws when the runner has
   * cancelled the step, so a cancelled run finishes the object it started and starts no other.
   */
  checkpoint: () => void
}

/**
 * Creates one Flow Service object so that exactly one with its name remains. A copy a racing run
 * made is used when `fits` says it is the same object; otherwise the step fails naming it. A
 * failure once a copy exists records it (`record`), so the outputs still name it.
 */
async function createOne(
  a: Applying,
  objects: FlowObjects,
  body: NamedBody,
  fits: (item: FlowItem) => string | undefined,
  record: (step: Step) => void,
  create: () => Promise<Created> = () => objects.create(body)
): Promise<Outcome> {
  try {
    return await createOnce(a, objects, body, fits, create)
  } catch (e) {
    if (e instanceof StoredObjectError) record({ id: e.id, etag: e.etag, done: 'failed' })
    throw e
  }
}

function createOnce(
  a: Applying,
  objects: FlowObjects,
  body: NamedBody,
  fits: (item: FlowItem) => string | undefined,
  create: () => Promise<Created>
): Promise<Outcome> {
  return createExactlyOne({
    objects,
    name: body.name,
    create,
    adopt: async (item) => {
      const why = fits(item)
      if (why)
        throw new ActionError(
          `another run created ${objects.c.noun} "${body.name}" at the same time (id ${item.id}) ${why}; run the step again`
        )
      a.log(
        `another run created ${objects.c.noun} "${body.name}" at the same time (id ${item.id}): using it`
      )
      // Its mark says this run adopted it: its run, if still racing, keeps it (exactly-one.ts).
      const etag = await markAdopted(objects, item, a.log)
      return { operation: 'unchanged', id: item.id, etag: etag ?? '' }
    },
    log: a.log,
    warn: a.warn
  })
}

/** Deletes an object that should go; one already gone counts as deleted. */
async function remove(
  a: Applying,
  objects: FlowObjects,
  item: FlowItem,
  why: string
): Promise<void> {
  a.log(`deleting ${objects.c.noun} ${item.id}: ${why}`)
  await deleteExisting(objects, item, a.log)
}

/** Applies a plan to make the pipeline exist; the progress names what exists. */
export async function applyPresent(
  plan: Extract<PipelinePlan, { kind: 'present' }>,
  a: Applying
): Promise<void> {
  const { objects, settings: s, progress } = a
  const base = s.baseConnectionId ?? ''
  const table = s.table ?? ''
  // 1. Source connection.
  if (plan.source.do === 'keep')
    progress.source = {
      id: plan.source.item.id,
      etag: plan.source.item.etag,
      done: plan.source.adopted ? 'adopted' : 'unchanged'
    }
  else {
    if (plan.source.do === 'replace')
      await remove(
        a,
        objects.sources,
        plan.source.old,
        'an earlier run left it for another base connection or table, and no dataflow uses it'
      )
    const o = await createOne(
      a,
      objects.sources,
      sourceBody(s, a.description, base, table),
      (item) => {
        const x = asSource(item)
        return x.baseConnectionId === base && x.params?.tableName === table
          ? undefined
          : 'for another base connection or table'
      },
      (step) => (progress.source = step),
      () => createSource(a, sourceBody(s, a.description, base, table))
    )
    progress.source = {
      id: o.id,
      etag: o.etag,
      done: plan.source.do === 'replace' ? 'replaced' : 'created'
    }
  }
  // 2. Target connection.
  if (plan.target.do === 'keep')
    progress.target = {
      id: plan.target.item.id,
      etag: plan.target.item.etag,
      done: plan.target.adopted ? 'adopted' : 'unchanged'
    }
  else {
    const ds = plan.dataset
    if (!ds) throw new ActionError('internal: no dataset for the target connection')
    a.checkpoint()
    if (plan.target.do === 'replace')
      await remove(
        a,
        objects.targets,
        plan.target.old,
        'an earlier run left it for another dataset, and no dataflow uses it'
      )
    const o = await createOne(
      a,
      objects.targets,
      targetBody(s, a.description, ds),
      (item) => {
        const x = asTarget(item)
        return x.params?.dataSetId === ds.id && targetSchemaId(x) === ds.schemaId
          ? undefined
          : 'for another dataset'
      },
      (step) => (progress.target = step)
    )
    progress.target = {
      id: o.id,
      etag: o.etag,
      done: plan.target.do === 'replace' ? 'replaced' : 'created'
    }
  }
  // 3. Mapping set.
  const m = plan.mapping
  let repointed: { id: string; version: number } | undefined
  if (m.do === 'keep')
    progress.mapping = { id: m.id, version: m.version, done: m.adopted ? 'adopted' : 'unchanged' }
  else if (m.do === 'create') {
    a.checkpoint()
    const made = await createMappingSet(
      objects.api,
      mappingBody(mappingName(s), m.schemaId, a.items),
      a.run
    )
    progress.mapping = { id: made.id, version: made.version, done: 'created' }
  } else {
    a.checkpoint()
    a.log(`mapping set ${m.id}: the mappings changed (${m.diff.join('; ')}); replacing them`)
    const put = await putMappingSet(
      objects.api,
      m.id,
      mappingBody(mappingName(s), m.schemaId, a.items),
      m.version
    )
    // The outputs name the version the dataflow uses: the new one once it is re-pointed.
    progress.mapping = {
      id: m.id,
      version: m.version,
      done: `updated to version ${put.version}; the dataflow still uses version ${m.version}`
    }
    repointed = { id: m.id, version: put.version }
  }
  // 4. Dataflow.
  const mapping = repointed ?? progress.mapping
  const ids = { source: progress.source.id, target: progress.target.id }
  if (plan.flow.do === 'create') {
    a.checkpoint()
    const body = (asNumber: boolean) => flowBody(s, a.description, ids, mapping, a.now, asNumber)
    const o = await createOne(
      a,
      objects.flows,
      body(false),
      (item) => {
        const f = asFlow(item)
        return f.sourceConnectionIds?.[0] === ids.source &&
          f.targetConnectionIds?.[0] === ids.target
          ? undefined
          : 'with other source or target connections'
      },
      (step) => (progress.flow = step),
      () => createFlow(a, body)
    )
    progress.flow = {
      id: o.id,
      etag: o.etag,
      done: o.operation === 'created' ? 'created' : 'adopted'
    }
    let racersMapping = false
    if (o.operation !== 'created') {
      // Another run's dataflow, made at the same time, was kept: the outputs name the mapping
      // set and version it uses, which may be that run's, not this run's.
      const used = mappingOf(asFlow(await objects.flows.get(o.id)))
      if (used && (used.id !== mapping.id || used.version !== mapping.version)) {
        a.warn(
          `the dataflow a racing run made is kept (id ${o.id}); it uses mapping set ${used.id} version ${used.version}, not this run's (${mapping.id} version ${mapping.version}): run the step again to apply this run's mapping file`
        )
        progress.mapping = {
          id: used.id,
          version: used.version,
          done: 'used by the racing run’s dataflow'
        }
        racersMapping = true
      }
    }
    // A new dataflow uses the set's new version from the start.
    if (repointed && !racersMapping)
      progress.mapping = {
        ...repointed,
        done: `${m.do === 'update' && m.adopted ? 'adopted, ' : ''}updated to version ${repointed.version}`
      }
    // Adobe enables a dataflow it creates.
    if (!s.enabled) {
      const etag = await setEnabled(objects.api, o.id, false)
      progress.flow = {
        ...progress.flow,
        etag: etag ?? progress.flow.etag,
        done: `${progress.flow.done}, disabled`
      }
    }
    return
  }
  const flow = plan.flow
  const repoint = m.do === 'update'
  let etag = flow.item.etag
  const changes: string[] = []
  if (flow.ops.length > 0 || repoint) {
    a.checkpoint()
    // mappingVersion goes in the type the stored flow has (a string unless a create fell back to a
    // number); a 400 naming mappingVersion is sent once more with the other type.
    let asNumber = storedVersionIsNumber(asFlow(flow.item))
    const patch = () =>
      updateExisting(
        objects.flows,
        flow.item,
        (from, ifMatch) => {
          // Recomputed from each fresh read (transformations are found by name; indexes vary).
          // The Mapping is re-pointed first: a Copy added at index 0 after it would shift it.
          const current = asFlow(from)
          const ops: PatchOp[] = [
            ...(repoint ? [mappingChange(current, mapping, asNumber)] : []),
            ...flowOps(current, s)
          ]
          return objects.flows.update(flow.item.id, ifMatch, ops)
        },
        a.log
      )
    let updated: Awaited<ReturnType<typeof patch>>
    try {
      updated = await patch()
    } catch (e) {
      if (
        !repoint ||
        !(e instanceof ApiError) ||
        e.status !== 400 ||
        !/mappingVersion/i.test(e.message)
      )
        throw e
      asNumber = !asNumber
      a.log(
        `updating the dataflow: Flow Service refused mappingVersion as a ${asNumber ? 'string' : 'number'} (HTTP 400); sending it as a ${asNumber ? 'number' : 'string'}`
      )
      updated = await patch()
    }
    etag = updated.etag || etag
    changes.push('updated')
    if (repointed)
      progress.mapping = { ...repointed, done: `updated to version ${repointed.version}` }
  }
  if (flow.enable !== undefined) {
    a.checkpoint()
    etag =
      (await setEnabled(objects.api, flow.item.id, flow.enable)) ??
      (await objects.flows.get(flow.item.id)).etag ??
      etag
    changes.push(flow.enable ? 'enabled' : 'disabled')
  }
  progress.flow = { id: flow.item.id, etag, done: changes.join(', ') || 'unchanged' }
}

/**
 * The dataflow's create. mappingVersion goes as a string (the API description and the flow spec);
 * a 400 that names mappingVersion is sent once more with a number, as Adobe's tutorials write it.
 */
async function createFlow(a: Applying, body: (asNumber: boolean) => NamedBody): Promise<Created> {
  try {
    return await a.objects.flows.create(body(false))
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 400 || !/mappingVersion/i.test(e.message)) throw e
    a.log(
      'creating the dataflow: Flow Service refused mappingVersion as a string (HTTP 400); sending it as a number'
    )
    return a.objects.flows.create(body(true))
  }
}

/**
 * The source connection's create. Adobe's tutorials send the table's columns in params; its API
 * description does not require them, so they are left out, and read from the base connection
 * (explore) and sent once more only when Flow Service refuses the create naming columns.
 */
async function createSource(a: Applying, body: SourceBody): Promise<Created> {
  try {
    return await a.objects.sources.create(body)
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 400 || !/columns/i.test(e.message)) throw e
    a.log(
      "creating the source connection: Flow Service asks for the table's columns (HTTP 400); reading them from the base connection"
    )
    const columns = await tableColumns(a.objects.api, body.baseConnectionId, body.params.tableName)
    const withColumns: SourceBody = { ...body, params: { ...body.params, columns } }
    return a.objects.sources.create(withColumns)
  }
}

const ColumnsSchema = lazy(() =>
  z.looseObject({
    schema: z.looseObject({ columns: z.array(z.looseObject({ name: z.string() })) })
  })
)

/** A table's columns as the base connection's explore describes them (name, type, xdm). */
async function tableColumns(api: FlowApi, base: string, table: string): Promise<unknown[]> {
  const label = "reading the table's columns"
  const url = `${api.base}/connections/${encodeURIComponent(base)}/explore?objectType=table&object=${encodeURIComponent(table)}`
  const r = await api.send(label, 'GET', url)
  if (r.kind !== 'response' || r.res.status !== 200) api.fail(label, r)
  const parsed = ColumnsSchema().safeParse(api.json(label, r))
  if (!parsed.success)
    throw new ActionError(`${label} failed: malformed response (${issueOf(parsed.error)})`)
  return parsed.data.schema.columns
}

/** How long, at most, a deleted object may take to go (a dataflow before its connections). */
export const GONE_WAIT_MS = 30_000

/** Deletes the dataflow, waits for it to go, then its source and target connections. */
export async function applyAbsent(
  plan: Extract<PipelinePlan, { kind: 'absent' }>,
  a: Applying
): Promise<void> {
  const { objects, progress } = a
  if (plan.flow) {
    await deleteExisting(objects.flows, plan.flow, a.log)
    // Deleted now, or already being deleted (1458): either way it is the one that goes.
    progress.deleted = plan.flow.id
    await untilGone(
      a,
      objects.flows,
      plan.flow.id,
      'so its source and target connections were left'
    )
  }
  for (const c of plan.connections) {
    const coll = c.what === 'source' ? objects.sources : objects.targets
    const item = await coll.getIfExists(c.id)
    if (!item) continue
    a.checkpoint()
    try {
      await remove(
        a,
        coll,
        item,
        c.byName ? 'made by this action for this dataflow' : 'its dataflow is deleted'
      )
    } catch (e) {
      // One found by name that another dataflow uses stays: it is not this dataflow's.
      if (!c.byName || !refusedInUse(e)) throw e
      a.warn(`${coll.c.noun} ${c.id} stays: Flow Service refuses to delete it, a dataflow uses it`)
      continue
    }
    // A DELETE answered 200 must not be taken at its word: "deleted" names what is gone.
    await untilGone(a, coll, c.id, 'so it was not counted as deleted')
    progress.deletedConnections = [...(progress.deletedConnections ?? []), c.id]
  }
  const set = plan.flow ? mappingOf(asFlow(plan.flow)) : undefined
  a.log(
    `${set ? `mapping set ${set.id} stays` : 'mapping sets stay'}: Adobe\u2019s API has no DELETE for them (they cost nothing unused)`
  )
}

/** Flow Service may delete in the background: read the object by id until it is gone (bounded). */
async function untilGone(
  a: Applying,
  objects: FlowObjects,
  id: string,
  consequence: string
): Promise<void> {
  const { noun } = objects.c
  let waited = 0
  for (let n = 1; ; n++) {
    const item = await objects.getIfExists(id)
    // Being deleted counts as gone: Flow Service finishes it in the background.
    if (!item || isDeleting(item.state)) return
    const wait = pauseMs(n)
    const why = `${noun} ${id} is still there`
    if (
      waited + wait > GONE_WAIT_MS ||
      !(await objects.pause(`deleting the ${noun}`, n, why, 'checking again'))
    )
      throw new ActionError(
        `${noun} ${id} was deleted but can still be read after ${(waited / 1000).toFixed(1)} s, ${consequence}: run the step again`
      )
    waited += wait
  }
}
