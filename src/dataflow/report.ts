import { CRM_TO_AEP_FLOW_SPEC_ID } from '../platform/collections.js'
import type { Operation } from '../platform/operation.js'
import type { PatchOp } from '../platform/flow-api.js'
import { stripMark } from '../platform/marker.js'
import type { Output, SummaryContent } from '../platform/output.js'
import { reportError, setFailureOutputs, summarise, type StepBase } from '../platform/report.js'
import type { Progress, Step } from './apply.js'
import { mappingLine, mappingName, scheduleParams, sourceName, targetName } from './payloads.js'
import type { PipelinePlan } from './plan.js'
import type { DataflowSettings } from './settings.js'

/*
 * What the step says at the end: the outputs (the ids of what exists, set even when the step
 * fails later), one log line, the job summary with one row per object, the dry run's plan.
 */

export interface DataflowState extends StepBase {
  settings?: DataflowSettings
  progress: Progress
  operation?: Operation
}

/** The outputs, from what exists. Each is data: ids and etags as Flow Service gave them. */
export function setOutputs(out: Output, p: Progress, operation: Operation): void {
  const absent = p.deleted !== undefined || operation === 'absent'
  out.setOutput('dataflow-id', absent ? (p.deleted ?? '') : (p.flow?.id ?? ''))
  out.setOutput('source-connection-id', absent ? '' : (p.source?.id ?? ''))
  out.setOutput('target-connection-id', absent ? '' : (p.target?.id ?? ''))
  out.setOutput('mapping-set-id', absent ? '' : (p.mapping?.id ?? ''))
  out.setOutput('mapping-version', absent || !p.mapping ? '' : String(p.mapping.version))
  out.setOutput('etag', absent ? '' : (p.flow?.etag ?? ''))
  out.setOutput('flow-spec-id', CRM_TO_AEP_FLOW_SPEC_ID)
  out.setOutput('operation', operation)
}

export const SUMMARY_HEADING = 'AEP PostgreSQL dataflow'

const row = (what: string, name: string, step: Step | undefined): string[] => [
  what,
  name,
  step?.id ?? '—',
  step?.done ?? '—'
]

/** One row per object: what it is, its name, its id, what happened to it. */
function objectsTable(s: DataflowSettings, p: Progress): SummaryContent['objects'] {
  return {
    header: ['Object', 'Name', 'Id', 'What happened'],
    rows: [
      row('Source connection', sourceName(s), p.source),
      row('Target connection', targetName(s), p.target),
      row('Mapping set', mappingName(s), p.mapping),
      row(
        'Dataflow',
        s.dataflowName,
        p.flow ?? (p.deleted ? { id: p.deleted, done: 'deleted' } : undefined)
      )
    ]
  }
}

const runLink = (url: string | undefined) =>
  url ? { link: { text: 'Workflow run', href: url } } : {}

export function successSummary(
  s: DataflowSettings,
  p: Progress,
  operation: Operation,
  runUrl?: string
): SummaryContent {
  return {
    heading: SUMMARY_HEADING,
    rows: [
      ['Operation', s.dryRun ? `${operation} (dry run)` : operation],
      ['Dataflow name', s.dataflowName],
      ['Sandbox', s.sandboxName],
      ['Flow spec id', CRM_TO_AEP_FLOW_SPEC_ID]
    ],
    objects: objectsTable(s, p),
    ...runLink(runUrl)
  }
}

/** The step's outcome in one line. */
export function outcomeLine(s: DataflowSettings, p: Progress, operation: Operation): string {
  const dry = s.dryRun ? ' (dry run: nothing was changed)' : ''
  if (operation === 'absent')
    return `absent: no dataflow named "${s.dataflowName}" exists in sandbox ${s.sandboxName}; nothing to delete`
  if (operation === 'deleted')
    return `deleted: dataflow ${p.deleted ?? '(none)'} and its connections`
  return `${operation}: dataflow ${p.flow?.id ?? `"${s.dataflowName}" (not yet)`}${dry}`
}

/** The plan as a dry run shows it: one line per object, the mapping diff under it. */
export function describePlan(plan: PipelinePlan, s: DataflowSettings, now: () => number): string[] {
  if (plan.kind === 'absent') {
    const lines = plan.flow
      ? [`dataflow "${s.dataflowName}" (id ${plan.flow.id}): would be deleted`]
      : [`dataflow "${s.dataflowName}": none exists`]
    for (const c of plan.connections) lines.push(`${c.what} connection ${c.id}: would be deleted`)
    if (plan.connections.length === 0) lines.push('no source or target connection to delete')
    lines.push('mapping sets stay (Adobe\u2019s API has no DELETE for them)')
    return lines
  }
  const lines: string[] = []
  const src = plan.source
  lines.push(
    `source connection "${sourceName(s)}": ${
      src.do === 'create'
        ? `would be created (base connection ${s.baseConnectionId}, table ${s.table})`
        : src.do === 'replace'
          ? `id ${src.old.id} (left by an earlier run for another table) would be deleted and made again`
          : `exists (id ${src.item.id})${src.adopted ? ', left by an earlier run: would be used' : ', unchanged'}`
    }`
  )
  const tgt = plan.target
  lines.push(
    `target connection "${targetName(s)}": ${
      tgt.do === 'create'
        ? `would be created (dataset ${plan.dataset?.id ?? ''}, schema ${plan.dataset?.schemaId ?? ''})`
        : tgt.do === 'replace'
          ? `id ${tgt.old.id} (left by an earlier run for another dataset) would be deleted and made again`
          : `exists (id ${tgt.item.id})${tgt.adopted ? ', left by an earlier run: would be used' : ', unchanged'}`
    }`
  )
  const m = plan.mapping
  if (m.do === 'create') {
    lines.push(
      `mapping set "${mappingName(s)}": would be created with ${plan.mappings.length} mapping(s):`
    )
    for (const x of plan.mappings) lines.push(`  + ${mappingLine(x)}`)
  } else if (m.do === 'update') {
    lines.push(`mapping set ${m.id}: version ${m.version} would be replaced by a new version:`)
    for (const d of m.diff) lines.push(`  ${d}`)
  } else lines.push(`mapping set ${m.id}: version ${m.version}, unchanged`)
  const f = plan.flow
  if (f.do === 'create')
    lines.push(
      `dataflow "${s.dataflowName}": would be created (${JSON.stringify(scheduleParams(s.schedule, now))}${s.deltaColumn ? `, delta column ${s.deltaColumn}` : ''})${s.enabled ? '' : ', then disabled'}`
    )
  else {
    // A description that changes only in its mark (the adoption, see flows.ts) is bookkeeping.
    const markOnly = (o: PatchOp) =>
      o.path === '/description' &&
      typeof o.value === 'string' &&
      stripMark(o.value) === (stripMark(f.item.description) ?? '')
    const changes = [
      ...f.ops
        .filter((o) => !markOnly(o))
        .map(
          (o) => `${o.op} ${o.path}${o.value === undefined ? '' : ` = ${JSON.stringify(o.value)}`}`
        ),
      ...(m.do === 'update' ? ['replace the Mapping transformation with the new version'] : []),
      ...(f.enable === undefined ? [] : [f.enable ? 'enable' : 'disable'])
    ]
    lines.push(
      `dataflow "${s.dataflowName}" (id ${f.item.id}): ${changes.length ? `would change: ${changes.join('; ')}` : 'unchanged'}`
    )
  }
  return lines
}

/**
 * The error that ended the step, reported once: the objects that exist are still named in the
 * outputs, the error goes through output.ts (one ::error, exit code 1), the summary says it.
 */
export async function reportFailure(
  e: unknown,
  state: DataflowState,
  out: Output,
  env: NodeJS.ProcessEnv
): Promise<void> {
  await out.prepareForServerText()
  // Outputs name what exists, so a later step can inspect or clean up.
  const p = state.progress
  if (p.source || p.target || p.mapping || p.flow || p.deleted)
    setFailureOutputs(out, () => setOutputs(out, p, state.operation ?? 'unchanged'))
  const failure = reportError(e, state, out)
  const s = state.settings
  await summarise(out, env, () => ({
    heading: `${SUMMARY_HEADING}: failed`,
    rows: [
      ['Status', 'failed'],
      ...(failure.inputs?.length
        ? [['Inputs to fix', failure.inputs.join(', ')] as [string, string]]
        : []),
      ['Error', failure.error],
      ...(s
        ? [
            ['Dataflow name', s.dataflowName] as [string, string],
            ['Sandbox', s.sandboxName] as [string, string]
          ]
        : [])
    ],
    ...(s ? { objects: objectsTable(s, p) } : {}),
    ...runLink(state.runUrl)
  }))
}

export async function reportSuccess(
  out: Output,
  env: NodeJS.ProcessEnv,
  s: DataflowSettings,
  p: Progress,
  operation: Operation,
  runUrl: string | undefined
): Promise<void> {
  await summarise(out, env, () => successSummary(s, p, operation, runUrl))
}
