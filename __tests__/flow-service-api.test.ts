/**
 * Conformance to Adobe's published API description of Flow Service (facts and deliberate
 * departures in support/flow-service-api.ts, read at AdobeDocs/experience-platform-apis 16c60cd).
 * Every request the action sends to the simulator in any test is checked after that test by the
 * suite-wide hook (support/conformance-hook.ts); here the checker itself is tested, and one tour
 * through dist/index.js makes the action use every operation it has.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { startSimulator, type RecordedRequest, type Simulator } from '../simulator/server.js'
import { runAction } from '../simulator/run-action.js'
import {
  API_DESCRIPTION,
  conformanceProblems,
  OPERATIONS,
  operationFor,
  sentByAction
} from './support/flow-service-api.js'
import { adobeInputs } from './support/sim-inputs.js'

const FLOW = '/data/foundation/flowservice'
const SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'

/** A request the action would send, with everything the description asks for. */
function request(
  over: Partial<RecordedRequest> & { method: string; url: string }
): RecordedRequest {
  const path = over.url.split('?')[0] ?? over.url
  return {
    seq: 1,
    service: 'flow',
    path,
    headers: {
      authorization: 'Bearer tok',
      'x-api-key': 'client',
      'x-gw-ims-org-id': 'ORG@AdobeOrg',
      'x-sandbox-name': 'prod',
      'user-agent': 'aep-postgresql-connection-action/1.0.0',
      ...(over.body ? { 'content-type': 'application/json' } : {})
    },
    body: '',
    status: 200,
    socket: 1,
    ...over
  }
}
const createBody = {
  name: 'n',
  description: 'd',
  auth: { specName: 'Basic Authentication', params: { server: 's' } },
  connectionSpec: { id: SPEC_ID, version: '1.0' }
}

describe('the facts', () => {
  it('note the description they come from', () => {
    expect(API_DESCRIPTION).toEqual({
      repository: 'AdobeDocs/experience-platform-apis',
      path: 'static/swagger-specs/flow-service.yaml',
      commit: '16c60cd',
      fileLastChanged: '5fd9766'
    })
  })

  it('map each request of the action to its operation, by method and path template', () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['GET', '/connections', 'listConnections'],
      ['POST', '/connections', 'createConnection'],
      ['GET', '/connections/abc', 'retrieveConnection'],
      ['PATCH', '/connections/abc', 'patchConnection'],
      ['DELETE', '/connections/abc', 'deleteConnection'],
      ['GET', '/connections/abc/test', 'testConnection'],
      ['GET', '/connections/abc/explore', 'getByConnectionId'],
      ['GET', `/connectionSpecs/${SPEC_ID}`, 'retrieveConnectionSpec'],
      // The declared trailing-slash form is the description's; the action sends none.
      ['PATCH', '/connections/abc/', undefined],
      ['PUT', '/connections/abc', undefined],
      ['GET', '/connections/abc/configs', undefined],
      ['GET', '/other/connections', undefined]
    ]
    for (const [method, path, id] of cases)
      expect([method, path, operationFor(method, `${FLOW}${path}`)?.operationId]).toEqual([
        method,
        path,
        id
      ])
    expect(OPERATIONS).toHaveLength(8)
  })
})

describe('conformanceProblems', () => {
  it('passes requests shaped as declared (with the documented departures)', () => {
    const ok = [
      request({ method: 'GET', url: `${FLOW}/connections?property=name==x` }),
      request({
        method: 'GET',
        url: `${FLOW}/connections?continuationToken=abc&limit=5&count=false`
      }),
      request({ method: 'POST', url: `${FLOW}/connections`, body: JSON.stringify(createBody) }),
      request({
        method: 'PATCH',
        url: `${FLOW}/connections/abc`,
        headers: {
          ...request({ method: 'GET', url: '/' }).headers,
          'if-match': '"e"',
          'content-type': 'application/json'
        },
        body: JSON.stringify([
          { op: 'replace', path: '/auth/params', value: { connectionString: 'x' } },
          { op: 'add', path: '/description', value: 'd' }
        ])
      }),
      request({ method: 'DELETE', url: `${FLOW}/connections/abc` }),
      request({ method: 'GET', url: `${FLOW}/connections/abc/explore?objectType=root` }),
      request({ method: 'GET', url: `${FLOW}/connections/abc/test` }),
      request({ method: 'GET', url: `${FLOW}/connectionSpecs/${SPEC_ID}` })
    ]
    for (const r of ok) expect(conformanceProblems(r)).toEqual([])
  })

  it.each([
    [
      'an undeclared path',
      request({ method: 'GET', url: `${FLOW}/connections/abc/configs` }),
      /no such operation/
    ],
    [
      'a missing x-api-key',
      request({
        method: 'GET',
        url: `${FLOW}/connections`,
        headers: { authorization: 'Bearer t', 'x-gw-ims-org-id': 'o', 'x-sandbox-name': 's' }
      }),
      /header x-api-key is missing/
    ],
    [
      'a missing x-sandbox-name (info block)',
      request({
        method: 'GET',
        url: `${FLOW}/connections`,
        headers: { authorization: 'Bearer t', 'x-api-key': 'k', 'x-gw-ims-org-id': 'o' }
      }),
      /header x-sandbox-name is missing/
    ],
    [
      'a token without Bearer',
      request({
        method: 'GET',
        url: `${FLOW}/connections`,
        headers: {
          authorization: 'tok',
          'x-api-key': 'k',
          'x-gw-ims-org-id': 'o',
          'x-sandbox-name': 's'
        }
      }),
      /not "Bearer <token>"/
    ],
    [
      'an undeclared query parameter',
      request({ method: 'GET', url: `${FLOW}/connections?start=2` }),
      /query start is not declared/
    ],
    [
      'a limit that is not an integer',
      request({ method: 'GET', url: `${FLOW}/connections?limit=ten` }),
      /query limit is not an integer/
    ],
    [
      'an unknown objectType',
      request({ method: 'GET', url: `${FLOW}/connections/a/explore?objectType=tables` }),
      /objectType is not one of/
    ],
    [
      'a query on /test',
      request({ method: 'GET', url: `${FLOW}/connections/a/test?deep=1` }),
      /query deep is not declared/
    ],
    [
      'a create without auth.params',
      request({
        method: 'POST',
        url: `${FLOW}/connections`,
        body: JSON.stringify({ ...createBody, auth: { specName: 'x' } })
      }),
      /required auth\.params is missing/
    ],
    [
      'a create without connectionSpec.version',
      request({
        method: 'POST',
        url: `${FLOW}/connections`,
        body: JSON.stringify({ ...createBody, connectionSpec: { id: SPEC_ID } })
      }),
      /required connectionSpec\.version is missing/
    ],
    [
      'a create with a numeric name',
      request({
        method: 'POST',
        url: `${FLOW}/connections`,
        body: JSON.stringify({ ...createBody, name: 7 })
      }),
      /name is integer, declared string/
    ],
    [
      'a create without Content-Type',
      request({
        method: 'POST',
        url: `${FLOW}/connections`,
        body: JSON.stringify(createBody),
        headers: {
          authorization: 'Bearer t',
          'x-api-key': 'k',
          'x-gw-ims-org-id': 'o',
          'x-sandbox-name': 's'
        }
      }),
      /Content-Type is not application\/json/
    ],
    [
      'a PATCH without If-Match',
      request({
        method: 'PATCH',
        url: `${FLOW}/connections/a`,
        body: JSON.stringify([{ op: 'replace', path: '/x', value: {} }])
      }),
      /header if-match is missing/
    ],
    [
      'a PATCH with a move',
      request({
        method: 'PATCH',
        url: `${FLOW}/connections/a`,
        headers: {
          authorization: 'Bearer t',
          'x-api-key': 'k',
          'x-gw-ims-org-id': 'o',
          'x-sandbox-name': 's',
          'if-match': 'e',
          'content-type': 'application/json'
        },
        body: JSON.stringify([{ op: 'move', path: '/x', value: {} }])
      }),
      /op is not one of ADD, REPLACE, REMOVE/
    ],
    [
      'a PATCH instruction without a value',
      request({
        method: 'PATCH',
        url: `${FLOW}/connections/a`,
        headers: {
          authorization: 'Bearer t',
          'x-api-key': 'k',
          'x-gw-ims-org-id': 'o',
          'x-sandbox-name': 's',
          'if-match': 'e',
          'content-type': 'application/json'
        },
        body: JSON.stringify([{ op: 'remove', path: '/x' }])
      }),
      /\[0\]: required value is missing/
    ],
    [
      'a DELETE with a body',
      request({ method: 'DELETE', url: `${FLOW}/connections/a`, body: '{}' }),
      /a body is sent where none is declared/
    ]
  ])('flags %s', (_what, r, problem) => {
    const problems = conformanceProblems(r)
    expect(problems.length).toBeGreaterThan(0)
    expect(problems.join('\n')).toMatch(problem)
  })

  it('leaves out requests the action did not send (tests’ own probes, IMS)', () => {
    expect(sentByAction(request({ method: 'GET', url: '/' }))).toBe(true)
    expect(
      sentByAction(request({ method: 'GET', url: '/', headers: { 'user-agent': 'node' } }))
    ).toBe(false)
    expect(sentByAction(request({ method: 'POST', url: '/ims/token/v3', service: 'ims' }))).toBe(
      false
    )
  })
})

describe('a tour of every operation through dist/index.js', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator({ pageSize: 1 })
  })
  afterAll(async () => {
    await sim.close()
  })

  it('list (paged), create, /test, explore, spec, PATCH (412, re-read, again), DELETE: all conform', async () => {
    const token = sim.issueToken()
    // A name with a double quote that the escaped filter does not find is looked up among all
    // PostgreSQL connections: with a page size of 1 and other connections there, the lookup
    // follows continuation tokens.
    sim.seedConnection('dev', { name: 'other-1' })
    sim.seedConnection('dev', { name: 'other-2' })
    const base = {
      ...adobeInputs(sim, 'dev', { 'access-token': token }),
      'connection-name': 'tour "eu", west',
      'auth-type': 'basic',
      server: 'db.tour.example.com',
      database: 'tour',
      username: 'tour',
      password: 'pw-Tour-1'
    }
    const runs = [
      await runAction({ inputs: { ...base, 'validate-spec': 'true', 'test-connection': 'true' } })
    ]
    sim.inject({ match: { method: 'PATCH' }, action: { type: 'concurrent-update' } })
    runs.push(await runAction({ inputs: { ...base, 'dry-run': 'false' } }))
    runs.push(await runAction({ inputs: { ...base, state: 'absent' } }))
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0])
    expect(runs.map((r) => r.outputs.operation)).toEqual(['created', 'updated', 'deleted'])

    const sent = sim.requests.filter(sentByAction)
    const used = new Set(sent.map((r) => operationFor(r.method, r.path)?.operationId))
    expect([...used].sort()).toEqual(OPERATIONS.map((o) => o.operationId).sort())
    expect(sent.some((r) => r.url.includes('continuationToken='))).toBe(true)
    expect(sent.flatMap(conformanceProblems)).toEqual([])
  })
})
