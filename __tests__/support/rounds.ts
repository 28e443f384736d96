/**
 * A freer variant of trials.ts for rounds of the connection action in virtual time: any simulator
 * options, any faults, per-run inputs, start times and clock skew, a hook that may kill or signal
 * any run after any request, seeded objects, and a "next" run. Same virtual-time machinery. Not a
 * test file.
 */
import {
  startSimulator,
  type Fault,
  type HookReply,
  type RecordedRequest,
  type Simulator,
  type SimulatorOptions
} from '../../simulator/server.js'
import type { Signal, Signals } from '../../src/platform/cancel.js'
import { liveIds, oneRun, type RunResult } from './trials.js'
import { VirtualClock, type VirtualRun } from './virtual-clock.js'

export { liveIds, NAME, SANDBOX, type RunResult } from './trials.js'

export interface RunSpec {
  name: string
  /** virtual ms after the round starts */
  startMs?: number
  /** inputs on top of the defaults */
  inputs?: Record<string, string>
  /** this runner's clock is off by this much (now() only) */
  skewMs?: number
}

export interface Ctl {
  kill(name: string): void
  signal(name: string, s: Signal): void
  sim: Simulator
  clock: VirtualClock
}

export interface RoundOptions {
  seed: number
  sim?: Partial<SimulatorOptions>
  faults?: Fault[]
  runs: RunSpec[]
  hook?: (rec: RecordedRequest, reply: HookReply, ctl: Ctl) => void | Promise<void>
  /** called once the simulator is up, before any run */
  prepare?: (sim: Simulator, clock: VirtualClock) => void
  /** a run after the round (faults cleared), default a plain run 120 s later */
  next?: RunSpec | false
  /** the run whose kill is expected (not awaited) */
  killed?: string[]
}

export interface RoundResult {
  runs: RunResult[]
  left: string[]
  stale: RunResult[]
  next?: RunResult & { left: string[] }
  requests: RecordedRequest[]
  sim: Simulator
}

export async function round(o: RoundOptions): Promise<RoundResult> {
  const clock = new VirtualClock({ seed: o.seed, guardMs: 60_000 })
  const runs = new Map<string, VirtualRun>()
  const listeners = new Map<string, (s: Signal) => void>()
  let sim: Simulator | undefined = undefined
  const ctl = (): Ctl => ({
    kill: (n) => runs.get(n)?.kill(),
    signal: (n, s) => listeners.get(n)?.(s),
    sim: sim as Simulator,
    clock
  })
  sim = await startSimulator({
    clock,
    latencyMs: {
      GET: { min: 5, max: 80 },
      POST: { min: 5, max: 80 },
      DELETE: { min: 5, max: 80 },
      PATCH: { min: 5, max: 80 }
    },
    ...(o.sim ?? {}),
    hooks: {
      afterHandled: async (rec, reply) => {
        if (o.hook) await o.hook(rec, reply, ctl())
      }
    }
  })
  try {
    o.prepare?.(sim, clock)
    for (const f of o.faults ?? []) sim.inject(f)
    const killed = new Set(o.killed ?? [])
    const started = o.runs.map((spec) => {
      const run = clock.run(spec.name)
      runs.set(spec.name, run)
      const own: Signals = {
        on(listener) {
          listeners.set(spec.name, listener)
          return () => listeners.delete(spec.name)
        }
      }
      return {
        spec,
        p: oneRun(sim as Simulator, run, { ...spec, startMs: spec.startMs ?? 0, signals: own })
      }
    })
    const awaited = started.filter((s) => !killed.has(s.spec.name))
    const results = await clock.settled(Promise.all(awaited.map((s) => s.p)))
    for (const k of killed) results.push({ name: k, code: 137, warnings: [], log: '(killed)' })
    const left = liveIds(sim)
    const stale = results.filter(
      (r) =>
        r.code === 0 &&
        (!r.id || !left.includes(r.id)) &&
        r.operation !== 'absent' &&
        !(r.operation ?? '').startsWith('would')
    )
    let next: RoundResult['next']
    if (o.next !== false) {
      sim.clearFaults()
      const spec: RunSpec = o.next ?? { name: 'next', startMs: 120_000 }
      const run = clock.run(spec.name)
      const r = await clock.settled(oneRun(sim, run, { ...spec, startMs: spec.startMs ?? 0 }))
      next = { ...r, left: liveIds(sim) }
    }
    return { runs: results, left, stale, ...(next ? { next } : {}), requests: sim.requests, sim }
  } finally {
    clock.stop()
    await sim.close()
  }
}

/** A short description of a result, for failure messages and the report. */
export function summary(r: RoundResult): string {
  return JSON.stringify(
    {
      left: r.left,
      runs: r.runs.map((x) => ({
        n: x.name,
        code: x.code,
        op: x.operation,
        id: x.id,
        err: x.error?.slice(0, 300)
      })),
      next: r.next && {
        code: r.next.code,
        id: r.next.id,
        left: r.next.left,
        err: r.next.error?.slice(0, 300)
      }
    },
    null,
    1
  )
}
