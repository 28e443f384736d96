/** Types for actionlint.js (plain ESM, so that it runs without a build step). */

export type ExampleKind = 'workflow' | 'jobs' | 'steps' | 'other'

export interface Example {
  /** the workflow to lint: the block itself, or the block wrapped into one */
  text: string
  /** the block's first line in the markdown file (1-based) */
  line: number
  /** added to a line of `text` to give the line in the markdown file */
  lineOffset: number
  /** added to a column of `text` to give the column in the markdown file */
  columnOffset?: number
  kind: ExampleKind
}

export interface Source {
  name: string
  text: string
  lineOffset: number
  line?: number
  columnOffset?: number
  kind?: ExampleKind
}

export interface Finding {
  file: string
  line: number
  column: number
  kind: string
  message: string
}

export declare function markdownFiles(dir?: string): string[]
export declare function exampleWorkflows(markdown: string): Example[]
export declare function jobsWithoutEnvironment(text: string): Array<{ job: string; line: number }>
export declare function markdownSources(name: string, markdown: string): Array<Source & Example>
export declare function workflowSources(dir?: string): Source[]
export declare function lint(sources: Source[]): Promise<Finding[]>
