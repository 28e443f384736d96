/**
 * A freer variant of trials.ts for rounds of the connection action in virtual time: any simulator
 * options, any faults, per-run inputs, start times and clock skew, a hook that may kill or signal
 * any run after any request, seeded objects, and a "next" run. Same virtual-time machinery. Not a
 * test file.
 */
import {
  RUN_HEADER,
  startSimulator,
  type Fault,
  type HookReply,
  type RecordedRequest,
  type Simulator,
  type SimulatorOptions
} from '../../simulator/server.js'
import type { Signal, Signals } from '../../src/platform/cancel.js'
import type { Clock, Transport } from '../../src/platform/http.js'
import { undiciTransport } from '../../src/platform/transport.js'
import { inputEnv, runnerCore } from './in-process.js'
import { VirtualClock, type VirtualRun } from './virtual-clock.js'

export const NAME = 'race-db'
export const SANDBOX = 'prod'

export interface RunSpec {
  name: string
  /** virtual ms after the round starts */
  startMs?: number
  /** inputs on top of the defaults */
  inputs?: Record<string, string>
  /** this runner's clock is off by this much (now() only) */
  skewMs?: number
}

export interface RunResult {
  name: string
  code: number
  operation?: string
  id?: string
  error?: string
  warnings: string[]
  log: string
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

const silent: Signals = { on: () => () => undefined }

let runConnection: ((deps: Record<string, unknown>) => Promise<void>) | undefined
async function connectionRun() {
  runConnection ??= (await import('../../src/connection/main.js')).run as never
  return runConnection
}

async function oneRun(
  sim: Simulator,
  run: VirtualRun,
  spec: RunSpec,
  signals: Signals
): Promise<RunResult> {
  const own = undiciTransport()
  const transport: Transport = run.wrap((req, timeoutMs) =>
    own.transport({ ...req, headers: { ...req.headers, [RUN_HEADER]: run.name } }, timeoutMs)
  )
  const skew = spec.skewMs ?? 0
  const clock: Clock = {
    now: () => run.now() + skew,
    sleep: (ms) => run.sleep(ms),
    random: () => run.random()
  }
  const env = {
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: '(in-process)',
    GITHUB_STEP_SUMMARY: '(in-process)',
    ...inputEnv({
      'client-id': sim.clientId,
      'access-token': sim.issueToken(),
      'ims-org-id': sim.orgId,
      'sandbox-name': SANDBOX,
      'platform-url': sim.url,
      'connection-name': NAME,
      'connection-string':
        'Server=db.race.example.com;Database=d;Port=5432;UID=u;Password=pw-Race-12345',
      'timeout-seconds': '120',
      ...(spec.inputs ?? {})
    })
  }
  const core = runnerCore(env)
  try {
    await run.sleep(spec.startMs ?? 0)
    await (
      await connectionRun()
    )({
      core,
      transport,
      clock,
      env,
      github: { serverUrl: 'https://github.com', payload: {} },
      signals
    })
  } finally {
    await own.close()
  }
  const outputs: Record<string, string> = {}
  for (const m of core.files.output.matchAll(/^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm))
    outputs[m[1] as string] = m[3] as string
  const error = /^::error::(.*)$/m.exec(core.files.stdout)?.[1]
  const warnings = [...core.files.stdout.matchAll(/^::warning::(.*)$/gm)].map((m) => m[1] as string)
  return {
    name: run.name,
    code: core.files.exitCode ?? 0,
    ...(outputs.operation ? { operation: outputs.operation } : {}),
    ...(outputs['connection-id'] ? { id: outputs['connection-id'] } : {}),
    ...(error ? { error } : {}),
    warnings,
    log: core.files.stdout
  }
}

export const liveIds = (sim: Simulator, name = NAME): string[] =>
  sim
    .objects('connections', SANDBOX)
    .filter((c) => c.name === name && c.state !== 'delete-finalizing')
    .map((c) => c.id)

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
      return { spec, p: oneRun(sim as Simulator, run, spec, own) }
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
      const r = await clock.settled(oneRun(sim, run, spec, silent))
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
