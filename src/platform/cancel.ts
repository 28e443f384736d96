import { ActionError } from './errors.js'
import type { Output } from './output.js'

/*
 * Cancellation. The runner cancels a JavaScript step with SIGINT, then SIGTERM 7.5 s later, then
 * kills it 2.5 s after that (GitHub's "Canceling a workflow"). A step that has sent a create
 * uses that grace to finish settling on one copy (exactly-one.ts) instead of leaving a copy it
 * has not checked; then it fails, so the runner shows the step as cancelled and not done. What a
 * killed step leaves, the next run heals (heal.ts): its copies carry this run's mark.
 */

export type Signal = 'SIGINT' | 'SIGTERM'

/** Where the step hears the runner's signals; tests pass their own. */
export interface Signals {
  /** Calls `listener` on each signal; returns a function that stops listening. */
  on(listener: (signal: Signal) => void): () => void
}

/** The process's own signals. Listening replaces Node's default exit on them. */
export const processSignals: Signals = {
  on(listener) {
    const int = () => listener('SIGINT')
    const term = () => listener('SIGTERM')
    process.on('SIGINT', int)
    process.on('SIGTERM', term)
    return () => {
      process.off('SIGINT', int)
      process.off('SIGTERM', term)
    }
  }
}

/** How long after each signal the step still works: inside the runner's 7.5 s and 2.5 s. */
export const GRACE_MS: Record<Signal, number> = { SIGINT: 6000, SIGTERM: 2000 }

/** The step was cancelled; raised once it has finished what it could within the grace. */
export class CancelledError extends ActionError {
  constructor(readonly signal: Signal) {
    super(
      `the runner cancelled the step (${signal}); what the step had started was finished within the grace period or left for the next run to settle`
    )
    this.name = 'CancelledError'
  }
}

/** What the watch needs to shorten the step: its deadline and any requests in flight. */
export interface Cuttable {
  cut(ms: number): void
}

/** Listens for the runner's signals for the length of a step. */
export class CancelWatch {
  private signal: Signal | undefined
  private target: Cuttable | undefined
  private readonly stop: () => void

  constructor(
    signals: Signals,
    private readonly out: Output
  ) {
    this.stop = signals.on((signal) => this.hear(signal))
  }

  private hear(signal: Signal): void {
    const first = this.signal === undefined
    this.signal = signal
    const ms = GRACE_MS[signal]
    if (first || signal === 'SIGTERM')
      this.out.warning(
        `the runner is cancelling the step (${signal}): finishing what was started within ${ms / 1000} s, then stopping`
      )
    this.target?.cut(ms)
  }

  /** From now on, a signal shortens this target (a signal already heard does so at once). */
  attach(target: Cuttable): void {
    this.target = target
    if (this.signal) target.cut(GRACE_MS[this.signal])
  }

  /** Throws CancelledError when a signal was heard: the step stops here, at a step boundary. */
  check(): void {
    if (this.signal) throw new CancelledError(this.signal)
  }

  get heard(): Signal | undefined {
    return this.signal
  }

  close(): void {
    this.stop()
  }
}
