import {
  CRM_TO_AEP_FLOW_SPEC_ID,
  DATA_LAKE_SPEC_ID,
  POSTGRES_SPEC_ID,
  SPEC_VERSION
} from '../platform/collections.js'
import type { DataflowSettings, MappingItem, Schedule } from './settings.js'

/*
 * The bodies of the four objects, as Adobe's tutorials and API description agree (each choice
 * where they do not is listed in docs/how-it-works.md), and the comparisons that decide whether
 * a re-run changes anything.
 */

/** The XDM schema a dataset's rows follow: the target connection and mapping set both name it. */
export const SCHEMA_VERSION = 'application/vnd.adobe.xed-full+json;version=1'

export const sourceName = (s: { dataflowName: string }) => `${s.dataflowName} source`
export const targetName = (s: { dataflowName: string }) => `${s.dataflowName} target`
export const mappingName = (s: { dataflowName: string }) => `${s.dataflowName} mapping`

export interface SourceBody {
  name: string
  description?: string
  baseConnectionId: string
  data: { format: 'tabular' }
  params: { tableName: string; columns?: unknown[] }
  connectionSpec: { id: string; version: string }
}

export function sourceBody(
  s: DataflowSettings,
  description: string | undefined,
  base: string,
  table: string
): SourceBody {
  return {
    name: sourceName(s),
    ...(description !== undefined ? { description } : {}),
    baseConnectionId: base,
    data: { format: 'tabular' },
    params: { tableName: table },
    connectionSpec: { id: POSTGRES_SPEC_ID, version: SPEC_VERSION }
  }
}

export interface TargetBody {
  name: string
  description?: string
  data: { schema: { id: string; version: string } }
  params: { dataSetId: string }
  connectionSpec: { id: string; version: string }
}

/** data.format is left out, as the PostgreSQL tutorials do (the description and aepp disagree). */
export function targetBody(
  s: DataflowSettings,
  description: string | undefined,
  dataset: { id: string; schemaId: string }
): TargetBody {
  return {
    name: targetName(s),
    ...(description !== undefined ? { description } : {}),
    data: { schema: { id: dataset.schemaId, version: SCHEMA_VERSION } },
    params: { dataSetId: dataset.id },
    connectionSpec: { id: DATA_LAKE_SPEC_ID, version: SPEC_VERSION }
  }
}

/** A Data Prep mapping: an attribute (a column) or an expression, to an XDM path. */
export interface Mapping {
  sourceType: 'ATTRIBUTE' | 'EXPRESSION'
  source: string
  destination: string
}

export interface MappingBody {
  name: string
  outputSchema: { schemaRef: { id: string; contentType: string } }
  mappings: Mapping[]
}

export const toMappings = (items: MappingItem[]): Mapping[] =>
  items.map((i) => ({
    sourceType: i.type === 'expression' ? 'EXPRESSION' : 'ATTRIBUTE',
    source: i.source,
    destination: i.destination
  }))

export function mappingBody(name: string, schemaId: string, items: MappingItem[]): MappingBody {
  return {
    name,
    outputSchema: { schemaRef: { id: schemaId, contentType: SCHEMA_VERSION } },
    mappings: toMappings(items)
  }
}

/** A mapping as a line of a diff: `source -> destination` (expressions marked). */
export const mappingLine = (m: Mapping) =>
  `${m.sourceType === 'EXPRESSION' ? 'expression ' : ''}${m.source} -> ${m.destination}`

/**
 * What changes from the stored mappings to the wanted ones, as diff lines (- removed, + added);
 * empty when they are the same set (the order of a file's items does not matter).
 */
export function mappingDiff(stored: Mapping[], wanted: Mapping[]): string[] {
  // Compared by their parts, not their lines: " -> " may be inside a source or destination.
  const key = (m: Mapping) => JSON.stringify([m.sourceType, m.source, m.destination])
  const a = new Map(stored.map((m) => [key(m), m]))
  const b = new Map(wanted.map((m) => [key(m), m]))
  return [
    ...[...a].filter(([k]) => !b.has(k)).map(([, m]) => `- ${mappingLine(m)}`),
    ...[...b].filter(([k]) => !a.has(k)).map(([, m]) => `+ ${mappingLine(m)}`)
  ]
}

export interface Transformation {
  name: string
  params: Record<string, unknown>
}

/**
 * Adobe: table sources' delta column is in UTC. dateFormat is optional and left out: the
 * tutorials' example (YYYY-MM-DD) contradicts their own prose (yyyy-MM-dd HH:mm:ss).
 */
export const copyTransformation = (column: string): Transformation => ({
  name: 'Copy',
  params: { deltaColumn: { name: column, timezone: 'UTC' } }
})

/**
 * The Mapping transformation. mappingVersion is a string, as the API description and the flow
 * spec type it (the tutorials send a number; see flows.ts for the fallback).
 */
export const mappingTransformation = (
  id: string,
  version: number,
  asNumber = false
): Transformation => ({
  name: 'Mapping',
  params: { mappingId: id, mappingVersion: asNumber ? version : String(version) }
})

/** scheduleParams: startTime in epoch seconds, interval and backfill only when not once. */
export function scheduleParams(schedule: Schedule, now: () => number): Record<string, unknown> {
  const startTime = schedule.startTime ?? Math.floor(now() / 1000)
  if (schedule.frequency === 'once') return { startTime, frequency: 'once' }
  return {
    startTime,
    frequency: schedule.frequency,
    interval: schedule.interval,
    backfill: schedule.backfill
  }
}

export interface FlowBody {
  name: string
  description?: string
  flowSpec: { id: string; version: string }
  sourceConnectionIds: string[]
  targetConnectionIds: string[]
  transformations: Transformation[]
  scheduleParams: Record<string, unknown>
}

export function flowBody(
  s: DataflowSettings,
  description: string | undefined,
  ids: { source: string; target: string },
  mapping: { id: string; version: number },
  now: () => number,
  mappingVersionAsNumber = false
): FlowBody {
  return {
    name: s.dataflowName,
    ...(description !== undefined ? { description } : {}),
    flowSpec: { id: CRM_TO_AEP_FLOW_SPEC_ID, version: SPEC_VERSION },
    sourceConnectionIds: [ids.source],
    targetConnectionIds: [ids.target],
    transformations: [
      ...(s.deltaColumn ? [copyTransformation(s.deltaColumn)] : []),
      mappingTransformation(mapping.id, mapping.version, mappingVersionAsNumber)
    ],
    scheduleParams: scheduleParams(s.schedule, now)
  }
}
