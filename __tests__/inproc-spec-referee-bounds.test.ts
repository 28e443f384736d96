/**
 * The connection spec is a server's document: whatever it holds, the referee stays within the
 * step's deadline and bounded memory, and on the default path (after a 400 nothing else explains)
 * the step is never worse off than without it: Flow Service's code, message and request id stay.
 * In-process against the simulator, the spec served by a fault.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { startSimulator, type Simulator } from '../simulator/server.js'
import type { ActionRun } from '../simulator/run-action.js'
import { runInProcess } from './support/in-process.js'
import { adobeInputs } from './support/sim-inputs.js'

const SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
const FLOW = '/data/foundation/flowservice'
const CS_AUTH = 'Connection String Based Authentication'
const BASIC = 'Basic Authentication'

const specReply = (name: string, spec: unknown) =>
  JSON.stringify({ items: [{ id: SPEC_ID, name: 'postgres-sql', authSpec: [{ name, spec }] }] })

/** The 400 the referee is asked about: Flow Service's own words, which must survive it. */
const REFUSAL = JSON.stringify({
  type: 'https://ns.adobe.com/aep/errors/FLOW-1400-400',
  title: 'Bad request',
  status: 400,
  report: { 'detailed-message': 'Invalid params for the connection', 'request-id': 'req-limits-1' }
})
const REFUSED =
  '::error::creating the connection failed: HTTP 400 1400-400 Bad request: Invalid params for the connection (request id req-limits-1)'

let sim: Simulator
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(() => sim.close())
beforeEach(() => sim.reset())

const serve = (path: string | RegExp, method: string, body: string, status = 200) =>
  sim.inject({
    match: { method, path },
    times: Infinity,
    action: { type: 'status', status, body, contentType: 'application/json' }
  })

function act(extra: Record<string, string> = {}): Promise<ActionRun> {
  return runInProcess({
    inputs: {
      ...adobeInputs(sim, 'prod', { 'access-token': sim.issueToken() }),
      'connection-name': 'limits',
      'connection-string': 'Server=db.example.com;Database=orders;UID=etl;Password=Limits-Pw-42',
      ...extra
    }
  })
}

/** The default path: the create refused with a 400 nothing explains, the spec as given. */
function refusedWithSpec(spec: string): void {
  serve(`${FLOW}/connections`, 'POST', REFUSAL, 400)
  serve(`${FLOW}/connectionSpecs/${SPEC_ID}`, 'GET', spec)
}

const errors = (r: ActionRun) => r.lines.filter((l) => l.startsWith('::error::'))
const warnings = (r: ActionRun) => r.lines.filter((l) => l.startsWith('::warning::'))

describe('a spec that cannot be judged leaves Flow Service’s error as it is', () => {
  it('a schema referring to itself: unavailable, not a stack overflow', async () => {
    refusedWithSpec(
      specReply(CS_AUTH, {
        type: 'object',
        properties: { connectionString: { allOf: [{ $ref: '#/properties/connectionString' }] } }
      })
    )
    const r = await act()
    expect(errors(r)).toEqual([REFUSED])
    expect(warnings(r)).toEqual([
      expect.stringMatching(
        /^::warning::could not check the auth params against Flow Service's live connection spec: its schema could not be evaluated \(Maximum call stack size exceeded\); going on without that check$/
      )
    ])
  })

  it('80 patterns that backtrack: judged within a share of timeout-seconds 10', async () => {
    const properties: Record<string, unknown> = {}
    for (let i = 0; i < 80; i++)
      properties[`p${i}`] = { type: 'string', pattern: `^(([^#]{1,${i + 1}})+)+#$` }
    properties.connectionString = { type: 'string', pattern: '^(([^#])+)+#$' }
    refusedWithSpec(
      specReply(CS_AUTH, {
        type: 'object',
        properties,
        // Every pattern runs: the params must have them all.
        patternProperties: { '^connectionString$': { allOf: Object.values(properties) } }
      })
    )
    const started = performance.now()
    const r = await act({ 'timeout-seconds': '10' })
    expect(performance.now() - started).toBeLessThan(10_000)
    expect(errors(r)[0]).toMatch(/^::error::creating the connection failed: HTTP 400 1400-400/)
    expect(errors(r)[0]).toContain('(request id req-limits-1)')
    expect(warnings(r).join('\n')).toMatch(/ran out|took too long/)
  }, 60_000)

  it.each([
    [
      '300 KB, 5,000 properties',
      5000,
      /the connection spec is too large to use \(\d+ KB, more than 256 KB\)/
    ],
    [
      '1,200 properties in under 256 KB',
      1200,
      /its schema is too large to use \(more than 1000 nodes\)/
    ]
  ])(
    'a spec of %s: unavailable at once, with a warning',
    async (_what, n, why) => {
      const properties: Record<string, unknown> = {}
      const pad = 'x'.repeat(n > 2000 ? 40 : 0)
      for (let i = 0; i < n; i++)
        properties[`property_${pad}${i}`] = { type: 'string', pattern: `^[a-z]{1,${i + 1}}$` }
      refusedWithSpec(specReply(CS_AUTH, { type: 'object', properties }))
      const started = performance.now()
      const r = await act()
      expect(performance.now() - started).toBeLessThan(5000)
      expect(errors(r)).toEqual([REFUSED])
      expect(warnings(r)).toEqual([expect.stringMatching(why)])
    },
    60_000
  )
})

describe('patterns are read as JSON Schema reads them', () => {
  it('with the u flag: ^[\\p{L}\\p{N}.-]+$ on server accepts db.example.com', async () => {
    serve(
      `${FLOW}/connectionSpecs/${SPEC_ID}`,
      'GET',
      specReply(BASIC, {
        type: 'object',
        properties: { server: { type: 'string', pattern: '^[\\p{L}\\p{N}.-]+$' } }
      })
    )
    const r = await act({
      'connection-string': '',
      'auth-type': 'basic',
      server: 'db.example.com',
      database: 'orders',
      username: 'etl',
      password: 'Limits-Pw-42',
      'dry-run': 'true'
    })
    expect(errors(r)).toEqual([])
    expect(r.lines).toContain(
      `The auth params match Flow Service's live connection spec for "${BASIC}"`
    )
  })
})
