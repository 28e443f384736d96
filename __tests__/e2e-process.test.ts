/**
 * What only a real process shows: the bundle (dist/index.js) run as the runner runs it
 * (simulator/run-action.js: INPUT_* variables, the GITHUB_* files, a clean environment). The
 * other runs of the action are in-process (inproc-*.test.ts); each case here says what it needs
 * a process for, and covers that once.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startSimulator } from '../simulator/server.js'
import { defaultEntry, runAction, type ActionRun } from '../simulator/run-action.js'
import { expectOneError, LIST_PATH, RUN_URL, runHostile, withSim } from './support/hostile.js'
import {
  expectMasksFirst,
  expectNoLeaks,
  expectRunnerSafe,
  flowTokens,
  forgedCommands,
  runnerLeaks,
  simulatorSecrets
} from './support/leaks.js'
import { adobeInputs } from './support/sim-inputs.js'

// Needs a process: the exit code, stdout and stderr of the bundle as the runner reads them (an
// in-process run has the stand-in's exit code and text). One case of each kind the in-process
// files cover in full: a lifecycle, a leak, an injection, a bad input.
describe('the exit code and the log of a real process, as the runner masks them', () => {
  const PASSWORD = 'pw-Process-5Kq!'
  const HOSTILE_SECRET = 'cs-PROCESS-2m7w+/=Rq~secret'
  const NEW_PASSWORD = 'pw-Process-Rotated-8Zw'

  it('create, update, delete: exit 0 each, the outputs, nothing secret in what the runner shows', async () => {
    const sim = await startSimulator()
    try {
      const name = 'process-lifecycle'
      const given = (password: string, extra: Record<string, string> = {}) => ({
        ...adobeInputs(sim, 'prod', { 'client-secret': sim.clientSecret }),
        'connection-name': name,
        server: 'db.process.example.com',
        database: 'orders',
        username: 'etl',
        password,
        ...extra
      })
      const act = async (inputs: Record<string, string>): Promise<ActionRun> => {
        const r = await runAction({ inputs, timeoutMs: 30_000 })
        expect(r.timedOut).toBeUndefined()
        expect(r.stderr).toBe('')
        expectNoLeaks(r, [PASSWORD, NEW_PASSWORD, ...simulatorSecrets(sim)])
        expectRunnerSafe(r, {
          atomic: [PASSWORD, NEW_PASSWORD, sim.clientSecret, ...flowTokens(sim)],
          composite: simulatorSecrets(sim)
        })
        expectMasksFirst(r)
        return r
      }

      const created = await act(given(PASSWORD))
      expect(created.code).toBe(0)
      const [conn] = sim.connections('prod')
      expect(created.outputs).toMatchObject({ operation: 'created', 'connection-id': conn?.id })
      expect(created.summary).toContain('<td>Operation</td><td>created</td>')

      const updated = await act(given(NEW_PASSWORD))
      expect(updated.code).toBe(0)
      expect(updated.outputs).toMatchObject({ operation: 'updated', 'connection-id': conn?.id })
      expect(sim.connections('prod')).toHaveLength(1)
      expect(sim.connections('prod')[0]?.auth.params.connectionString).toContain(NEW_PASSWORD)

      const deleted = await act(given(NEW_PASSWORD, { state: 'absent' }))
      expect(deleted.code).toBe(0)
      expect(deleted.outputs).toMatchObject({ operation: 'deleted', 'connection-id': conn?.id })
      expect(sim.connections('prod')).toEqual([])
    } finally {
      await sim.close()
    }
  })

  it('a secret echoed back with CRLF in a 400 (one case of inproc-leak-matrix): exit 1, nothing shows', () =>
    withSim({ clientSecret: HOSTILE_SECRET }, async (sim) => {
      const password = 'line1-Alpha\r\nline2-Bravo-CR'
      sim.inject({
        match: { method: 'POST', path: LIST_PATH },
        action: {
          type: 'echo',
          status: 400,
          message: 'Invalid connection string: {connectionString}'
        }
      })
      const r = await runHostile(
        sim,
        'process-leak',
        {
          server: 'db.hostile.example.com',
          database: 'analytics',
          username: 'svc_loader',
          password
        },
        { debug: true, process: true }
      )
      expect(expectOneError(r)).toMatch(/creating the connection failed: HTTP 400/)
      const stored = sim.connections().map((c) => String(c.auth.params.connectionString))
      expect(
        runnerLeaks(r, {
          atomic: [password, HOSTILE_SECRET, ...flowTokens(sim)],
          composite: [
            ...stored,
            ...sim.requests.flatMap((q) => (q.service === 'flow' && q.body ? [q.body] : []))
          ]
        })
      ).toEqual([])
      expect(forgedCommands(r)).toEqual([])
      expect(r.summary).toMatch(/failed/)
      expect(r.summary).toContain(RUN_URL)
    }))

  it('a workflow command after a lone CR in an error message (one case of inproc-injection-matrix): read as text', () =>
    withSim({ clientSecret: HOSTILE_SECRET }, async (sim) => {
      const M = 'INJ'
      sim.inject({
        match: { method: 'POST', path: LIST_PATH },
        action: { type: 'echo', status: 400, message: `bad name\r::warning::${M} lone CR and more` }
      })
      const r = await runHostile(
        sim,
        'process-injection',
        {
          server: 'db.hostile.example.com',
          database: 'analytics',
          username: 'svc_loader',
          password: PASSWORD
        },
        { process: true }
      )
      expect(expectOneError(r)).toMatch(/creating the connection failed: HTTP 400/)
      expect(forgedCommands(r, M)).toEqual([])
      expect(runnerLeaks(r, { atomic: [PASSWORD, HOSTILE_SECRET] })).toEqual([])
    }))

  it('an invalid input set (one case of inproc-bad-inputs): exit 1 naming it, nothing sent', async () => {
    const sim = await startSimulator()
    try {
      const urlPassword = 'UrlPw-1-m3$k@/'
      const csPassword = 'CsPw-1-x7!q{;}'
      const inputs = {
        'client-id': 'bad-inputs-client-1',
        'client-secret': 'ClientSecret-1-Qw8+/=kZ',
        'ims-org-id': 'BADINPUTS0123@AdobeOrg',
        'sandbox-name': 'prod',
        'platform-url': sim.url,
        'ims-url': sim.url,
        'connection-name': 'bad-input-set-1',
        'connection-string': `Server=db.bad.example.com;Database=app;Port=5432;UID=app_user;Password={${csPassword.replace(/}/g, '}}')}}`,
        'postgres-url': `postgresql://app_user:${encodeURIComponent(urlPassword)}@db.bad.example.com:5432/app?sslmode=require`
      }
      const r = await runAction({ inputs, timeoutMs: 30_000 })
      expect(r.timedOut).toBeUndefined()
      expect(r.code).toBe(1)
      const errors = r.lines.filter((l) => l.startsWith('::error::'))
      expect(errors.some((l) => l.includes(`Invalid input 'postgres-url'`))).toBe(true)
      expect(errors.at(-1)).toMatch(/\(nothing was sent to Adobe\)$/)
      expect(r.outputs).toEqual({})
      expect(sim.stats()).toEqual({ requests: 0, tcpConnections: 0, mutations: 0 })
      expectNoLeaks(r, [
        inputs['client-secret'],
        inputs['connection-string'],
        inputs['postgres-url'],
        urlPassword,
        csPassword
      ])
      expect(forgedCommands(r)).toEqual([])
    } finally {
      await sim.close()
    }
  })

  it('a GITHUB_STEP_SUMMARY that cannot be written: still exit 0, with a warning', async () => {
    // Needs a process: the real @actions/core writes the summary file (the in-process stand-in
    // keeps its text).
    const sim = await startSimulator()
    const dir = await mkdtemp(path.join(tmpdir(), 'summary-dir-'))
    try {
      const token = sim.issueToken()
      const r = await runAction({
        inputs: {
          ...adobeInputs(sim, 'stage', { 'access-token': token }),
          'connection-name': 'no-summary',
          'connection-string': `Server=pg.stage.example.com;Database=sales;Port=5432;UID=aep;Password=${PASSWORD}`
        },
        // A directory: the file cannot be appended to.
        env: { GITHUB_STEP_SUMMARY: dir },
        timeoutMs: 30_000
      })
      expect(r.code).toBe(0)
      const warnings = r.lines.filter((l) => l.startsWith('::warning'))
      expect(warnings.some((w) => /summary/i.test(w))).toBe(true)
      expect(r.lines.filter((l) => l.startsWith('::error::'))).toEqual([])
      expect(r.outputs.operation).toBe('created')
      expect(sim.connections('stage')).toHaveLength(1)
      expectNoLeaks(r, [PASSWORD, token, ...simulatorSecrets(sim)])
      expectMasksFirst(r)
      expect(forgedCommands(r)).toEqual([])
    } finally {
      await sim.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  describe('ajv is loaded only when the spec is consulted', () => {
    // Needs a process: the bundle's lazily loaded chunk (the in-process runs import the source).
    let dir: string
    beforeAll(async () => {
      // dist/ without its lazily loaded chunks: only index.js and what it needs at start-up.
      dir = await mkdtemp(path.join(tmpdir(), 'dist-no-chunks-'))
      const dist = path.dirname(defaultEntry)
      const files = await readdir(dist)
      expect(files.filter((f) => /^\d+\.index\.js$/.test(f)).length).toBeGreaterThan(0)
      for (const f of files.filter((f) => !/^\d+\.index\.js/.test(f)))
        await copyFile(path.join(dist, f), path.join(dir, f))
    })
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('the default path runs without the ajv chunk; a dry run needs it', async () => {
      const sim = await startSimulator()
      try {
        const inputs = (extra: Record<string, string>) => ({
          ...adobeInputs(sim, 'prod', { 'access-token': sim.issueToken() }),
          server: 'db.spec.example.com',
          port: '5433',
          database: 'orders',
          username: 'etl_user',
          password: 'pw-Spec!9qZ',
          ...extra
        })
        const entry = path.join(dir, 'index.js')
        const ok = await runAction({
          inputs: inputs({ 'connection-name': 'no-chunk', 'auth-type': 'basic' }),
          entry,
          timeoutMs: 20_000
        })
        expect(ok.code).toBe(0)
        const dry = await runAction({
          inputs: inputs({ 'connection-name': 'no-chunk-dry', 'dry-run': 'true' }),
          entry,
          timeoutMs: 20_000
        })
        expect(dry.code).toBe(1)
        expect(dry.lines.filter((l) => l.startsWith('::error::')).join('\n')).toMatch(
          /Cannot find module|ERR_MODULE_NOT_FOUND|index\.js/
        )
      } finally {
        await sim.close()
      }
    })
  })
})
