import { ActionError, apiError } from '../platform/errors.js'
import {
  CONNECTION_ID,
  ConnectionIdSchema,
  EtagSchema,
  issueOf,
  readIdEtag,
  type FlowApi,
  type FlowItem,
  type PatchOp
} from '../platform/flow-api.js'
import { adoptedDescription, keepingMark, stripMark } from '../platform/marker.js'
import * as z from '../platform/zod.js'
import { lazy } from '../platform/lazy.js'
import { copyTransformation, mappingTransformation, type Transformation } from './payloads.js'
import type { Schedule } from './settings.js'

/*
 * What the action reads of a stored dataflow and its connections, and what it sends to change a
 * dataflow in place: a JSON Patch (description, schedule, delta column, the Mapping
 * transformation found by name) and the enable/disable action.
 */

const ids = () => z.array(ConnectionIdSchema())

const TransformationSchema = lazy(() =>
  z.looseObject({
    name: z.string(),
    params: z.optional(z.record(z.string(), z.unknown()))
  })
)

const FlowSchema = lazy(() =>
  z.looseObject({
    id: ConnectionIdSchema(),
    name: z.optional(z.string()),
    description: z.optional(z.string()),
    etag: z.optional(EtagSchema()),
    state: z.optional(z.string()),
    sourceConnectionIds: z.optional(ids()),
    targetConnectionIds: z.optional(ids()),
    transformations: z.optional(z.array(TransformationSchema())),
    scheduleParams: z.optional(
      z.looseObject({
        frequency: z.optional(z.string()),
        interval: z.optional(z.union([z.number(), z.string()])),
        startTime: z.optional(z.union([z.number(), z.string()])),
        backfill: z.optional(z.union([z.boolean(), z.string()]))
      })
    )
  })
)
export type StoredFlow = z.infer<ReturnType<typeof FlowSchema>>

const SourceSchema = lazy(() =>
  z.looseObject({
    id: z.string(),
    baseConnectionId: z.optional(z.string()),
    description: z.optional(z.string()),
    params: z.optional(z.looseObject({ tableName: z.optional(z.string()) }))
  })
)
export type StoredSource = z.infer<ReturnType<typeof SourceSchema>>

const TargetSchema = lazy(() =>
  z.looseObject({
    id: z.string(),
    description: z.optional(z.string()),
    params: z.optional(z.looseObject({ dataSetId: z.optional(z.string()) })),
    data: z.optional(
      z.looseObject({ schema: z.optional(z.looseObject({ id: z.optional(z.string()) })) })
    ),
    // Some readers see the schema as schemaId (aepp reads either).
    schemaId: z.optional(z.string())
  })
)
export type StoredTarget = z.infer<ReturnType<typeof TargetSchema>>

function parse<T>(schema: z.ZodMiniType<T>, item: FlowItem, what: string): T {
  const parsed = schema.safeParse(item)
  if (!parsed.success)
    throw new ActionError(
      `reading the ${what} failed: malformed response (${issueOf(parsed.error)})`
    )
  return parsed.data
}

export const asFlow = (item: FlowItem): StoredFlow => parse(FlowSchema(), item, 'dataflow')
export const asSource = (item: FlowItem): StoredSource =>
  parse(SourceSchema(), item, 'source connection')
export const asTarget = (item: FlowItem): StoredTarget =>
  parse(TargetSchema(), item, 'target connection')
export const targetSchemaId = (t: StoredTarget) => t.data?.schema?.id ?? t.schemaId

/** The Mapping transformation's set and version; undefined when the flow has none. */
export function mappingOf(
  flow: StoredFlow
): { index: number; id: string; version: number } | undefined {
  const index = (flow.transformations ?? []).findIndex((t) => t.name === 'Mapping')
  const t = flow.transformations?.[index]
  const id = t?.params?.mappingId
  const version = Number(t?.params?.mappingVersion)
  // The id goes into a request path: only an id-like one is taken (not "..", not "a/b").
  if (index < 0 || typeof id !== 'string' || !CONNECTION_ID.test(id) || !Number.isInteger(version))
    return undefined
  return { index, id, version }
}

/** Whether the stored flow's Mapping carries mappingVersion as a number (not the spec's string). */
export function storedVersionIsNumber(flow: StoredFlow): boolean {
  const t = (flow.transformations ?? []).find((x) => x.name === 'Mapping')
  return typeof t?.params?.mappingVersion === 'number'
}

/** The Copy transformation's delta column; undefined when the flow has none. */
export function deltaOf(flow: StoredFlow): { index: number; column?: string } | undefined {
  const index = (flow.transformations ?? []).findIndex((t) => t.name === 'Copy')
  if (index < 0) return undefined
  const delta = flow.transformations?.[index]?.params?.deltaColumn as { name?: unknown } | undefined
  return { index, ...(typeof delta?.name === 'string' ? { column: delta.name } : {}) }
}

/** The schedule as stored differs from the wanted one (frequency and interval; compared loosely). */
export function scheduleChanges(flow: StoredFlow, wanted: Schedule): PatchOp[] {
  const stored = flow.scheduleParams ?? {}
  const ops: PatchOp[] = []
  if ((stored.frequency ?? '').toLowerCase() !== wanted.frequency)
    ops.push({
      op: stored.frequency === undefined ? 'add' : 'replace',
      path: '/scheduleParams/frequency',
      value: wanted.frequency
    })
  if (wanted.frequency === 'once') {
    // Adobe refuses interval and backfill with once, and its patchFlow description requires a
    // value on every op (no bare remove): the schedule is replaced whole, its start time kept.
    if (ops.length === 0 && stored.interval === undefined && stored.backfill === undefined)
      return []
    const start = Number(stored.startTime)
    return [
      {
        op: 'replace',
        path: '/scheduleParams',
        value: {
          ...(stored.startTime === undefined
            ? {}
            : { startTime: Number.isFinite(start) ? start : stored.startTime }),
          frequency: 'once'
        }
      }
    ]
  } else if (String(stored.interval ?? '') !== String(wanted.interval))
    ops.push({
      op: stored.interval === undefined ? 'add' : 'replace',
      path: '/scheduleParams/interval',
      value: wanted.interval
    })
  return ops
}

/** A changed delta column: the Copy transformation replaced (or added first when there is none). */
export function deltaChanges(flow: StoredFlow, column: string | undefined): PatchOp[] {
  if (!column) return []
  const copy = deltaOf(flow)
  if (copy?.column === column) return []
  return copy
    ? [{ op: 'replace', path: `/transformations/${copy.index}`, value: copyTransformation(column) }]
    : [{ op: 'add', path: '/transformations/0', value: copyTransformation(column) }]
}

/** The Mapping transformation, found by name (its index varies), pointed at another version. */
export function mappingChange(
  flow: StoredFlow,
  set: { id: string; version: number },
  asNumber = false
): PatchOp {
  const m = mappingOf(flow)
  if (!m)
    throw new ActionError(
      `dataflow ${flow.id} has no Mapping transformation to point at mapping set ${set.id}`
    )
  const value: Transformation = mappingTransformation(set.id, set.version, asNumber)
  return { op: 'replace', path: `/transformations/${m.index}`, value }
}

/** A description the user gave that differs from the stored one (the create's mark kept). */
export function descriptionChange(
  stored: string | undefined,
  wanted: string | undefined
): PatchOp[] {
  if (wanted === undefined || wanted === stripMark(stored)) return []
  return [
    {
      op: stored === undefined ? 'add' : 'replace',
      path: '/description',
      value: keepingMark(wanted, stored)
    }
  ]
}

/** Whether the stored dataflow runs: Flow Service says enabled or disabled. */
export const isEnabled = (flow: StoredFlow) => flow.state?.toLowerCase() !== 'disabled'

/**
 * Enables or disables a dataflow (POST /flows/{id}/action?op=enable|disable, as Adobe's tutorials
 * write it). A 1422 refusal (the flow is already in that state) counts as done. Returns the
 * flow's new etag when the answer has one.
 */
export async function setEnabled(
  api: FlowApi,
  id: string,
  enabled: boolean
): Promise<string | undefined> {
  const op = enabled ? 'enable' : 'disable'
  const label = `${enabled ? 'enabling' : 'disabling'} the dataflow`
  const a = await api.send(
    label,
    'POST',
    `${api.base}/flows/${encodeURIComponent(id)}/action?op=${op}`
  )
  if (a.kind === 'response' && a.res.status >= 200 && a.res.status < 300)
    return readIdEtag(a.res.text)?.etag
  if (a.kind === 'response' && a.res.status === 400) {
    const e = apiError(label, a, api.o.tokens.given)
    if (e.code === '1422-400') return undefined
    throw e
  }
  api.fail(label, a)
}

/**
 * The PATCH that makes a stored dataflow's description, schedule and delta column the wanted
 * ones, from that read of it (recomputed from each fresh read: indexes vary). A PATCH that is sent
 * anyway also says in the create's mark that a later run adopted the dataflow (marker.ts); that
 * alone is never a reason to write.
 */
export function flowOps(
  flow: StoredFlow,
  s: { description?: string | undefined; schedule: Schedule; deltaColumn?: string | undefined }
): PatchOp[] {
  const others = [...scheduleChanges(flow, s.schedule), ...deltaChanges(flow, s.deltaColumn)]
  if (others.length === 0 && descriptionChange(flow.description, s.description).length === 0)
    return []
  const adopted = adoptedDescription(s.description, flow.description)
  const marking: PatchOp[] =
    adopted === undefined
      ? []
      : [
          {
            op: flow.description === undefined ? 'add' : 'replace',
            path: '/description',
            value: adopted
          }
        ]
  return [...marking, ...others]
}
