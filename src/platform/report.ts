import type { Output, SummaryContent } from './output.js'

/*
 * What both actions do at the end of a step: the job summary written where there is a summary
 * file, and the one ::error of a failed step (with what it knows of the deadline and of a
 * cancel) reported once.
 */

/** How far a failed step got: what the failure report can still say. */
export interface StepBase {
  deadline?: { remaining(): number }
  runUrl?: string
  /** The runner's cancel signals, heard while the step ran. */
  cancel?: { check(): void; readonly heard?: string }
}

/** Writes the job summary, where there is a summary file (none in local runs: nothing to warn about). */
export async function summarise(
  out: Output,
  env: NodeJS.ProcessEnv,
  content: () => SummaryContent
): Promise<void> {
  if (env.GITHUB_STEP_SUMMARY) await out.summary(content())
  else out.debug('GITHUB_STEP_SUMMARY is not set: no job summary written')
}

/**
 * Sets the outputs a failed step can still give (what exists). Failure reporting never throws: an
 * output that cannot be written (an unwritable GITHUB_OUTPUT) is a warning next to the error.
 */
export function setFailureOutputs(out: Output, set: () => void): void {
  try {
    set()
  } catch (e) {
    out.warning(out.describe(e))
  }
}

/** Reports the error that ended the step: one ::error, exit code 1. Returns what was printed. */
export function reportError(
  e: unknown,
  state: StepBase,
  out: Output
): { error: string; inputs?: string[] } {
  const outOfTime = state.deadline !== undefined && state.deadline.remaining() < 1000
  return out.failWith(e, outOfTime, state.cancel?.heard)
}
