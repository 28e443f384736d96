/**
 * Virtual time for in-process tests of racing runs against the simulator.
 *
 * The runs under test and the simulator share one VirtualClock: now(), sleep() and a seeded
 * random(). Time jumps instead of passing; no real timer waits for it. But the runs make real
 * HTTP requests to the simulator on loopback, so time may only jump while nothing real is in
 * progress.
 *
 * The invariant: time moves (and any other step is taken) only while `busy` is 0 and the event
 * loop has gone quiet (microtasks drained, then two setImmediate turns). `busy` counts the real
 * activities in progress:
 * - a request a run sends through run.track() or run.wrap(): +1 from send to reply;
 * - a request held in the simulator on the clock (commit latency, latency, delay faults,
 *   barriers, HookReply.sleep): the simulator waits through idleWhile(), -1 while it waits, so
 *   a request that waits in virtual time does not hold time up.
 * Hence every request to a simulator that shares the clock must be tracked: otherwise the -1 of
 * idleWhile() pairs with nothing. When that makes busy negative the clock halts with an error.
 *
 * Determinism: one step at a time. When quiet, the clock starts the first queued request, or
 * resumes the first simulator wait that ended (both FIFO), or else moves time to the earliest
 * sleep and resolves that one alone (ties in the order the sleeps were made). A step's real
 * I/O ends before the next step begins, so for a seed every trial interleaves the same way.
 *
 * Runs: clock.run(name) gives a run its clock (now, sleep, random) and its transport wrapper.
 * run.kill() ends it as a crash would: its queued requests are never sent, its sleeps never
 * end, and nothing it awaits settles any more; a request it has in flight is still waited for
 * (it is real), then ignored. A killed run never blocks the others.
 *
 * Known limits: real work the code under test does without tracking it (file writes, timers of
 * its own) does not hold time up; transport timeouts are real time, not virtual; a simulator
 * hook that awaits something other than reply.sleep() holds time up until it settles.
 */
import type { SimulatorClock } from '../../simulator/server.js'
import { mulberry32 } from './seeded-random.js'

export interface VirtualClockOptions {
  /** seeds random(), default 1 */
  seed?: number
  /** the first now(), default 2026-01-01T00:00:00Z */
  start?: number
  /**
   * Real ms, default 20000: the clock halts (pending sleeps never end; runUntilIdle and settled
   * reject, saying what is pending) when it has kept stepping that long without becoming idle,
   * or when runUntilIdle/settled have waited that long. A run that loops, or a test that forgot
   * to await, fails instead of hanging the suite; a clock nobody awaits never spins idly.
   */
  guardMs?: number
}

interface Sleeper {
  at: number
  owner: VirtualRun | undefined
  resolve: () => void
}

interface Task {
  owner: VirtualRun | undefined
  start: () => void
}

/** setImmediate turns the loop must stay quiet before a step: lets I/O callbacks in between. */
const QUIET_TURNS = 2
const never = <T>(): Promise<T> => new Promise<T>(() => {})

export class VirtualClock implements SimulatorClock {
  private t: number
  private busy = 0
  /** sorted by time, then by when the sleep was made */
  private readonly sleepers: Sleeper[] = []
  private readonly ready: Task[] = []
  private stepping = false
  private failure: Error | undefined
  /** called when the clock becomes idle */
  private idleWaiters: Array<() => void> = []
  /** called when the clock halts */
  private readonly haltWatchers = new Set<(e: Error) => void>()
  /** real time (performance.now) the clock last left idle; undefined while idle */
  private activeSince: number | undefined
  private readonly rand: () => number
  private readonly guardMs: number
  readonly start: number
  /** steps taken, for diagnostics */
  steps = 0

  constructor(o: VirtualClockOptions = {}) {
    this.start = o.start ?? Date.UTC(2026, 0, 1)
    this.t = this.start
    this.rand = mulberry32(o.seed ?? 1)
    this.guardMs = o.guardMs ?? 20_000
  }

  now(): number {
    return this.t
  }

  /** virtual ms since the start */
  elapsed(): number {
    return this.t - this.start
  }

  random(): number {
    return this.rand()
  }

  /** A sleep of no run (the simulator's, or the test's own). Ends early when signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.sleepFor(undefined, ms, signal)
  }

  /**
   * For the simulator: the request that waits is not busy meanwhile. When the wait ends the
   * request resumes as a step of its own, in turn.
   */
  async idleWhile<T>(wait: Promise<T>): Promise<T> {
    this.busy--
    if (this.busy < 0) {
      this.halt(
        new Error(
          'VirtualClock: the simulator waited for a request that was not tracked; send every request to a simulator sharing this clock through run.track() or run.wrap()'
        )
      )
      return never()
    }
    if (this.busy === 0) this.kick()
    try {
      return await wait
    } finally {
      await new Promise<void>((resolve) =>
        this.enqueue(undefined, () => {
          this.acquire()
          resolve()
        })
      )
    }
  }

  /**
   * Counts an activity already started as busy until it settles. Unlike run.track() it is not
   * queued, so it gives up determinism; for real work that is neither a request nor a run's.
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.busy++
    const done = () => this.release()
    work.then(done, done)
    return work
  }

  run(name: string): VirtualRun {
    return new VirtualRun(this, name)
  }

  /**
   * Resolves once nothing is busy, queued or asleep (killed runs' sleeps do not count); rejects
   * when the clock halts, or halts it when that takes more than guardMs of real time.
   */
  runUntilIdle(): Promise<void> {
    return this.guarded(
      (done) => {
        this.idleWaiters.push(done)
        this.kick()
      },
      () => this.stuck()
    )
  }

  /**
   * Awaits `work` (e.g. the runs of a trial); rejects when the clock halts first, or when `work`
   * has not settled after guardMs of real time (a killed run's promise never settles).
   */
  settled<T>(work: Promise<T>): Promise<T> {
    let value: T
    return this.guarded(
      (done, fail) =>
        work.then(
          (v) => {
            value = v
            done()
          },
          (e: unknown) => fail(e instanceof Error ? e : new Error(String(e)))
        ),
      () =>
        new Error(
          `VirtualClock: the awaited work did not settle within ${this.guardMs} ms of real time, ${this.describe()}`
        )
    ).then(() => value)
  }

  /** Stops the clock: nothing pending ever ends. For afterEach. */
  stop(): void {
    this.halt(new Error('VirtualClock: stopped'))
  }

  /** What is pending, for error messages and tests. */
  describe(): string {
    const next = this.sleepers[0]
    return (
      `at +${this.elapsed()} ms virtual, ${this.steps} steps: ${this.busy} busy, ` +
      `${this.ready.length} queued, ${this.sleepers.length} asleep` +
      (next
        ? ` (next at +${next.at - this.start} ms${next.owner ? ` in ${next.owner.name}` : ''})`
        : '')
    )
  }

  // ---- for VirtualRun ----

  /** @internal */
  sleepFor(owner: VirtualRun | undefined, ms: number, signal?: AbortSignal): Promise<void> {
    if (owner?.killed || this.failure) return never()
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      const onAbort = () => {
        const at = this.sleepers.indexOf(sleeper)
        if (at === -1) return
        this.sleepers.splice(at, 1)
        resolve()
      }
      // The listener goes when the sleep ends either way: one signal serves many sleeps.
      const sleeper: Sleeper = {
        at: this.t + Math.max(0, ms || 0),
        owner,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
      }
      let i = this.sleepers.length
      while (i > 0 && (this.sleepers[i - 1]?.at ?? 0) > sleeper.at) i--
      this.sleepers.splice(i, 0, sleeper)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.kick()
    })
  }

  /**
   * @internal Queues a step: `start` runs when the clock is quiet and it is first in line
   * (busy is raised first; whoever started it lowers it).
   */
  enqueue(owner: VirtualRun | undefined, start: () => void): void {
    if (this.failure) return
    this.ready.push({ owner, start })
    this.kick()
  }

  /** @internal One busy activity ended. */
  release(): void {
    this.busy--
    if (this.busy === 0) this.kick()
  }

  /** @internal Raises busy for a step that starts real work. */
  acquire(): void {
    this.busy++
  }

  /** @internal A killed run's queued steps and sleeps are dropped. */
  forget(run: VirtualRun): void {
    for (let i = this.ready.length - 1; i >= 0; i--)
      if (this.ready[i]?.owner === run) this.ready.splice(i, 1)
    for (let i = this.sleepers.length - 1; i >= 0; i--)
      if (this.sleepers[i]?.owner === run) this.sleepers.splice(i, 1)
    this.kick()
  }

  // ---- the scheduler ----

  private kick(): void {
    if (this.stepping || this.failure) return
    this.activeSince ??= performance.now()
    this.stepping = true
    setImmediate(() => this.quiet(1))
  }

  private quiet(turn: number): void {
    if (this.failure || this.busy > 0) {
      // Kicked again when busy comes back to 0.
      this.stepping = false
      return
    }
    if (turn < QUIET_TURNS) {
      setImmediate(() => this.quiet(turn + 1))
      return
    }
    this.stepping = false
    this.step()
  }

  private step(): void {
    if (this.activeSince !== undefined && performance.now() - this.activeSince > this.guardMs) {
      this.halt(this.stuck())
      return
    }
    const task = this.ready.shift()
    if (task) {
      this.steps++
      task.start()
      this.kick()
      return
    }
    const sleeper = this.sleepers.shift()
    if (sleeper) {
      this.steps++
      this.t = Math.max(this.t, sleeper.at)
      sleeper.resolve()
      this.kick()
      return
    }
    this.activeSince = undefined
    for (const done of this.idleWaiters.splice(0)) done()
  }

  /** A promise that `wait` settles, rejected when the clock halts or guardMs of real time pass. */
  private guarded(
    wait: (done: () => void, fail: (e: Error) => void) => void,
    late: () => Error
  ): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise<void>((resolve, reject) => {
      const finish = (e?: Error) => {
        clearTimeout(timer)
        this.haltWatchers.delete(finish)
        if (e) reject(e)
        else resolve()
      }
      const timer = setTimeout(() => this.halt(late()), this.guardMs)
      timer.unref()
      this.haltWatchers.add(finish)
      wait(
        () => finish(),
        (e) => finish(e)
      )
    })
  }

  private stuck(): Error {
    return new Error(
      `VirtualClock: not idle after ${this.guardMs} ms of real time, ${this.describe()}: ` +
        'a run that never ends, an untracked request, or a test that did not await'
    )
  }

  private halt(e: Error): void {
    if (this.failure) return
    this.failure = e
    this.idleWaiters = []
    for (const fail of [...this.haltWatchers]) fail(e)
  }
}

/**
 * One run's view of the clock: what the code under test is given as its clock (now, sleep,
 * random) and what its transport is wrapped in (track, wrap).
 */
export class VirtualRun {
  killed = false

  constructor(
    readonly clock: VirtualClock,
    readonly name: string
  ) {}

  now(): number {
    return this.clock.now()
  }

  random(): number {
    return this.clock.random()
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.clock.sleepFor(this, ms, signal)
  }

  /**
   * Sends a request (or any real work) in turn: `start` runs when the clock is quiet and the
   * request is first in line, and counts as busy until what it returns settles.
   */
  track<T>(start: () => Promise<T>): Promise<T> {
    if (this.killed) return never()
    return new Promise<T>((resolve, reject) => {
      this.clock.enqueue(this, () => {
        this.clock.acquire()
        let work: Promise<T>
        try {
          work = start()
        } catch (e) {
          work = Promise.reject(e instanceof Error ? e : new Error(String(e)))
        }
        const done = () => this.clock.release()
        work.then(done, done)
        work.then(
          (v) => {
            if (!this.killed) resolve(v)
          },
          (e: unknown) => {
            if (!this.killed) reject(e)
          }
        )
      })
    })
  }

  /** A function (e.g. a transport) whose every call goes through track(). */
  wrap<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return (...args: A) => this.track(() => fn(...args))
  }

  /** Ends the run as a crash would (see the module comment). */
  kill(): void {
    if (this.killed) return
    this.killed = true
    this.clock.forget(this)
  }
}
