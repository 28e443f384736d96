/**
 * The virtual clock: time jumps instead of passing, only while nothing real is in progress, one
 * step at a time, so concurrent runs against the in-process simulator interleave the same way
 * for a seed, in a fraction of the real time.
 */
import { describe, it, expect, afterEach } from '@jest/globals'
import {
  startSimulator,
  RUN_HEADER,
  type Simulator,
  type SimulatorOptions
} from '../simulator/server.js'
import { idOf, simClient } from './support/sim-client.js'
import { VirtualClock, type VirtualRun } from './support/virtual-clock.js'

const sims: Simulator[] = []
const clocks: VirtualClock[] = []
afterEach(async () => {
  for (const c of clocks.splice(0)) c.stop()
  await Promise.all(sims.splice(0).map((s) => s.close()))
})

function virtualClock(o: ConstructorParameters<typeof VirtualClock>[0] = {}): VirtualClock {
  const clock = new VirtualClock(o)
  clocks.push(clock)
  return clock
}

async function simOn(clock: VirtualClock, o: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ clock, ...o })
  sims.push(sim)
  return sim
}

/** A client whose every request goes through its run (tracked, in turn) and names the run. */
function clientOf(sim: Simulator, token: string, run: VirtualRun) {
  return simClient(sim, token, (work) => run.track(work), { [RUN_HEADER]: run.name })
}

describe('time without a simulator', () => {
  it('jumps to each sleep in time order, ties in the order they were made', async () => {
    const clock = virtualClock()
    const order: string[] = []
    const at = (name: string, ms: number, run = clock.run(name)) =>
      run.sleep(ms).then(() => order.push(`${name}@${clock.elapsed()}`))
    const t0 = performance.now()
    await clock.settled(
      Promise.all([at('hour', 3_600_000), at('b', 5000), at('a', 5000), at('now', 0)])
    )
    expect(order).toEqual(['now@0', 'b@5000', 'a@5000', 'hour@3600000'])
    expect(performance.now() - t0).toBeLessThan(500)
    await clock.runUntilIdle()
  })

  it('random() replays from the seed', () => {
    const draws = (seed: number) => {
      const clock = virtualClock({ seed })
      return [clock.random(), clock.random(), clock.run('r').random()]
    }
    expect(draws(4)).toEqual(draws(4))
    expect(draws(4)).not.toEqual(draws(5))
  })

  it('a sleep cut short by its signal ends at once and leaves nothing pending', async () => {
    const clock = virtualClock()
    const stop = new AbortController()
    const long = clock.sleep(60_000, stop.signal)
    stop.abort()
    await long
    await clock.runUntilIdle()
    expect(clock.elapsed()).toBe(0)
  })
})

describe('time with the simulator', () => {
  it('requests made at the same instant are sent one at a time, in the order they were made', async () => {
    const clock = virtualClock()
    const sim = await simOn(clock)
    const token = sim.issueToken()
    const log: string[] = []
    const runs = Array.from({ length: 6 }, (_, i) => clock.run(`r${i}`))
    await clock.settled(
      Promise.all(
        runs.map((run) =>
          run.track(async () => {
            log.push(`send ${run.name}`)
            const items = await simClient(sim, token).list()
            log.push(`reply ${run.name}`)
            return items
          })
        )
      )
    )
    expect(log).toEqual(runs.flatMap((r) => [`send ${r.name}`, `reply ${r.name}`]))
  })

  it('requests the simulator releases together resume one at a time', async () => {
    const clock = virtualClock()
    const log: string[] = []
    const sim = await simOn(clock, {
      hooks: { afterHandled: (rec) => void log.push(`handled ${rec.run}`) }
    })
    sim.inject({ match: { method: 'GET' }, times: 3, action: { type: 'barrier', parties: 3 } })
    const token = sim.issueToken()
    await clock.settled(
      Promise.all(
        ['x', 'y', 'z'].map(async (name) => {
          const run = clock.run(name)
          await clientOf(sim, token, run).list()
          log.push(`reply ${name}`)
        })
      )
    )
    expect(log).toHaveLength(6)
    for (let i = 0; i < 6; i += 2) expect(log[i + 1]).toBe(log[i]?.replace('handled', 'reply'))
  })

  it('a 60 s wait of the simulator and a 5 s sleep of a client end in the right order, at once', async () => {
    const clock = virtualClock()
    const sim = await simOn(clock)
    sim.inject({ match: { method: 'GET' }, action: { type: 'delay', ms: 60_000 } })
    const token = sim.issueToken()
    const events: string[] = []
    const slow = clock.run('slow')
    const sleeper = clock.run('sleeper')
    const t0 = performance.now()
    await clock.settled(
      Promise.all([
        clientOf(sim, token, slow)
          .list()
          .then(() => events.push(`list answered @${clock.elapsed()}`)),
        sleeper.sleep(5000).then(() => events.push(`slept @${clock.elapsed()}`))
      ])
    )
    const realMs = performance.now() - t0
    expect(events).toEqual(['slept @5000', 'list answered @60000'])
    expect(realMs).toBeLessThan(1000)
    await clock.runUntilIdle()
  })

  it('commit latency and latency are waited in virtual time, each request in turn', async () => {
    const clock = virtualClock()
    const sim = await simOn(clock, { commitLatencyMs: 2000, latencyMs: { POST: 500 } })
    const run = clock.run('one')
    const c = clientOf(sim, sim.issueToken(), run)
    const id = idOf(await clock.settled(c.create('n')))
    expect(clock.elapsed()).toBe(2500)
    expect(sim.connections()[0]).toMatchObject({ id, committedAt: clock.start + 2000 })
  })

  const trial = async (seed: number) => {
    const clock = virtualClock({ seed })
    const sim = await simOn(clock, {
      listingLagMs: { min: 0, max: 3000 },
      commitLatencyMs: { min: 0, max: 2000 },
      latencyMs: { GET: { min: 0, max: 400 }, POST: { min: 0, max: 800 } },
      createdAtMode: 'arrival'
    })
    const token = sim.issueToken()
    const log: string[] = []
    const runs = ['a', 'b', 'c', 'd'].map((name) => clock.run(name))
    const t0 = performance.now()
    await clock.settled(
      Promise.all(
        runs.map(async (run) => {
          const c = clientOf(sim, token, run)
          const seen = async () => (await c.list()).map((i) => i.name).join(',')
          log.push(`${run.name} listed [${await seen()}] @${clock.elapsed()}`)
          await run.sleep(Math.floor(run.random() * 1000))
          const made = await c.create(run.name)
          log.push(`${run.name} created ${made.status} @${clock.elapsed()}`)
          log.push(`${run.name} listed [${await seen()}] @${clock.elapsed()}`)
        })
      )
    )
    const realMs = performance.now() - t0
    await clock.runUntilIdle()
    const served = sim.requests.map((r) => `${r.run}:${r.method}:${r.status}`)
    const dates = sim.connections().map((x) => `${x.name}:${x.createdAt - clock.start}`)
    return { log, served, dates, realMs }
  }

  it('concurrent clients interleave the same way for a seed, and another way for another', async () => {
    const first = await trial(7)
    const again = await trial(7)
    expect(again.log).toEqual(first.log)
    expect(again.served).toEqual(first.served)
    expect(again.dates).toEqual(first.dates)
    const other = await trial(8)
    expect(other.log).not.toEqual(first.log)
    expect(first.log).toHaveLength(12)
  })

  it('a trial of 4 clients against a 1.5 s listing lag takes well under a second of real time', async () => {
    const clock = virtualClock({ seed: 3 })
    const sim = await simOn(clock, { listingLagMs: 1500 })
    const token = sim.issueToken()
    const t0 = performance.now()
    const seen = await clock.settled(
      Promise.all(
        ['a', 'b', 'c', 'd'].map(async (name) => {
          const run = clock.run(name)
          const c = clientOf(sim, token, run)
          const names = async () => (await c.list()).map((i) => i.name).sort()
          const before = await names()
          await c.create(name)
          const right = await names()
          await run.sleep(5000)
          return { before, right, later: await names() }
        })
      )
    )
    const realMs = performance.now() - t0
    for (const s of seen) expect(s).toEqual({ before: [], right: [], later: ['a', 'b', 'c', 'd'] })
    expect(clock.elapsed()).toBe(5000)
    expect(realMs).toBeLessThan(1000)
  })

  it('a run killed right after its POST was performed does not block the others', async () => {
    const clock = virtualClock()
    const runs = new Map(['doomed', 'x', 'y'].map((name) => [name, clock.run(name)]))
    const sim = await simOn(clock, {
      listingLagMs: 1000,
      hooks: {
        afterHandled(rec) {
          if (rec.method === 'POST' && rec.run === 'doomed') runs.get('doomed')?.kill()
        }
      }
    })
    const token = sim.issueToken()
    const finished: string[] = []
    const play = async (run: VirtualRun) => {
      const c = clientOf(sim, token, run)
      await c.list()
      await c.create(run.name)
      await run.sleep(2000)
      await c.list()
      finished.push(run.name)
    }
    const doomed = play(runs.get('doomed') as VirtualRun)
    let doomedSettled = false
    void doomed.then(
      () => (doomedSettled = true),
      () => (doomedSettled = true)
    )
    await clock.settled(
      Promise.all([play(runs.get('x') as VirtualRun), play(runs.get('y') as VirtualRun)])
    )
    await clock.runUntilIdle()
    expect(finished.sort()).toEqual(['x', 'y'])
    expect(doomedSettled).toBe(false)
    // Its POST was performed before it died.
    expect(sim.connections().map((x) => x.name)).toContain('doomed')
    expect(clock.elapsed()).toBe(2000)
  })
})

describe('the guards', () => {
  it('a request the clock does not track makes it halt with a clear error', async () => {
    const clock = virtualClock()
    const sim = await simOn(clock, { commitLatencyMs: 1000 })
    const untracked = simClient(sim, sim.issueToken())
    void untracked.create('n').catch(() => undefined)
    await expect(clock.runUntilIdle()).rejects.toThrow(/not tracked/)
  })

  it('a run that never stops sleeping halts the clock after guardMs of real time', async () => {
    const clock = virtualClock({ guardMs: 300 })
    const run = clock.run('forever')
    void (async () => {
      for (;;) await run.sleep(1000)
    })()
    const t0 = performance.now()
    await expect(clock.runUntilIdle()).rejects.toThrow(/not idle after 300 ms of real time/)
    expect(performance.now() - t0).toBeLessThan(5000)
    await expect(clock.runUntilIdle()).rejects.toThrow(/not idle/)
  })

  it('settled() of what never settles rejects after guardMs', async () => {
    const clock = virtualClock({ guardMs: 200 })
    const run = clock.run('killed')
    run.kill()
    await expect(clock.settled(run.sleep(10))).rejects.toThrow(/did not settle within 200 ms/)
  })
})
