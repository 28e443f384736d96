/**
 * Eight ways the step's output leaked a secret or carried a forged workflow command, each run
 * in-process against the simulator (the action's run() with the runner's stand-in for
 * @actions/core, support/in-process.ts) and judged the way the runner would see it: lines split
 * and masked with the registered strings only, and every `::cmd::` at a line start or `##[cmd]`
 * anywhere read as a command.
 */
import { describe, it, expect } from '@jest/globals'
import type { Simulator } from '../simulator/server.js'
import type { ActionRun } from '../simulator/run-action.js'
import { expectRunnerSafe, forgedCommands, runnerLeaks, runnerLines } from './support/leaks.js'
import {
  expectNoMalformedIdSent,
  expectOneError,
  LIST_PATH,
  parts,
  RUN_URL,
  runHostile,
  SANDBOX,
  VALID_ID,
  withSim as withSimulator
} from './support/hostile.js'

const CLIENT_SECRET = 'cs-REPRO-5v2k+/=Lq~secret'

const withSim = (fn: (sim: Simulator) => Promise<void>) =>
  withSimulator({ clientSecret: CLIENT_SECRET }, fn)

const run = (sim: Simulator, name: string, extra: Record<string, string>) =>
  runHostile(sim, name, extra)

const warningLines = (r: ActionRun) => r.lines.filter((l) => l.startsWith('::warning'))

describe('1. squashed or shortened error text', () => {
  it.concurrent.each([
    ['LF', 'line1-Alpha\nline2-Bravo'],
    ['CRLF', 'line1-Alpha\r\nline2-Bravo'],
    ['tab', 'line1-Alpha\tline2-Bravo'],
    ['double space', 'line1-Alpha  line2-Bravo']
  ])('a 400 echoing the connection string, password with %s: nothing shows', (_l, password) =>
    withSim(async (sim) => {
      sim.inject({
        match: { method: 'POST', path: LIST_PATH },
        action: {
          type: 'echo',
          status: 400,
          message: 'Invalid connection string: {connectionString}'
        }
      })
      const r = await run(sim, 'repro-1-multiline', parts(password))
      expect(expectOneError(r)).toMatch(/creating the connection failed: HTTP 400/)
      expectRunnerSafe(r, { atomic: [password, CLIENT_SECRET] })
    })
  )

  it.concurrent('a 400 echoing a long password past character 300: no part of it shows', () =>
    withSim(async (sim) => {
      const password = 'Zq7' + 'K'.repeat(40) + 'x9-'.repeat(100)
      sim.inject({
        match: { method: 'POST', path: LIST_PATH },
        action: {
          type: 'echo',
          status: 400,
          message: 'Invalid connection string: {connectionString}'
        }
      })
      const r = await run(sim, 'repro-1-long', parts(password))
      expectOneError(r)
      expectRunnerSafe(r, { atomic: [password, CLIENT_SECRET] })
    })
  )

  it.concurrent('a 403 echoing a long bearer token: no part of it shows', () =>
    withSim(async (sim) => {
      const token = sim.issueToken()
      sim.inject({
        match: { method: 'GET', path: LIST_PATH },
        action: {
          type: 'echo',
          status: 403,
          shape: 'gateway',
          code: '403003',
          message: `${'Request denied by the gateway policy. '.repeat(7)}Header was {authorization}`
        }
      })
      const r = await run(sim, 'repro-1-token', {
        ...parts('pw-Repro-Token-1'),
        'client-secret': '',
        'access-token': token
      })
      expectOneError(r)
      expectRunnerSafe(r, { atomic: [token, 'pw-Repro-Token-1'] })
    })
  )

  it.concurrent('the job summary of a failed connection test shows no part of it', () =>
    withSim(async (sim) => {
      const password = 'line1-Alpha\nline2-Bravo'
      sim.inject({
        match: { method: 'GET', path: /\/explore$/ },
        action: { type: 'echo', status: 400, message: 'Could not connect with {stored}' }
      })
      const r = await run(sim, 'repro-1-summary', {
        ...parts(password),
        'test-connection': 'true'
      })
      expectOneError(r)
      expect(r.summary).toMatch(/Could not connect/)
      expectRunnerSafe(r, { atomic: [password, CLIENT_SECRET] })
    })
  )
})

describe('2. \\u-escaped echoes', () => {
  it.concurrent.each([
    ['HTML-sensitive characters', `p&ss<w>rd'"-Q7x`],
    ['non-ASCII letters', 'pässwörd-Umlaut-9'],
    ['a surrogate pair', 'emoji-😀-Secret-3']
  ])('a message embedding the params as escaped JSON, password with %s', (_l, password) =>
    withSim(async (sim) => {
      sim.inject({
        match: { method: 'POST', path: LIST_PATH },
        action: {
          type: 'echo',
          status: 400,
          message: 'Invalid auth params {authParams:json}',
          escape: 'unicode'
        }
      })
      const r = await run(sim, 'repro-2-unicode', parts(password))
      expectOneError(r)
      expectRunnerSafe(r, { atomic: [password, CLIENT_SECRET] })
    })
  )
})

describe('3. multi-line secrets', () => {
  it.concurrent(
    'each line long enough and the whitespace-collapsed form are registered; a short line is not',
    () =>
      withSim(async (sim) => {
        const password = 'line1-Alpha\r\nline2-Bravo\nab'
        const r = await run(sim, 'repro-3-lines', parts(password))
        expect(r.code).toBe(0)
        const masks = r.lines.filter((l) => l.startsWith('::add-mask::')).map((l) => l.slice(12))
        expect(masks).toContain('line1-Alpha')
        expect(masks).toContain('line2-Bravo')
        expect(masks).toContain('line1-Alpha line2-Bravo ab')
        expect(masks).not.toContain('ab')
        // A line printed on its own (as a server splitting its message would) is masked.
        const fake: ActionRun = { ...r, lines: [...r.lines, 'x line2-Bravo y'] }
        expect(runnerLeaks(fake, { atomic: [password] })).toEqual([])
      })
  )
})

describe('4. an output equal to a secret', () => {
  it.concurrent('password "created": a warning names the operation output', () =>
    withSim(async (sim) => {
      const r = await run(sim, 'repro-4-output', parts('created'))
      expect(r.code).toBe(0)
      expect(r.outputs.operation).toBe('created')
      const warning = warningLines(r).find((w) => /\boperation\b/.test(w))
      expect(warning).toMatch(/secret/)
      // The id output stays usable.
      expect(r.outputs['connection-id']).toMatch(VALID_ID)
    })
  )
})

describe('5. workflow commands in user values', () => {
  it.concurrent.each([
    'x ##[set-output name=connection-id;]attacker-id',
    'x ##[add-mask]would-update',
    'x ##[error]Credentials leaked',
    'x ##[stop-commands]tok123'
  ])('connection-name %j with if-exists fail: no command reaches the runner', (name) =>
    withSim(async (sim) => {
      sim.seedConnection(SANDBOX, { name })
      const r = await run(sim, name, { ...parts('pw-Repro-5'), 'if-exists': 'fail' })
      expect(forgedCommands(r)).toEqual([])
      expect(expectOneError(r)).toMatch(/already exists/)
    })
  )

  it.concurrent('a description in the dry-run plan: no command reaches the runner', () =>
    withSim(async (sim) => {
      const r = await run(sim, 'repro-5-description', {
        ...parts('pw-Repro-5d'),
        description: 'ok ##[set-output name=operation;]created',
        'dry-run': 'true'
      })
      expect(r.code).toBe(0)
      expect(forgedCommands(r)).toEqual([])
      expect(r.lines.join('\n')).toMatch(/would-create/)
    })
  )
})

describe('6. server-supplied values', () => {
  it.concurrent(
    'a create answering a forged id prints no annotation and sends nothing with it',
    () =>
      withSim(async (sim) => {
        sim.inject({
          match: { method: 'POST', path: LIST_PATH },
          action: {
            type: 'rewrite',
            edit: (reply) => ({
              ...(reply as object),
              id: 'abc\n::error title=Security::Credentials leaked, rotate now'
            })
          }
        })
        const r = await run(sim, 'repro-6-post', parts('pw-Repro-6a'))
        expect(forgedCommands(r)).toEqual([])
        expect(r.lines.join('\n')).not.toMatch(/Credentials leaked/)
        expectNoMalformedIdSent(sim)
        if (r.code === 0) expect(r.outputs['connection-id']).toMatch(VALID_ID)
        else expectOneError(r)
      })
  )

  it.concurrent('a listed id carrying an add-mask command hides no output', () =>
    withSim(async (sim) => {
      const seeded = sim.seedConnection(SANDBOX, { name: 'repro-6-list' })
      sim.inject({
        match: { method: 'GET', path: LIST_PATH },
        action: {
          type: 'rewrite',
          edit: (reply) => {
            const r = reply as { items: Array<{ id: string }> }
            for (const i of r.items) i.id = `${seeded.id}\n::add-mask::would-update`
            return r
          }
        }
      })
      const r = await run(sim, 'repro-6-list', { ...parts('pw-Repro-6b'), 'dry-run': 'true' })
      expect(forgedCommands(r)).toEqual([])
      expect(runnerLines(r.lines.join('\n'))).not.toContain('::add-mask::would-update')
      expectOneError(r)
      expectNoMalformedIdSent(sim)
    })
  )

  it.concurrent('an id of ".." is never sent: no DELETE of the collection, exit 1', () =>
    withSim(async (sim) => {
      sim.seedConnection(SANDBOX, { name: 'repro-6-dotdot' })
      sim.inject({
        match: { method: 'GET', path: LIST_PATH },
        action: {
          type: 'rewrite',
          edit: (reply) => {
            const r = reply as { items: Array<{ id: string }> }
            for (const i of r.items) i.id = '..'
            return r
          }
        }
      })
      const r = await run(sim, 'repro-6-dotdot', { state: 'absent' })
      expectOneError(r)
      expect(sim.requests.filter((q) => q.method === 'DELETE')).toEqual([])
      expect(sim.connections(SANDBOX)).toHaveLength(1)
      expectNoMalformedIdSent(sim)
    })
  )
})

describe('7. header values', () => {
  it.concurrent('a client-id with an emoji: an input error naming client-id, nothing sent', () =>
    withSim(async (sim) => {
      const token = sim.issueToken()
      const r = await run(sim, 'repro-7-client', {
        ...parts('pw-Repro-7a'),
        'client-id': 'client-😀',
        'client-secret': '',
        'access-token': token
      })
      expect(expectOneError(r)).toMatch(/Invalid input 'client-id'/)
      expect(sim.requests).toEqual([])
    })
  )

  it.concurrent('an access-token with a newline: an input error naming it, nothing sent', () =>
    withSim(async (sim) => {
      const token = `${sim.issueToken()}\nsecond-line-of-token`
      const r = await run(sim, 'repro-7-token', {
        ...parts('pw-Repro-7b'),
        'client-secret': '',
        'access-token': token
      })
      expect(expectOneError(r)).toMatch(/Invalid input 'access-token'/)
      expect(sim.requests).toEqual([])
      expectRunnerSafe(r, { atomic: [token] })
    })
  )

  it.concurrent('an IMS token with a control character: an error naming IMS, no retry', () =>
    withSim(async (sim) => {
      let issued = ''
      sim.inject({
        match: { service: 'ims' },
        action: {
          type: 'rewrite',
          edit: (reply) => {
            const r = reply as { access_token: string }
            issued = `${r.access_token}\u0007bell`
            return { ...r, access_token: issued }
          }
        }
      })
      const r = await run(sim, 'repro-7-ims', parts('pw-Repro-7c'))
      expect(expectOneError(r)).toMatch(/IMS/)
      expect(sim.requests.filter((q) => q.service === 'ims')).toHaveLength(1)
      expect(sim.requests.filter((q) => q.service === 'flow')).toEqual([])
      expectRunnerSafe(r, { atomic: [issued, CLIENT_SECRET] })
    })
  )
})

describe('8. a job summary on failure', () => {
  const expectFailureSummary = (r: ActionRun) => {
    expect(r.summary).toMatch(/failed/i)
    expect(r.summary).toContain(RUN_URL)
  }

  it.concurrent('if-exists fail', () =>
    withSim(async (sim) => {
      sim.seedConnection(SANDBOX, { name: 'repro-8-exists' })
      const r = await run(sim, 'repro-8-exists', { ...parts('pw-Repro-8a'), 'if-exists': 'fail' })
      expectOneError(r)
      expectFailureSummary(r)
      expect(r.summary).toMatch(/already exists/)
    })
  )

  it.concurrent('an unknown sandbox', () =>
    withSim(async (sim) => {
      const r = await run(sim, 'repro-8-sandbox', {
        ...parts('pw-Repro-8b'),
        'sandbox-name': 'nosuchbox'
      })
      expectOneError(r)
      expectFailureSummary(r)
      expect(r.summary).toMatch(/sandbox/)
    })
  )

  it.concurrent('a rejected token', () =>
    withSim(async (sim) => {
      const r = await run(sim, 'repro-8-token', {
        ...parts('pw-Repro-8c'),
        'client-secret': '',
        'access-token': 'not-a-token-the-simulator-issued'
      })
      expectOneError(r)
      expectFailureSummary(r)
      expect(r.summary).toMatch(/HTTP 401/)
      expectRunnerSafe(r, { atomic: ['not-a-token-the-simulator-issued'] })
    })
  )

  it.concurrent('invalid inputs: the summary lists the inputs to fix', () =>
    withSim(async (sim) => {
      const r = await run(sim, 'repro-8-inputs', {
        ...parts('pw-Repro-8d'),
        port: 'abc',
        'if-exists': 'replace'
      })
      expect(r.code).toBe(1)
      expectFailureSummary(r)
      expect(r.summary).toContain('port')
      expect(r.summary).toContain('if-exists')
      expect(sim.requests).toEqual([])
    })
  )
})
