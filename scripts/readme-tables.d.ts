/** Types for readme-tables.js (plain ESM, so that it runs without a build step). */

export interface ReadmeInputRow {
  name: string
  secret: boolean
  /** "yes" or "no" as written in the README (lower-cased) */
  required: string
  /** undefined when the README shows no default */
  default: string | undefined
  description: string
}

export interface ReadmeOutputRow {
  name: string
  description: string
}

/** The parts of a parsed action.yml the check reads. */
export interface ActionMetadata {
  inputs?: Record<string, { description?: string; required?: boolean; default?: unknown }>
  outputs?: Record<string, { description?: string }>
  [key: string]: unknown
}

/** Each action and the document holding its tables (paths from the repository root). */
export declare const DOCUMENTED_ACTIONS: ReadonlyArray<{
  doc: string
  /** how messages name the document */
  label: string
  action: string
}>
export declare const NO_DEFAULT: string
export declare function splitRow(line: string): string[]
export declare function tableBetween(
  markdown: string,
  start: string,
  end: string
): string[][] | undefined
export declare function parseReadmeTables(markdown: string): {
  inputs: ReadmeInputRow[] | undefined
  outputs: ReadmeOutputRow[] | undefined
}
export declare function isSecretInput(input: { description?: string } | undefined): boolean
/**
 * One message per difference between an action's metadata and a document's tables; empty when
 * in step. `labels` names the document and the metadata file in messages (README, action.yml).
 */
export declare function tableDrift(
  action: ActionMetadata,
  markdown: string,
  labels?: { doc?: string; action?: string }
): string[]
