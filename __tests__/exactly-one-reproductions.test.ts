/**
 * The reproductions that showed "exactly one" did not hold, each run as it was reported, in
 * virtual time against the simulator: one run with lost answers under listing lag, racing runs
 * whose dates disagree with when their copies became visible, a run cancelled or killed right
 * after its POST, three and more racers without dates and with a slow delete; and two found
 * since: a racer exiting 0 while the run whose copy ranks first fails, and a run that joins while
 * two racers settle.
 */
import { describe, it, expect } from '@jest/globals'
import { round } from './support/rounds.js'
import { trial, type Cell, type DateMode, type TrialResult } from './support/trials.js'

const exitedZero = (r: TrialResult) => r.runs.filter((x) => x.code === 0)

/** What must hold after any round: no run exits 0 with none left or naming a copy that is gone. */
function expectSafe(r: TrialResult) {
  if (exitedZero(r).length > 0) expect(r.left.length).toBeGreaterThan(0)
  expect(r.stale.map((x) => `${x.name} named ${x.id}`)).toEqual([])
  // The next run ends with exactly one, healing what the round left.
  expect({ code: r.next.code, left: r.next.left.length, error: r.next.error }).toEqual({
    code: 0,
    left: 1,
    error: undefined
  })
}

describe('1. one run, no race, whose POST is answered 504 after it was performed, twice', () => {
  it.each<[string, Partial<Cell>]>([
    ['listing lag 1.5 s', { lagMs: 1500, fixedLag: true, faults: 'lost-2' }],
    ['random lag 0-2 s', { lagMs: 2000, faults: 'lost-2' }],
    ['resets instead of 504', { lagMs: 1500, fixedLag: true, faults: 'reset-2' }],
    [
      'lag 5 s, longer than the wait for a lost answer',
      { lagMs: 5000, fixedLag: true, faults: 'lost-2' }
    ]
  ])('%s: exactly one copy, and the run names it', async (_, over) => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = await trial({ lagMs: 0, faults: 'none', k: 1, dates: 'epoch-ms', ...over }, seed)
      expectSafe(r)
      const [run] = r.runs
      // Exit 0 only with exactly one copy, the one in the outputs; else a failure naming ids.
      if (run?.code === 0) expect(r.left).toEqual([run.id])
      else expect(run?.error ?? '').toMatch(/[0-9a-f-]{36}|aep-gha/)
    }
  })
})

describe('2. racing runs whose copies commit in another order than their dates', () => {
  it.each([2, 3])(
    'K=%i: never two runs exiting 0 with different copies that both stay',
    async (k) => {
      for (let seed = 1; seed <= 10; seed++) {
        const r = await trial(
          { lagMs: 0, faults: 'none', k, dates: 'arrival', commitLatencyMs: { min: 20, max: 600 } },
          seed
        )
        expectSafe(r)
        const named = new Set(exitedZero(r).map((x) => x.id))
        // Two copies left may happen (copies no run could see in time), but never silently: a
        // run that saw the other copy failed naming it.
        if (r.left.length > 1) expect(r.runs.some((x) => x.code !== 0)).toBe(true)
        expect([...named].filter((id) => !r.left.includes(id ?? ''))).toEqual([])
      }
    }
  )
})

describe('3. a racer cancelled right after its POST', () => {
  it('killed (SIGKILL): the survivors end safely, and the next run heals instead of failing forever', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = await trial(
        { lagMs: 500, faults: 'none', k: 2, dates: 'epoch-ms', r1AfterPost: 'kill' },
        seed
      )
      expectSafe(r)
    }
  })

  it('cancelled (SIGINT): finishes settling within the grace period, then exits non-zero', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = await trial(
        { lagMs: 500, faults: 'none', k: 2, dates: 'epoch-ms', r1AfterPost: 'SIGINT' },
        seed
      )
      expectSafe(r)
      const r1 = r.runs.find((x) => x.name === 'r1')
      expect(r1?.code).toBe(1)
      expect(r1?.error).toMatch(/cancel/)
    }
  })
})

describe('4. three and more racers', () => {
  it.each([3, 4, 5])(
    'K=%i without dates: none left empty, no output naming a deleted copy',
    async (k) => {
      for (let seed = 1; seed <= 8; seed++)
        expectSafe(await trial({ lagMs: 0, faults: 'none', k, dates: 'missing' }, seed))
    }
  )

  it('a slowed DELETE (429, Retry-After 20 s): never none left after a run exited 0', async () => {
    for (let seed = 1; seed <= 8; seed++)
      expectSafe(await trial({ lagMs: 0, faults: 'slow-delete', k: 3, dates: 'missing' }, seed))
  })

  it('dated racers with 2-5 s of listing lag: any two left are reported by a failing run', async () => {
    for (let seed = 1; seed <= 8; seed++) {
      const r = await trial({ lagMs: 5000, faults: 'none', k: 2, dates: 'epoch-ms' }, seed)
      expectSafe(r)
      if (r.left.length > 1) expect(r.runs.some((x) => x.code !== 0)).toBe(true)
    }
  })
})

describe('5. a racer exits 0 naming its copy, never having seen the other; the other run fails', () => {
  // Dates that do not follow when copies became visible: the run whose copy ranks first saw both
  // and waited in vain for the other to go, while the other run, seeing only its own, exited 0.
  it.each<[string, Cell, number]>([
    ['tied dates, 2 racers', { lagMs: 0, faults: 'none', k: 2, dates: 'tied' }, 207],
    [
      'dates stamped on arrival, 2 racers',
      { lagMs: 0, faults: 'none', k: 2, dates: 'arrival' },
      214
    ],
    ['skewed clocks, 2 racers', { lagMs: 0, faults: 'none', k: 2, dates: 'skewed' }, 214],
    ['no dates, 3 racers', { lagMs: 0, faults: 'none', k: 3, dates: 'missing' }, 314]
  ])(
    '%s: the failing run gives way, and the next run keeps the copy the other named',
    async (_, cell, seed) => {
      const r = await trial(cell, seed)
      expectSafe(r)
      const [ok, ...more] = exitedZero(r)
      expect(more).toEqual([])
      // The race happened as described: two copies left, a failing run that gave way.
      expect(r.left).toHaveLength(2)
      expect(r.runs.some((x) => /This run's copy gives way/.test(x.error ?? ''))).toBe(true)
      expect(r.next.left).toEqual([ok?.id])
    }
  )
})

describe('6. a run that starts while two racers settle finds only the copy about to lose', () => {
  // Its listing lags: it sees one racer's copy alone, updates it (if-exists: update) and exits 0;
  // the racer that made that copy then sees the first one. The update's mark says adopted, so the
  // racer keeps its copy and fails, and the run whose copy is first gives way.
  it.each<[string, DateMode, number, number]>([
    ['tied dates, joining at 0.8 s', 'tied', 800, 852],
    ['no dates, joining at 0.8 s', 'missing', 800, 852],
    ['dates stamped on arrival, joining at 1.2 s', 'arrival', 1200, 1226]
  ])('%s: the copy it names stays, also after the next run', async (_, dates, startMs, seed) => {
    const r = await round({
      seed,
      sim: {
        listingLagMs: { min: 0, max: 1000 },
        createdAtMode: dates,
        skewMs: 2000,
        commitLatencyMs: { min: 20, max: 600 }
      },
      runs: [{ name: 'r1' }, { name: 'r2', startMs: 50 }, { name: 'late', startMs }]
    })
    const late = r.runs.find((x) => x.name === 'late')
    expect(late?.code).toBe(0)
    expect(late?.operation).toBe('updated')
    for (const x of r.runs.filter((y) => y.code === 0)) {
      expect(r.left).toContain(x.id)
      expect(r.next?.left).toContain(x.id)
    }
    expect({ code: r.next?.code, left: r.next?.left.length }).toEqual({ code: 0, left: 1 })
  })
})
