/** Types for check-inputs.js (plain ESM, so that it runs without a build step). */
import type { ActionMetadata } from './readme-tables.js'

export interface StepRef {
  uses: string
  /** the action's directory in this repository: '' for action.yml, 'dataflow' for dataflow/action.yml */
  dir: string
  /** line of the `uses:` key */
  line: number
  with: Array<{ key: string; line: number }>
}

export interface Source {
  name: string
  text: string
  /** true: the text is this repository's own, so `uses: ./` means its root action */
  local: boolean
  lineOffset?: number
}

export interface Problem {
  file: string
  line: number
  message: string
}

/** This repository's actions by directory ('' for the root action.yml). */
export type Actions = Record<string, ActionMetadata>

export declare const REPOSITORY: string
export declare function actionDirOf(
  uses: unknown,
  opts: { local: boolean; repoNames: string[] }
): string | undefined
export declare function actionFile(dir: string): string
export declare function yamlBlocks(markdown: string): Array<{ text: string; line: number }>
export declare function actionSteps(
  text: string,
  opts: { local: boolean; repoNames: string[]; lineOffset?: number }
): StepRef[]
export declare function stepProblems(
  actions: Actions,
  step: StepRef
): Array<{ line: number; message: string }>
export declare function checkSources(
  actions: Actions,
  sources: Source[],
  opts?: { repoNames?: string[] }
): { steps: number; problems: Problem[] }
export declare function loadActions(dir: string): Promise<Actions>
export declare function repositorySources(root: string, opts: { local: boolean }): Promise<Source[]>
