import { describe, it, expect } from '@jest/globals'
import { apply as applyPlan, type Guard } from '../src/connection/apply.js'
import { buildCreateBody, type CreateBody } from '../src/connection/payload.js'
import { patchOps, type Plan } from '../src/connection/plan.js'
import type { Settings } from '../src/connection/settings.js'
import {
  deleteExisting as deleteAny,
  updateExisting as updateAny
} from '../src/platform/changes.js'
import { CONNECTIONS, POSTGRES_SPEC_ID } from '../src/platform/collections.js'
import { StoredObjectError } from '../src/platform/errors.js'
import {
  FlowApi,
  type FlowItem as ConnectionItem,
  type FlowServiceOptions
} from '../src/platform/flow-api.js'
import { FlowObjects } from '../src/platform/flow-service.js'
import { NetworkError } from '../src/platform/http.js'
import { givenToken } from '../src/platform/ims.js'
import { FakeClock, res, retryContext, scriptedTransport, type Step } from './unit-fakes.js'

/** The base-connection client these tests drive. */
class FlowService extends FlowObjects {
  constructor(o: FlowServiceOptions) {
    super(new FlowApi(o), CONNECTIONS)
  }
}

/** A run applying a plan, as the connection action's apply step sets it up. */
interface Run {
  flow: FlowService
  settings: Settings
  body: CreateBody
  log: (line: string) => void
  warn: (line: string) => void
  guard?: Guard
}
const applying = (r: Omit<Run, 'body'>) => ({
  connections: r.flow,
  settings: r.settings,
  log: r.log,
  warn: r.warn,
  guard: r.guard
})
const createExactlyOne = (r: Run) => applyPlan({ kind: 'create', body: r.body }, applying(r))
const apply = (plan: Plan, r: Omit<Run, 'body'>) => applyPlan(plan, applying(r))
const updateExisting = (
  flow: FlowService,
  existing: ConnectionItem,
  b: CreateBody,
  log: (line: string) => void
) =>
  updateAny(flow, existing, (from, etag) => flow.update(existing.id, etag, patchOps(from, b)), log)
const deleteExisting = (flow: FlowService, existing: ConnectionItem, log: (l: string) => void) =>
  deleteAny(flow, existing, log)
const findLive = (flow: FlowService, name: string, log: (l: string) => void) =>
  flow.findLive(name, log)

const RUN_ID = 'a1b2c3d4e5f6'
const ORIGIN = 'https://platform.example'
const BASE = `${ORIGIN}/data/foundation/flowservice`
const NAME = 'orders-db'
const body = buildCreateBody(NAME, 'Managed by CI', {
  specName: 'Connection String Based Authentication',
  params: { connectionString: 'Server=H;Database=D;Port=5432;UID=U;Password=W' }
})

function item(id: string, createdAt: number, extra: Partial<ConnectionItem> = {}): ConnectionItem {
  return {
    id,
    name: NAME,
    etag: `"etag-${id}"`,
    createdAt,
    connectionSpec: { id: POSTGRES_SPEC_ID, version: '1.0' },
    ...extra
  }
}
const list = (...items: ConnectionItem[]) => res(200, { items })
const one = (i: ConnectionItem) => res(200, { items: [i] })
const flowError = (status: number, code: string) =>
  res(status, { type: `https://ns.adobe.com/aep/errors/FLOW-${code}`, title: 'Invalid request' })

function settings(ifExists: Settings['ifExists'] = 'update'): Settings {
  return {
    clientId: 'c',
    scopes: 's',
    imsOrgId: 'o@AdobeOrg',
    sandboxName: 'dev',
    platformUrl: ORIGIN,
    imsUrl: 'https://ims.example',
    connectionName: NAME,
    authType: 'connection-string',
    ifExists,
    state: 'present',
    dryRun: false,
    testConnection: false,
    validateSpec: false,
    timeoutSeconds: 120,
    maxAttempts: 5
  }
}

function setup(steps: Step[], ifExists: Settings['ifExists'] = 'update') {
  const clock = new FakeClock()
  const retry = retryContext(clock)
  const transport = scriptedTransport(steps, clock)
  const flow = new FlowService({
    run: RUN_ID,
    platformUrl: ORIGIN,
    clientId: 'c',
    imsOrgId: 'o@AdobeOrg',
    sandboxName: 'dev',
    tokens: givenToken('tok'),
    transport,
    retry
  })
  const warnings: string[] = []
  const r = {
    flow,
    settings: settings(ifExists),
    body,
    log: retry.log,
    warn: (w: string) => warnings.push(w)
  }
  const calls = () => transport.calls.map((c) => `${c.req.method} ${c.req.url.replace(BASE, '')}`)
  return { r, flow, retry, clock, warnings, calls, transport }
}

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a rejection')
}

const LOOKUP = `GET /connections?property=name==${NAME}`

const RUN = 'a1b2c3d4e5f6'
/** This run's copy from its n-th POST: the description carries its mark. */
const mine = (id: string, createdAt?: number, attempt = 1, extra: Partial<ConnectionItem> = {}) =>
  item(id, createdAt ?? 0, {
    ...(createdAt === undefined ? { createdAt: undefined } : {}),
    description: `Managed by CI [aep-gha:${RUN}.${attempt}]`,
    ...extra
  })
/** Another run's copy. */
const theirs = (
  id: string,
  createdAt?: number,
  run = 'ffffffffffff',
  extra: Partial<ConnectionItem> = {}
) =>
  item(id, createdAt ?? 0, {
    ...(createdAt === undefined ? { createdAt: undefined } : {}),
    description: `Managed by CI [aep-gha:${run}.1]`,
    ...extra
  })
const notFound = () => flowError(404, '1101-404')
/** A step answering the same listing every time it is asked (a listing that does not change). */
const always = (step: Step, n: number): Step[] => Array.from({ length: n }, () => step)

describe('createExactlyOne: one run', () => {
  it('alone: one more lookup, created, etag from the POST answer', async () => {
    const { r, calls } = setup([res(201, { id: 'mine', etag: '"e1"' }), list(mine('mine', 5))])
    expect(await createExactlyOne(r)).toEqual({ operation: 'created', id: 'mine', etag: '"e1"' })
    expect(calls()).toEqual(['POST /connections', LOOKUP])
  })

  it('the listing lags behind its copy: read by id (it exists), looked up again after a pause', async () => {
    const { r, calls, clock } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(),
      one(mine('mine', 5)),
      list(mine('mine', 5))
    ])
    expect((await createExactlyOne(r)).id).toBe('mine')
    expect(calls()).toEqual(['POST /connections', LOOKUP, 'GET /connections/mine', LOOKUP])
    expect(clock.sleeps).toEqual([500])
  })

  it('the listing never shows its one copy: created, with a warning that racing runs could not be checked', async () => {
    const { r, warnings } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(),
      one(mine('mine', 5)),
      ...always(list(), 10)
    ])
    expect(await createExactlyOne(r)).toEqual({ operation: 'created', id: 'mine', etag: '"e1"' })
    expect(warnings).toEqual([
      'the connection just created (id mine) is not listed after 20 s at most, so the listing cannot be trusted: whether another run created "orders-db" at the same time could not be checked'
    ])
  })

  it('after a lost answer and a second POST, a listing that never shows its copy fails, naming both marks', async () => {
    const { r } = setup([
      new NetworkError('socket closed', 'reset', true),
      ...always(list(), 5),
      res(201, { id: 'm2', etag: '"e2"' }),
      list(),
      one(mine('m2', 6, 2)),
      ...always(list(), 10)
    ])
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.id).toBe('m2')
    // Each mark carries when its POST was sent (the FakeClock's epoch seconds, base 36).
    const at = (ms: number) => Math.floor(ms / 1000).toString(36)
    expect(e.message).toContain(
      `and this run sent 2 creates whose answers it did not all get (marks [aep-gha:${RUN}.1.${at(1_700_000_000_000)}], [aep-gha:${RUN}.2.`
    )
    expect(e.message).toMatch(
      /\]\): more than one may exist\. Run the step again: it removes the extra copies this action made$/
    )
  })

  it('two copies of its own after a lost answer: keeps the first, deletes the other', async () => {
    const { r, calls, retry } = setup([
      new NetworkError('socket closed', 'reset', true),
      ...always(list(), 5),
      res(201, { id: 'm2', etag: '"e2"' }),
      list(mine('m1', 4, 1), mine('m2', 6, 2)),
      one(mine('m2', 6, 2)),
      res(204)
    ])
    expect(await createExactlyOne(r)).toEqual({
      operation: 'created',
      id: 'm1',
      etag: '"etag-m1"'
    })
    expect(calls().slice(-3)).toEqual([LOOKUP, 'GET /connections/m2', 'DELETE /connections/m2'])
    expect(retry.lines).toContain(
      'this run created "orders-db" more than once (its answers were lost): keeping id m1, deleting id m2'
    )
  })

  it('its extra copy cannot be deleted: fails naming both, the kept one in the outputs', async () => {
    const { r } = setup([
      new NetworkError('socket closed', 'reset', true),
      ...always(list(), 5),
      res(201, { id: 'm2', etag: '"e2"' }),
      list(mine('m1', 4, 1), mine('m2', 6, 2)),
      one(mine('m2', 6, 2)),
      flowError(400, '1418-400')
    ])
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.id).toBe('m1')
    expect(e.message).toMatch(
      /this run's extra copy of "orders-db" \(id m2\) remains next to the one kept \(id m1\)/
    )
  })

  it('a check that fails once is tried again', async () => {
    const { r, calls } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      res(200, {}),
      list(mine('mine', 5))
    ])
    expect((await createExactlyOne(r)).id).toBe('mine')
    expect(calls()).toEqual(['POST /connections', LOOKUP, LOOKUP])
  })
})

describe('createExactlyOne: racing runs', () => {
  it('its copy is first by date: kept; the other run deletes its own (seen gone by id)', async () => {
    const { r, calls, clock } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(mine('mine', 5), theirs('later', 9)),
      one(theirs('later', 9)),
      list(mine('mine', 5), theirs('later', 9)),
      notFound()
    ])
    expect(await createExactlyOne(r)).toEqual({ operation: 'created', id: 'mine', etag: '"e1"' })
    expect(calls()).toEqual([
      'POST /connections',
      LOOKUP,
      'GET /connections/later',
      LOOKUP,
      'GET /connections/later'
    ])
    expect(clock.sleeps).toEqual([500])
  })

  /** Replies for a copy that is first while the other stays: listings, and `patch` for a PATCH. */
  function stays(patch: Step): Step[] {
    const both = list(mine('mine', 5), theirs('later', 9))
    let n = 0
    const answer: Step = (req, t) =>
      req.method === 'PATCH'
        ? typeof patch === 'function'
          ? patch(req, t)
          : patch
        : req.url.endsWith('/connections/mine')
          ? one(mine('mine', 5))
          : n++ % 2 === 0
            ? both
            : one(theirs('later', 9))
    return [res(201, { id: 'mine', etag: '"e1"' }), ...Array<Step>(40).fill(answer)]
  }

  it('its copy is first and the other stays: never gives its own up; gives way and fails naming both after the wait', async () => {
    const { r, calls, transport } = setup(stays(res(200, { id: 'mine', etag: '"e2"' })))
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.id).toBe('mine')
    expect(e.message).toMatch(
      /^2 connections are named "orders-db": this run's \(id mine, the first by creation date\) and a copy racing runs created at the same time \(id later\), still there after \d+\.\d s\. This run's copy gives way \(its mark now says so\): the next run keeps the other one and deletes this run's\. Run the step again: it removes the extra copies this action made\. To keep runs from racing, give the workflow a concurrency: group$/
    )
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual([])
    // The other run may have exited 0 naming its copy, never having seen this one: this run's
    // mark says it gives way, sent with the etag its create answered.
    const patch = transport.calls.find((c) => c.req.method === 'PATCH')
    expect(patch?.req.url).toBe(`${BASE}/connections/mine`)
    expect(patch?.req.headers['if-match']).toBe('"e1"')
    expect(JSON.parse(patch?.req.body ?? '')).toEqual([
      {
        op: 'replace',
        path: '/description',
        value: `Managed by CI [aep-gha:${RUN}.1;yielded]`
      }
    ])
  })

  it('does not give way when another run has updated its copy since (412): fails naming both', async () => {
    const { r, calls, retry } = setup(stays(flowError(412, '1412-412')))
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e.id).toBe('mine')
    expect(e.message).toMatch(
      /^2 connections are named "orders-db": this run's \(id mine, the first by creation date\) and a copy racing runs created at the same time \(id later\), still there after \d+\.\d s\. Run the step again:/
    )
    expect(calls().filter((c) => c.startsWith('PATCH'))).toEqual(['PATCH /connections/mine'])
    expect(retry.lines.join('\n')).toMatch(
      /this run's connection \(id mine\) was not marked as giving way: /
    )
  })

  it("another run's copy is first: deletes its own, looks again after the lag, then updates that one", async () => {
    const { r, calls, clock } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(theirs('first', 3), mine('mine', 5)),
      one(mine('mine', 5)),
      res(204),
      list(theirs('first', 3)),
      one(theirs('first', 3)),
      res(200, { id: 'first', etag: '"f2"' })
    ])
    expect(await createExactlyOne(r)).toEqual({ operation: 'updated', id: 'first', etag: '"f2"' })
    expect(calls()).toEqual([
      'POST /connections',
      LOOKUP,
      'GET /connections/mine',
      'DELETE /connections/mine',
      LOOKUP,
      'GET /connections/first',
      'PATCH /connections/first'
    ])
    expect(clock.sleeps).toEqual([1000])
  })

  it('its copy was adopted by a run that started later: not deleted; fails naming it, in the outputs', async () => {
    const adopted = mine('mine', 5, 1, {
      description: `Managed by CI [aep-gha:${RUN}.1;adopted]`
    })
    const { r, calls } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(theirs('first', 3), mine('mine', 5)),
      one(adopted)
    ])
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.id).toBe('mine')
    expect(e.message).toMatch(
      /^2 connections are named "orders-db": this run's copy \(id mine\) was updated by a run that started later \(its mark says adopted; that run may have exited 0 naming it\), so it is not deleted, though another run's copy \(id first\) is the first by creation date\. Run the step again/
    )
    expect(calls().filter((c) => !c.startsWith('GET'))).toEqual(['POST /connections'])
  })

  it('its extra copy (a lost answer) was adopted: kept, and its first copy gives way', async () => {
    const { r, calls } = setup([
      new NetworkError('socket closed', 'reset', true),
      ...always(list(), 5),
      res(201, { id: 'm2', etag: '"e2"' }),
      list(mine('m1', 4, 1, { etag: '"e1"' }), mine('m2', 6, 2)),
      one(mine('m2', 6, 2, { description: `Managed by CI [aep-gha:${RUN}.2;adopted]` })),
      one(mine('m1', 4, 1, { etag: '"e1"' })),
      res(200, { id: 'm1', etag: '"e1b"' })
    ])
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e.id).toBe('m2')
    expect(e.message).toMatch(
      /this run's copy \(id m2\) was updated by a run that started later .* though this run's copy \(id m1\) is the first by creation date \(it gives way: its mark now says so\)/
    )
    expect(calls().filter((c) => !c.startsWith('GET'))).toEqual([
      'POST /connections',
      'POST /connections',
      'PATCH /connections/m1'
    ])
  })

  /** A race this run loses: its copy deleted, the first one looked at again after the lag. */
  const lostRace = (): Step[] => [
    res(201, { id: 'mine', etag: '"e1"' }),
    list(theirs('first', 3), mine('mine', 5)),
    one(mine('mine', 5)),
    res(204),
    list(theirs('first', 3)),
    one(theirs('first', 3))
  ]

  it("another run's copy is first, if-exists reuse: used as it is, its mark saying this run adopted it", async () => {
    const { r, transport } = setup(
      [...lostRace(), res(200, { id: 'first', etag: '"f2"' })],
      'reuse'
    )
    expect(await createExactlyOne(r)).toEqual({ operation: 'unchanged', id: 'first', etag: '"f2"' })
    // Nothing but the mark changes: the run that made it, still racing, then keeps it.
    const patch = transport.calls.at(-1)
    expect(patch?.req.method).toBe('PATCH')
    expect(patch?.req.headers['if-match']).toBe('"etag-first"')
    expect(JSON.parse(patch?.req.body ?? '')).toEqual([
      {
        op: 'replace',
        path: '/description',
        value: 'Managed by CI [aep-gha:ffffffffffff.1;adopted]'
      }
    ])
  })

  it('if-exists reuse where the mark cannot be written (PATCH not enabled, 1445): used as it is, said in the log', async () => {
    const { r, retry } = setup(
      [...lostRace(), flowError(400, '1445-400'), one(theirs('first', 3))],
      'reuse'
    )
    expect(await createExactlyOne(r)).toEqual({
      operation: 'unchanged',
      id: 'first',
      etag: '"etag-first"'
    })
    expect(retry.lines).toContain(
      'connection first was not marked as adopted by this run: Flow Service answered 1445-400'
    )
  })

  it("another run's copy is first, if-exists fail: fails naming it, its id in the outputs", async () => {
    const { r } = setup(lostRace(), 'fail')
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.id).toBe('first')
    expect(e.message).toBe(
      'another run created "orders-db" at the same time (id first); if-exists is fail, so it is not adopted (this run deleted its own copy)'
    )
  })

  it.each([
    ['tied dates', 5, 5],
    ['no dates', undefined, undefined]
  ])('%s: the order of the runs\u2019 marks decides, the same in every run', async (_, a, b) => {
    // This run's mark a1b2... sorts after 0000...: the other copy is first.
    const first = theirs('t', a, '000000000000')
    const { r, calls } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(mine('mine', b), first),
      one(mine('mine', b)),
      res(204),
      list(first),
      one(first),
      res(200, { id: 't', etag: '"t2"' })
    ])
    expect((await createExactlyOne(r)).id).toBe('t')
    expect(calls()).toContain('DELETE /connections/mine')
    // And after ffff...: its own is first, and kept.
    const later = theirs('u', a)
    const kept = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(mine('mine', b), later),
      notFound()
    ])
    expect((await createExactlyOne(kept.r)).id).toBe('mine')
    expect(kept.calls()).toEqual(['POST /connections', LOOKUP, 'GET /connections/u'])
  })

  it('its copy was deleted by another run (gone by id): follows the copy that stays', async () => {
    const { r, calls } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(theirs('first', 3)),
      notFound(),
      list(theirs('first', 3)),
      one(theirs('first', 3)),
      res(200, { id: 'first', etag: '"f2"' })
    ])
    expect((await createExactlyOne(r)).id).toBe('first')
    expect(calls().slice(0, 3)).toEqual(['POST /connections', LOOKUP, 'GET /connections/mine'])
  })

  it('its copy and every other is gone, and no other is listed: fails with no id in the outputs', async () => {
    const { r } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(),
      notFound(),
      ...always(list(), 12)
    ])
    const e = await caught(createExactlyOne(r))
    expect(e).not.toBeInstanceOf(StoredObjectError)
    expect(e.message).toMatch(
      /^every connection named "orders-db" that this run saw was deleted while the step ran, this run's own among them, and no other is listed after \d+\.\d s; run the step again$/
    )
  })

  it('a later listing that lags further back does not make a copy seen before gone', async () => {
    // The second listing shows an older picture (nothing yet): the first copy is still known.
    const { r, calls } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(theirs('first', 3), theirs('second', 4, 'dddddddddddd'), mine('mine', 5)),
      one(mine('mine', 5)),
      res(204),
      one(theirs('second', 4, 'dddddddddddd')),
      list(),
      notFound(),
      list(),
      one(theirs('first', 3)),
      res(200, { id: 'first', etag: '"f2"' })
    ])
    expect(await createExactlyOne(r)).toEqual({ operation: 'updated', id: 'first', etag: '"f2"' })
    expect(calls().at(-1)).toBe('PATCH /connections/first')
  })

  it('the copy it gave way to goes too (its run found an earlier one): follows the earlier one', async () => {
    const { r, calls } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(theirs('b', 3), mine('mine', 5)),
      one(mine('mine', 5)),
      res(204),
      // After the lag: an earlier copy has appeared, and b's run gave b up for it.
      list(theirs('a', 2, 'eeeeeeeeeeee'), theirs('b', 3)),
      notFound(),
      list(theirs('a', 2, 'eeeeeeeeeeee')),
      one(theirs('a', 2, 'eeeeeeeeeeee')),
      res(200, { id: 'a', etag: '"a2"' })
    ])
    expect(await createExactlyOne(r)).toEqual({ operation: 'updated', id: 'a', etag: '"a2"' })
    expect(calls()).toContain('GET /connections/b')
  })

  it('three runs: the copy of a third run that is not first is waited for, then gone', async () => {
    const { r, calls } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(theirs('first', 3), theirs('second', 4, 'dddddddddddd'), mine('mine', 5)),
      one(mine('mine', 5)),
      res(204),
      one(theirs('second', 4, 'dddddddddddd')),
      list(theirs('first', 3), theirs('second', 4, 'dddddddddddd')),
      notFound(),
      list(theirs('first', 3)),
      one(theirs('first', 3)),
      res(200, { id: 'first', etag: '"f2"' })
    ])
    expect((await createExactlyOne(r)).id).toBe('first')
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual(['DELETE /connections/mine'])
  })
})

describe('updateExisting and deleteExisting', () => {
  it('a PATCH refused in the current state (1416): waits for it to settle, retries once', async () => {
    const existing = item('x', 3)
    const { flow, calls, retry } = setup([
      flowError(400, '1416-400'),
      one({ ...existing, state: 'updating' }),
      one({ ...existing, state: 'enabled', etag: '"fresh"' }),
      res(200, { id: 'x', etag: '"e3"' })
    ])
    expect(await updateExisting(flow, existing, body, retry.log)).toEqual({
      operation: 'updated',
      id: 'x',
      etag: '"e3"'
    })
    expect(calls()).toEqual([
      'PATCH /connections/x',
      'GET /connections/x',
      'GET /connections/x',
      'PATCH /connections/x'
    ])
  })

  it('a PATCH on a connection being deleted (1457) is left to the caller', async () => {
    const { flow, retry } = setup([flowError(400, '1457-400')])
    const e = await caught(updateExisting(flow, item('x', 3), body, retry.log))
    expect((e as { code?: string }).code).toBe('1457-400')
  })

  it('a DELETE on a connection already being deleted (1458): absent', async () => {
    const { flow, retry } = setup([flowError(400, '1458-400')])
    expect(await deleteExisting(flow, item('x', 3), retry.log)).toEqual({
      operation: 'absent',
      id: '',
      etag: ''
    })
  })

  it('a DELETE refused in the current state (1416): waits, retries once', async () => {
    const { flow, retry, calls } = setup([
      flowError(400, '1416-400'),
      one(item('x', 3, { state: 'enabled' })),
      res(204)
    ])
    expect((await deleteExisting(flow, item('x', 3), retry.log)).operation).toBe('deleted')
    expect(calls()).toEqual([
      'DELETE /connections/x',
      'GET /connections/x',
      'DELETE /connections/x'
    ])
  })
})

describe('updateExisting under racing updates', () => {
  it('412 four times (other runs patching too): re-reads and retries until it lands', async () => {
    const existing = item('x', 3)
    const steps: Step[] = []
    for (let n = 0; n < 4; n++) steps.push(res(412, {}), one({ ...existing, etag: `"v${n}"` }))
    const { flow, calls, retry, clock } = setup([...steps, res(200, { id: 'x', etag: '"e9"' })])
    expect(await updateExisting(flow, existing, body, retry.log)).toEqual({
      operation: 'updated',
      id: 'x',
      etag: '"e9"'
    })
    expect(calls().filter((c) => c.startsWith('PATCH'))).toHaveLength(5)
    expect(clock.sleeps).toEqual([500, 1000, 2000])
  })

  it('412 on every try: fails after the last retry', async () => {
    const existing = item('x', 3)
    const steps: Step[] = []
    for (let n = 0; n < 6; n++) steps.push(res(412, {}), one(existing))
    const { flow, retry } = setup(steps)
    const e = await caught(updateExisting(flow, existing, body, retry.log))
    expect((e as { status?: number }).status).toBe(412)
  })
})

describe('apply: an update refused because the connection is being deleted (1457) or gone (404)', () => {
  const existing = item('x', 3)
  const plan = { kind: 'update' as const, existing, ops: [], body }

  it('looked up again; none live: a new one is created', async () => {
    const { r, calls } = setup([
      flowError(400, '1457-400'),
      list(item('x', 3, { state: 'delete-finalizing' })),
      one(item('x', 3, { state: 'delete-finalizing' })),
      res(201, { id: 'new', etag: '"n"' }),
      list(mine('new', 9))
    ])
    expect(await apply(plan, r)).toEqual({ operation: 'created', id: 'new', etag: '"n"' })
    expect(calls()).toEqual([
      'PATCH /connections/x',
      LOOKUP,
      'GET /connections/x',
      'POST /connections',
      LOOKUP
    ])
  })

  it('deleted since the lookup (PATCH answers 404; a racing state: absent): a new one is created', async () => {
    const { r, calls } = setup([
      notFound(),
      list(existing),
      notFound(),
      res(201, { id: 'new', etag: '"n"' }),
      list(mine('new', 9))
    ])
    expect(await apply(plan, r)).toEqual({ operation: 'created', id: 'new', etag: '"n"' })
    expect(calls()).toEqual([
      'PATCH /connections/x',
      LOOKUP,
      'GET /connections/x',
      'POST /connections',
      LOOKUP
    ])
  })

  it('still there when read by id: nothing is created, the step fails naming it', async () => {
    const { r, calls } = setup([flowError(400, '1457-400'), list(existing), one(existing)])
    const e = (await caught(apply(plan, r))) as StoredObjectError
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.id).toBe('x')
    expect(e.message).toMatch(
      /yet connection x still exists when read by id, so nothing was created/
    )
    expect(calls()).toEqual(['PATCH /connections/x', LOOKUP, 'GET /connections/x'])
  })

  it('another live one is listed instead: it is updated, not a new one created', async () => {
    const { r, calls } = setup([
      flowError(400, '1457-400'),
      list(item('y', 4)),
      notFound(),
      res(200, { id: 'y', etag: '"y2"' })
    ])
    expect(await apply(plan, r)).toEqual({ operation: 'updated', id: 'y', etag: '"y2"' })
    expect(calls()).toEqual([
      'PATCH /connections/x',
      LOOKUP,
      'GET /connections/x',
      'PATCH /connections/y'
    ])
  })
})

describe('findLive', () => {
  it('skips connections being deleted and waits for those in progress', async () => {
    const { flow, retry } = setup([
      list(
        item('going', 1, { state: 'delete-finalizing' }),
        item('new', 2, { state: 'initializing' })
      ),
      one(item('new', 2, { state: 'enabled' }))
    ])
    const live = await findLive(flow, NAME, retry.log)
    expect(live.map((i) => [i.id, i.state])).toEqual([['new', 'enabled']])
    expect(retry.lines[0]).toBe(
      'connection going is being deleted (state delete-finalizing): not counted'
    )
  })

  it('an incomplete listing says nothing was created or changed', async () => {
    const { flow, retry } = setup([res(200, { data: [] })])
    await expect(findLive(flow, NAME, retry.log)).rejects.toThrow(
      /^listing connections by name was incomplete: page 1 is not a list of connections .*; nothing was created or changed$/
    )
  })
})
