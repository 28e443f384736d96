import { describe, it, expect } from '@jest/globals'
import { CONNECTIONS, POSTGRES_SPEC_ID } from '../src/platform/collections.js'
import { ActionError } from '../src/platform/errors.js'
import { FlowApi, type FlowItem } from '../src/platform/flow-api.js'
import { FlowObjects } from '../src/platform/flow-service.js'
import { heal, isYoung } from '../src/platform/heal.js'
import { givenToken } from '../src/platform/ims.js'
import { FakeClock, res, retryContext, scriptedTransport, type Step } from './unit-fakes.js'

const ORIGIN = 'https://platform.example'
const BASE = `${ORIGIN}/data/foundation/flowservice`

const copy = (id: string, createdAt: number, description: string): FlowItem => ({
  id,
  name: 'orders-db',
  createdAt,
  description,
  etag: `"etag-${id}"`,
  connectionSpec: { id: POSTGRES_SPEC_ID, version: '1.0' }
})
const marked = (id: string, createdAt: number, run = 'aaaaaaaaaaaa') =>
  copy(id, createdAt, `Managed by CI [aep-gha:${run}.1]`)
/** Each copy read by id: present. */
const byId = (...items: FlowItem[]) => items.map((i) => res(200, { items: [i] }))
const used = res(200, { items: [{ id: 'src-1', baseConnectionId: 'x' }] })
const unused = res(200, { items: [] })

function setup(steps: Step[], dryRun = false) {
  const clock = new FakeClock()
  const retry = retryContext(clock)
  const transport = scriptedTransport(steps, clock)
  const objects = new FlowObjects(
    new FlowApi({
      run: 'a1b2c3d4e5f6',
      platformUrl: ORIGIN,
      clientId: 'c',
      imsOrgId: 'o@AdobeOrg',
      sandboxName: 'dev',
      tokens: givenToken('tok'),
      transport,
      retry
    }),
    CONNECTIONS
  )
  const warnings: string[] = []
  const h = {
    objects,
    name: 'orders-db',
    dryRun,
    log: retry.log,
    warn: (w: string) => warnings.push(w)
  }
  const calls = () => transport.calls.map((c) => `${c.req.method} ${c.req.url.replace(BASE, '')}`)
  return { h, warnings, calls }
}

describe('heal: copies made moments ago by racing runs', () => {
  // The FakeClock starts at 1_700_000_000_000: a mark of that second is fresh.
  const fresh = (id: string, run: string) =>
    copy(id, 3, `Managed by CI [aep-gha:${run}.1.${(1_700_000_000).toString(36)}]`)

  it('are waited for while their runs settle: when one is left, it is used, nothing deleted', async () => {
    const copies = [fresh('a', 'aaaaaaaaaaaa'), fresh('b', 'bbbbbbbbbbbb')]
    const { h, calls } = setup([
      ...byId(...copies),
      // After a pause: b's run gave way to a.
      ...byId(copies[0] as FlowItem),
      res(404, { title: 'gone' })
    ])
    expect((await heal(h, copies))?.id).toBe('a')
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual([])
  })

  it('that stay: the step fails naming them, deleting nothing (a later run heals them)', async () => {
    const copies = [fresh('a', 'aaaaaaaaaaaa'), fresh('b', 'bbbbbbbbbbbb')]
    const steps = [...byId(...copies)]
    for (let n = 0; n < 12; n++) steps.push(...byId(...copies))
    const { h, calls } = setup(steps)
    await expect(heal(h, copies)).rejects.toThrow(
      /^2 PostgreSQL connections are named "orders-db" in this sandbox \(ids a, b\), made by runs in the last 90 s that raced on the name; nothing was deleted/
    )
    expect(calls().filter((c) => !c.startsWith('GET /connections/'))).toEqual([])
  })
})

describe('isYoung: whether a copy may belong to a run still settling', () => {
  const now = 1_700_000_000_000
  const at = (ms: number) => Math.floor(ms / 1000).toString(36)
  const item = (markMs: number, createdAt?: number): FlowItem => ({
    id: 'a',
    name: 'orders-db',
    description: `d [aep-gha:aaaaaaaaaaaa.1.${at(markMs)}]`,
    ...(createdAt !== undefined ? { createdAt } : {})
  })
  it.each<[string, FlowItem, boolean]>([
    ['mark and server date 10 s ago', item(now - 10_000, now - 10_000), true],
    ['mark 10 s ago, no server date', item(now - 10_000), true],
    [
      'mark 10 s ago, a server date in epoch seconds (no date)',
      item(now - 10_000, 1_700_000),
      true
    ],
    ['mark 10 s ago, server date 10 min ago', item(now - 10_000, now - 600_000), false],
    ['mark 10 min ago, server date 10 s ago', item(now - 600_000, now - 10_000), false],
    ['mark an hour ahead, server date 10 min ago', item(now + 3_600_000, now - 600_000), false],
    ['mark a year ahead, no server date', item(now + 365 * 86_400_000), false],
    ['mark an hour ahead, server date 10 s ago', item(now + 3_600_000, now - 10_000), true],
    ['mark 30 s ahead (within the tolerance), no server date', item(now + 30_000), true],
    [
      'no mark time',
      { id: 'a', name: 'orders-db', description: 'd [aep-gha:aaaaaaaaaaaa.1]', createdAt: now },
      false
    ]
  ])('%s: %s', (_, i, young) => {
    expect(isYoung(i, now)).toBe(young)
  })
})

describe('heal: several copies of one name', () => {
  it('copies listed but gone when read by id (a lagging listing) are not counted: nothing to heal', async () => {
    const copies = [marked('a', 3), marked('b', 7)]
    const { h, calls } = setup([res(404, { title: 'gone' }), ...byId(copies[1] as FlowItem)])
    expect((await heal(h, copies))?.id).toBe('b')
    expect(calls()).toEqual(['GET /connections/a', 'GET /connections/b'])
  })

  it('all made by this action, none in use: keeps the first created, deletes the others, says so', async () => {
    const copies = [marked('b', 7), marked('a', 3), marked('c', 9, 'bbbbbbbbbbbb')]
    const { h, warnings, calls } = setup([
      ...byId(...copies),
      unused,
      unused,
      unused,
      res(204),
      res(204)
    ])
    const kept = await heal(h, copies)
    expect(kept?.id).toBe('a')
    expect(calls()).toEqual([
      'GET /connections/b',
      'GET /connections/a',
      'GET /connections/c',
      'GET /sourceConnections?property=baseConnectionId==b',
      'GET /sourceConnections?property=baseConnectionId==a',
      'GET /sourceConnections?property=baseConnectionId==c',
      'DELETE /connections/b',
      'DELETE /connections/c'
    ])
    expect(warnings).toEqual([
      '3 PostgreSQL connections are named "orders-db" in this sandbox (ids b, a, c), all made by this action (racing or cancelled runs): keeping a (the first created) and deleting b, c'
    ])
  })

  it('a copy whose run gave way is not kept: the first of the others is (its run may have exited 0 naming it)', async () => {
    const gaveWay = copy('a', 3, 'Managed by CI [aep-gha:aaaaaaaaaaaa.1.1;yielded]')
    const copies = [gaveWay, marked('b', 7, 'bbbbbbbbbbbb')]
    const { h, warnings, calls } = setup([...byId(...copies), unused, unused, res(204)])
    expect((await heal(h, copies))?.id).toBe('b')
    expect(calls().at(-1)).toBe('DELETE /connections/a')
    expect(warnings).toEqual([
      '2 PostgreSQL connections are named "orders-db" in this sandbox (ids a, b), all made by this action (racing or cancelled runs): keeping b (the first created of those whose runs did not give way) and deleting a'
    ])
  })

  it('a copy a later run adopted is kept over the first (that run may have exited 0 naming it)', async () => {
    const adopted = copy('b', 7, 'Managed by CI [aep-gha:bbbbbbbbbbbb.1.1;adopted]')
    const copies = [marked('a', 3), adopted]
    const { h, warnings, calls } = setup([...byId(...copies), unused, unused, res(204)])
    expect((await heal(h, copies))?.id).toBe('b')
    expect(calls().at(-1)).toBe('DELETE /connections/a')
    expect(warnings[0]).toMatch(
      /keeping b \(the first created of those a later run adopted\) and deleting a$/
    )
  })

  it('every copy gave way: keeps the first created, and says just that', async () => {
    const y = (id: string, at: number, run: string) =>
      copy(id, at, `Managed by CI [aep-gha:${run}.1.1;yielded]`)
    const copies = [y('a', 3, 'aaaaaaaaaaaa'), y('b', 7, 'bbbbbbbbbbbb')]
    const { h, warnings } = setup([...byId(...copies), unused, unused, res(204)])
    expect((await heal(h, copies))?.id).toBe('a')
    expect(warnings[0]).toMatch(/keeping a \(the first created\) and deleting b$/)
  })

  it('the one in use is kept, even when it is not the first', async () => {
    const copies = [marked('a', 3), marked('b', 7)]
    const { h, calls } = setup([...byId(...copies), unused, used, res(204)])
    expect((await heal(h, copies))?.id).toBe('b')
    expect(calls().at(-1)).toBe('DELETE /connections/a')
  })

  it('copies from before the mark, with the default description, count as this action’s', async () => {
    const old = copy('old', 1, 'Managed by GitHub Actions: acme/data, workflow "ci", run 7')
    const { h } = setup([...byId(old, marked('new', 5)), unused, unused, res(204)])
    expect((await heal(h, [old, marked('new', 5)]))?.id).toBe('old')
  })

  it('a copy not made by this action: fails naming it, deletes nothing', async () => {
    const copies = [marked('a', 3), copy('hand', 5, 'made by hand')]
    const { h, calls } = setup(byId(...copies))
    const e = await heal(h, copies).catch((x) => x)
    expect(e).toBeInstanceOf(ActionError)
    expect((e as Error).message).toBe(
      '2 PostgreSQL connections are named "orders-db" in this sandbox (ids a, hand); hand was not made by this action (no mark of it in the description), so none is deleted: delete all but one, then run again'
    )
    expect(calls().filter((c) => !c.startsWith('GET /connections/'))).toEqual([])
  })

  it('several in use: fails naming them, deletes nothing', async () => {
    const copies = [marked('a', 3), marked('b', 7)]
    const { h, calls } = setup([...byId(...copies), used, used])
    await expect(heal(h, copies)).rejects.toThrow(/a, b are each in use, so none is deleted/)
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual([])
  })

  // The listing of what uses a copy may not show a use made moments ago; the delete tells.
  const refused = res(400, {
    type: 'https://ns.adobe.com/aep/errors/FLOW-1418-400',
    title: 'Bad request',
    status: 400,
    detail: 'Connection with id=[b] is used by one or more flows'
  })
  it('a copy whose delete is refused as in use (1418) is kept, and the first one deleted instead', async () => {
    const copies = [marked('a', 3), marked('b', 7)]
    const { h, warnings, calls } = setup([
      ...byId(...copies),
      unused,
      unused,
      refused,
      res(204, '')
    ])
    expect((await heal(h, copies))?.id).toBe('b')
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual([
      'DELETE /connections/b',
      'DELETE /connections/a'
    ])
    expect(warnings.at(-1)).toMatch(
      /connection b is in use \(Flow Service refused deleting it: 1418-400\).*keeping it, and deleting a instead/
    )
  })
  it('both refused as in use: fails naming both, the first still there', async () => {
    const copies = [marked('a', 3), marked('b', 7)]
    const { h, calls } = setup([...byId(...copies), unused, unused, refused, refused])
    await expect(heal(h, copies)).rejects.toThrow(/b and a are each in use/)
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual([
      'DELETE /connections/b',
      'DELETE /connections/a'
    ])
  })
  it('a refusal for a copy when the kept one is known in use: fails naming both', async () => {
    const copies = [marked('a', 3), marked('b', 7)]
    const { h } = setup([...byId(...copies), used, unused, refused])
    await expect(heal(h, copies)).rejects.toThrow(/a and b are each in use/)
  })

  it('use that cannot be read: fails, deletes nothing', async () => {
    const copies = [marked('a', 3), marked('b', 7)]
    const { h, calls } = setup([
      ...byId(...copies),
      unused,
      res(403, { error_code: '403027', message: 'no' })
    ])
    await expect(heal(h, copies)).rejects.toThrow(
      /whether connection b is in use could not be read, so none is deleted/
    )
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual([])
  })

  it('a dry run says what a run would delete, and deletes nothing', async () => {
    const copies = [marked('a', 3), marked('b', 7)]
    const { h, warnings, calls } = setup([...byId(...copies), unused, unused], true)
    expect((await heal(h, copies))?.id).toBe('a')
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual([])
    expect(warnings[0]).toMatch(
      /a run would keep a \(the first created\) and delete b \(dry run: nothing deleted\)$/
    )
  })

  it('a delete that fails says which copy remains', async () => {
    const copies = [marked('a', 3), marked('b', 7)]
    const { h } = setup([
      ...byId(...copies),
      unused,
      unused,
      res(400, { type: 'x/FLOW-1416-400', title: 'not in this state' })
    ])
    await expect(heal(h, copies)).rejects.toThrow(
      /the extra copy b of "orders-db" remains: run the step again, or delete it by hand$/
    )
  })
})
