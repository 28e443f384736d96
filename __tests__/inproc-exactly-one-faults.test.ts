/**
 * "Exactly one" under faults the matrix does not reach, each a round of the connection action in
 * virtual time against the simulator (support/rounds.ts): lost answers under a listing that lags
 * longer than the wait for a lost answer, marks stamped by runner clocks that are ahead, healing
 * while what uses a copy is not listed yet, and racing runs whose dates disagree with the order
 * their copies became visible.
 */
import { describe, it, expect } from '@jest/globals'
import { round, summary, NAME, SANDBOX } from './support/rounds.js'
import { trial, type Cell } from './support/trials.js'

const POST_CONNECTIONS = '/data/foundation/flowservice/connections'
/** The POST is performed, then answered 504: the answer that says so is lost. */
const mark = (run: string, atS: number) => `[aep-gha:${run}.1.${atS.toString(36)}]`
const lostPosts = (times: number) => ({
  match: { method: 'POST', path: POST_CONNECTIONS },
  times,
  action: { type: 'commit-then-status' as const, status: 504 }
})

describe('one run, two lost POST answers, a listing that lags longer than the wait for a lost answer', () => {
  // The run waits for its first POST's copy, does not see it, sends a second; looking for the
  // second's copy it sees the first's. It must look for the second's too, and keep one.
  it.each([8000, 9000, 12000, 15000])(
    'lag %i ms: exits 0 with exactly one copy, the one it names',
    async (lag) => {
      const r = await round({
        seed: 1,
        sim: { listingLagMs: lag },
        faults: [lostPosts(2)],
        runs: [{ name: 'r1' }],
        next: false
      })
      const [run] = r.runs
      expect({ code: run?.code, left: r.left, why: summary(r) }).toEqual({
        code: 0,
        left: [run?.id],
        why: summary(r)
      })
    }
  )
  it('lag 25 s, longer than every wait: fails naming the marks, and the next run heals to one', async () => {
    const r = await round({
      seed: 1,
      sim: { listingLagMs: 25_000 },
      faults: [lostPosts(2)],
      runs: [{ name: 'r1' }]
    })
    const [run] = r.runs
    if (run?.code === 0) expect(r.left).toEqual([run.id])
    else expect(run?.error ?? '').toMatch(/more than one may exist/)
    expect({ code: r.next?.code, left: r.next?.left.length }).toEqual({ code: 0, left: 1 })
  })
})

describe('marks stamped by a runner whose clock is ahead', () => {
  // Two copies Flow Service dates 10 minutes back, marked as if sent an hour (a year) from now:
  // the marks are no evidence that their runs are still settling, and the copies are healed.
  it.each([
    ['a year ahead, the next run a day later', 365 * 86400, 86_400_000],
    ['an hour ahead, the next run 30 min later', 3600, 30 * 60_000]
  ])('%s: the first run heals the copies, the next finds one', async (_, aheadS, nextMs) => {
    const r = await round({
      seed: 1,
      prepare(sim, clock) {
        const at = Math.floor(clock.now() / 1000) + aheadS
        sim.seedConnection(SANDBOX, {
          name: NAME,
          description: `x ${mark('aaaaaaaaaaaa', at)}`,
          createdAt: clock.now() - 600_000
        })
        sim.seedConnection(SANDBOX, {
          name: NAME,
          description: `x ${mark('bbbbbbbbbbbb', at)}`,
          createdAt: clock.now() - 590_000
        })
      },
      runs: [{ name: 'r1' }],
      next: { name: 'next', startMs: nextMs }
    })
    const [run] = r.runs
    expect({ code: run?.code, left: r.left, error: run?.error }).toEqual({
      code: 0,
      left: [run?.id],
      error: undefined
    })
    expect({ code: r.next?.code, left: r.next?.left }).toEqual({ code: 0, left: r.left })
  })
})

describe('healing while the listing of what uses a copy lags', () => {
  // Two old copies made by this action; a dataflow started using copy B a moment ago (through a
  // source connection), and listings lag 5 s, so B looks unused and A is first. Flow Service
  // refuses to delete B (1418): the run keeps B and deletes A instead.
  it('keeps the copy a dataflow uses (since a moment ago), not the oldest', async () => {
    let B = ''
    const r = await round({
      seed: 1,
      sim: { listingLagMs: 5000 },
      prepare(sim, clock) {
        const old = Math.floor(clock.now() / 1000) - 3600
        sim.seedConnection(SANDBOX, {
          name: NAME,
          description: `d ${mark('aaaaaaaaaaaa', old)}`,
          createdAt: clock.now() - 3_600_000
        })
        B = sim.seedConnection(SANDBOX, {
          name: NAME,
          description: `d ${mark('bbbbbbbbbbbb', old + 5)}`,
          createdAt: clock.now() - 3_595_000
        }).id
        const source = sim.seedSourceConnection(SANDBOX, {
          name: 'orders source',
          baseConnectionId: B,
          committedAt: clock.now()
        })
        const target = sim.seedTargetConnection(SANDBOX, {
          name: 'orders target',
          dataSetId: sim.datasets(SANDBOX)[0]?.id ?? '',
          committedAt: clock.now()
        })
        sim.seedFlow(SANDBOX, {
          name: 'orders',
          sourceConnectionIds: [source.id],
          targetConnectionIds: [target.id],
          committedAt: clock.now()
        })
      },
      runs: [{ name: 'r1' }],
      next: false
    })
    const [run] = r.runs
    expect({ code: run?.code, id: run?.id, left: r.left, why: summary(r) }).toEqual({
      code: 0,
      id: B,
      left: [B],
      why: summary(r)
    })
  })
})

/*
 * Known limits (docs/how-it-works.md, "Racing runs"): with dates that do not follow the order in
 * which copies became visible, a racer can exit 0 on its own copy while another run keeps a copy
 * that ranks first and fails naming both; the next run's heal keeps the first and deletes the
 * copy the exit-0 run named. And a run starting while racers settle can exit 0 naming a copy a
 * racer deletes a moment later. What still holds, checked here on the rounds that show them: a
 * run that saw two copies failed naming both, and the next run ends with exactly one.
 */
describe('known limits: racing runs whose dates do not follow visibility order', () => {
  it.each([
    ['tied dates, K=2', { k: 2, lagMs: 0, faults: 'none', dates: 'tied' }, 514],
    ['missing dates, K=2', { k: 2, lagMs: 0, faults: 'none', dates: 'missing' }, 525],
    ['arrival dates, K=2, lag 500 ms', { k: 2, lagMs: 500, faults: 'none', dates: 'arrival' }, 542]
  ] as const)(
    '%s: two left are named by a failing run, and the next run heals to one',
    async (_, cell, seed) => {
      const r = await trial(cell as Cell, seed)
      if (r.left.length > 1) {
        const failed = r.runs.filter((x) => x.code !== 0)
        expect(failed.length).toBeGreaterThan(0)
        for (const id of r.left) expect(failed.some((x) => (x.error ?? '').includes(id))).toBe(true)
      }
      expect({ code: r.next.code, left: r.next.left.length }).toEqual({ code: 0, left: 1 })
    }
  )
  it.each([
    ['arrival dates, if-exists reuse', 248, 'arrival', 'reuse'],
    ['missing dates, if-exists update', 121, 'missing', 'update']
  ])(
    'a run starting while two racers settle (%s): the next run ends with exactly one',
    async (_, seed, dates, ifExists) => {
      const r = await round({
        seed: seed as number,
        sim: {
          listingLagMs: { min: 500, max: 1000 },
          createdAtMode: dates as 'arrival' | 'missing',
          skewMs: 2000,
          commitLatencyMs: { min: 20, max: 600 }
        },
        runs: [
          { name: 'r1' },
          { name: 'r2', startMs: 50 },
          { name: 'late', startMs: 1200, inputs: { 'if-exists': ifExists as string } }
        ]
      })
      if (r.runs.some((x) => x.code === 0)) expect(r.left.length).toBeGreaterThan(0)
      expect({ code: r.next?.code, left: r.next?.left.length }).toEqual({ code: 0, left: 1 })
    }
  )
})
