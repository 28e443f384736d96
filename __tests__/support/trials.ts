/**
 * Racing runs of an action against an eventually consistent simulator, in-process and in
 * virtual time: K runs of run() start together (a little jitter apart) on one VirtualClock
 * shared with the simulator, whose listings lag, whose dates disagree with the order copies
 * commit in, and whose answers get lost. A trial reports what a user would see afterwards: the
 * copies left, each run's exit code and outputs, and what the run after the round did. Not a
 * test file.
 */
import { RUN_HEADER, startSimulator, type Fault, type Simulator } from '../../simulator/server.js'
import type { Deps } from '../../src/connection/main.js'
import type { Signal, Signals } from '../../src/platform/cancel.js'
import type { Clock, Transport } from '../../src/platform/http.js'
import { undiciTransport } from '../../src/platform/transport.js'
import { inputEnv, runnerCore } from './in-process.js'
import { VirtualClock, type VirtualRun } from './virtual-clock.js'

export type DateMode = 'epoch-ms' | 'iso' | 'missing' | 'tied' | 'arrival' | 'skewed'
export type FaultKind = 'none' | 'lost-1' | 'lost-2' | 'slow-delete' | 'reset-1' | 'reset-2'

export interface Cell {
  lagMs: number
  faults: FaultKind
  k: number
  dates: DateMode
  /** one run after another, as a workflow with a concurrency: group runs them */
  serial?: boolean
  /** the lag is exactly lagMs on every listing (default: drawn from lagMs/2 to lagMs) */
  fixedLag?: boolean
  /** dates stamped when a POST arrives, commits 20-600 ms later (default for 'arrival') */
  commitLatencyMs?: number | { min: number; max: number }
  /**
   * What happens to run r1 right after its first POST is performed: killed (SIGKILL: nothing
   * more), or sent SIGINT (the runner's cancel) with the grace period to finish.
   */
  r1AfterPost?: 'kill' | 'SIGINT'
}

export interface RunResult {
  name: string
  code: number
  operation?: string
  id?: string
  error?: string
  /** the ::warning lines it printed */
  warnings: string[]
  /** what the run printed, for a failing cell's message */
  log: string
}

export interface TrialResult {
  cell: Cell
  seed: number
  runs: RunResult[]
  /** the live copies of the name once every run ended */
  left: string[]
  /** runs that exited 0 naming a copy that is not left (or when none is) */
  stale: RunResult[]
  /** what the run after the round did, and what was left after it */
  next: RunResult & { left: string[] }
  virtualMs: number
}

export const NAME = 'race-db'
export const SANDBOX = 'prod'

/** The connection action's run(), loaded once. */
let runConnection: ((deps: Partial<Deps>) => Promise<void>) | undefined
async function connectionRun() {
  runConnection ??= (await import('../../src/connection/main.js')).run
  return runConnection
}

function faultsOf(kind: FaultKind): Fault[] {
  switch (kind) {
    case 'none':
      return []
    // The POST is performed, then answered 504: the answer that says so is lost.
    case 'lost-1':
    case 'lost-2':
      return [
        {
          match: { method: 'POST', path: '/data/foundation/flowservice/connections' },
          times: kind === 'lost-1' ? 1 : 2,
          action: { type: 'commit-then-status', status: 504 }
        }
      ]
    // The POST is performed, then the connection is reset before the answer.
    case 'reset-1':
    case 'reset-2':
      return [
        {
          match: { method: 'POST', path: '/data/foundation/flowservice/connections' },
          times: kind === 'reset-1' ? 1 : 2,
          action: { type: 'commit-then-reset' }
        }
      ]
    // A run's DELETE is rate limited for a long time before it goes through.
    case 'slow-delete':
      return [
        {
          match: { method: 'DELETE' },
          times: 1,
          action: { type: 'status', status: 429, headers: { 'retry-after': '20' } }
        }
      ]
  }
}

const silent: Signals = { on: () => () => undefined }

/** How one run starts: after startMs virtual ms, with these inputs over the defaults. */
export interface OneRun {
  startMs: number
  signals?: Signals
  inputs?: Record<string, string>
  /** this runner's clock is off by this much (now() only) */
  skewMs?: number
}

/** One run of the action on its VirtualRun: its own transport, a runner stand-in, its outputs. */
export async function oneRun(sim: Simulator, run: VirtualRun, opts: OneRun): Promise<RunResult> {
  const own = undiciTransport()
  // Every request is tracked by the clock and names its run (the action never sends the header).
  const transport: Transport = run.wrap((req, timeoutMs) =>
    own.transport({ ...req, headers: { ...req.headers, [RUN_HEADER]: run.name } }, timeoutMs)
  )
  const skew = opts.skewMs ?? 0
  const clock: Clock = skew
    ? { now: () => run.now() + skew, sleep: (ms) => run.sleep(ms), random: () => run.random() }
    : run
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
      ...(opts.inputs ?? {})
    })
  }
  const core = runnerCore(env)
  try {
    await run.sleep(opts.startMs)
    await (
      await connectionRun()
    )({
      core,
      transport,
      clock,
      env,
      github: { serverUrl: 'https://github.com', payload: {} },
      signals: opts.signals ?? silent
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

/** The live connections of the race's name. */
export const liveIds = (sim: Simulator, name = NAME): string[] =>
  sim
    .objects('connections', SANDBOX)
    .filter((c) => c.name === name && c.state !== 'delete-finalizing')
    .map((c) => c.id)

/** One round of racing runs in a cell, then the run after it. */
export async function trial(cell: Cell, seed: number): Promise<TrialResult> {
  const clock = new VirtualClock({ seed, guardMs: 60_000 })
  const runs = new Map<string, VirtualRun>()
  const signals = new Map<string, (s: Signal) => void>()
  let r1Posted = false
  const sim = await startSimulator({
    clock,
    listingLagMs:
      cell.lagMs === 0 || cell.fixedLag
        ? cell.lagMs
        : { min: Math.round(cell.lagMs / 2), max: cell.lagMs },
    createdAtMode: cell.dates,
    skewMs: 2000,
    commitLatencyMs: cell.commitLatencyMs ?? { min: 20, max: 600 },
    hooks: {
      afterHandled(rec) {
        if (!cell.r1AfterPost || r1Posted || rec.method !== 'POST' || rec.run !== 'r1') return
        r1Posted = true
        if (cell.r1AfterPost === 'kill') runs.get('r1')?.kill()
        else signals.get('r1')?.('SIGINT')
      }
    },
    latencyMs: {
      GET: { min: 5, max: 80 },
      POST: { min: 5, max: 80 },
      DELETE: { min: 5, max: 80 },
      PATCH: { min: 5, max: 80 }
    }
  })
  try {
    for (const f of faultsOf(cell.faults)) sim.inject(f)
    const names = Array.from({ length: cell.k }, (_, i) => `r${i + 1}`)
    const results: RunResult[] = []
    if (cell.serial) {
      for (const name of names)
        results.push(await clock.settled(oneRun(sim, clock.run(name), { startMs: 0 })))
    } else {
      const started = names.map((name) => {
        const run = clock.run(name)
        runs.set(name, run)
        const own: Signals = {
          on(listener) {
            signals.set(name, listener)
            return () => signals.delete(name)
          }
        }
        return oneRun(sim, run, { startMs: Math.floor(clock.random() * 300), signals: own })
      })
      // A killed run never settles: the others are waited for.
      const killed = cell.r1AfterPost === 'kill'
      const live = killed ? started.slice(1) : started
      results.push(...(await clock.settled(Promise.all(live))))
      if (killed) results.unshift({ name: 'r1', code: 137, warnings: [], log: '(killed)' })
    }
    const left = liveIds(sim)
    const stale = results.filter(
      (r) => r.code === 0 && (!r.id || !left.includes(r.id)) && r.operation !== 'absent'
    )
    // The run after the round, two minutes later (a next workflow run): no faults, no race.
    sim.clearFaults()
    const next = await clock.settled(oneRun(sim, clock.run('next'), { startMs: 120_000 }))
    return {
      cell,
      seed,
      runs: results,
      left,
      stale,
      next: { ...next, left: liveIds(sim) },
      virtualMs: clock.elapsed()
    }
  } finally {
    clock.stop()
    await sim.close()
  }
}
