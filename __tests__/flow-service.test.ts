import { describe, it, expect } from '@jest/globals'
import { buildCreateBody, POSTGRES_SPEC_ID } from '../src/connection.js'
import { ActionError, ApiError } from '../src/errors.js'
import { FlowService, lookupFilter, type ConnectionItem } from '../src/flow-service.js'
import { NetworkError } from '../src/http.js'
import { givenToken, imsTokenSource, type TokenSource } from '../src/ims.js'
import { FakeClock, res, retryContext, scriptedTransport, type Step } from './unit-fakes.js'

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
    const name = 'orders db/1&x=y#é'
    const { flow, calls } = setup([list([])])
    await flow.findByName(name)
    expect(flow.base).toBe(BASE)
    expect(calls()).toEqual([`GET ${BASE}/connections?property=name==${encodeURIComponent(name)}`])
    expect(calls()[0]).toContain('name==orders%20db%2F1%26x%3Dy%23%C3%A9')
  })

  it.each(['a,b', 'say "hi"', ' lead', 'trail '])(
    'lists name %j by connection spec and matches it exactly',
    async (name) => {
      expect(lookupFilter(name)).toBe(`connectionSpec.id==${POSTGRES_SPEC_ID}`)
      const { flow, calls } = setup([
        list([item('1', name), item('2', 'a'), item('3', `${name}x`), item('4', name, OTHER_SPEC)])
      ])
      expect((await flow.findByName(name)).map((i) => i.id)).toEqual(['1'])
      expect(calls()).toEqual([
        `GET ${BASE}/connections?property=connectionSpec.id==${POSTGRES_SPEC_ID}`
      ])
    }
  )

  it('lookupFilter uses the name filter for plain names', () => {
    expect(lookupFilter('orders-db')).toBe('name==orders-db')
    expect(lookupFilter('in side')).toBe('name==in%20side')
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

  it('keeps only exact name and PostgreSQL spec matches', async () => {
    const { flow } = setup([
      list([
        item('a', 'orders-db'),
        item('b', 'orders-db', OTHER_SPEC),
        item('c', 'orders-db-2'),
        item('d', 'Orders-DB'),
        { id: 'e', name: 'orders-db' },
        item('f', 'orders-db')
      ])
    ])
    expect((await flow.findByName('orders-db')).map((i) => i.id)).toEqual(['a', 'f'])
  })

  it('follows _links.next.href: base-relative, host-relative and absolute same-origin', async () => {
    const { flow, calls } = setup([
      list([item('1', 'n')], '/connections?continuationToken=aaa'),
      list([item('2', 'n')], '/data/foundation/flowservice/connections?continuationToken=bbb'),
      list([item('3', 'x')], `${BASE}/connections?continuationToken=ccc`),
      list([item('4', 'n')], 'connections?continuationToken=ddd'),
      list([item('5', 'n')])
    ])
    expect((await flow.findByName('n')).map((i) => i.id)).toEqual(['1', '2', '4', '5'])
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

  it('stops when a next link repeats a page already read', async () => {
    const { flow, calls } = setup([
      list([item('1', 'n')], '/connections?continuationToken=same'),
      list([item('2', 'n')], '/connections?continuationToken=same')
    ])
    expect((await flow.findByName('n')).map((i) => i.id)).toEqual(['1', '2'])
    expect(calls()).toHaveLength(2)
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
      'listing connections by name failed: unexpected response shape'
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

describe('FlowService.create', () => {
  it('POSTs the body with content-type and returns id and etag', async () => {
    const { flow, transport } = setup([res(201, { id: 'new-1', etag: ETAG })])
    expect(await flow.create(body)).toEqual({ id: 'new-1', etag: ETAG, adopted: false })
    const r = transport.calls[0]?.req
    expect(r?.method).toBe('POST')
    expect(r?.url).toBe(`${BASE}/connections`)
    expect(r?.headers['content-type']).toBe('application/json')
    expect(r?.headers.authorization).toBe('Bearer tok-given')
    expect(r?.body).toBe(JSON.stringify(body))
  })

  it('a lost response, then the lookup finds it: adopted, no second POST', async () => {
    const { flow, calls, retry } = setup([
      new NetworkError('connection reset before a response (ECONNRESET)', 'reset', true),
      list([item('found-1', 'orders-db')])
    ])
    expect(await flow.create(body)).toEqual({
      id: 'found-1',
      etag: '"etag-found-1"',
      adopted: true
    })
    expect(calls()).toEqual([
      `POST ${BASE}/connections`,
      `GET ${BASE}/connections?property=name==orders-db`
    ])
    expect(retry.lines).toContain(
      'creating the connection: the connection exists (id found-1); adopting it'
    )
  })

  it('a lost response (reset), the lookup finds nothing: POST again', async () => {
    const { flow, calls } = setup([
      new NetworkError('connection reset before a response (ECONNRESET)', 'reset', true),
      list([]),
      res(201, { id: 'new-2', etag: ETAG })
    ])
    expect(await flow.create(body)).toEqual({ id: 'new-2', etag: ETAG, adopted: false })
    expect(calls()).toEqual([
      `POST ${BASE}/connections`,
      `GET ${BASE}/connections?property=name==orders-db`,
      `POST ${BASE}/connections`
    ])
  })

  it('a timed-out POST, the lookup finds nothing: not sent again (it may still land)', async () => {
    const { flow, calls } = setup([
      new NetworkError('no response within 90000 ms', 'timeout', true),
      list([]),
      res(201, { id: 'dup' })
    ])
    const e = await caught(flow.create(body))
    expect(e).toBeInstanceOf(ActionError)
    expect(e.message).toMatch(
      /^creating the connection failed: no response within 90000 ms; Flow Service may still create it, so it was not sent again/
    )
    expect(calls().map((c) => c.split(' ')[0])).toEqual(['POST', 'GET'])
  })

  it('the POST gets all the time left but one request timeout; the lookup a normal one', async () => {
    const { flow, transport } = setup([
      new NetworkError('connection reset before a response (ECONNRESET)', 'reset', true),
      list([item('x', 'orders-db')])
    ])
    await flow.create(body)
    // 120 s deadline: request timeout 30 s, so the POST may take 90 s.
    expect(transport.calls.map((c) => c.timeoutMs)).toEqual([90_000, 30_000])
  })

  it('a 5xx is ambiguous too: looked up before trying again', async () => {
    const { flow, calls } = setup([res(500), list([item('x', 'orders-db')])])
    expect((await flow.create(body)).adopted).toBe(true)
    expect(calls().map((c) => c.split(' ')[0])).toEqual(['POST', 'GET'])
  })

  it('the lookup finding two connections fails listing both ids', async () => {
    const { flow } = setup([res(502), list([item('a1', 'orders-db'), item('a2', 'orders-db')])])
    await expect(flow.create(body)).rejects.toThrow(
      '2 PostgreSQL connections are named "orders-db" in this sandbox (ids a1, a2)'
    )
  })

  it('a refused connection (not sent) is retried without a lookup', async () => {
    const { flow, calls } = setup([
      new NetworkError('could not connect (ECONNREFUSED)', 'refused', false),
      res(201, { id: 'n3' })
    ])
    expect(await flow.create(body)).toEqual({ id: 'n3', etag: undefined, adopted: false })
    expect(calls().map((c) => c.split(' ')[0])).toEqual(['POST', 'POST'])
  })

  it('a 429 is retried without a lookup, honouring Retry-After', async () => {
    const { flow, calls, clock } = setup([
      res(429, '', { 'retry-after': '2' }),
      res(201, { id: 'n4', etag: ETAG })
    ])
    expect((await flow.create(body)).id).toBe('n4')
    expect(calls().map((c) => c.split(' ')[0])).toEqual(['POST', 'POST'])
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

  it('a lost response on the last attempt: looked up, then fails', async () => {
    const { flow, calls } = setup([new NetworkError('socket closed', 'reset', true), list([])], {
      maxAttempts: 1
    })
    const e = await caught(flow.create(body))
    expect(e.message).toBe('creating the connection failed: socket closed')
    expect(calls().map((c) => c.split(' ')[0])).toEqual(['POST', 'GET'])
  })

  it('a 401 with a fetched token: fetches a new one once and POSTs again', async () => {
    const tokens = countingTokens()
    const { flow, transport } = setup([res(401), res(201, { id: 'n5', etag: ETAG })], {
      tokens: tokens.source
    })
    expect((await flow.create(body)).id).toBe('n5')
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

  it('a 201 without an id is an error', async () => {
    const { flow } = setup([res(201, { etag: ETAG })])
    await expect(flow.create(body)).rejects.toThrow(
      'creating the connection failed: the response held no id'
    )
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
    const { flow, calls } = setup([res(200, { id: 'a/b' })])
    await flow.update('a/b', ETAG, [])
    expect(calls()).toEqual([`PATCH ${BASE}/connections/a%2Fb`])
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
      /^deleting the connection failed: HTTP 400 1418-400 Connection is in use \(request id rq-7\) — the connection is still used by one or more dataflows; delete those dataflows/
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
    expect(r).toEqual({
      unsupported: expect.stringContaining(
        `testing the connection (GET /test) failed: HTTP ${status}`
      )
    })
  })

  it('test: a 200 without a true/false result is "unsupported"; 403 and 5xx fail', async () => {
    const s1 = setup([res(200, { ok: 1 }), res(200, 'not json')])
    expect(await s1.flow.test('id-1')).toEqual({
      unsupported: 'testing the connection (GET /test): HTTP 200 without a true/false result'
    })
    expect(await s1.flow.test('id-1')).toMatchObject({ unsupported: expect.any(String) })
    const s2 = setup([res(403, { error_code: '403003', message: 'Api Key is invalid' })])
    await expect(s2.flow.test('id-1')).rejects.toThrow(/HTTP 403 403003/)
    const s3 = setup([res(500, { title: 'boom' })])
    await expect(s3.flow.test('id-1')).rejects.toThrow(/HTTP 500/)
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
