/**
 * Flow Service's live connection spec as the referee, and the connection test the documented
 * way: the action's run() in-process as the runner would run it (support/in-process.ts), against
 * the simulator serving variant specs.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import {
  startSimulator,
  STRICT_CONNECTION_STRING_PATTERN,
  type RecordedRequest,
  type Simulator,
  type SpecVariant
} from '../simulator/server.js'
import type { ActionRun } from '../simulator/run-action.js'
import { runInProcess } from './support/in-process.js'
import { expectMasksFirst, expectNoLeaks, simulatorSecrets } from './support/leaks.js'
import { adobeInputs } from './support/sim-inputs.js'

const SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
const FLOW = '/data/foundation/flowservice'
const SPEC_PATH = `${FLOW}/connectionSpecs/${SPEC_ID}`
const PASSWORD = 'pw-Spec!9qZ'
const BRACED_PASSWORD = 'pw;Spec}9'
const PORT_INT_SPACES: SpecVariant = { portInteger: true, sslModeSpaces: true }
const NO_REQUIRE: SpecVariant = { withoutRequire: true }
const ALLOWED_WITHOUT_REQUIRE = 'Disable, Allow, Prefer, Verify-Ca, Verify-Full'

describe('The live connection spec as the referee', () => {
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

  const parts = (password = PASSWORD): Record<string, string> => ({
    server: 'db.spec.example.com',
    port: '5433',
    database: 'orders',
    username: 'etl_user',
    password
  })
  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    ...adobeInputs(sim, 'prod', { 'access-token': token }),
    ...parts(),
    ...extra
  })

  async function act(given: Record<string, string>): Promise<ActionRun> {
    const run = await runInProcess({ inputs: given })
    expectNoLeaks(run, [
      given.password,
      given['access-token'],
      given['connection-string'],
      PASSWORD,
      BRACED_PASSWORD,
      ...simulatorSecrets(sim)
    ])
    expectMasksFirst(run)
    return run
  }

  const flow = () => sim.requests.filter((r) => r.service === 'flow')
  /** "METHOD /path-below-the-base status" for each Flow Service request, in order. */
  const line = (r: RecordedRequest) => `${r.method} ${r.path.slice(FLOW.length)} ${r.status}`
  const posts = () => flow().filter((r) => r.method === 'POST')
  const specReads = () => flow().filter((r) => r.path === SPEC_PATH)
  const errors = (run: ActionRun) => run.lines.filter((l) => l.startsWith('::error::'))
  const warnings = (run: ActionRun) => run.lines.filter((l) => l.startsWith('::warning::'))
  const log = (run: ActionRun) => run.lines.filter((l) => !l.startsWith('::')).join('\n')
  const stored = () => sim.connections('prod')

  describe('(a) port integer, sslMode with spaces: reshaped and created on the retry', () => {
    it('create: 400, one spec read, the POST again with an integer port and "Verify Ca"', async () => {
      sim.configure({ spec: PORT_INT_SPACES })
      const run = await act(
        inputs({ 'connection-name': 'a-create', 'auth-type': 'basic', 'ssl-mode': 'verify-ca' })
      )
      expect(run.code).toBe(0)
      expect(run.outputs.operation).toBe('created')
      expect(flow().map(line)).toEqual([
        'GET /connections 200',
        'POST /connections 400',
        `GET /connectionSpecs/${SPEC_ID} 200`,
        'POST /connections 201',
        'GET /connections 200'
      ])
      expect(posts()).toHaveLength(2)
      expect(specReads()).toHaveLength(1)
      const [conn] = stored()
      expect(conn?.auth.params.port).toBe(5433)
      expect(conn?.auth.params.sslMode).toBe('Verify Ca')
      expect(JSON.parse(posts()[0]?.body ?? '{}').auth.params).toMatchObject({
        port: '5433',
        sslMode: 'Verify-Ca'
      })
      expect(log(run)).toContain(
        'Flow Service refused the auth params (HTTP 400); reshaped to match its live connection spec for "Basic Authentication": port (string -> integer), sslMode (matched the allowed value "Verify Ca"). Sending once more'
      )
      expect(run.outputs['connection-id']).toBe(conn?.id)
    })

    it('update: the PATCH is refused, then sent once more with the reshaped params', async () => {
      const existing = sim.seedConnection('prod', {
        name: 'a-update',
        auth: {
          specName: 'Basic Authentication',
          params: { server: 'old', port: 5432, database: 'd', username: 'u', password: 'old-pw' }
        }
      })
      sim.configure({ spec: PORT_INT_SPACES })
      const run = await act(
        inputs({ 'connection-name': 'a-update', 'auth-type': 'basic', 'ssl-mode': 'Verify-Full' })
      )
      expect(run.code).toBe(0)
      expect(run.outputs.operation).toBe('updated')
      expect(flow().map(line)).toEqual([
        'GET /connections 200',
        `PATCH /connections/${existing.id} 400`,
        `GET /connectionSpecs/${SPEC_ID} 200`,
        `PATCH /connections/${existing.id} 200`
      ])
      expect(stored()[0]?.auth.params).toMatchObject({ port: 5433, sslMode: 'Verify Full' })
    })
  })

  it('(b) Require missing and ssl-mode require: exit 1 naming sslMode and its allowed values, nothing stored', async () => {
    sim.configure({ spec: NO_REQUIRE })
    const run = await act(
      inputs({ 'connection-name': 'b', 'auth-type': 'basic', 'ssl-mode': 'require' })
    )
    expect(run.code).toBe(1)
    expect(stored()).toEqual([])
    expect(posts()).toHaveLength(1)
    expect(specReads()).toHaveLength(1)
    expect(flow().map(line)).toEqual([
      'GET /connections 200',
      'POST /connections 400',
      `GET /connectionSpecs/${SPEC_ID} 200`
    ])
    const [error] = errors(run)
    expect(errors(run)).toHaveLength(1)
    expect(error).toContain('creating the connection failed: HTTP 400')
    expect(error).toContain(
      `Flow Service's live connection spec for "Basic Authentication" says: sslMode must be one of: ${ALLOWED_WITHOUT_REQUIRE}`
    )
    expect(run.outputs).toEqual({})
  })

  describe('(c) dry run against each variant: the reshaped plan, or a failure naming the param', () => {
    it.each([
      ['the documented spec', {}, { port: '"port": "5433"', ssl: '"sslMode": "Verify-Ca"' }],
      [
        'port integer, sslMode with spaces',
        PORT_INT_SPACES,
        { port: '"port": 5433', ssl: '"sslMode": "Verify Ca"' }
      ]
    ])(
      '%s: would-create, shows the params to send, secrets as ***',
      async (_what, variant, want) => {
        sim.configure({ spec: variant })
        const run = await act(
          inputs({
            'connection-name': 'c-plan',
            'auth-type': 'basic',
            'ssl-mode': 'verify-ca',
            'dry-run': 'true'
          })
        )
        expect(run.code).toBe(0)
        expect(run.outputs.operation).toBe('would-create')
        expect(flow().map(line)).toEqual([
          'GET /connections 200',
          `GET /connectionSpecs/${SPEC_ID} 200`
        ])
        const text = log(run)
        expect(text).toContain(want.port)
        expect(text).toContain(want.ssl)
        expect(text).toContain('"password": "***"')
        expect(stored()).toEqual([])
      }
    )

    it('Require missing: the dry run fails naming sslMode and its allowed values', async () => {
      sim.configure({ spec: NO_REQUIRE })
      const run = await act(
        inputs({
          'connection-name': 'c-require',
          'auth-type': 'basic',
          'ssl-mode': 'Require',
          'dry-run': 'true'
        })
      )
      expect(run.code).toBe(1)
      expect(errors(run)).toEqual([
        `::error::the auth params do not match Flow Service's live connection spec for "Basic Authentication" (dry run: nothing would be sent): sslMode must be one of: ${ALLOWED_WITHOUT_REQUIRE}`
      ])
      expect(flow().every((r) => r.method === 'GET')).toBe(true)
    })

    it('connection-string pattern: a brace-quoted password fails naming connectionString, the pattern and auth-type basic', async () => {
      sim.configure({ spec: { connectionStringPattern: true } })
      const run = await act(
        inputs({
          'connection-name': 'c-pattern',
          password: BRACED_PASSWORD,
          'dry-run': 'true'
        })
      )
      expect(run.code).toBe(1)
      const [error] = errors(run)
      expect(error).toContain(
        `connectionString must match the pattern ${STRICT_CONNECTION_STRING_PATTERN}`
      )
      expect(error).toContain('needed brace quoting')
      expect(error).toContain('use auth-type: basic')
    })

    it('connection-string pattern: a string that fits passes', async () => {
      sim.configure({ spec: { connectionStringPattern: true } })
      const run = await act(inputs({ 'connection-name': 'c-fits', 'dry-run': 'true' }))
      expect(run.code).toBe(0)
      expect(log(run)).toContain(
        `The auth params match Flow Service's live connection spec for "Connection String Based Authentication"`
      )
    })

    it('no schema for the auth type: a warning, and the dry run goes on', async () => {
      sim.configure({ spec: { withoutSchemaFor: ['Basic Authentication'] } })
      const run = await act(
        inputs({ 'connection-name': 'c-none', 'auth-type': 'basic', 'dry-run': 'true' })
      )
      expect(run.code).toBe(0)
      expect(warnings(run)).toEqual([
        `::warning::could not check the auth params against Flow Service's live connection spec: it has no schema for "Basic Authentication"; going on without that check`
      ])
    })

    it('the spec cannot be read (403): a warning naming the failure, and the dry run goes on', async () => {
      sim.inject({
        match: { method: 'GET', path: SPEC_PATH },
        action: {
          type: 'status',
          status: 403,
          body: JSON.stringify({ error_code: '403027', message: 'User region is missing' })
        }
      })
      const run = await act(inputs({ 'connection-name': 'c-403', 'dry-run': 'true' }))
      expect(run.code).toBe(0)
      expect(warnings(run)).toHaveLength(1)
      expect(warnings(run)[0]).toMatch(/reading the connection spec failed: HTTP 403 403027/)
      expect(run.outputs.operation).toBe('would-create')
    })
  })

  describe('(d) validate-spec: true', () => {
    it('happy path: one extra GET, before the POST', async () => {
      const run = await act(
        inputs({ 'connection-name': 'd-ok', 'auth-type': 'basic', 'validate-spec': 'true' })
      )
      expect(run.code).toBe(0)
      expect(flow().map(line)).toEqual([
        'GET /connections 200',
        `GET /connectionSpecs/${SPEC_ID} 200`,
        'POST /connections 201',
        'GET /connections 200'
      ])
    })

    it('a mismatch: no POST at all, exit 1 naming sslMode', async () => {
      sim.configure({ spec: NO_REQUIRE })
      const run = await act(
        inputs({
          'connection-name': 'd-bad',
          'auth-type': 'basic',
          'ssl-mode': 'require',
          'validate-spec': 'true'
        })
      )
      expect(run.code).toBe(1)
      expect(posts()).toEqual([])
      expect(flow().map(line)).toEqual([
        'GET /connections 200',
        `GET /connectionSpecs/${SPEC_ID} 200`
      ])
      expect(errors(run)[0]).toContain(
        `(nothing was sent): sslMode must be one of: ${ALLOWED_WITHOUT_REQUIRE}`
      )
    })

    it('a reshape: the first and only POST already carries the reshaped params', async () => {
      sim.configure({ spec: PORT_INT_SPACES })
      const run = await act(
        inputs({
          'connection-name': 'd-reshape',
          'auth-type': 'basic',
          'ssl-mode': 'verify-full',
          'validate-spec': 'true'
        })
      )
      expect(run.code).toBe(0)
      expect(posts().map((r) => r.status)).toEqual([201])
      expect(stored()[0]?.auth.params).toMatchObject({ port: 5433, sslMode: 'Verify Full' })
    })
  })

  describe('(e) the default happy path reads no spec', () => {
    it.each([
      ['connection-string', {}],
      ['basic with ssl-mode', { 'auth-type': 'basic', 'ssl-mode': 'prefer' }]
    ])('%s: the lookup, the POST and the lookup after it', async (_what, extra) => {
      const run = await act(inputs({ 'connection-name': 'e', ...extra }))
      expect(run.code).toBe(0)
      // The lookup, the POST, and the lookup after a create (runs racing on the name converge).
      expect(flow().map(line)).toEqual([
        'GET /connections 200',
        'POST /connections 201',
        'GET /connections 200'
      ])
      expect(specReads()).toEqual([])
    })

    it('an explained 400 (If-Match missing, 1403) reads no spec either', async () => {
      sim.seedConnection('prod', { name: 'e-1403' })
      sim.inject({
        match: { method: 'PATCH' },
        action: {
          type: 'status',
          status: 400,
          body: JSON.stringify({
            type: 'https://ns.adobe.com/aep/errors/FLOW-1403-400',
            title: 'Header is missing',
            status: 400,
            errorMessage: "The header 'If-Match' is missing in the request."
          })
        }
      })
      const run = await act(inputs({ 'connection-name': 'e-1403' }))
      expect(run.code).toBe(1)
      expect(specReads()).toEqual([])
    })

    it('an unexplained 400 when the spec cannot be read: a warning, and the refusal stands', async () => {
      sim.configure({ spec: NO_REQUIRE })
      sim.inject({ match: { path: SPEC_PATH }, action: { type: 'status', status: 404 } })
      const run = await act(
        inputs({ 'connection-name': 'e-404', 'auth-type': 'basic', 'ssl-mode': 'require' })
      )
      expect(run.code).toBe(1)
      expect(warnings(run)[0]).toMatch(/reading the connection spec failed: HTTP 404/)
      expect(errors(run)[0]).toContain('creating the connection failed: HTTP 400')
      expect(posts()).toHaveLength(1)
    })
  })

  describe('(f) test-connection: GET /test first', () => {
    it('/test answers result false: exit 1, outputs set, no explore', async () => {
      sim.configure({ connectionTest: 'fail' })
      const run = await act(inputs({ 'connection-name': 'f-false', 'test-connection': 'true' }))
      expect(run.code).toBe(1)
      const [conn] = stored()
      expect(run.outputs).toMatchObject({
        'connection-id': conn?.id,
        etag: conn?.etag,
        operation: 'created'
      })
      expect(errors(run)).toHaveLength(1)
      expect(errors(run)[0]).toContain(
        'Flow Service could not connect to the database with the stored credentials'
      )
      expect(flow().map(line)).toEqual([
        'GET /connections 200',
        'POST /connections 201',
        'GET /connections 200',
        `GET /connections/${conn?.id}/test 200`
      ])
      expect(run.summary).toContain('could not connect to the database with the stored credentials')
    })

    it('/test answers result true: explore still runs, for the tables', async () => {
      const run = await act(inputs({ 'connection-name': 'f-true', 'test-connection': 'true' }))
      expect(run.code).toBe(0)
      const id = stored()[0]?.id
      expect(flow().map(line).slice(3)).toEqual([
        `GET /connections/${id}/test 200`,
        `GET /connections/${id}/explore 200`
      ])
      expect(run.lines).toContain('Connection test passed: Flow Service sees 2 table(s)')
    })

    it('/test refused as unsupported: explore decides (passes)', async () => {
      sim.configure({ connectionTest: 'unsupported' })
      const run = await act(inputs({ 'connection-name': 'f-unsup', 'test-connection': 'true' }))
      expect(run.code).toBe(0)
      const id = stored()[0]?.id
      expect(flow().map(line).slice(3)).toEqual([
        `GET /connections/${id}/test 400`,
        `GET /connections/${id}/explore 200`
      ])
      expect(log(run)).toMatch(/listing the database root instead/)
      expect(run.lines).toContain('Connection test passed: Flow Service sees 2 table(s)')
    })

    it('/test refused as unsupported: explore decides (fails)', async () => {
      sim.configure({ connectionTest: 'unsupported' })
      sim.inject({
        match: { path: /\/explore$/ },
        action: {
          type: 'status',
          status: 400,
          body: JSON.stringify({
            type: 'https://ns.adobe.com/aep/errors/FLOW-1200-400',
            title: 'Bad request',
            errorMessage: 'Connection refused'
          })
        }
      })
      const run = await act(inputs({ 'connection-name': 'f-unsup-bad', 'test-connection': 'true' }))
      expect(run.code).toBe(1)
      expect(errors(run)[0]).toContain('Connection refused')
      expect(run.outputs.operation).toBe('created')
    })

    it('an explore reply that is not an array of objects fails clearly', async () => {
      sim.inject({
        match: { path: /\/explore$/ },
        action: { type: 'status', status: 200, body: JSON.stringify({ items: [] }) }
      })
      const run = await act(inputs({ 'connection-name': 'f-shape', 'test-connection': 'true' }))
      expect(run.code).toBe(1)
      expect(errors(run)).toEqual([
        "::error::testing the connection failed: Flow Service's explore reply (HTTP 200) is not a list of objects, so it does not show the database was reached"
      ])
      expect(run.outputs.operation).toBe('created')
    })
  })
})
