/** Harness that runs the bundled action like the GitHub Actions runner does (see run-action.js). */

/** Repository root, resolved from this module's location. */
export declare const repoRoot: string
/** <repo>/action.yml */
export declare const defaultActionYml: string
/** <repo>/dist/index.js */
export declare const defaultEntry: string

export interface ActionInput {
  name: string
  description: string
  /** as a string, exactly as the runner would pass it */
  default?: string
  required?: boolean
}

export interface ActionOutput {
  name: string
  description: string
}

export interface RunActionOptions {
  /** keys must be inputs declared in action.yml, otherwise runAction throws */
  inputs: Record<string, string>
  /** extra env vars; applied last, so they override the harness's own */
  env?: Record<string, string>
  /** node executable, default process.execPath */
  node?: string
  nodeArgs?: string[]
  /** default <repo>/dist/index.js */
  entry?: string
  /** the child is killed with SIGKILL after this long, default 60000 */
  timeoutMs?: number
  /** default <repo>/action.yml */
  actionYml?: string
  /** called with the child process once it is started (a test may signal it, as the runner does) */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void
}

export interface ActionRun {
  code: number | null
  signal: string | null
  stdout: string
  stderr: string
  /** stdout + stderr in arrival order, split into lines */
  lines: string[]
  outputs: Record<string, string>
  summary: string
  durationMs: number
  /** Linux only: peak RSS (VmHWM) sampled while the process ran */
  peakRssKb?: number
  /** set when timeoutMs elapsed and the child was killed */
  timedOut?: boolean
}

export declare function actionInputs(actionYml?: string): ActionInput[]
export declare function actionOutputs(actionYml?: string): ActionOutput[]
/** INPUT_<NAME>: spaces become '_', upper-cased, hyphens kept. */
export declare function inputEnvName(name: string): string
/** Parses a GITHUB_OUTPUT file (name=value and name<<DELIM heredoc forms). */
export declare function parseOutputFile(text: string): Record<string, string>
export declare function runAction(opts: RunActionOptions): Promise<ActionRun>

/** The runner's env and files for a run, without running anything; remove `dir` when done. */
export declare function runnerEnv(opts: {
  inputs: Record<string, string>
  env?: Record<string, string>
  actionYml?: string
}): Promise<{ env: Record<string, string>; dir: string; files: Record<string, string> }>
