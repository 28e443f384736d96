import { describe, it, expect } from '@jest/globals'
import { readConnectionSpec } from '../src/connection/connection-spec.js'
import { explore, test as testCall } from '../src/connection/connection-test.js'
import { buildCreateBody } from '../src/connection/payload.js'
import { CONNECTIONS, POSTGRES_SPEC_ID } from '../src/platform/collections.js'
import { ActionError, ApiError } from '../src/platform/errors.js'
import {
  FlowApi,
  FlowItemSchema as ConnectionItemSchema,
  IdEtagSchema,
  type FlowItem as ConnectionItem,
  type FlowServiceOptions
} from '../src/platform/flow-api.js'
import { FlowObjects } from '../src/platform/flow-service.js'
import { MAX_PAGES } from '../src/platform/lookup.js'
import { IncompleteListingError, specFilter } from '../src/platform/listing.js'
import { NetworkError, TransportError } from '../src/platform/http.js'
import { givenToken, imsTokenSource, type TokenSource } from '../src/platform/ims.js'
import { FakeClock, res, retryContext, scriptedTransport, type Step } from './unit-fakes.js'

const SPEC_FILTER = specFilter(CONNECTIONS)

/**
 * The Flow Service calls of the connection action on one client: the shared collection client
 * for base connections, and the connection action's own calls (explore, test, the spec).
 */
class FlowService extends FlowObjects {
  constructor(o: FlowServiceOptions) {
    super(new FlowApi(o), CONNECTIONS)
  }
  get base() {
    return this.api.base
  }
  get o() {
    return this.api.o
  }
  override settle(i: ConnectionItem) {
    return this.api.settle(CONNECTIONS, i)
  }
  explore(id: string) {
    return explore(this.api, id)
  }
  test(id: string) {
    return testCall(this.api, id)
  }
  connectionSpec(id?: string) {
    return readConnectionSpec(this.api, id)
  }
}

const ORIGIN = 'https://platform.example'
const BASE = `${ORIGIN}/data/foundation/flowservice`
const OTHER_SPEC = '00000000-0000-0000-0000-000000000000'
const ETAG = '"1700e582-0000-0200-0000-5e3c85180000"'

function item(id: string, name: string, spec = POSTGRES_SPEC_ID): ConnectionItem {
  return { id, name, etag: `"etag-${id}"`, connectionSpec: { id: spec, version: '1.0' } }
}

function setup(
  steps: Step[],
  opts: { tokens?: TokenSource; maxAttempts?: number; totalMs?: number } = {}
) {
  const clock = new FakeClock()
  const retry = retryContext(clock, { maxAttempts: opts.maxAttempts, totalMs: opts.totalMs })
  const transport = scriptedTransport(steps, clock)
  const flow = new FlowService({
    run: 'a1b2c3d4e5f6',
    platformUrl: ORIGIN,
    clientId: 'client-abc',
    imsOrgId: 'ORG123@AdobeOrg',
    sandboxName: 'dev-1',
    tokens: opts.tokens ?? givenToken('tok-given'),
    transport,
    retry
  })
  const calls = () => transport.calls.map((c) => `${c.req.method} ${c.req.url}`)
  return { flow, transport, retry, clock, calls }
}

/** An IMS token source whose fetches are counted: tok-1, tok-2, ... */
function countingTokens() {
  let n = 0
  const source = imsTokenSource(async () => `tok-${++n}`)
  return { source, fetches: () => n }
}

const body = buildCreateBody('orders-db', 'Managed by CI', {
  specName: 'Connection String Based Authentication',
  params: { connectionString: 'Server=H;Database=D;Port=5432;UID=U;Password=W' }
})
const list = (items: ConnectionItem[], next?: string) =>
  res(200, { items, ...(next ? { _links: { next: { href: next } } } : {}) })

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a rejection')
}

describe('FlowService.findByName', () => {
  it('builds the lookup URL with the name URL-encoded', async () => {
    const name = 'orders db/1&x#é'
    const { flow, calls } = setup([list([])])
    await flow.findByName(name)
    expect(flow.base).toBe(BASE)
    expect(calls()).toEqual([`GET ${BASE}/connections?property=name==${encodeURIComponent(name)}`])
    expect(calls()[0]).toContain('name==orders%20db%2F1%26x%23%C3%A9')
  })

  it.each(['a,b', ' lead', 'trail ', 'x=y'])(
    'looks name %j up with a quoted filter, one page, and matches it exactly',
    async (name) => {
      const { flow, calls } = setup([
        list([item('1', name), item('2', 'a'), item('3', `${name}x`), item('4', name, OTHER_SPEC)])
      ])
      expect((await flow.findByName(name)).map((i) => i.id)).toEqual(['1'])
      expect(calls()).toEqual([
        `GET ${BASE}/connections?property=name==${encodeURIComponent(`"${name}"`)}`
      ])
    }
  )

  it('a quoted name that finds nothing is taken as absent (no scan)', async () => {
    const { flow, calls } = setup([list([])])
    expect(await flow.findByName('a,b')).toEqual([])
    expect(calls()).toHaveLength(1)
  })

  it('a name with a quote: escaped; a match is trusted, a miss is confirmed by a full scan', async () => {
    const name = 'say "hi" \\ there'
    const quoted = `GET ${BASE}/connections?property=name==${encodeURIComponent('"say \\"hi\\" \\\\ there"')}`
    const hit = setup([list([item('1', name)])])
    expect((await hit.flow.findByName(name)).map((i) => i.id)).toEqual(['1'])
    expect(hit.calls()).toEqual([quoted])

    const miss = setup([list([]), list([item('2', name), item('3', 'other')])])
    expect((await miss.flow.findByName(name)).map((i) => i.id)).toEqual(['2'])
    expect(miss.calls()).toEqual([quoted, `GET ${BASE}/connections?property=${SPEC_FILTER}`])
    expect(miss.retry.lines).toEqual([
      'listing connections by name: no match for a name with a quote or backslash (Flow Service does not document escaping); reading every PostgreSQL connection'
    ])
  })

  it('a quoted filter refused with a 400: every PostgreSQL connection is read instead', async () => {
    const { flow, calls, retry } = setup([
      res(400, { type: 'https://ns.adobe.com/aep/errors/FLOW-1453-400', title: 'Bad request' }),
      list([item('1', 'a,b')], '/connections?continuationToken=t2'),
      list([item('2', 'a,b')])
    ])
    expect((await flow.findByName('a,b')).map((i) => i.id)).toEqual(['1', '2'])
    expect(calls().slice(1)).toEqual([
      `GET ${BASE}/connections?property=${SPEC_FILTER}`,
      `GET ${BASE}/connections?continuationToken=t2`
    ])
    expect(retry.lines[0]).toMatch(/refused the quoted name filter \(HTTP 400 1453-400\)/)
  })

  it('a 400 on a plain name filter is an error, not a scan', async () => {
    const { flow, calls } = setup([res(400, { title: 'Bad request' })])
    await expect(flow.findByName('n')).rejects.toBeInstanceOf(ApiError)
    expect(calls()).toHaveLength(1)
  })

  it('mustInclude: a quoted lookup without the connection just created falls back to a scan', async () => {
    const { flow, calls } = setup([
      list([item('old', 'a,b')]),
      list([item('old', 'a,b'), item('new', 'a,b')])
    ])
    const found = await flow.findByName('a,b', { mustInclude: 'new' })
    expect(found.map((i) => i.id)).toEqual(['old', 'new'])
    expect(calls()[1]).toBe(`GET ${BASE}/connections?property=${SPEC_FILTER}`)
    // A plain name is not scanned: a listing that lags behind is the caller's to handle.
    const plain = setup([list([item('old', 'n')])])
    expect((await plain.flow.findByName('n', { mustInclude: 'new' })).map((i) => i.id)).toEqual([
      'old'
    ])
    expect(plain.calls()).toHaveLength(1)
  })

  it('sends the Adobe headers and no content-type without a body', async () => {
    const { flow, transport } = setup([list([])])
    await flow.findByName('n')
    const r = transport.calls[0]?.req
    expect(r?.headers).toEqual({
      authorization: 'Bearer tok-given',
      'x-api-key': 'client-abc',
      'x-gw-ims-org-id': 'ORG123@AdobeOrg',
      'x-sandbox-name': 'dev-1',
      accept: 'application/json'
    })
    expect(r?.body).toBeUndefined()
  })

  it('keeps only exact name and PostgreSQL spec matches; reads spec-less matches by id', async () => {
    const { flow, calls } = setup([
      list([
        item('a', 'orders-db'),
        item('b', 'orders-db', OTHER_SPEC),
        item('c', 'orders-db-2'),
        item('d', 'Orders-DB'),
        { id: 'e', name: 'orders-db' },
        { id: 'g', name: 'orders-db' },
        { id: 'h', name: 'unrelated' },
        item('f', 'orders-db')
      ]),
      res(200, { items: [item('e', 'orders-db')] }),
      res(200, { items: [item('g', 'orders-db', OTHER_SPEC)] })
    ])
    expect((await flow.findByName('orders-db')).map((i) => i.id)).toEqual(['a', 'f', 'e'])
    expect(calls().slice(1)).toEqual([`GET ${BASE}/connections/e`, `GET ${BASE}/connections/g`])
  })

  it('an item that stays unclassifiable when read by id fails the listing', async () => {
    const { flow } = setup([
      list([{ id: 'e', name: 'orders-db' }]),
      res(200, { items: [{ id: 'e', name: 'orders-db' }] })
    ])
    const e = await caught(flow.findByName('orders-db'))
    expect(e).toBeInstanceOf(IncompleteListingError)
    expect(e.message).toBe(
      'listing connections by name was incomplete: connection e is listed without a connection spec, and reading it by id does not tell either'
    )
    // Listed with the name, then 404 by id: not proof of absence.
    const gone = setup([list([{ id: 'e', name: 'orders-db' }]), res(404)])
    await expect(gone.flow.findByName('orders-db')).rejects.toThrow(
      'listing connections by name was incomplete: connection e is listed with this name but without a connection spec, and reading it by id answers 404'
    )
    // Listed without a name, then 404: gone, and it could not have been this name's anyway.
    const nameless = setup([list([{ id: 'e' }]), res(404)])
    expect(await nameless.flow.findByName('orders-db')).toEqual([])
  })

  it.each([
    [
      'another id',
      { ...item('f', 'orders-db') },
      'reading the connection e failed: Flow Service answered with another connection (id f); the run stops rather than act on it'
    ],
    [
      'another name',
      { ...item('e', 'other-db') },
      'listing connections by name was incomplete: connection e is listed without a connection spec, and reading it by id gives another connection'
    ]
  ])(
    'an item listed with the name but read by id as %s fails the listing',
    async (_, read, message) => {
      const { flow } = setup([list([{ id: 'e', name: 'orders-db' }]), res(200, { items: [read] })])
      await expect(flow.findByName('orders-db')).rejects.toThrow(message)
    }
  )

  it('the same connection on two pages counts once', async () => {
    const { flow } = setup([
      list([item('1', 'orders-db')], '/connections?continuationToken=a'),
      list([item('1', 'orders-db')])
    ])
    expect((await flow.findByName('orders-db')).map((i) => i.id)).toEqual(['1'])
  })

  it('a connection spec id in upper case or with spaces is still PostgreSQL', async () => {
    const { flow } = setup([list([item('1', 'orders-db', ` ${POSTGRES_SPEC_ID.toUpperCase()} `)])])
    expect(await flow.findByName('orders-db')).toHaveLength(1)
  })

  it('follows _links.next.href: base-relative, host-relative and absolute same-origin', async () => {
    const { flow, calls } = setup([
      list([item('1', 'n')], '/connections?continuationToken=aaa'),
      list([item('2', 'n')], '/data/foundation/flowservice/connections?continuationToken=bbb'),
      list([item('3', 'n')], `${BASE}/connections?continuationToken=ccc`),
      list([item('4', 'n')], 'connections?continuationToken=ddd'),
      list([item('5', 'n')])
    ])
    expect((await flow.findByName('n')).map((i) => i.id)).toEqual(['1', '2', '3', '4', '5'])
    expect(calls()).toEqual([
      `GET ${BASE}/connections?property=name==n`,
      `GET ${BASE}/connections?continuationToken=aaa`,
      `GET ${BASE}/connections?continuationToken=bbb`,
      `GET ${BASE}/connections?continuationToken=ccc`,
      `GET ${BASE}/connections?continuationToken=ddd`
    ])
  })

  it('refuses a next page on another origin (the token must not travel)', async () => {
    const { flow, calls } = setup([
      list([item('1', 'n')], 'https://evil.example/data/foundation/flowservice/connections?p=2')
    ])
    const e = await caught(flow.findByName('n'))
    expect(e).toBeInstanceOf(ActionError)
    expect(e.message).toBe('listing connections failed: the next page points to another host')
    expect(calls()).toHaveLength(1)
  })

  it('refuses another scheme or port of the same host', async () => {
    const { flow } = setup([list([], 'http://platform.example/data/foundation/flowservice/x')])
    await expect(flow.findByName('n')).rejects.toThrow(/another host/)
    const s2 = setup([list([], 'https://platform.example:8443/x')])
    await expect(s2.flow.findByName('n')).rejects.toThrow(/another host/)
  })

  it('fails when a next link repeats a page already read (a cycle)', async () => {
    const { flow, calls } = setup([
      list([item('1', 'n')], '/connections?continuationToken=same'),
      list([item('2', 'n')], '/connections?continuationToken=same')
    ])
    const e = await caught(flow.findByName('n'))
    expect(e).toBeInstanceOf(IncompleteListingError)
    expect(e.message).toBe(
      'listing connections by name was incomplete: page 2 links back to a page already read'
    )
    expect(calls()).toHaveLength(2)
  })

  it(`fails after ${MAX_PAGES} pages, without reading more`, async () => {
    let k = 0
    const { flow, calls } = setup(
      Array.from(
        { length: MAX_PAGES + 1 },
        () => () => list([], `/connections?continuationToken=p${++k}`)
      )
    )
    const e = await caught(flow.findByName('n'))
    expect(e.message).toBe(
      `listing connections by name was incomplete: Flow Service sent more than ${MAX_PAGES} pages`
    )
    expect(calls()).toHaveLength(MAX_PAGES)
  })

  it.each([{}, { data: [] }, { items: null }, { items: [{ name: 'no id' }] }])(
    'a page of %j is malformed: the listing fails',
    async (page) => {
      const { flow } = setup([res(200, page)])
      await expect(flow.findByName('n')).rejects.toThrow(
        'listing connections by name was incomplete: page 1 is not a list of connections'
      )
    }
  )

  it('an empty next link, or none, ends the listing', async () => {
    const { flow, calls } = setup([
      res(200, { items: [item('1', 'n')], _links: { next: { href: '' } } })
    ])
    expect(await flow.findByName('n')).toHaveLength(1)
    const s2 = setup([res(200, { items: [], _links: { next: null } })])
    expect(await s2.flow.findByName('n')).toEqual([])
    expect(calls()).toHaveLength(1)
  })

  it.each([
    ['a blank href', { next: { href: '   ' } }, 'page 1 has a next-page link with a blank href'],
    ['an href that is no URL', { next: { href: 'http://[::1' } }, 'the next page points to'],
    ['a null href', { next: { href: null } }, 'page 1 is not a list of connections']
  ])(
    'a next link with %s: the listing fails, nothing is taken as absent',
    async (_, links, why) => {
      const { flow } = setup([res(200, { items: [], _links: links })])
      await expect(flow.findByName('n')).rejects.toThrow(why)
    }
  )

  it('a continuation link that drops the filter: the filter is sent with the next links', async () => {
    const { flow, calls } = setup([
      list([item('1', 'n')], '/connections?continuationToken=a'),
      list([item('2', 'other'), item('3', 'n')], '/connections?continuationToken=b'),
      list([item('4', 'n')], '/connections?continuationToken=c&property=x'),
      list([item('5', 'n')])
    ])
    expect((await flow.findByName('n')).map((i) => i.id)).toEqual(['1', '3', '4', '5'])
    expect(calls()).toEqual([
      `GET ${BASE}/connections?property=name==n`,
      `GET ${BASE}/connections?continuationToken=a`,
      `GET ${BASE}/connections?continuationToken=b&property=name==n`,
      `GET ${BASE}/connections?continuationToken=c&property=x`
    ])
  })

  it('fails with the API error on a non-200', async () => {
    const { flow } = setup([
      res(403, { error_code: '403003', message: 'Api Key is invalid' }, { 'x-request-id': 'req-9' })
    ])
    const e = await caught(flow.findByName('n'))
    expect(e).toBeInstanceOf(ApiError)
    expect(e.message).toBe(
      'listing connections by name failed: HTTP 403 403003 Api Key is invalid (request id req-9) — client-id is sent as x-api-key; check it matches the credential'
    )
  })

  it('fails clearly on a body that is not JSON or has the wrong shape', async () => {
    const s1 = setup([res(200, '<html>')])
    await expect(s1.flow.findByName('n')).rejects.toThrow(
      'listing connections by name failed: HTTP 200 with a body that is not valid JSON'
    )
    const s2 = setup([res(200, { items: 'nope' })])
    await expect(s2.flow.findByName('n')).rejects.toThrow(
      'listing connections by name was incomplete: page 1 is not a list of connections'
    )
  })

  it('retries a 503 on the lookup', async () => {
    const { flow, calls, retry } = setup([res(503), list([item('1', 'n')])])
    expect(await flow.findByName('n')).toHaveLength(1)
    expect(calls()).toHaveLength(2)
    expect(retry.lines[0]).toContain('attempt 1 of 5')
  })

  it('on a 401 with a fetched token: fetches a new one once and retries', async () => {
    const tokens = countingTokens()
    const { flow, transport, retry } = setup([res(401), list([item('1', 'n')])], {
      tokens: tokens.source
    })
    expect(await flow.findByName('n')).toHaveLength(1)
    expect(tokens.fetches()).toBe(2)
    expect(transport.calls.map((c) => c.req.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-2'
    ])
    expect(retry.lines).toContain(
      'listing connections by name: the access token was rejected (HTTP 401); fetching a new one'
    )
  })

  it('on a second 401 after a refresh: fails', async () => {
    const tokens = countingTokens()
    const { flow, calls } = setup([res(401), res(401)], { tokens: tokens.source })
    const e = await caught(flow.findByName('n'))
    expect(e).toBeInstanceOf(ApiError)
    expect((e as ApiError).status).toBe(401)
    expect(calls()).toHaveLength(2)
    expect(e.message).toMatch(/check that the credential belongs to ims-org-id/)
  })

  it('on a 401 with a given token: fails at once, saying the token is invalid or expired', async () => {
    const { flow, calls } = setup([
      res(401, { error_code: '401013', message: 'Oauth token is not valid' })
    ])
    const e = await caught(flow.findByName('n'))
    expect(calls()).toHaveLength(1)
    expect(e.message).toMatch(/access-token is invalid or expired/)
  })
})

const RUN = 'a1b2c3d4e5f6'
/** A copy this run made with its n-th POST: its description carries the run's mark. */
const mine = (id: string, attempt = 1): ConnectionItem => ({
  ...item(id, 'orders-db'),
  description: `Managed by CI [aep-gha:${RUN}.${attempt}]`
})
/** When the first POST went: the FakeClock's start, in epoch seconds. */
const T0 = 1_700_000_000
const MARK1 = `[aep-gha:${RUN}.1.${T0.toString(36)}]`
const LOOKUP = `GET ${BASE}/connections?property=name==orders-db`
const methods = (calls: string[]) => calls.map((c) => c.split(' ')[0])

describe('FlowService.create', () => {
  it.each([200, 201, 202])('a %i with an id: created, never sent again', async (status) => {
    const { flow, calls } = setup([res(status, { id: 'n1', etag: ETAG })])
    expect(await flow.create(body)).toEqual({
      run: RUN,
      sent: [{ run: RUN, attempt: 1, at: T0 }],
      copies: [{ mark: { run: RUN, attempt: 1, at: T0 }, id: 'n1', etag: ETAG }]
    })
    expect(calls()).toHaveLength(1)
  })

  it('a 204 (no body) was performed: its mark is looked for, never sent again', async () => {
    const { flow, calls } = setup([res(204), list([mine('x')])])
    expect((await flow.create(body)).copies.map((c) => c.id)).toEqual(['x'])
    expect(methods(calls())).toEqual(['POST', 'GET'])
  })

  it('a PATCH answered 204: performed, its etag read from the connection', async () => {
    const { flow, calls } = setup([res(204), res(200, { items: [item('x', 'orders-db')] })])
    expect(await flow.update('x', '"e"', [])).toEqual({ id: 'x', etag: '"etag-x"' })
    expect(methods(calls())).toEqual(['PATCH', 'GET'])
  })

  it("POSTs the body with content-type, its description marked with the run's first POST", async () => {
    const { flow, transport } = setup([res(201, { id: 'new-1', etag: ETAG })])
    await flow.create(body)
    const r = transport.calls[0]?.req
    expect(r?.method).toBe('POST')
    expect(r?.url).toBe(`${BASE}/connections`)
    expect(r?.headers['content-type']).toBe('application/json')
    expect(r?.headers.authorization).toBe('Bearer tok-given')
    expect(r?.body).toBe(JSON.stringify({ ...body, description: `Managed by CI ${MARK1}` }))
  })

  it('a lost response, then the listing shows its mark: that copy is this run\u2019s, no second POST', async () => {
    const { flow, calls, retry } = setup([
      new NetworkError('connection reset before a response (ECONNRESET)', 'reset', true),
      list([mine('found-1')])
    ])
    expect((await flow.create(body)).copies).toEqual([
      { mark: { run: RUN, attempt: 1 }, id: 'found-1', etag: '"etag-found-1"' }
    ])
    expect(calls()).toEqual([`POST ${BASE}/connections`, LOOKUP])
    expect(retry.lines).toContain(
      'creating the connection: the connection this run created is listed (id found-1)'
    )
  })

  it('another run\u2019s copy of the name is not this run\u2019s: its mark is looked for, then sent again', async () => {
    const other = { ...item('other', 'orders-db'), description: 'x [aep-gha:ffffffffffff.1]' }
    const { flow, calls, transport } = setup(
      [
        new NetworkError('connection reset before a response (ECONNRESET)', 'reset', true),
        // Five looks fit in the 10 s wait (0.5 + 1 + 2 + 4 s of pauses).
        ...Array.from({ length: 5 }, () => list([other])),
        res(201, { id: 'new-2', etag: ETAG })
      ],
      { totalMs: 60_000 }
    )
    const r = await flow.create(body)
    expect(r.sent.map((m) => m.attempt)).toEqual([1, 2])
    expect(r.copies).toEqual([
      { mark: { run: RUN, attempt: 2, at: expect.any(Number) }, id: 'new-2', etag: ETAG }
    ])
    expect(methods(calls())).toEqual(['POST', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST'])
    // The second POST carries the second mark.
    expect(JSON.parse(transport.calls.at(-1)?.req.body ?? '{}').description).toMatch(
      new RegExp(`^Managed by CI \\[aep-gha:${RUN}\\.2\\.[0-9a-z]+\\]$`)
    )
  })

  it('the wait for the mark is bounded: 10 s at most, a quarter of the time left', async () => {
    const { flow, clock } = setup(
      [
        new NetworkError('socket closed', 'reset', true),
        ...Array.from({ length: 5 }, () => list([])),
        res(201, { id: 'n', etag: ETAG })
      ],
      { totalMs: 120_000 }
    )
    await flow.create(body)
    const waits = clock.sleeps.slice(0, -1)
    expect(waits.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(10_000)
    expect(waits).toEqual([500, 1000, 2000, 4000])
  })

  it('a timed-out POST whose mark is never listed: not sent again (it may still land)', async () => {
    const { flow, calls } = setup(
      [
        new NetworkError('no response within 90000 ms', 'timeout', true),
        ...Array.from({ length: 6 }, () => list([])),
        res(201, { id: 'dup' })
      ],
      { totalMs: 60_000 }
    )
    const e = await caught(flow.create(body))
    expect(e).toBeInstanceOf(ActionError)
    expect(e.message).toBe(
      `creating the connection failed: no response within 90000 ms; Flow Service may still create it, so it was not sent again (its description carries ${MARK1}). Run the step again: it finds the connection by name and removes any extra copy`
    )
    expect(methods(calls()).filter((m) => m === 'POST')).toHaveLength(1)
  })

  it('the POST gets all the time left but one request timeout; the lookup a normal one', async () => {
    const { flow, transport } = setup([
      new NetworkError('connection reset before a response (ECONNRESET)', 'reset', true),
      list([mine('x')])
    ])
    await flow.create(body)
    // 120 s deadline: request timeout 30 s, so the POST may take 90 s.
    expect(transport.calls.map((c) => c.timeoutMs)).toEqual([90_000, 30_000])
  })

  it('a 5xx is ambiguous too: its mark is looked for before trying again', async () => {
    const { flow, calls } = setup([res(500), list([mine('x')])])
    expect((await flow.create(body)).copies.map((c) => c.id)).toEqual(['x'])
    expect(methods(calls())).toEqual(['POST', 'GET'])
  })

  it('copies of this run being deleted do not count: sent again', async () => {
    const { flow, calls } = setup(
      [
        res(503),
        ...Array.from({ length: 5 }, () => list([{ ...mine('old'), state: 'delete-finalizing' }])),
        res(201, { id: 'n9', etag: ETAG })
      ],
      { totalMs: 60_000 }
    )
    expect((await flow.create(body)).copies.map((c) => c.id)).toEqual(['n9'])
    expect(methods(calls()).filter((m) => m === 'POST')).toHaveLength(2)
  })

  it('an incomplete listing after an ambiguous POST: fails saying it may have gone through', async () => {
    const { flow, calls } = setup([res(503), res(200, {})])
    await expect(flow.create(body)).rejects.toThrow(
      'listing connections by name was incomplete: page 1 is not a list of connections (items is missing or has the wrong type). creating the connection may have gone through, so it was not sent again'
    )
    expect(methods(calls())).toEqual(['POST', 'GET'])
  })

  it('a refused connection (not sent) is retried without a lookup', async () => {
    const { flow, calls } = setup([
      new NetworkError('could not connect (ECONNREFUSED)', 'refused', false),
      res(201, { id: 'n3' })
    ])
    const r = await flow.create(body)
    expect(r.copies.map((c) => c.id)).toEqual(['n3'])
    // Never sent, so never a copy: only the POST that was answered counts.
    expect(r.sent.map((m) => m.attempt)).toEqual([2])
    expect(methods(calls())).toEqual(['POST', 'POST'])
  })

  it('a 429 is retried without a lookup, honouring Retry-After', async () => {
    const { flow, calls, clock } = setup([
      res(429, '', { 'retry-after': '2' }),
      res(201, { id: 'n4', etag: ETAG })
    ])
    expect((await flow.create(body)).copies.map((c) => c.id)).toEqual(['n4'])
    expect(methods(calls())).toEqual(['POST', 'POST'])
    expect(clock.sleeps).toEqual([2000])
  })

  it('a 400 fails at once', async () => {
    const { flow, calls } = setup([
      res(400, {
        type: 'http://ns.adobe.com/aep/errors/FLOW-1415-400',
        title: 'Auth spec not found',
        report: { 'request-id': 'rq-1' }
      })
    ])
    const e = await caught(flow.create(body))
    expect(e).toBeInstanceOf(ApiError)
    expect(e.message).toBe(
      'creating the connection failed: HTTP 400 1415-400 Auth spec not found (request id rq-1)'
    )
    expect(calls()).toHaveLength(1)
  })

  it('gives up after maxAttempts of 429', async () => {
    const { flow, calls } = setup([res(429), res(429), res(429)], { maxAttempts: 3 })
    const e = await caught(flow.create(body))
    expect((e as ApiError).status).toBe(429)
    expect(e.message).toMatch(/rate limiting/)
    expect(calls()).toHaveLength(3)
  })

  it('a lost response on the last attempt, its mark never listed: fails saying it may exist', async () => {
    const { flow, calls } = setup(
      [
        new NetworkError('socket closed', 'reset', true),
        ...Array.from({ length: 6 }, () => list([]))
      ],
      { maxAttempts: 1, totalMs: 60_000 }
    )
    const e = await caught(flow.create(body))
    expect(e.message).toBe(
      `creating the connection failed: socket closed; the connection may have been created all the same and is not listed yet (its description carries ${MARK1}): run the step again, it finds the connection by name and removes any extra copy`
    )
    expect(methods(calls()).filter((m) => m === 'POST')).toHaveLength(1)
  })

  it('a 401 with a fetched token: fetches a new one once and POSTs again', async () => {
    const tokens = countingTokens()
    const { flow, transport } = setup([res(401), res(201, { id: 'n5', etag: ETAG })], {
      tokens: tokens.source
    })
    expect((await flow.create(body)).copies.map((c) => c.id)).toEqual(['n5'])
    expect(tokens.fetches()).toBe(2)
    expect(transport.calls.map((c) => c.req.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-2'
    ])
  })

  it('a second 401 after the refresh fails without a third POST', async () => {
    const tokens = countingTokens()
    const { flow, calls } = setup([res(401), res(401), res(201, { id: 'x' })], {
      tokens: tokens.source
    })
    await expect(flow.create(body)).rejects.toBeInstanceOf(ApiError)
    expect(calls()).toHaveLength(2)
    expect(tokens.fetches()).toBe(2)
  })

  it('a 401 with a given token says the token is invalid or expired', async () => {
    const { flow, calls } = setup([
      res(401, { error_code: '401013', message: 'Oauth token is not valid' })
    ])
    const e = await caught(flow.create(body))
    expect(e.message).toBe(
      'creating the connection failed: HTTP 401 401013 Oauth token is not valid — the access-token is invalid or expired; pass a fresh token, or use client-secret so the action fetches one'
    )
    expect(calls()).toHaveLength(1)
  })

  it.each([
    ['no id', { etag: ETAG }],
    ['an empty id', { id: '' }],
    ['truncated JSON', '{"id":"5f'],
    ['no body', ''],
    ['a malformed id', { id: 'abc\n::error title=Security::forged', etag: ETAG }],
    ['an id of ..', { id: '..' }],
    ['an etag with a line break', { id: 'x1', etag: '"e"\n::add-mask::created' }]
  ])('a 201 with %s: performed, so found by its mark, never POSTed again', async (_, answer) => {
    const { flow, calls, retry } = setup([res(201, answer), list([mine('x1')])])
    expect((await flow.create(body)).copies.map((c) => c.id)).toEqual(['x1'])
    expect(methods(calls())).toEqual(['POST', 'GET'])
    expect(retry.lines[0]).toBe(
      'creating the connection: Flow Service accepted it (HTTP 201) but its answer held no usable id; looking for it by name'
    )
  })

  it('a 201 without an id and its mark not listed in time: fails, never POSTs again', async () => {
    const { flow, calls } = setup([res(201, {}), ...Array.from({ length: 6 }, () => list([]))], {
      totalMs: 60_000
    })
    await expect(flow.create(body)).rejects.toThrow(
      'creating the connection failed: Flow Service accepted it (HTTP 201) but its answer held no usable id, and the connection is not listed yet; it was not sent again. Run the step again'
    )
    expect(methods(calls()).filter((m) => m === 'POST')).toHaveLength(1)
  })
})

describe('a reply over the size cap to a create, update or delete', () => {
  const TOO_LARGE = (method: string, status: number) =>
    `the reply to ${method} ${BASE}/connections (HTTP ${status}) is larger than 10 MiB, the most this action reads; it was not read, and the request was not sent again`
  const tooLarge = (method: string, status: number) => () =>
    new TransportError(TOO_LARGE(method, status), status)
  const NOTE =
    '. The change may have been made: run the step again, it finds the connection by name'

  it('a 201 too large to read was performed: found by its mark, never POSTed again', async () => {
    const { flow, calls, retry } = setup([tooLarge('POST', 201), list([mine('x1')])])
    expect((await flow.create(body)).copies.map((c) => c.id)).toEqual(['x1'])
    expect(calls().map((c) => c.split(' ')[0])).toEqual(['POST', 'GET'])
    expect(retry.lines[0]).toBe(
      'creating the connection: Flow Service accepted it (HTTP 201) but its answer is larger than this action reads; looking for it by name'
    )
  })

  it('a 201 too large to read, its mark not listed in time: fails, never POSTs again', async () => {
    const { flow, calls } = setup(
      [tooLarge('POST', 201), ...Array.from({ length: 6 }, () => list([]))],
      { totalMs: 60_000 }
    )
    await expect(flow.create(body)).rejects.toThrow(
      'creating the connection failed: Flow Service accepted it (HTTP 201) but its answer is larger than this action reads, and the connection is not listed yet; it was not sent again. Run the step again'
    )
    expect(
      calls()
        .map((c) => c.split(' ')[0])
        .filter((m) => m === 'POST')
    ).toHaveLength(1)
  })

  it.each([
    [400, ''],
    [404, ''],
    [500, NOTE],
    [503, NOTE]
  ])(
    'a create answered %i too large to read: fails at once; "may have been made" only for a 5xx',
    async (status, note) => {
      const { flow, calls } = setup([tooLarge('POST', status)])
      const e = await caught(flow.create(body))
      expect(e).toBeInstanceOf(TransportError)
      expect(e.message).toBe(`creating the connection failed: ${TOO_LARGE('POST', status)}${note}`)
      expect(calls()).toHaveLength(1)
    }
  )

  it('a PATCH answered 200 too large to read was performed: its etag read from the connection', async () => {
    const { flow, calls, retry } = setup([
      tooLarge('PATCH', 200),
      res(200, { items: [item('x', 'orders-db')] })
    ])
    expect(await flow.update('x', '"e"', [])).toEqual({ id: 'x', etag: '"etag-x"' })
    expect(calls().map((c) => c.split(' ')[0])).toEqual(['PATCH', 'GET'])
    expect(retry.lines).toEqual([
      'updating the connection: Flow Service accepted it (HTTP 200) but its answer is larger than this action reads; reading the connection'
    ])
  })

  it.each([
    [412, ''],
    [502, NOTE]
  ])(
    'a PATCH answered %i too large to read: fails; "may have been made" only for a 5xx',
    async (status, note) => {
      const { flow } = setup([tooLarge('PATCH', status)])
      const e = await caught(flow.update('x', '"e"', []))
      expect(e.message).toBe(`updating the connection failed: ${TOO_LARGE('PATCH', status)}${note}`)
    }
  )

  it('a DELETE answered 200 too large to read was performed; a 400 too large fails without the note', async () => {
    expect(await setup([tooLarge('DELETE', 200)]).flow.delete('x')).toBe(true)
    const e = await caught(setup([tooLarge('DELETE', 400)]).flow.delete('x'))
    expect(e.message).toBe(`deleting the connection failed: ${TOO_LARGE('DELETE', 400)}`)
  })

  it('a GET too large to read never says a change may have been made', async () => {
    const e = await caught(setup([tooLarge('GET', 503)]).flow.findByName('orders-db'))
    expect(e.message).not.toMatch(/may have been made/)
  })
})

describe('FlowService.get / update / delete / explore', () => {
  it('get returns the first item', async () => {
    const { flow, calls } = setup([res(200, { items: [item('id-1', 'n')] })])
    expect((await flow.get('id-1')).etag).toBe('"etag-id-1"')
    expect(calls()).toEqual([`GET ${BASE}/connections/id-1`])
    const s2 = setup([res(200, { items: [] })])
    await expect(s2.flow.get('x')).rejects.toThrow(
      'reading the connection failed: the response held no connection'
    )
  })

  it('update PATCHes with If-Match exactly as given, quotes included', async () => {
    const ops = [{ op: 'replace' as const, path: '/auth/params', value: { connectionString: 'x' } }]
    const { flow, transport } = setup([res(200, { id: 'id-1', etag: '"new"' })])
    expect(await flow.update('id-1', ETAG, ops)).toEqual({ id: 'id-1', etag: '"new"' })
    const r = transport.calls[0]?.req
    expect(r?.method).toBe('PATCH')
    expect(r?.url).toBe(`${BASE}/connections/id-1`)
    expect(r?.headers['if-match']).toBe(ETAG)
    expect(r?.headers['content-type']).toBe('application/json')
    expect(r?.body).toBe(JSON.stringify(ops))
  })

  it('update encodes the id into the path', async () => {
    // (A listing never yields such an id any more; the path is encoded all the same.)
    const { flow, calls } = setup([res(200, { id: 'ab', etag: '"e"' })])
    await flow.update('a/b', ETAG, [])
    expect(calls()).toEqual([`PATCH ${BASE}/connections/a%2Fb`])
  })

  it.each([
    ['truncated JSON', '{"id":"'],
    ['no etag', { id: 'id-1' }],
    ['no body', '']
  ])(
    'update: a 200 with %s was performed, so the connection is read for its etag',
    async (_, answer) => {
      const { flow, calls, retry } = setup([
        res(200, answer),
        res(200, { items: [{ ...item('id-1', 'n'), etag: '"fresh"' }] })
      ])
      expect(await flow.update('id-1', ETAG, [])).toEqual({ id: 'id-1', etag: '"fresh"' })
      expect(calls()).toEqual([`PATCH ${BASE}/connections/id-1`, `GET ${BASE}/connections/id-1`])
      expect(retry.lines).toEqual([
        'updating the connection: Flow Service accepted it (HTTP 200) but its answer held no usable etag; reading the connection'
      ])
    }
  )

  it('update: 1445-400 explains that PATCH is not enabled and names the choices', async () => {
    const { flow } = setup([
      res(400, {
        type: 'https://ns.adobe.com/aep/errors/FLOW-1445-400',
        title: 'Invalid request',
        report: { 'detailed-message': 'PATCH Connection Feature not enabled.', 'request-id': 'r-5' }
      })
    ])
    const e = await caught(flow.update('id-1', ETAG, []))
    expect(e).toBeInstanceOf(ApiError)
    expect((e as ApiError).code).toBe('1445-400')
    expect(e.message).toBe(
      'updating the connection failed: HTTP 400 1445-400 Invalid request: PATCH Connection Feature not enabled. (request id r-5) — ' +
        'PATCH is not enabled for connections in this org, so the connection (id id-1) cannot be updated in place. ' +
        'Set if-exists: reuse to keep it with its stored credentials, or delete it (state: absent) and run again to create it with these credentials; it then gets a new id, so update whatever uses the old one'
    )
  })

  it('settle: waits while a connection is in progress, until it settles or goes', async () => {
    const initializing = { ...item('id-1', 'n'), state: 'initializing' }
    const { flow, clock, retry } = setup([
      res(200, { items: [initializing] }),
      res(200, { items: [{ ...initializing, state: 'enabled' }] })
    ])
    expect((await flow.settle(initializing))?.state).toBe('enabled')
    expect(clock.sleeps).toEqual([500, 1000])
    expect(retry.lines[0]).toBe(
      'waiting for the connection: connection id-1 is "initializing"; checking again in 0.5 s'
    )
    const going = setup([res(200, { items: [{ ...initializing, state: 'delete-finalizing' }] })])
    expect(await going.flow.settle(initializing)).toBeUndefined()
    const gone = setup([res(404)])
    expect(await gone.flow.settle(initializing)).toBeUndefined()
    expect(await gone.flow.settle(item('id-2', 'n'))).toEqual(item('id-2', 'n'))
  })

  it('settle: fails clearly when the deadline leaves no time to wait', async () => {
    const { flow } = setup([], { totalMs: 1200 })
    await expect(flow.settle({ ...item('id-1', 'n'), state: 'initializing' })).rejects.toThrow(
      'connection id-1 is "initializing" (Flow Service is still working on it) and timeout-seconds leaves no time to wait longer; run the step again later'
    )
  })

  it('update surfaces a 412 as an ApiError with status 412', async () => {
    const { flow } = setup([
      res(412, {
        type: 'http://ns.adobe.com/aep/errors/FLOW-1404-412',
        title: 'Version not matching'
      })
    ])
    const e = await caught(flow.update('id-1', ETAG, []))
    expect(e).toBeInstanceOf(ApiError)
    expect((e as ApiError).status).toBe(412)
    expect((e as ApiError).code).toBe('1404-412')
  })

  it('delete: 204 -> true', async () => {
    const { flow, transport } = setup([res(204)])
    expect(await flow.delete('id-1')).toBe(true)
    expect(transport.calls[0]?.req.method).toBe('DELETE')
    expect(transport.calls[0]?.req.url).toBe(`${BASE}/connections/id-1`)
    expect(transport.calls[0]?.req.headers['content-type']).toBeUndefined()
  })

  it('delete: 404 on the first try -> false (already gone)', async () => {
    const { flow } = setup([res(404)])
    expect(await flow.delete('id-1')).toBe(false)
  })

  it('delete: 404 after a retried attempt -> true (our earlier attempt deleted it)', async () => {
    const { flow } = setup([new NetworkError('reset', 'reset', true), res(404)])
    expect(await flow.delete('id-1')).toBe(true)
  })

  it('delete: 1418-400 says the dataflows must go first', async () => {
    const { flow } = setup([
      res(400, {
        type: 'http://ns.adobe.com/aep/errors/FLOW-1418-400',
        title: 'Connection is in use',
        report: { 'request-id': 'rq-7' }
      })
    ])
    const e = await caught(flow.delete('id-1'))
    expect(e).toBeInstanceOf(ApiError)
    expect((e as ApiError).status).toBe(400)
    expect((e as ApiError).code).toBe('1418-400')
    expect(e.message).toMatch(
      /^deleting the connection failed: HTTP 400 1418-400 Connection is in use \(request id rq-7\) — the connection is still used by one or more dataflows: delete them first \(the dataflow action with state: absent deletes a dataflow and its source and target connections\), then run again$/
    )
  })

  it('delete: another 400 is a plain API error', async () => {
    const { flow } = setup([
      res(400, { type: 'http://ns.adobe.com/aep/errors/FLOW-1416-400', title: 'Bad state' })
    ])
    const e = await caught(flow.delete('id-1'))
    expect(e.message).toBe('deleting the connection failed: HTTP 400 1416-400 Bad state')
  })

  it('explore counts the tables at the root and returns their paths', async () => {
    const { flow, calls } = setup([
      res(200, [
        { type: 'table', name: 'a', path: 'public.a' },
        { type: 'table', name: 'b' },
        { type: 'view', name: 'c', path: 'public.c' },
        { name: 'd', path: 'sales.d' },
        { type: 'table' }
      ])
    ])
    // Tables and untyped items count; views do not. A path is `path`, else `name`.
    expect(await flow.explore('id-1')).toEqual({
      tables: 4,
      paths: ['public.a', 'b', 'sales.d']
    })
    expect(calls()).toEqual([`GET ${BASE}/connections/id-1/explore?objectType=root`])
  })

  it.each([
    ['an object', { items: [] }],
    ['an array holding null', [{ type: 'table', name: 'a' }, null]],
    ['an array of strings', ['public.a']],
    ['an array of arrays', [[]]]
  ])('explore: a 200 with %s fails clearly', async (_what, reply) => {
    const { flow } = setup([res(200, reply)])
    await expect(flow.explore('id-1')).rejects.toThrow(
      "testing the connection failed: Flow Service's explore reply (HTTP 200) is not a list of objects, so it does not show the database was reached"
    )
  })

  it('explore: an empty array is 0 tables; a failure is an ApiError', async () => {
    const s1 = setup([res(200, [])])
    expect(await s1.flow.explore('id-1')).toEqual({ tables: 0, paths: [] })
    const s2 = setup([
      res(400, { type: 'x/FLOW-1102-500', title: 'Cannot connect to the database' })
    ])
    await expect(s2.flow.explore('id-1')).rejects.toThrow(
      'testing the connection failed: HTTP 400 1102-500 Cannot connect to the database'
    )
  })

  it('test: GET /connections/{id}/test answers result true or false', async () => {
    const { flow, calls } = setup([res(200, { result: true }), res(200, { result: false })])
    expect(await flow.test('id 1')).toEqual({ result: true })
    expect(await flow.test('id 1')).toEqual({ result: false })
    expect(calls()).toEqual([
      `GET ${BASE}/connections/id%201/test`,
      `GET ${BASE}/connections/id%201/test`
    ])
  })

  it.each([
    [
      400,
      {
        type: 'x/FLOW-1400-400',
        title: 'Invalid request',
        errorMessage: 'Test connection is not supported'
      }
    ],
    [404, { type: 'x/FLOW-1101-404', title: 'Resource not found' }],
    [405, { type: 'x/FLOW-1100-405', title: 'Method not allowed' }]
  ])('test: a %i refusal is "unsupported", with Flow Service’s words', async (status, body) => {
    const { flow } = setup([res(status, body)])
    const r = await flow.test('id-1')
    expect('unsupported' in r && r.unsupported.message).toContain(
      `testing the connection (GET /test) failed: HTTP ${status}`
    )
  })

  it.each([
    ['no result', { ok: 1 }, 'no "result" field'],
    ['a string result', { result: 'false' }, '"result" is a string, not true or false'],
    ['a null result', { result: null }, '"result" is null'],
    ['a number result', { result: 0 }, '"result" is a number, not true or false'],
    ['an object result', { result: {} }, '"result" is an object, not true or false'],
    ['an array body', [true], 'the body is an array, not an object'],
    ['a JSON string body', '"true"', 'the body is a string, not an object'],
    ['a body that is not JSON', 'not json', 'a body that is not JSON, 8 characters']
  ])('test: a 200 with %s breaks the contract and fails, saying so', async (_what, body, said) => {
    const { flow } = setup([res(200, body)])
    const e = await caught(flow.test('id-1'))
    expect(e).toBeInstanceOf(ActionError)
    expect(e.message).toBe(
      `testing the connection failed: GET /connections/id-1/test answered HTTP 200 without the documented {"result": true|false} (${said}), so it does not show whether Flow Service could connect to the database`
    )
  })

  it('test: the contract failure never echoes the body', async () => {
    const { flow } = setup([res(200, { result: `secret-ish ${'y'.repeat(5000)}` })])
    const e = await caught(flow.test('id-1'))
    expect(e.message).not.toContain('secret-ish')
    expect(e.message.length).toBeLessThan(400)
  })

  it('test: 403 and 5xx fail', async () => {
    const s2 = setup([res(403, { error_code: '403003', message: 'Api Key is invalid' })])
    await expect(s2.flow.test('id-1')).rejects.toThrow(/HTTP 403 403003/)
    const s3 = setup([res(500, { title: 'boom' })])
    await expect(s3.flow.test('id-1')).rejects.toThrow(/HTTP 500/)
  })

  it('connectionSpec: its own budget, a fifth of the time left (at most 20 s) and 2 attempts', async () => {
    const timeout = new NetworkError('no response within 5000 ms', 'timeout', true)
    const { flow, transport, retry, clock } = setup([timeout, timeout, res(201, { id: 'x' })])
    const started = clock.now()
    const e = await caught(flow.connectionSpec())
    expect(e).toBeInstanceOf(ApiError)
    expect(e.message).toBe('reading the connection spec failed: no response within 5000 ms')
    expect(transport.calls.map((c) => c.timeoutMs)).toEqual([5000, 5000])
    expect(clock.now() - started).toBeLessThanOrEqual(20_000)
    expect(retry.deadline.remaining()).toBeGreaterThanOrEqual(100_000)
    // The step's other calls keep their own timeouts.
    await flow.create(body)
    expect(transport.calls[2]?.timeoutMs).toBeGreaterThan(30_000)
  })

  it('connectionSpec: on a short deadline its share is small, and the rest of the step goes on', async () => {
    const slow = new NetworkError('no response within 1000 ms', 'timeout', true)
    const { flow, transport, retry } = setup([slow, slow], { totalMs: 12_000 })
    const e = await caught(flow.connectionSpec())
    expect(e.message).toMatch(/^reading the connection spec failed: no response within/)
    expect(transport.calls.map((c) => c.timeoutMs)).toEqual([1000, 1000])
    expect(retry.deadline.remaining()).toBeGreaterThan(9000)
  })

  it('connectionSpec: a 429 with a Retry-After longer than its budget is not waited for', async () => {
    const { flow, transport, retry } = setup(
      [res(429, { error_code: '429001', message: 'slow down' }, { 'retry-after': '60' })],
      { maxAttempts: 5 }
    )
    const e = await caught(flow.connectionSpec())
    expect(e.message).toMatch(/^reading the connection spec failed: HTTP 429/)
    expect(transport.calls).toHaveLength(1)
    expect(retry.deadline.remaining()).toBe(120_000)
  })

  it('connectionSpec: its budget spent (a 401 renewal) fails the read, not the step', async () => {
    let n = 0
    const tokens = imsTokenSource(async () => `tok-${++n}`)
    const { flow, clock } = setup(
      [
        () => {
          // The answer comes as the spec read's budget runs out.
          clock.t += 2400
          return res(401, { error_code: '401013', message: 'Oauth token is not valid' })
        }
      ],
      { tokens, totalMs: 12_000 }
    )
    const e = await caught(flow.connectionSpec())
    expect(e).toBeInstanceOf(ActionError)
    expect(e.message).toBe(
      "reading the connection spec failed: no answer within its share of the step's time (2.4 s)"
    )
  })

  it('connectionSpec: a reply over the size cap makes the spec unavailable (an ActionError), not the step fail', async () => {
    const { flow } = setup([
      () => {
        throw new TransportError('the reply is larger than 10 MiB')
      }
    ])
    const e = await caught(flow.connectionSpec())
    expect(e).toBeInstanceOf(ActionError)
    expect(e.message).toBe('reading the connection spec failed: the reply is larger than 10 MiB')
  })

  it('connectionSpec: GET /connectionSpecs/{id}, the parsed reply; a failure is an ApiError', async () => {
    const reply = { items: [{ id: POSTGRES_SPEC_ID, authSpec: [] }] }
    const { flow, calls } = setup([res(200, reply), res(404, { title: 'Resource not found' })])
    expect(await flow.connectionSpec()).toEqual(reply)
    expect(calls()).toEqual([`GET ${BASE}/connectionSpecs/${POSTGRES_SPEC_ID}`])
    const e = await caught(flow.connectionSpec())
    expect(e).toBeInstanceOf(ApiError)
    expect(e.message).toBe('reading the connection spec failed: HTTP 404 Resource not found')
  })
})

describe('server values are data: ids and etags are checked', () => {
  const good = [
    '5f0c6a7e-1f2d-4c3b-9a8b-7c6d5e4f3a2b',
    '5e3c8518cafe0000a1b2c3d4',
    'a_b-C9',
    'x'.repeat(128)
  ]
  const bad = [
    '',
    '..',
    'abc/def',
    'abc\n::error title=Security::Credentials leaked',
    'id ##[set-output name=x;]y',
    'x'.repeat(129),
    'abc%2F',
    'ab c',
    'ä'
  ]

  it.each(good)('id %j is accepted', (id) => {
    expect(ConnectionItemSchema().safeParse({ id }).success).toBe(true)
    expect(IdEtagSchema().safeParse({ id }).success).toBe(true)
  })

  it.each(bad)('id %j makes the item and a create/update reply malformed', (id) => {
    expect(ConnectionItemSchema().safeParse({ id }).success).toBe(false)
    expect(IdEtagSchema().safeParse({ id, etag: ETAG }).success).toBe(false)
  })

  it.each(['"6802064a-0000-0200-0000-6387c6b90000"', '"e1"', 'W/"e1"', '""', '"aGVsbG8+/w=="'])(
    'etag %j is accepted',
    (etag) => {
      expect(ConnectionItemSchema().safeParse({ id: 'a1', etag }).success).toBe(true)
      expect(IdEtagSchema().safeParse({ id: 'a1', etag }).success).toBe(true)
    }
  )

  it.each([
    '"abc"\n::set-output name=x::y',
    'e\u0000',
    'e\u007f',
    '"ätag"',
    `"${'x'.repeat(1023)}"`,
    // Commands a later step echoing the etag output would raise.
    '"e1 ##[error title=Security]Credentials leaked, rotate now"',
    '"e1"##[error]X',
    '::error::X',
    '"e1::x"',
    'e1',
    '"e1" "e2"'
  ])('etag %j is malformed', (etag) => {
    expect(ConnectionItemSchema().safeParse({ id: 'a1', etag }).success).toBe(false)
    expect(IdEtagSchema().safeParse({ id: 'a1', etag }).success).toBe(false)
  })

  it('a listing with a malformed id fails, naming the field and never the value', async () => {
    const forged = 'abc\n::add-mask::would-update'
    const { flow, calls } = setup([
      list([item('ok-1', 'other'), { ...item('x', 'orders-db'), id: forged }])
    ])
    const e = await caught(flow.findByName('orders-db'))
    expect(e).toBeInstanceOf(ActionError)
    expect(e).toBeInstanceOf(IncompleteListingError)
    expect(e.message).toBe(
      'listing connections by name was incomplete: page 1 is not a list of connections (items[1].id is not a connection id (1-128 letters, digits, - or _))'
    )
    expect(e.message).not.toContain('add-mask')
    expect(calls()).toHaveLength(1)
  })

  it('an id of ".." is never used: the listing fails before any DELETE', async () => {
    const { flow, calls } = setup([list([{ ...item('x', 'orders-db'), id: '..' }])])
    await expect(flow.findByName('orders-db')).rejects.toThrow(
      /items\[0\]\.id is not a connection id/
    )
    expect(calls().filter((c) => c.startsWith('DELETE'))).toEqual([])
  })

  it('a read with a malformed etag fails, naming the field', async () => {
    const { flow } = setup([list([{ ...item('a1', 'n'), etag: '"e"\r\nx' }])])
    await expect(flow.get('a1')).rejects.toThrow(
      'reading the connection failed: malformed response (items[0].etag is not a usable etag (a quoted token of letters, digits and -._~+/=))'
    )
  })
})
