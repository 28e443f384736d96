/**
 * Environment promotion: delete (state absent), dry runs, the connection test, the description's
 * provenance and the job summary, the action's run() in-process as the runner would run it
 * (support/in-process.ts), against the local simulator.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startSimulator, type Simulator } from '../simulator/server.js'
import type { ActionRun } from '../simulator/run-action.js'
import { runInProcess } from './support/in-process.js'
import {
  expectMasksFirst,
  expectNoLeaks,
  forgedCommands,
  simulatorSecrets
} from './support/leaks.js'
import { markOf, stripMark } from '../src/platform/marker.js'
import { adobeInputs } from './support/sim-inputs.js'

const SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
const FLOW = '/data/foundation/flowservice'
const PASSWORD = 'pw-Promote-9xQ!'
const CS = `Server=pg.stage.example.com;Database=sales;Port=5432;UID=aep;Password=${PASSWORD}`

const GITHUB_ENV = {
  GITHUB_REPOSITORY: 'acme/data-platform',
  GITHUB_WORKFLOW: 'Promote connections',
  GITHUB_RUN_ID: '7345120099',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REF: 'refs/heads/main'
}
const RUN_URL = 'https://github.com/acme/data-platform/actions/runs/7345120099'

describe('Environment promotion', () => {
  let sim: Simulator
  let token: string
  let tmp: string

  beforeAll(async () => {
    sim = await startSimulator()
    tmp = await mkdtemp(path.join(tmpdir(), 'lifecycle-'))
  })
  afterAll(async () => {
    await sim.close()
    await rm(tmp, { recursive: true, force: true })
  })
  beforeEach(() => {
    sim.reset()
    token = sim.issueToken()
  })

  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    ...adobeInputs(sim, 'stage', { 'access-token': token }),
    ...extra
  })
  const parts = {
    server: 'pg.stage.example.com',
    database: 'sales',
    username: 'aep',
    password: PASSWORD
  }

  /** Runs the action; then checks that nothing secret leaked and masks came first. */
  async function act(
    given: Record<string, string>,
    env: Record<string, string> = {}
  ): Promise<ActionRun> {
    const run = await runInProcess({ inputs: given, env })
    expectNoLeaks(run, [
      given.password,
      given['access-token'],
      given['connection-string'],
      PASSWORD,
      CS,
      ...simulatorSecrets(sim)
    ])
    expectMasksFirst(run)
    expect(forgedCommands(run)).toEqual([])
    return run
  }

  const flowRequests = () => sim.requests.filter((r) => r.service === 'flow')
  const flowMethods = () => flowRequests().map((r) => r.method)
  const errorLines = (run: ActionRun) => run.lines.filter((l) => l.startsWith('::error::'))
  const stored = () => sim.connections('stage')

  describe('state absent', () => {
    it('deletes the existing connection: DELETE, operation deleted, its id, empty etag', async () => {
      const existing = sim.seedConnection('stage', { name: 'to-delete' })
      const run = await act(inputs({ 'connection-name': 'to-delete', state: 'absent' }))
      expect(run.code).toBe(0)
      const deletes = flowRequests().filter((r) => r.method === 'DELETE')
      expect(deletes).toHaveLength(1)
      expect(deletes[0]?.path).toBe(`${FLOW}/connections/${existing.id}`)
      expect(deletes[0]?.status).toBe(204)
      expect(run.outputs).toEqual({
        'connection-id': existing.id,
        etag: '',
        operation: 'deleted',
        'connection-spec-id': SPEC_ID
      })
      expect(stored()).toEqual([])
      expect(sim.stats().mutations).toBe(1)
    })

    it('nothing found: operation absent, empty id, exit 0, no DELETE', async () => {
      sim.seedConnection('stage', { name: 'someone-else' })
      const run = await act(inputs({ 'connection-name': 'never-existed', state: 'absent' }))
      expect(run.code).toBe(0)
      expect(run.outputs).toMatchObject({ operation: 'absent', 'connection-id': '', etag: '' })
      expect(flowMethods()).toEqual(['GET'])
      expect(sim.stats().mutations).toBe(0)
      expect(stored()).toHaveLength(1)
    })

    it('in use by dataflows: exit 1, the error says so and to delete the dataflows first; kept', async () => {
      const existing = sim.seedConnection('stage', { name: 'busy' })
      sim.setInUse(existing.id, true)
      const run = await act(inputs({ 'connection-name': 'busy', state: 'absent' }))
      expect(run.code).toBe(1)
      const errors = errorLines(run)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toMatch(/used by one or more dataflows/)
      expect(errors[0]).toMatch(/delete them first \(the dataflow action with state: absent/)
      expect(errors[0]).toContain('1418')
      expect(stored().map((c) => c.id)).toEqual([existing.id])
      expect(sim.stats().mutations).toBe(0)
    })
  })

  describe('dry-run: read-only, says what would be sent', () => {
    /** Dry-run checks shared by every case: exit 0, only GETs, no mutation. */
    function expectReadOnly(run: ActionRun) {
      expect(run.code).toBe(0)
      expect(flowRequests().length).toBeGreaterThan(0)
      expect(flowMethods().every((m) => m === 'GET')).toBe(true)
      expect(
        sim.requests.filter((r) => ['POST', 'PATCH', 'DELETE', 'PUT'].includes(r.method))
      ).toEqual([])
      expect(sim.stats().mutations).toBe(0)
    }
    const logText = (run: ActionRun) => run.lines.filter((l) => !l.startsWith('::')).join('\n')

    it('would-create: shows the POST with password ***', async () => {
      const run = await act(
        inputs({ 'connection-name': 'new-one', 'auth-type': 'basic', 'dry-run': 'true', ...parts })
      )
      expectReadOnly(run)
      expect(run.outputs).toMatchObject({
        operation: 'would-create',
        'connection-id': '',
        etag: ''
      })
      const log = logText(run)
      expect(log).toContain(`POST ${sim.url}${FLOW}/connections`)
      expect(log).toContain('"password": "***"')
      expect(log).toContain('"server": "pg.stage.example.com"')
      expect(log).toContain('"specName": "Basic Authentication"')
      expect(log).not.toContain(PASSWORD)
      expect(stored()).toEqual([])
    })

    it('would-update: the existing id and etag, the PATCH with connectionString ***', async () => {
      const existing = sim.seedConnection('stage', { name: 'existing' })
      const run = await act(
        inputs({ 'connection-name': 'existing', 'dry-run': 'true', 'connection-string': CS })
      )
      expectReadOnly(run)
      expect(run.outputs).toMatchObject({
        operation: 'would-update',
        'connection-id': existing.id,
        etag: existing.etag
      })
      const log = logText(run)
      expect(log).toContain(`PATCH ${sim.url}${FLOW}/connections/${existing.id}`)
      expect(log).toContain(`If-Match: ${existing.etag}`)
      expect(log).toContain('"path": "/auth/params"')
      expect(log).toContain('"connectionString": "***"')
      expect(log).not.toContain(CS)
      expect(log).not.toContain(PASSWORD)
      expect(stored()).toEqual([existing])
    })

    it('would-delete: state absent with an existing connection', async () => {
      const existing = sim.seedConnection('stage', { name: 'doomed' })
      const run = await act(
        inputs({ 'connection-name': 'doomed', state: 'absent', 'dry-run': 'true' })
      )
      expectReadOnly(run)
      expect(run.outputs).toMatchObject({
        operation: 'would-delete',
        'connection-id': existing.id
      })
      expect(logText(run)).toContain(`DELETE ${sim.url}${FLOW}/connections/${existing.id}`)
      expect(stored()).toEqual([existing])
    })

    it('unchanged: if-exists reuse with an existing connection', async () => {
      const existing = sim.seedConnection('stage', { name: 'reused' })
      const run = await act(
        inputs({
          'connection-name': 'reused',
          'if-exists': 'reuse',
          'dry-run': 'true',
          'connection-string': CS
        })
      )
      expectReadOnly(run)
      expect(run.outputs).toMatchObject({
        operation: 'unchanged',
        'connection-id': existing.id,
        etag: existing.etag
      })
      expect(logText(run)).toMatch(/no request/)
      expect(stored()).toEqual([existing])
    })

    it('absent: state absent with nothing there', async () => {
      const run = await act(
        inputs({ 'connection-name': 'ghost', state: 'absent', 'dry-run': 'true' })
      )
      expectReadOnly(run)
      expect(run.outputs).toMatchObject({ operation: 'absent', 'connection-id': '', etag: '' })
      expect(logText(run)).toMatch(/no request/)
    })

    it('dry-run with test-connection: no explore call either', async () => {
      const run = await act(
        inputs({
          'connection-name': 'no-explore',
          'dry-run': 'true',
          'test-connection': 'true',
          'connection-string': CS
        })
      )
      expectReadOnly(run)
      expect(flowRequests().some((r) => r.path.endsWith('/explore'))).toBe(false)
      // The plan is one log group; the log and the job summary agree on the skipped test.
      const open = run.lines.indexOf(
        '::group::Dry run: would-create. The request that would be sent (secrets shown as ***)'
      )
      const close = run.lines.indexOf('::endgroup::')
      expect(open).toBeGreaterThanOrEqual(0)
      expect(run.lines[open + 1]).toBe(`POST ${sim.url}${FLOW}/connections`)
      expect(run.lines.slice(open + 2, close).join('\n')).toMatch(/^\{\n[\s\S]*\n\}$/)
      expect(run.lines.slice(close + 1).filter((l) => !l.startsWith('::'))).toEqual([
        'would-create: no connection named "no-explore" exists yet (dry run: nothing was changed)',
        'Connection test: skipped (dry run)'
      ])
      expect(run.summary).toMatch(/Connection test<\/td><td>skipped \(dry run\)/)
    })
  })

  describe('test-connection', () => {
    it('after create: explores the root and reports the number of tables', async () => {
      const run = await act(
        inputs({ 'connection-name': 'tested', 'test-connection': 'true', 'connection-string': CS })
      )
      expect(run.code).toBe(0)
      const [conn] = stored()
      expect(conn?.tables).toHaveLength(2)
      const explores = flowRequests().filter((r) => r.path.endsWith('/explore'))
      expect(explores).toHaveLength(1)
      expect(explores[0]?.method).toBe('GET')
      expect(explores[0]?.url).toBe(`${FLOW}/connections/${conn?.id}/explore?objectType=root`)
      expect(run.lines).toContain('Connection test passed: Flow Service sees 2 table(s)')
      expect(run.outputs.operation).toBe('created')
      expect(run.summary).toContain('passed: Flow Service sees 2 table(s)')
    })

    it('tables: the passed test lists the table paths as a JSON array a later job can read', async () => {
      const run = await act(
        inputs({ 'connection-name': 'listed', 'test-connection': 'true', 'connection-string': CS })
      )
      expect(run.code).toBe(0)
      expect(run.outputs.tables).toBe('["public.customers","public.orders"]')
      expect(JSON.parse(run.outputs.tables ?? '')).toEqual(stored()[0]?.tables)
    })

    it('tables: capped at 1000 paths with a warning that says how many were left out', async () => {
      const many = Array.from({ length: 1003 }, (_, i) => `public.t${String(i).padStart(4, '0')}`)
      sim.seedConnection('stage', { name: 'wide', tables: many })
      const run = await act(
        inputs({
          'connection-name': 'wide',
          'if-exists': 'reuse',
          'test-connection': 'true',
          'connection-string': CS
        })
      )
      expect(run.code).toBe(0)
      expect(run.lines).toContain('Connection test passed: Flow Service sees 1003 table(s)')
      expect(JSON.parse(run.outputs.tables ?? '')).toEqual(many.slice(0, 1000))
      expect(run.lines.filter((l) => l.startsWith('::warning::'))).toEqual([
        '::warning::the tables output lists the first 1000 of the 1003 tables Flow Service sees; 3 are left out'
      ])
    })

    it('tables: empty without test-connection, in a dry run, and when the test fails', async () => {
      const plain = await act(inputs({ 'connection-name': 'untested', 'connection-string': CS }))
      expect(plain.code).toBe(0)
      expect(plain.outputs.tables).toBeUndefined()

      const dry = await act(
        inputs({
          'connection-name': 'untested',
          'dry-run': 'true',
          'test-connection': 'true',
          'connection-string': CS
        })
      )
      expect(dry.code).toBe(0)
      expect(dry.outputs.tables).toBeUndefined()

      sim.inject({
        match: { method: 'GET', service: 'flow', path: /\/explore$/ },
        action: { type: 'status', status: 400, body: JSON.stringify({ message: 'unreachable' }) }
      })
      const failed = await act(
        inputs({
          'connection-name': 'untested',
          'test-connection': 'true',
          'connection-string': CS
        })
      )
      expect(failed.code).toBe(1)
      expect(failed.outputs.operation).toBe('updated')
      expect(failed.outputs.tables).toBeUndefined()
    })

    it('after update: the count shown is the connection’s own (3 tables)', async () => {
      const existing = sim.seedConnection('stage', {
        name: 'three-tables',
        tables: ['public.a', 'public.b', 'sales.c']
      })
      const run = await act(
        inputs({
          'connection-name': 'three-tables',
          'test-connection': 'true',
          'connection-string': CS
        })
      )
      expect(run.code).toBe(0)
      expect(run.outputs.operation).toBe('updated')
      expect(flowRequests().at(-1)?.url).toBe(
        `${FLOW}/connections/${existing.id}/explore?objectType=root`
      )
      expect(run.lines).toContain('Connection test passed: Flow Service sees 3 table(s)')
    })

    it('failure: exit 1 with Flow Service’s message and request id; outputs still set', async () => {
      const detail = 'Connection refused: could not reach pg.stage.example.com:5432'
      const requestId = 'req-explore-7f3a91'
      sim.inject({
        match: { method: 'GET', service: 'flow', path: /\/explore$/ },
        times: 1,
        action: {
          type: 'status',
          status: 400,
          body: JSON.stringify({
            type: 'https://ns.adobe.com/aep/errors/FLOW-1200-400',
            title: 'Bad request',
            status: 400,
            report: { 'detailed-message': detail, 'request-id': requestId },
            errorMessage: detail
          })
        }
      })
      const run = await act(
        inputs({ 'connection-name': 'unreachable', 'test-connection': 'true', ...parts })
      )
      expect(run.code).toBe(1)
      const errors = errorLines(run)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain(detail)
      expect(errors[0]).toContain(requestId)
      const [conn] = stored()
      expect(conn).toBeDefined()
      expect(run.outputs).toEqual({
        'connection-id': conn?.id,
        etag: conn?.etag,
        operation: 'created',
        'connection-spec-id': SPEC_ID
      })
      expect(run.summary).toContain('failed:')
    })
  })

  describe('description provenance', () => {
    const descriptionOf = (name: string) => stored().find((c) => c.name === name)?.description

    it('says which repository, workflow, run (with its URL), ref and environment manage it', async () => {
      const run = await act(inputs({ 'connection-name': 'prov', 'connection-string': CS }), {
        ...GITHUB_ENV,
        AEP_ENVIRONMENT: 'stage'
      })
      expect(run.code).toBe(0)
      const d = descriptionOf('prov') ?? ''
      expect(d).toContain('acme/data-platform')
      expect(d).toContain('Promote connections')
      expect(d).toContain('7345120099')
      expect(d).toContain(RUN_URL)
      expect(d).toContain('refs/heads/main')
      expect(d).toContain('environment stage')
      const body = JSON.parse(flowRequests().find((r) => r.method === 'POST')?.body ?? '{}')
      expect(body.description).toBe(d)
    })

    it('escapes a hostile ref: no raw newline, no <', async () => {
      const ref = 'refs/heads/x\n<script>alert("pwn")</script>\'y'
      const run = await act(inputs({ 'connection-name': 'hostile', 'connection-string': CS }), {
        ...GITHUB_ENV,
        GITHUB_REF: ref
      })
      expect(run.code).toBe(0)
      const d = descriptionOf('hostile') ?? ''
      expect(d).toContain('refs/heads/x')
      expect(d).not.toMatch(/[\n\r]/)
      expect(d).not.toContain('<')
      expect(d).not.toContain('<script>')
      expect(d).not.toContain('"pwn"')
      expect(d).toContain(RUN_URL)
    })

    it('an explicit description input wins', async () => {
      const run = await act(
        inputs({
          'connection-name': 'explicit',
          description: 'Sales replica, owned by data-eng',
          'connection-string': CS
        }),
        { ...GITHUB_ENV, AEP_ENVIRONMENT: 'stage' }
      )
      expect(run.code).toBe(0)
      // As given, with the create's mark at the end (see marker.ts).
      expect(stripMark(descriptionOf('explicit'))).toBe('Sales replica, owned by data-eng')
      expect(markOf(descriptionOf('explicit'))).toBeDefined()
    })

    it('a deployment event names the environment', async () => {
      const eventPath = path.join(tmp, 'deployment.json')
      await writeFile(eventPath, JSON.stringify({ deployment: { environment: 'production' } }))
      const run = await act(inputs({ 'connection-name': 'deployed', 'connection-string': CS }), {
        ...GITHUB_ENV,
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_EVENT_NAME: 'deployment'
      })
      expect(run.code).toBe(0)
      const d = descriptionOf('deployed') ?? ''
      expect(d).toContain('environment production')
      expect(d).toContain('acme/data-platform')
    })
  })

  describe('job summary', () => {
    it('shows operation, name, id, sandbox, spec id, test result and a link to the run', async () => {
      const run = await act(
        inputs({
          'connection-name': 'summarised',
          'test-connection': 'true',
          'connection-string': CS
        }),
        GITHUB_ENV
      )
      expect(run.code).toBe(0)
      const [conn] = stored()
      const s = run.summary
      expect(s).toContain('<td>Operation</td><td>created</td>')
      expect(s).toContain('<td>Connection name</td><td>summarised</td>')
      expect(s).toContain(`<td>Connection id</td><td>${conn?.id}</td>`)
      expect(s).toContain('<td>Sandbox</td><td>stage</td>')
      expect(s).toContain(`<td>Connection spec id</td><td>${SPEC_ID}</td>`)
      expect(s).toContain('<td>Connection test</td><td>passed: Flow Service sees 2 table(s)</td>')
      expect(s).toContain(`<a href="${RUN_URL}">`)
      expectNoLeaks(run, [PASSWORD, CS, token])
    })

    it('no run link without GITHUB_* context', async () => {
      const run = await act(inputs({ 'connection-name': 'no-ctx', 'connection-string': CS }))
      expect(run.code).toBe(0)
      expect(run.summary).toContain('<td>Operation</td><td>created</td>')
      expect(run.summary).not.toContain('<a href')
    })

    it('no GITHUB_STEP_SUMMARY (a local run): exit 0, no summary warning', async () => {
      const run = await act(
        inputs({ 'connection-name': 'local-no-summary', 'connection-string': CS }),
        { GITHUB_STEP_SUMMARY: '' }
      )
      expect(run.code).toBe(0)
      expect(run.lines.filter((l) => l.startsWith('::warning'))).toEqual([])
      expect(run.summary).toBe('')
      expect(run.outputs.operation).toBe('created')
    })
  })
})
