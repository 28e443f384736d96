/**
 * The connection spec is a server's document: the action must stay bounded and safe whatever it
 * says. The action's run() in-process as the runner would run it (support/in-process.ts), against
 * hostile or broken specs and /test replies.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { startSimulator, type RecordedRequest, type Simulator } from '../simulator/server.js'
import type { ActionRun } from '../simulator/run-action.js'
import { runInProcess } from './support/in-process.js'
import { expectMasksFirst, expectNoLeaks, simulatorSecrets } from './support/leaks.js'
import { adobeInputs } from './support/sim-inputs.js'

const SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
const FLOW = '/data/foundation/flowservice'
const SPEC_PATH = `${FLOW}/connectionSpecs/${SPEC_ID}`
const PASSWORD = 'pw-Limit!7qX'
const CS_AUTH = 'Connection String Based Authentication'
const BASIC = 'Basic Authentication'

/** A GET /connectionSpecs reply holding one spec item with these auth types. */
const specReply = (authSpec: unknown[], id = SPEC_ID) =>
  JSON.stringify({ items: [{ id, name: 'postgres-sql', authSpec }] })
const authType = (name: string, properties: Record<string, unknown>, extra = {}) => ({
  name,
  spec: { type: 'object', properties, ...extra }
})

describe('The connection spec and /test replies cannot hang, mislead or reshape wrongly', () => {
  let sim: Simulator
  let token: string

  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(async () => {
    await sim.close()
  })
  beforeEach(() => {
    sim.reset()
    token = sim.issueToken()
  })

  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    ...adobeInputs(sim, 'prod', { 'access-token': token }),
    server: 'db.limits.example.com',
    port: '5433',
    database: 'orders',
    username: 'etl_user',
    password: PASSWORD,
    ...extra
  })

  async function act(given: Record<string, string>): Promise<ActionRun> {
    const run = await runInProcess({ inputs: given })
    expectNoLeaks(run, [given.password, given['access-token'], PASSWORD, ...simulatorSecrets(sim)])
    expectMasksFirst(run)
    return run
  }

  /** Serves this body (status 200 unless given) for every spec read. */
  const serveSpec = (body: string, status = 200) =>
    sim.inject({
      match: { method: 'GET', path: SPEC_PATH },
      times: 99,
      action: { type: 'status', status, body }
    })

  const flow = () => sim.requests.filter((r) => r.service === 'flow')
  const line = (r: RecordedRequest) => `${r.method} ${r.path.slice(FLOW.length)} ${r.status}`
  const posts = () => flow().filter((r) => r.method === 'POST')
  const specReads = () => flow().filter((r) => r.path === SPEC_PATH)
  const errors = (run: ActionRun) => run.lines.filter((l) => l.startsWith('::error::'))
  const warnings = (run: ActionRun) => run.lines.filter((l) => l.startsWith('::warning::'))
  const log = (run: ActionRun) => run.lines.filter((l) => !l.startsWith('::'))
  const stored = () => sim.connections('prod')

  it('a catastrophic-backtracking pattern does not hang the step: that rule is skipped with a warning', async () => {
    serveSpec(
      specReply([
        authType(CS_AUTH, { connectionString: { type: 'string', pattern: '^(([^#])+)+#$' } })
      ])
    )
    const started = Date.now()
    const run = await act(
      inputs({ 'connection-name': 'redos', 'validate-spec': 'true', 'timeout-seconds': '60' })
    )
    expect(run.timedOut).toBeUndefined()
    expect(run.code).toBe(0)
    expect(run.outputs.operation).toBe('created')
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(warnings(run)).toHaveLength(1)
    expect(warnings(run)[0]).toMatch(
      /could not check connectionString against the connection spec's pattern .*took too long/
    )
    expect(posts()).toHaveLength(1)
  })

  it('a spec endpoint that does not answer gets a small share of the time: the create still happens', async () => {
    sim.inject({
      match: { method: 'GET', path: SPEC_PATH },
      times: 99,
      action: { type: 'delay', ms: 15_000 }
    })
    const run = await act(
      inputs({ 'connection-name': 'slow-spec', 'validate-spec': 'true', 'timeout-seconds': '20' })
    )
    expect(run.code).toBe(0)
    expect(run.outputs.operation).toBe('created')
    expect(specReads().length).toBeLessThanOrEqual(2)
    expect(warnings(run)).toHaveLength(1)
    expect(warnings(run)[0]).toMatch(
      /could not check the auth params against Flow Service's live connection spec: reading the connection spec failed: no response within/
    )
    expect(stored()).toHaveLength(1)
  })

  it('a spec reply over the reply cap is no referee: a warning, and the create goes on', async () => {
    sim.inject({
      match: { method: 'GET', path: SPEC_PATH },
      times: 9,
      action: { type: 'large-body', bytes: 11 * 1024 * 1024 }
    })
    const run = await act(inputs({ 'connection-name': 'huge-spec', 'validate-spec': 'true' }))
    expect(run.code).toBe(0)
    expect(run.outputs.operation).toBe('created')
    expect(specReads()).toHaveLength(1)
    expect(warnings(run)).toHaveLength(1)
    expect(warnings(run)[0]).toMatch(
      /could not check the auth params against Flow Service's live connection spec: reading the connection spec failed: .*larger than 10 MiB/
    )
  })

  describe('a long pattern does not push the actionable part of the error past the cap', () => {
    const LONG_PATTERN = `^Server=[^;{}]+;Database=[^;{}]+;Port=[0-9]+;UID=[^;{}]+;Password=[^;{}]+(;(${Array.from(
      { length: 60 },
      (_, i) => `Option${i}Name`
    ).join('|')})=[^;{}]+)*$`
    const braced = 'pw;Limit}7'

    it('after a refused create: the brace-quoting hint and the pattern, shortened, in one whole message', async () => {
      sim.configure({ spec: { connectionStringPattern: LONG_PATTERN } })
      const run = await act(inputs({ 'connection-name': 'long-live', password: braced }))
      expect(run.code).toBe(1)
      expect(stored()).toEqual([])
      const [error] = errors(run)
      expect(errors(run)).toHaveLength(1)
      expect(error).toContain('creating the connection failed: HTTP 400')
      expect(error).toContain('needed brace quoting')
      expect(error).toContain('use auth-type: basic')
      expect(error).toContain('connectionString must match the pattern ^Server=[^;{}]+')
      // The pattern is shortened inside the message, which is not cut at the 1000-character cap.
      expect(error).not.toContain(LONG_PATTERN)
      expect(error).toMatch(/connectionString must match the pattern \^Server=\S{1,160}…$/)
      expect(error?.length).toBeLessThan('::error::'.length + 1000)
    })

    it('dry run: "nothing would be sent" and the hint survive', async () => {
      sim.configure({ spec: { connectionStringPattern: LONG_PATTERN } })
      const run = await act(
        inputs({ 'connection-name': 'long-dry', password: braced, 'dry-run': 'true' })
      )
      expect(run.code).toBe(1)
      const [error] = errors(run)
      expect(error).toContain('dry run: nothing would be sent')
      expect(error).toContain('use auth-type: basic')
      expect(error).toMatch(/connectionString must match the pattern \^Server=\S{1,160}…$/)
      expect(error?.length).toBeLessThan('::error::'.length + 1000)
    })
  })

  it('a reply without the PostgreSQL spec is no referee: another connector’s spec is not used', async () => {
    serveSpec(
      JSON.stringify({
        items: [
          {
            id: '0ed90a81-07f4-4586-8190-b40eccef1c5a',
            name: 'some-other-source',
            authSpec: [authType(BASIC, { apiKey: { type: 'string' } }, { required: ['apiKey'] })]
          }
        ]
      })
    )
    const run = await act(
      inputs({ 'connection-name': 'other-spec', 'auth-type': 'basic', 'validate-spec': 'true' })
    )
    expect(run.code).toBe(0)
    expect(run.outputs.operation).toBe('created')
    expect(warnings(run)).toEqual([
      `::warning::could not check the auth params against Flow Service's live connection spec: the reply holds no PostgreSQL connection spec (id ${SPEC_ID}); going on without that check`
    ])
  })

  it('the spec-unavailable warning is printed once per run (validate-spec, then an unexplained 400)', async () => {
    serveSpec('', 404)
    sim.inject({
      match: { method: 'POST', path: `${FLOW}/connections` },
      action: { type: 'status', status: 400, body: JSON.stringify({ title: 'Bad request' }) }
    })
    const run = await act(inputs({ 'connection-name': 'warn-once', 'validate-spec': 'true' }))
    expect(run.code).toBe(1)
    expect(specReads()).toHaveLength(1)
    expect(warnings(run)).toHaveLength(1)
    expect(warnings(run)[0]).toMatch(/reading the connection spec failed: HTTP 404/)
  })

  describe('spec text with line breaks or control characters', () => {
    it('an allowed value holding a line break never matches, and is printed on one line', async () => {
      serveSpec(
        specReply([authType(BASIC, { sslMode: { type: 'string', enum: ['Verify\n\u2028 Ca'] } })])
      )
      const run = await act(
        inputs({
          'connection-name': 'enum-newline',
          'auth-type': 'basic',
          'ssl-mode': 'verify-ca',
          'validate-spec': 'true'
        })
      )
      expect(run.code).toBe(1)
      expect(posts()).toEqual([])
      const [error] = errors(run)
      expect(error).toContain('sslMode must be one of: Verify\\u000a\\u2028 Ca')
      expect(error).not.toMatch(/%0A|%0D|\u2028/)
      expect(run.lines.join('\n')).not.toMatch(/\u2028/)
    })

    it('allowed values written as workflow commands stay inert text inside the one error line', async () => {
      serveSpec(
        specReply([
          authType(BASIC, {
            sslMode: {
              type: 'string',
              enum: ['::error::pwned', '\n::set-output name=operation::deleted', '##[error]boom']
            }
          })
        ])
      )
      const run = await act(
        inputs({
          'connection-name': 'enum-commands',
          'auth-type': 'basic',
          'ssl-mode': 'require',
          'validate-spec': 'true'
        })
      )
      expect(run.code).toBe(1)
      expect(run.outputs).toEqual({})
      expect(errors(run)).toHaveLength(1)
      expect(errors(run)[0]).not.toMatch(/%0A|##\[/)
      expect(run.lines.filter((l) => /^::(set-output|error::pwned)/.test(l))).toEqual([])
    })
  })

  it('a password the spec types as a number is not reshaped from "0x1F": no POST, the param named', async () => {
    serveSpec(specReply([authType(BASIC, { password: { type: 'number', format: 'password' } })]))
    const run = await act(
      inputs({
        'connection-name': 'hex-pw',
        'auth-type': 'basic',
        password: '0x1F',
        'validate-spec': 'true'
      })
    )
    expect(run.code).toBe(1)
    expect(posts()).toEqual([])
    expect(errors(run)[0]).toContain('password must be a number')
    expect(log(run).join('\n')).not.toMatch(/Reshaped/)
  })

  describe('a /test 200 that breaks {"result": true|false} fails the connection test', () => {
    it.each([
      ['"result" as a string', '{"result":"false"}', /"result" is a string, not true or false/],
      ['"result" null', '{"result":null,"message":"could not connect"}', /"result" is null/],
      ['a body that is not JSON', 'OK!!', /a body that is not JSON/]
    ])('%s: exit 1, outputs set, no explore', async (_what, body, said) => {
      sim.inject({
        match: { method: 'GET', path: /\/test$/ },
        times: 9,
        action: { type: 'status', status: 200, body }
      })
      const run = await act(inputs({ 'connection-name': 'test-shape', 'test-connection': 'true' }))
      expect(run.code).toBe(1)
      const [conn] = stored()
      expect(run.outputs).toMatchObject({ 'connection-id': conn?.id, operation: 'created' })
      expect(errors(run)).toHaveLength(1)
      expect(errors(run)[0]).toMatch(
        /testing the connection failed: GET \/connections\/\S+\/test answered HTTP 200 without the documented \{"result": true\|false\}/
      )
      expect(errors(run)[0]).toMatch(said)
      expect(flow().map(line).at(-1)).toBe(`GET /connections/${conn?.id}/test 200`)
    })
  })
})
