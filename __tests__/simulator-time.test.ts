/**
 * The simulator's time and randomness: everything it reads or waits on goes through the clock
 * it is given, and every random choice through the random source, so a trial replays exactly.
 */
import { describe, it, expect, afterEach } from '@jest/globals'
import {
  fieldReader,
  startSimulator,
  RUN_HEADER,
  type HookReply,
  type RecordedRequest,
  type Simulator,
  type SimulatorClock
} from '../simulator/server.js'
import { mulberry32 } from './support/seeded-random.js'
import { idOf, itemsOf, simClient } from './support/sim-client.js'

const T0 = 1_767_225_600_000

/** A clock that moves only when the test says so. */
function manualClock(start = T0) {
  let t = start
  const sleepers: Array<{ at: number; resolve: () => void }> = []
  const clock = {
    now: () => t,
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve()
        const sleeper = { at: t + ms, resolve }
        sleepers.push(sleeper)
        signal?.addEventListener(
          'abort',
          () => {
            if (sleepers.includes(sleeper)) sleepers.splice(sleepers.indexOf(sleeper), 1)
            resolve()
          },
          { once: true }
        )
      }),
    advance(ms: number) {
      t += ms
      for (const s of sleepers.filter((x) => x.at <= t)) {
        sleepers.splice(sleepers.indexOf(s), 1)
        s.resolve()
      }
    },
    pending: () => sleepers.length,
    /** how long each pending wait has left, soonest first */
    dues: () => sleepers.map((x) => x.at - t).sort((a, b) => a - b),
    /** resolves once the simulator waits on the clock */
    async waiting(): Promise<void> {
      for (let i = 0; i < 1000 && sleepers.length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 2))
      if (sleepers.length === 0) throw new Error('the simulator never waited on the clock')
    }
  }
  return clock satisfies SimulatorClock
}

const sims: Simulator[] = []
async function start(o: Parameters<typeof startSimulator>[0] = {}) {
  const sim = await startSimulator(o)
  sims.push(sim)
  return sim
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})

describe('the clock', () => {
  it('stamps createdAt, updatedAt and etags with the time of the clock it is given', async () => {
    const clock = manualClock()
    const sim = await start({ clock })
    const c = simClient(sim, sim.issueToken())
    const id = idOf(await c.create('n'))
    const made = await c.get(id)
    expect(made).toMatchObject({ createdAt: T0, updatedAt: T0 })
    const etagSeconds = /-([0-9a-f]{8})0000"$/.exec(made?.etag ?? '')?.[1]
    expect(parseInt(etagSeconds ?? '', 16)).toBe(Math.floor(T0 / 1000))
    clock.advance(5000)
    const r = await c.call('PATCH', `/connections/${id}`, {
      body: [{ op: 'replace', path: '/description', value: 'd' }],
      headers: { 'if-match': made?.etag ?? '' }
    })
    expect(r.status).toBe(200)
    expect((await c.get(id))?.updatedAt).toBe(T0 + 5000)
  })

  it('times transitions on the clock', async () => {
    const clock = manualClock()
    const sim = await start({ clock })
    const c = simClient(sim, sim.issueToken())
    const seeded = sim.seedConnection('dev', {
      name: 'n',
      state: 'initializing',
      transition: { afterMs: 1000, to: 'enabled' }
    })
    expect((await c.get(seeded.id))?.state).toBe('initializing')
    clock.advance(999)
    expect((await c.get(seeded.id))?.state).toBe('initializing')
    clock.advance(1)
    expect((await c.get(seeded.id))?.state).toBe('enabled')
  })

  it('waits on the clock for latency and delay faults, however long they are', async () => {
    const clock = manualClock()
    const sim = await start({ clock })
    const c = simClient(sim, sim.issueToken())
    sim.inject({ match: { method: 'GET' }, action: { type: 'delay', ms: 3_600_000 } })
    let answered = false
    const reply = c.list().then((items) => {
      answered = true
      return items
    })
    await clock.waiting()
    clock.advance(3_599_999)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(answered).toBe(false)
    clock.advance(1)
    expect(await reply).toEqual([])
    sim.configure({ latencyMs: 86_400_000 })
    const slow = c.list()
    await clock.waiting()
    clock.advance(86_400_000)
    expect(await slow).toEqual([])
  })

  it('a barrier times out on the clock and leaves no wait behind when it opens', async () => {
    const clock = manualClock()
    const sim = await start({ clock })
    const c = simClient(sim, sim.issueToken())
    sim.inject({
      match: { method: 'GET' },
      times: 3,
      action: { type: 'barrier', parties: 2, timeoutMs: 10_000 }
    })
    const alone = c.list()
    await clock.waiting()
    clock.advance(10_000)
    expect(await alone).toEqual([])
    const [a, b] = await Promise.all([c.list(), c.list()])
    expect([a, b]).toEqual([[], []])
    expect(clock.pending()).toBe(0)
  })
})

describe('the random source', () => {
  it('draws ids, etags, tokens and request ids from random, so a seed replays them', async () => {
    const trial = async () => {
      const sim = await start({ clock: manualClock(), random: mulberry32(42) })
      const token = sim.issueToken()
      const c = simClient(sim, token)
      const r = await c.create('n')
      const item = await c.get(idOf(r))
      return { token, id: item?.id, etag: item?.etag, requestId: r.headers.get('x-request-id') }
    }
    const first = await trial()
    expect(await trial()).toEqual(first)
    expect(first.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    )
  })

  it("uses the clock's random() when no random is given", async () => {
    const make = async () => {
      const sim = await start({ clock: { ...manualClock(), random: mulberry32(3) } })
      return sim.seedConnection('dev', { name: 'n' }).id
    }
    expect(await make()).toBe(await make())
  })
})

describe('the object store', () => {
  it('reads filter fields by dotted path, any element of an array, or a function', () => {
    const obj = {
      name: 'n',
      params: { tableName: 'public.orders', port: 5432 },
      sourceConnectionIds: ['s1', 's2'],
      flowSpec: { id: 'f' }
    }
    expect(fieldReader('name')(obj)).toEqual(['n'])
    expect(fieldReader('params.tableName')(obj)).toEqual(['public.orders'])
    expect(fieldReader('params.port')(obj)).toEqual(['5432'])
    expect(fieldReader('sourceConnectionIds[]')(obj)).toEqual(['s1', 's2'])
    expect(fieldReader('flowSpec.id')(obj)).toEqual(['f'])
    expect(fieldReader('params.missing.deeper')(obj)).toEqual([])
    expect(fieldReader('params')(obj)).toEqual([])
    expect(fieldReader('name[]')(obj)).toEqual([])
    expect(fieldReader((o) => (o.params as { tableName: string }).tableName)(obj)).toEqual([
      'public.orders'
    ])
  })

  it('serves connections through the generic store, and lists them with objects()', async () => {
    const sim = await start()
    const c = simClient(sim, sim.issueToken())
    const id = idOf(await c.create('n'))
    expect(sim.objects('connections', 'dev').map((o) => o.id)).toEqual([id])
    expect(sim.objects('connections', 'prod')).toEqual([])
    expect(() => sim.objects('nothing')).toThrow(/unknown collection/)
    const gone = await c.call('GET', `/connections/${id}x`)
    expect(gone.json).toMatchObject({ report: { type: 'connections', id: `${id}x` } })
  })
})

describe('listing lag', () => {
  const names = (items: Array<{ name: string }>) => items.map((i) => i.name)

  it('fixed: a new object is listed only once the lag has passed; GET by id sees it at once', async () => {
    const clock = manualClock()
    const sim = await start({ clock, listingLagMs: 1500 })
    const c = simClient(sim, sim.issueToken())
    const id = idOf(await c.create('n'))
    expect(await c.list()).toEqual([])
    expect(await c.call('GET', '/connections?count=true')).toMatchObject({ json: { count: 0 } })
    expect((await c.get(id))?.name).toBe('n')
    clock.advance(1499)
    expect(await c.list('property=name==n')).toEqual([])
    clock.advance(1)
    expect(names(await c.list('property=name==n'))).toEqual(['n'])
  })

  it('fixed: a deleted object stays listed as it last was until the lag has passed', async () => {
    const clock = manualClock()
    const sim = await start({ clock, listingLagMs: 1000 })
    const c = simClient(sim, sim.issueToken())
    const id = idOf(await c.create('n'))
    clock.advance(5000)
    const before = await c.get(id)
    expect(before?.state).toBe('enabled')
    const r = await c.call('PATCH', `/connections/${id}`, {
      body: [{ op: 'replace', path: '/name', value: 'renamed' }],
      headers: { 'if-match': before?.etag ?? '' }
    })
    expect(r.status).toBe(200)
    clock.advance(500)
    expect((await c.call('DELETE', `/connections/${id}`)).status).toBe(204)
    expect(await c.get(id)).toBeUndefined()
    expect(sim.connections('dev')).toEqual([])
    // Still listed, with the name and etag it had a second ago: before the rename.
    const stale = await c.list()
    expect(stale).toMatchObject([{ id, name: 'n', etag: before?.etag }])
    clock.advance(500)
    expect(await c.list()).toMatchObject([{ id, name: 'renamed' }])
    clock.advance(499)
    expect(names(await c.list())).toEqual(['renamed'])
    clock.advance(1)
    expect(await c.list()).toEqual([])
  })

  it('random: the lag is drawn per list request from random, within { min, max }', async () => {
    const clock = manualClock()
    const sim = await start({ clock, random: mulberry32(9), listingLagMs: { min: 0, max: 1000 } })
    const c = simClient(sim, sim.issueToken())
    await c.create('n')
    clock.advance(500)
    const seen: boolean[] = []
    for (let i = 0; i < 40; i++) seen.push((await c.list()).length === 1)
    expect(seen).toContain(true)
    expect(seen).toContain(false)
    clock.advance(500)
    for (let i = 0; i < 10; i++) expect(await c.list()).toHaveLength(1)
  })

  it('can be set at run time, returns to its start value on reset, and refuses bad durations', async () => {
    const clock = manualClock()
    const sim = await start({ clock })
    const c = simClient(sim, sim.issueToken())
    sim.configure({ listingLagMs: 2000 })
    await c.create('n')
    expect(await c.list()).toEqual([])
    sim.configure({ listingLagMs: 0 })
    expect(await c.list()).toHaveLength(1)
    expect(() => sim.configure({ listingLagMs: -1 })).toThrow(/listingLagMs/)
    expect(() => sim.configure({ listingLagMs: { min: 5, max: 1 } })).toThrow(/listingLagMs/)
    await expect(startSimulator({ listingLagMs: { min: 1, max: Infinity } })).rejects.toThrow(
      /listingLagMs/
    )
    sim.configure({ listingLagMs: 2000 })
    sim.reset()
    const again = simClient(sim, sim.issueToken())
    await again.create('m')
    expect(await again.list()).toHaveLength(1)
  })

  it('seeded objects are listed at once unless seeded with a commit time', async () => {
    const clock = manualClock()
    const sim = await start({ clock, listingLagMs: 1000 })
    const c = simClient(sim, sim.issueToken())
    sim.seedConnection('dev', { name: 'old' })
    sim.seedConnection('dev', { name: 'fresh', committedAt: clock.now() })
    expect(names(await c.list())).toEqual(['old'])
    clock.advance(1000)
    expect(names(await c.list())).toEqual(['old', 'fresh'])
    expect(sim.connections('dev').map((x) => x.committedAt)).toEqual([-Infinity, T0])
  })

  it('pages a lagging listing with continuation tokens', async () => {
    const clock = manualClock()
    const sim = await start({ clock, listingLagMs: 100, pageSize: 2 })
    const c = simClient(sim, sim.issueToken())
    for (const n of ['a', 'b', 'c']) await c.create(n)
    clock.advance(100)
    await c.create('d')
    const first = await c.call('GET', '/connections')
    const next = (first.json as { _links?: { next?: { href: string } } })._links?.next?.href
    expect(next).toBeDefined()
    const second = await c.call('GET', next ?? '')
    expect([...itemsOf(first), ...itemsOf(second)].map((i) => i.name)).toEqual(['a', 'b', 'c'])
  })
})

describe('createdAt modes and commit latency', () => {
  const dates = (items: Array<{ createdAt?: number | string }>) => items.map((i) => i.createdAt)

  it("'epoch-ms' (default): epoch ms, strictly growing in commit order", async () => {
    const clock = manualClock()
    const sim = await start({ clock })
    const c = simClient(sim, sim.issueToken())
    await c.create('a')
    await c.create('b')
    expect(dates(await c.list())).toEqual([T0, T0 + 1])
  })

  it("'iso': an ISO 8601 string; the stored object keeps epoch ms", async () => {
    const clock = manualClock()
    const sim = await start({ clock, createdAtMode: 'iso' })
    const c = simClient(sim, sim.issueToken())
    const id = idOf(await c.create('a'))
    sim.seedConnection('dev', { name: 'seeded', createdAt: T0 - 60_000 })
    expect((await c.get(id))?.createdAt).toBe('2026-01-01T00:00:00.000Z')
    expect(dates(await c.list())).toEqual(['2026-01-01T00:00:00.000Z', '2025-12-31T23:59:00.000Z'])
    expect(sim.connections('dev')[0]?.createdAt).toBe(T0)
  })

  it("'missing': no createdAt in listings or reads; updatedAt stays", async () => {
    const clock = manualClock()
    const sim = await start({ clock, createdAtMode: 'missing' })
    const c = simClient(sim, sim.issueToken())
    const id = idOf(await c.create('a'))
    for (const item of [await c.get(id), ...(await c.list())]) {
      expect(item).toBeDefined()
      expect(Object.keys(item ?? {})).not.toContain('createdAt')
      expect(item?.updatedAt).toBe(T0)
    }
  })

  it("'tied': every object created in the same second gets the same date", async () => {
    const clock = manualClock(T0 + 250)
    const sim = await start({ clock, createdAtMode: 'tied' })
    const c = simClient(sim, sim.issueToken())
    await c.create('a')
    clock.advance(600)
    await c.create('b')
    clock.advance(200)
    await c.create('c')
    expect(dates(await c.list())).toEqual([T0, T0, T0 + 1000])
  })

  it("'skewed': dates off by up to skewMs, one offset per request, so they disagree with the order", async () => {
    const clock = manualClock()
    const sim = await start({
      clock,
      random: mulberry32(5),
      createdAtMode: 'skewed',
      skewMs: 2000
    })
    const c = simClient(sim, sim.issueToken())
    for (let i = 0; i < 10; i++) {
      await c.create(`n${i}`)
      clock.advance(100)
    }
    const got = (await c.list()).map((item, i) => Number(item.createdAt) - (T0 + 100 * i))
    for (const off of got) expect(Math.abs(off)).toBeLessThanOrEqual(2000)
    expect(new Set(got).size).toBeGreaterThan(5)
    const listed = dates(await c.list()).map(Number)
    expect(listed).not.toEqual([...listed].sort((a, b) => a - b))
  })

  it("commit latency with 'arrival': racing POSTs commit in another order than their dates say", async () => {
    const clock = manualClock()
    const sim = await start({ clock, createdAtMode: 'arrival' })
    const c = simClient(sim, sim.issueToken())
    sim.configure({ commitLatencyMs: 3000 })
    const first = c.create('first')
    await clock.waiting()
    clock.advance(10)
    sim.configure({ commitLatencyMs: 1000 })
    const second = c.create('second')
    while (clock.pending() < 2) await new Promise((resolve) => setTimeout(resolve, 2))
    // Nothing is committed while the POSTs are held.
    expect(sim.connections('dev')).toEqual([])
    clock.advance(1000)
    expect((await second).status).toBe(201)
    expect(sim.connections('dev').map((x) => x.name)).toEqual(['second'])
    clock.advance(1990)
    expect((await first).status).toBe(201)
    const listed = await c.list()
    // Listed in commit order; the dates say the first arrived first.
    expect(listed.map((i) => i.name)).toEqual(['second', 'first'])
    expect(dates(listed)).toEqual([T0 + 10, T0])
    expect(sim.connections('dev').map((x) => x.committedAt)).toEqual([T0 + 1010, T0 + 3000])
  })

  it("commit latency with 'epoch-ms': dates are stamped at commit, so they keep the commit order", async () => {
    const clock = manualClock()
    const sim = await start({ clock, commitLatencyMs: { min: 1000, max: 1000 } })
    const c = simClient(sim, sim.issueToken())
    const made = c.create('a')
    await clock.waiting()
    clock.advance(1000)
    await made
    expect(dates(await c.list())).toEqual([T0 + 1000])
  })

  it('a POST held across a reset is not committed into the next test', async () => {
    const clock = manualClock()
    const sim = await start({ clock, commitLatencyMs: 1000 })
    const c = simClient(sim, sim.issueToken())
    const held = c.create('from an earlier test')
    await clock.waiting()
    sim.reset()
    clock.advance(1000)
    expect((await held).status).toBe(503)
    expect(sim.connections()).toEqual([])
  })

  it('refuses unknown modes; reset returns to the start mode', async () => {
    const sim = await start({ clock: manualClock() })
    // @ts-expect-error: not a mode
    expect(() => sim.configure({ createdAtMode: 'sometimes' })).toThrow(/createdAtMode/)
    expect(() => sim.configure({ skewMs: -5 })).toThrow(/skewMs/)
    sim.configure({ createdAtMode: 'missing' })
    sim.reset()
    const c = simClient(sim, sim.issueToken())
    await c.create('a')
    expect(dates(await c.list())).toEqual([T0])
  })
})

describe('per-method latency', () => {
  it('waits on the clock before each reply as long as its method says, ranges drawn per reply', async () => {
    const clock = manualClock()
    const sim = await start({
      clock,
      random: mulberry32(11),
      latencyMs: { GET: 100, POST: { min: 200, max: 300 }, DELETE: 50 }
    })
    const c = simClient(sim, sim.issueToken())
    const held = async <T>(p: Promise<T>, due: (ms: number) => void): Promise<T> => {
      await clock.waiting()
      const [ms = -1] = clock.dues()
      due(ms)
      clock.advance(ms)
      return p
    }
    const made = await held(c.create('n'), (ms) => expect(ms).toBeGreaterThanOrEqual(200))
    const id = idOf(made)
    const postWaits: number[] = []
    for (let i = 0; i < 6; i++)
      await held(c.create(`m${i}`), (ms) => {
        expect(ms).toBeLessThanOrEqual(300)
        postWaits.push(ms)
      })
    expect(new Set(postWaits).size).toBeGreaterThan(1)
    const item = await held(c.get(id), (ms) => expect(ms).toBe(100))
    // PATCH is not named: answered at once.
    const patched = await c.call('PATCH', `/connections/${id}`, {
      body: [{ op: 'replace', path: '/description', value: 'd' }],
      headers: { 'if-match': item?.etag ?? '' }
    })
    expect(patched.status).toBe(200)
    await held(c.call('DELETE', `/connections/${id}`), (ms) => expect(ms).toBe(50))
    expect(() => sim.configure({ latencyMs: { GET: -1 } })).toThrow(/latencyMs.GET/)
    // @ts-expect-error: not a method
    expect(() => sim.configure({ latencyMs: { PUT: 5 } })).toThrow(/PUT/)
  })
})

describe('the afterHandled hook', () => {
  it('runs after the POST committed and before its reply; it can drop the reply', async () => {
    const seen: Array<{ run?: string; status: number; committed: number }> = []
    const sim = await start({
      hooks: {
        afterHandled(rec: RecordedRequest, reply: HookReply) {
          if (rec.method !== 'POST') return
          seen.push({ run: rec.run, status: reply.status, committed: sim.connections().length })
          if (rec.run === 'doomed') reply.drop()
        }
      }
    })
    const c = simClient(sim, sim.issueToken())
    expect((await c.create('kept', { headers: { [RUN_HEADER]: 'lucky' } })).status).toBe(201)
    await expect(c.create('lost reply', { headers: { [RUN_HEADER]: 'doomed' } })).rejects.toThrow()
    expect(seen).toEqual([
      { run: 'lucky', status: 201, committed: 1 },
      { run: 'doomed', status: 201, committed: 2 }
    ])
    // The dropped reply's POST was performed all the same.
    expect(sim.connections().map((x) => x.name)).toEqual(['kept', 'lost reply'])
    const posts = sim.requests.filter((r) => r.method === 'POST')
    expect(posts.map((r) => [r.run, r.status])).toEqual([
      ['lucky', 201],
      ['doomed', 0]
    ])
    expect(sim.requests.find((r) => r.method === 'GET')?.run).toBeUndefined()
  })

  it('is awaited: it can hold the reply on the clock; reset and configure replace it', async () => {
    const clock = manualClock()
    const sim = await start({ clock })
    sim.configure({
      hooks: { afterHandled: (_rec: RecordedRequest, reply: HookReply) => reply.sleep(60_000) }
    })
    const c = simClient(sim, sim.issueToken())
    let answered = false
    const listed = c.list().then((items) => {
      answered = true
      return items
    })
    await clock.waiting()
    expect(clock.dues()).toEqual([60_000])
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(answered).toBe(false)
    clock.advance(60_000)
    expect(await listed).toEqual([])
    sim.reset()
    const again = simClient(sim, sim.issueToken())
    expect(await again.list()).toEqual([])
  })
})
