/** Types for check-inputs.js (plain ESM, so that it runs without a build step). */
import type { ActionMetadata } from './readme-tables.js'

export interface StepRef {
  uses: string
  /** line of the `uses:` key */
  line: number
  with: Array<{ key: string; line: number }>
}

export interface Source {
  name: string
  text: string
  /** true: `uses: ./` steps (workflows); false: `uses: owner/aep-postgresql-connection-action@ref` */
  local: boolean
  lineOffset?: number
}

export interface Problem {
  file: string
  line: number
  message: string
}

export declare function usesThisAction(uses: unknown, opts: { local: boolean }): boolean
export declare function yamlBlocks(markdown: string): Array<{ text: string; line: number }>
export declare function actionSteps(
  text: string,
  opts: { local: boolean; lineOffset?: number }
): StepRef[]
export declare function stepProblems(
  action: ActionMetadata,
  step: StepRef
): Array<{ line: number; message: string }>
export declare function checkSources(
  action: ActionMetadata,
  sources: Source[]
): { steps: number; problems: Problem[] }
export declare function repositorySources(root: string): Promise<Source[]>
