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
import { ActionError, StoredObjectError } from '../src/platform/errors.js'
import {
  FlowApi,
  type FlowItem as ConnectionItem,
  type FlowServiceOptions
} from '../src/platform/flow-api.js'
import { FlowObjects } from '../src/platform/flow-service.js'
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

describe('createExactlyOne after a 201', () => {
  it('alone: one more lookup, created, etag from the POST answer', async () => {
    const { r, calls } = setup([res(201, { id: 'mine', etag: '"e1"' }), list(item('mine', 5))])
    expect(await createExactlyOne(r)).toEqual({
      operation: 'created',
      id: 'mine',
      etag: '"e1"'
    })
    expect(calls()).toEqual(['POST /connections', LOOKUP])
  })

  it('a race this run won (its own is the oldest by date): kept, never given up', async () => {
    // The other run deletes its own copy, however slowly: giving way here could leave none.
    const { r, calls, retry, clock } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(item('later', 9), item('mine', 5))
    ])
    expect((await createExactlyOne(r)).operation).toBe('created')
    expect(calls()).toEqual(['POST /connections', LOOKUP])
    expect(clock.sleeps).toEqual([])
    expect(retry.lines).toContain(
      'other runs created "orders-db" at the same time (id later); this run\'s is the oldest, so it is kept and they delete theirs'
    )
  })

  it('a race this run won by id (same createdAt) whose other copy stays: gives way to it', async () => {
    // The other run listed before this one's copy was visible and ended keeping its own.
    const both = list(item('a-mine', 5), item('b-other', 5))
    const { r, calls, retry, clock } = setup(
      [res(201, { id: 'a-mine', etag: '"e1"' }), both, both, both, both, both, both, res(204)],
      'reuse'
    )
    expect(await createExactlyOne(r)).toEqual({
      operation: 'unchanged',
      id: 'b-other',
      etag: '"etag-b-other"'
    })
    // It waits 12.5 s (GIVE_WAY_WAIT_MS is 15 s): long enough for a slow run to delete its copy.
    expect(calls()).toEqual([
      'POST /connections',
      ...Array<string>(6).fill(LOOKUP),
      'DELETE /connections/a-mine'
    ])
    expect(clock.sleeps).toEqual([500, 1000, 2000, 4000, 5000])
    expect(retry.lines).toContain(
      'the other copies (id b-other) stay: their runs ended keeping them, so this run deletes its own (id a-mine) and uses b-other'
    )
  })

  it('missing createdAt: the same rule, the first by id waits', async () => {
    const { r, calls } = setup([
      res(201, { id: 'a-mine' }),
      list(
        item('a-mine', 5, { createdAt: undefined }),
        item('b-other', 5, { createdAt: undefined })
      ),
      list(item('a-mine', 5, { createdAt: undefined }))
    ])
    expect(await createExactlyOne(r)).toMatchObject({
      operation: 'created',
      id: 'a-mine'
    })
    expect(calls()).toEqual(['POST /connections', LOOKUP, LOOKUP])
  })

  it('a race this run lost: deletes its own, updates the oldest (if-exists update)', async () => {
    const { r, calls, transport } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(item('mine', 5), item('first', 3)),
      res(204),
      res(200, { id: 'first', etag: '"e2"' })
    ])
    expect(await createExactlyOne(r)).toEqual({
      operation: 'updated',
      id: 'first',
      etag: '"e2"'
    })
    expect(calls()).toEqual([
      'POST /connections',
      LOOKUP,
      'DELETE /connections/mine',
      'PATCH /connections/first'
    ])
    expect(transport.calls[3]?.req.headers['if-match']).toBe('"etag-first"')
  })

  it('ties on createdAt are broken by id, the same way in every run', async () => {
    const { r, calls } = setup(
      [
        res(201, { id: 'b-mine', etag: '"e1"' }),
        list(item('b-mine', 5), item('a-other', 5)),
        res(204),
        // The order could not be told: this run looks once more that a-other is kept.
        list(item('a-other', 5))
      ],
      'reuse'
    )
    expect(await createExactlyOne(r)).toEqual({
      operation: 'unchanged',
      id: 'a-other',
      etag: '"etag-a-other"'
    })
    expect(calls()).toEqual(['POST /connections', LOOKUP, 'DELETE /connections/b-mine', LOOKUP])
  })

  it('gave way to a copy of unknown age whose run then gave way too: follows the copy that stays', async () => {
    // Runs b and c created at the same time as this one (a-mine); a run that created "0-ended"
    // ended before any of them listed. c keeps c-other at first, then gives way to 0-ended.
    const { r, calls, retry } = setup(
      [
        res(201, { id: 'd-mine' }),
        list(item('d-mine', 5), item('c-other', 5), item('x-ended', 5)),
        res(204),
        list(item('c-other', 5), item('x-ended', 5)),
        list(item('x-ended', 5))
      ],
      'reuse'
    )
    expect(await createExactlyOne(r)).toMatchObject({ id: 'x-ended' })
    expect(calls()).toEqual([
      'POST /connections',
      LOOKUP,
      'DELETE /connections/d-mine',
      LOOKUP,
      LOOKUP
    ])
    expect(retry.lines).toContain(
      'connection c-other was given up by its run for a copy that stays (id x-ended): using that one'
    )
  })

  it('a lost race with if-exists fail: fails naming the keeper, whose id is in the outputs', async () => {
    const { r } = setup(
      [res(201, { id: 'mine' }), list(item('mine', 5), item('first', 3)), res(204)],
      'fail'
    )
    const e = await caught(createExactlyOne(r))
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.message).toBe(
      'another run created "orders-db" at the same time (id first); if-exists is fail, so it is not adopted (this run deleted its own copy)'
    )
    expect((e as StoredObjectError).id).toBe('first')
  })

  it('its own copy cannot be deleted: fails naming both, the keeper in the outputs', async () => {
    const { r } = setup([
      res(201, { id: 'mine' }),
      list(item('mine', 5), item('first', 3)),
      flowError(400, '1418-400')
    ])
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e.message).toMatch(
      /^another run created "orders-db" at the same time \(id first, kept\), and this run's copy \(id mine\) could not be deleted: deleting the connection failed: HTTP 400 1418-400 .*; delete it by hand$/
    )
    expect(e.id).toBe('first')
  })

  it('its own is no longer listed and is gone (a racing run deleted it): adopts the keeper', async () => {
    const { r, calls } = setup(
      [res(201, { id: 'mine' }), list(item('first', 3)), res(404)],
      'reuse'
    )
    expect((await createExactlyOne(r)).id).toBe('first')
    expect(calls()).toEqual(['POST /connections', LOOKUP, 'GET /connections/mine'])
  })

  it('its own is gone and nothing is listed: fails, with no id in the outputs', async () => {
    const { r } = setup([res(201, { id: 'mine' }), list(), res(404)])
    const e = await caught(createExactlyOne(r))
    expect(e).toBeInstanceOf(ActionError)
    expect(e).not.toBeInstanceOf(StoredObjectError)
    expect(e.message).toMatch(/the connection this run created \(id mine\) was deleted/)
  })

  it('the listing lags behind its own: looks again after a pause, then converges', async () => {
    const { r, calls, clock } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      list(),
      one(item('mine', 5)),
      list(item('mine', 5))
    ])
    expect((await createExactlyOne(r)).operation).toBe('created')
    expect(calls()).toEqual(['POST /connections', LOOKUP, 'GET /connections/mine', LOOKUP])
    expect(clock.sleeps).toEqual([500])
  })

  it('the listing never shows its own: created, with a warning that the check was not done', async () => {
    const mine = one(item('mine', 5))
    const { r, warnings } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      ...[list(), mine, list(), mine, list(), mine]
    ])
    expect((await createExactlyOne(r)).id).toBe('mine')
    expect(warnings).toEqual([
      'the connection just created (id mine) is not listed yet, so the listing cannot be trusted: whether another run created "orders-db" at the same time could not be checked'
    ])
  })

  it('after a lost answer and a re-sent POST, a listing that never shows the new one fails the step', async () => {
    // The lookup that allowed the second POST may have been just as stale: two may exist.
    const mine = one(item('mine-2', 5))
    const { r, calls } = setup([
      res(503),
      list(),
      res(201, { id: 'mine-2', etag: '"e2"' }),
      ...[list(), mine, list(), mine, list(), mine]
    ])
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.id).toBe('mine-2')
    expect(e.etag).toBe('"e2"')
    expect(e.message).toBe(
      'the connection just created (id mine-2) is not listed yet, so the listing cannot be trusted, and an earlier attempt of this run (whose answer was lost) may have created "orders-db" too: this run\'s connection is id mine-2; if the sandbox now lists two, delete the one not in use (the next run fails until one is left)'
    )
    expect(calls().filter((c) => c.startsWith('POST'))).toHaveLength(2)
  })

  it('an incomplete listing after the create: created, with a warning', async () => {
    const broken = res(200, {})
    const { r, warnings, calls } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      broken,
      broken,
      broken
    ])
    expect((await createExactlyOne(r)).id).toBe('mine')
    // Tried three times: the check is the only thing that sees a racing run's copy.
    expect(calls()).toEqual(['POST /connections', LOOKUP, LOOKUP, LOOKUP])
    expect(warnings[0]).toMatch(
      /^listing connections by name was incomplete: page 1 .*: whether another run created "orders-db" at the same time could not be checked$/
    )
  })

  it('a failing check after the create: created, with a warning', async () => {
    const { r, warnings } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      res(403, {}),
      res(403, {}),
      res(403, {})
    ])
    expect(await createExactlyOne(r)).toEqual({
      operation: 'created',
      id: 'mine',
      etag: '"e1"'
    })
    expect(warnings[0]).toMatch(
      /^listing connections by name failed: HTTP 403 .*could not be checked$/
    )
  })

  it('a listing that fails while the keeper waits: kept, with a warning (not a failure)', async () => {
    const { r, warnings } = setup([
      res(201, { id: 'a-mine', etag: '"e1"' }),
      list(item('a-mine', 5), item('b-other', 5)),
      res(500, {})
    ])
    expect(await createExactlyOne(r)).toMatchObject({
      operation: 'created',
      id: 'a-mine'
    })
    expect(warnings[0]).toMatch(
      /whether the other runs deleted their copies \(id b-other\) could not be checked$/
    )
  })

  it('a check that fails once is tried again and sees the racing copy', async () => {
    const { r, calls } = setup([
      res(201, { id: 'mine', etag: '"e1"' }),
      res(500, {}),
      list(item('mine', 5), item('first', 3)),
      res(204),
      res(200, { id: 'first', etag: '"e2"' })
    ])
    expect(await createExactlyOne(r)).toMatchObject({ operation: 'updated', id: 'first' })
    expect(calls()).toEqual([
      'POST /connections',
      LOOKUP,
      LOOKUP,
      'DELETE /connections/mine',
      'PATCH /connections/first'
    ])
  })

  it('a failure after the create still names this run’s connection in the outputs', async () => {
    const { r } = setup([res(201, { id: 'mine', etag: '"e1"' }), list(), res(403, {})])
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.id).toBe('mine')
    expect(e.etag).toBe('"e1"')
  })
})

describe('createExactlyOne after an answer that was lost or unreadable', () => {
  it('one found: if-exists update patches it', async () => {
    const { r, calls } = setup([
      res(201, '{"id":"'),
      list(item('x', 3)),
      res(200, { id: 'x', etag: '"e2"' })
    ])
    expect(await createExactlyOne(r)).toEqual({
      operation: 'updated',
      id: 'x',
      etag: '"e2"'
    })
    expect(calls()).toEqual(['POST /connections', LOOKUP, 'PATCH /connections/x'])
  })

  it('several found: keeps the oldest, deletes the others (copies made meanwhile)', async () => {
    const { r, calls } = setup(
      [res(503), list(item('b', 7), item('a', 3), item('c', 9)), res(204), res(404)],
      'reuse'
    )
    expect(await createExactlyOne(r)).toEqual({
      operation: 'unchanged',
      id: 'a',
      etag: '"etag-a"'
    })
    expect(calls().slice(2)).toEqual(['DELETE /connections/b', 'DELETE /connections/c'])
  })

  it('if-exists fail: fails saying it may be this run’s or another’s; its id in the outputs', async () => {
    const { r } = setup([res(502), list(item('x', 3))], 'fail')
    const e = (await caught(createExactlyOne(r))) as StoredObjectError
    expect(e.message).toBe(
      "a connection named \"orders-db\" is listed (id x) after this run's create answer was lost or unreadable, so it may be this run's or another run's; if-exists is fail, so it is not adopted"
    )
    expect(e.id).toBe('x')
    expect(e.etag).toBe('"etag-x"')
  })

  it('if-exists update with another auth type: fails as for any found connection', async () => {
    const other = item('x', 3, { auth: { specName: 'Basic Authentication' } })
    const { r } = setup([res(503), list(other)])
    const e = await caught(createExactlyOne(r))
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.message).toMatch(/uses "Basic Authentication" but auth-type asks for/)
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

describe('apply: an update refused because the connection is being deleted (1457)', () => {
  const existing = item('x', 3)
  const plan = { kind: 'update' as const, existing, ops: [], body }

  it('looked up again; none live: a new one is created', async () => {
    const { r, calls } = setup([
      flowError(400, '1457-400'),
      list(item('x', 3, { state: 'delete-finalizing' })),
      res(201, { id: 'new', etag: '"n"' }),
      list(item('new', 9))
    ])
    expect(await apply(plan, r)).toEqual({ operation: 'created', id: 'new', etag: '"n"' })
    expect(calls()).toEqual(['PATCH /connections/x', LOOKUP, 'POST /connections', LOOKUP])
  })

  it('still listed as live: nothing is created, the step fails naming it', async () => {
    const { r, calls } = setup([flowError(400, '1457-400'), list(existing)])
    const e = (await caught(apply(plan, r))) as StoredObjectError
    expect(e).toBeInstanceOf(StoredObjectError)
    expect(e.id).toBe('x')
    expect(e.message).toMatch(/yet connection x is still listed as live, so nothing was created/)
    expect(calls()).toEqual(['PATCH /connections/x', LOOKUP])
  })

  it('another live one is listed instead: it is updated, not a new one created', async () => {
    const { r, calls } = setup([
      flowError(400, '1457-400'),
      list(item('y', 4)),
      res(200, { id: 'y', etag: '"y2"' })
    ])
    expect(await apply(plan, r)).toEqual({ operation: 'updated', id: 'y', etag: '"y2"' })
    expect(calls()).toEqual(['PATCH /connections/x', LOOKUP, 'PATCH /connections/y'])
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
