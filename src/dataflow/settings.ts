import type { AdobeSettings } from '../platform/inputs.js'

/**
 * The dataflow action's settings: what inputs.ts produces from the raw inputs, and what the
 * payloads are built from. Kept apart so neither module imports the other's types.
 */

export const FREQUENCIES = ['once', 'minute', 'hour', 'day', 'week'] as const
export type Frequency = (typeof FREQUENCIES)[number]

/** When the dataflow runs. interval and backfill are absent with once (Adobe refuses them). */
export type Schedule =
  | { frequency: 'once'; startTime?: number }
  | {
      frequency: Exclude<Frequency, 'once'>
      interval: number
      backfill: boolean
      /** epoch seconds; used only when the dataflow is created */
      startTime?: number
    }

/** One mapping of a column (or an expression over columns) to an XDM path. */
export interface MappingItem {
  source: string
  destination: string
  type: 'attribute' | 'expression'
}

export interface DataflowSettings extends AdobeSettings {
  dataflowName: string
  description?: string
  baseConnectionId?: string
  table?: string
  /** The dataset, by id or found by name. */
  dataset?: { id: string } | { name: string }
  /** The mapping file's path, relative to the workspace (read by mapping-file.ts). */
  mappingPath?: string
  deltaColumn?: string
  schedule: Schedule
  enabled: boolean
}
