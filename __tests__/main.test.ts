/**
 * src/main.ts run in-process through its `Deps` seam: a recording core, the real undici
 * transport, and the simulator on loopback. The end-to-end tests run the bundle in a child
 * process; these run the source, so coverage sees main.ts and the transport.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { run, type Deps } from '../src/connection/main.js'
import { systemClock } from '../src/platform/http.js'
import { githubContext } from '../src/platform/provenance.js'
import { startSimulator, type Simulator } from '../simulator/server.js'
import { fakeCore, type FakeCore } from './support/fake-core.js'
import { startProxy } from './support/proxy.js'
import { adobeInputs } from './support/sim-inputs.js'
import { FakeClock, res, scriptedTransport } from './unit-fakes.js'

const SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
const PASSWORD = 'pw-Inproc;ess}7'

describe('run() in-process through Deps', () => {
  let sim: Simulator

  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(async () => {
    await sim.close()
  })
  beforeEach(() => sim.reset())

  const database = (password = PASSWORD) => ({
    server: 'db.example.com',
    database: 'orders',
    username: 'etl',
    password
  })

  /** Runs the step with the simulator's client credentials; `extra` wins. */
  async function step(extra: Record<string, string>, deps: Partial<Deps> = {}): Promise<FakeCore> {
    const core = fakeCore({
      ...adobeInputs(sim, 'prod', { 'client-secret': sim.clientSecret }),
      'connection-name': 'orders-db',
      ...extra
    })
    const env = {
      GITHUB_STEP_SUMMARY: '/dev/null',
      GITHUB_REPOSITORY: 'acme/warehouse',
      ...deps.env
    }
    await run({ core, clock: systemClock, github: githubContext(env), ...deps, env })
    return core
  }

  /** Nothing secret in any line the step printed, the summary or the outputs. */
  function expectNoSecrets(core: FakeCore, secrets: string[]) {
    const printed = [
      ...core.calls.filter((c) => c.kind !== 'setSecret').map((c) => c.text),
      ...core.summaryText,
      ...Object.values(core.outputs)
    ].join('\n')
    for (const s of secrets) expect(printed.includes(s)).toBe(false)
  }

  it('happy path: creates, tests, sets the outputs and writes a summary; a re-run updates', async () => {
    const first = await step({ ...database(), 'test-connection': 'true' })
    expect(first.failed()).toBeUndefined()
    const [stored] = sim.connections('prod')
    expect(sim.connections('prod')).toHaveLength(1)
    expect(first.outputs).toEqual({
      'connection-id': stored!.id,
      etag: stored!.etag,
      operation: 'created',
      'connection-spec-id': SPEC_ID,
      tables: '["public.customers","public.orders"]'
    })
    expect(stored!.auth.params.connectionString).toBe(
      'Server=db.example.com;Database=orders;Port=5432;UID=etl;Password={pw-Inproc;ess}}7}'
    )
    expect(first.lines('info')).toContain('Connection test passed: Flow Service sees 2 table(s)')
    expect(first.lines('info')).toContain(`created: connection ${stored!.id}`)
    // Outside debug mode the log is one line per decision, with no groups.
    expect(first.lines('group')).toEqual([])
    expect(first.summaryText).toEqual(
      expect.arrayContaining([
        'Operation | created',
        `Connection id | ${stored!.id}`,
        'Connection test | passed: Flow Service sees 2 table(s)'
      ])
    )
    // Every secret was registered before the step said anything.
    const firstInfo = first.calls.findIndex((c) => c.kind === 'info')
    const lastMask = first.calls.map((c) => c.kind).lastIndexOf('setSecret')
    expect(lastMask).toBeLessThan(firstInfo)
    expect(first.secrets).toEqual(expect.arrayContaining([PASSWORD, sim.clientSecret]))
    expectNoSecrets(first, [PASSWORD, sim.clientSecret])

    const second = await step(database('pw-Rotated-2'))
    expect(second.failed()).toBeUndefined()
    expect(second.outputs.operation).toBe('updated')
    expect(second.outputs['connection-id']).toBe(stored!.id)
    expect(sim.connections('prod')).toHaveLength(1)
    expect(sim.connections('prod')[0]!.auth.params.connectionString).toContain(
      'Password=pw-Rotated-2'
    )
  })

  it('an update that meets a concurrent change (412) re-reads and retries once', async () => {
    const existing = sim.seedConnection('prod', { name: 'orders-db' })
    sim.inject({ match: { method: 'PATCH' }, action: { type: 'concurrent-update' } })
    const connectionString = `Server=db;Database=orders;UID=etl;PWD={${PASSWORD.replace('}', '}}')}}`
    const core = await step({ 'connection-string': connectionString })
    expect(core.failed()).toBeUndefined()
    expect(core.outputs).toMatchObject({ operation: 'updated', 'connection-id': existing.id })
    expect(core.lines('info')).toContain(
      'updating the connection: it changed since it was read (HTTP 412); re-reading and retrying'
    )
    expect(sim.requests.filter((r) => r.method === 'PATCH').map((r) => r.status)).toEqual([
      412, 200
    ])
    // The password inside a given connection string is masked on its own too.
    expect(core.secrets).toEqual(expect.arrayContaining([connectionString, PASSWORD]))
    expectNoSecrets(core, [PASSWORD, connectionString])
  })

  it('without GITHUB_STEP_SUMMARY (a local run) no summary is written and nothing warns', async () => {
    const core = fakeCore({
      ...adobeInputs(sim, 'prod', { 'client-secret': sim.clientSecret }),
      'connection-name': 'orders-db',
      ...database()
    })
    await run({ core, clock: systemClock, env: {}, github: githubContext({}) })
    expect(core.outputs.operation).toBe('created')
    expect(core.summaryText).toEqual([])
    expect(core.lines('warning')).toEqual([])
    expect(core.lines('debug')).toContain('GITHUB_STEP_SUMMARY is not set: no job summary written')
  })

  it('failure path: if-exists fail names the existing id, exit status set, nothing changed', async () => {
    const existing = sim.seedConnection('prod', { name: 'orders-db' })
    const core = await step({ ...database(), 'if-exists': 'fail' })
    expect(core.failed()).toContain(existing.id)
    expect(core.outputs).toEqual({})
    expect(sim.stats().mutations).toBe(0)
    expectNoSecrets(core, [PASSWORD, sim.clientSecret])
  })

  it('failure path: invalid inputs fail before any request, one error per problem', async () => {
    const core = await step({ ...database(), 'if-exists': 'replace', 'timeout-seconds': '0' })
    expect([...core.lines('error'), core.failed()]).toEqual([
      expect.stringContaining("Invalid input 'if-exists'"),
      expect.stringMatching(/^Invalid input 'timeout-seconds'.*\(nothing was sent to Adobe\)$/)
    ])
    expect(sim.requests).toEqual([])
  })

  it('failure path: a failed connection test fails the step after the outputs are set', async () => {
    sim.inject({
      match: { method: 'GET', path: /\/explore$/ },
      action: {
        type: 'status',
        status: 400,
        body: JSON.stringify({
          code: 'FLOW-1234-400',
          message: 'could not connect to the database'
        })
      }
    })
    const core = await step({ ...database(), 'test-connection': 'true' })
    expect(core.outputs.operation).toBe('created')
    expect(core.failed()).toContain('could not connect to the database')
    expect(core.summaryText.join('\n')).toMatch(/Connection test \| failed: .*could not connect/)
  })

  it('dry run: read-only calls, the plan with secrets as ***, and would-create', async () => {
    const core = await step({ ...database(), 'dry-run': 'true', 'test-connection': 'true' })
    expect(core.failed()).toBeUndefined()
    expect(core.outputs.operation).toBe('would-create')
    expect(sim.stats().mutations).toBe(0)
    // Read-only: the lookup, and the connection spec the plan is checked against.
    expect(
      sim.requests.filter((r) => r.service === 'flow').map((r) => `${r.method} ${r.path}`)
    ).toEqual([
      'GET /data/foundation/flowservice/connections',
      `GET /data/foundation/flowservice/connectionSpecs/${SPEC_ID}`
    ])
    // The plan is one collapsible group; the outcome and the skipped test are plain lines that
    // agree with the summary.
    const printed = core.calls.filter((c) => ['info', 'group', 'endgroup'].includes(c.kind))
    const open = printed.findIndex((c) => c.kind === 'group')
    const close = printed.findIndex((c) => c.kind === 'endgroup')
    expect(printed[open]!.text).toBe(
      'Dry run: would-create. The request that would be sent (secrets shown as ***)'
    )
    const plan = printed.slice(open + 1, close).map((c) => c.text)
    expect(plan[0]).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+\/data\/foundation\/flowservice\/connections$/
    )
    // The JSON body follows, one guarded log line per line of it.
    expect(JSON.parse(plan.slice(1).join('\n')).auth.params.connectionString).toBe('***')
    expect(printed.slice(close + 1).map((c) => c.text)).toEqual([
      'would-create: no connection named "orders-db" exists yet (dry run: nothing was changed)',
      'Connection test: skipped (dry run)'
    ])
    expect(core.summaryText).toEqual(
      expect.arrayContaining([
        'Operation | would-create (dry run)',
        'Connection test | skipped (dry run)'
      ])
    )
    expectNoSecrets(core, [PASSWORD, sim.clientSecret])
  })

  it('state absent: deletes the connection, then reports nothing left to delete', async () => {
    const existing = sim.seedConnection('prod', { name: 'orders-db' })
    const gone = await step({ state: 'absent' })
    expect(gone.outputs).toMatchObject({ operation: 'deleted', 'connection-id': existing.id })
    expect(gone.lines('info')).toContain(`deleted: connection ${existing.id}`)
    const again = await step({ state: 'absent', 'test-connection': 'true' })
    expect(again.outputs).toMatchObject({ operation: 'absent', 'connection-id': '' })
    expect(again.lines('info').slice(-2)).toEqual([
      'absent: no connection named "orders-db" exists in sandbox prod; nothing to delete',
      'Connection test: skipped (state absent)'
    ])
    expect(again.summaryText).toContain('Connection test | skipped (state absent)')
    expect(sim.connections('prod')).toEqual([])
  })

  it('debug mode traces method, URL, status and request id, never a body', async () => {
    const core = await step(database(), { env: { RUNNER_DEBUG: '1' } })
    const debug = core.lines('debug')
    expect(debug).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^POST http:\/\/127\.0\.0\.1:\d+\/ims\/token\/v3 -> 200/),
        expect.stringMatching(/^POST .*\/connections -> 201 \(request id [\w-]+\)$/)
      ])
    )
    expect(debug.join('\n')).not.toContain('connectionString')
    // Each phase's trace is folded into a group; the token request comes first, outside them.
    const shape = core.calls
      .filter((c) => ['info', 'debug', 'group', 'endgroup'].includes(c.kind))
      .map((c) =>
        c.kind === 'debug' ? `debug ${c.text.split(' ')[0]}` : `${c.kind} ${c.text}`.trim()
      )
      .filter((l) => l !== 'debug GITHUB_STEP_SUMMARY')
    expect(shape).toEqual([
      'debug POST',
      'info Looking up PostgreSQL connection "orders-db" in sandbox prod',
      'group Requests: looking up the connection',
      'debug GET',
      'endgroup',
      'group Requests: creating the connection',
      'debug POST',
      // The lookup after a create that makes sure this run's connection is the only one.
      'debug GET',
      'endgroup',
      expect.stringMatching(/^info created: connection /)
    ])
  })

  it('a refused connection is retried, then fails saying it could not connect', async () => {
    const closed = await startSimulator()
    const url = closed.url
    await closed.close()
    const clock = new FakeClock()
    const core = await step(
      { ...database(), 'platform-url': url, 'ims-url': url, 'max-attempts': '2' },
      { clock }
    )
    expect(core.failed()).toMatch(/could not connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
    expect(clock.sleeps).toHaveLength(1)
  })

  it('proxy credentials are masked before anything prints; a 407 names the proxy, not them', async () => {
    const proxy = await startProxy({ hosts: {}, auth: 'refuse' })
    try {
      const proxyUrl = `http://svc:Pr0xy%40pw@127.0.0.1:${proxy.port}`
      const env = { GITHUB_STEP_SUMMARY: '/dev/null', HTTPS_PROXY: proxyUrl }
      const core = await step(
        { ...database(), 'ims-url': 'https://ims.sim.test', 'platform-url': 'https://p.sim.test' },
        { env, github: githubContext(env) }
      )
      expect(core.failed()).toBe(
        `IMS token request failed: the proxy 127.0.0.1:${proxy.port} (HTTPS_PROXY) asked for credentials (HTTP 407 Proxy Authentication Required); it did not accept the user and password in HTTPS_PROXY`
      )
      expect(proxy.tunnels.map((t) => t.target)).toEqual(['ims.sim.test:443'])
      expect(core.secrets).toEqual(expect.arrayContaining(['Pr0xy@pw', 'svc:Pr0xy@pw', proxyUrl]))
      expect(core.calls[0]?.kind).toBe('setSecret')
      expectNoSecrets(core, ['Pr0xy@pw', 'Pr0xy%40pw', proxyUrl])
    } finally {
      await proxy.close()
    }
  })

  it('an unusable proxy variable fails before anything is sent', async () => {
    const env = { HTTPS_PROXY: 'socks5://u:pw-9z@proxy.corp:1080' }
    const core = await step(
      { ...database(), 'ims-url': 'https://ims.sim.test', 'platform-url': 'https://p.sim.test' },
      { env, github: githubContext(env) }
    )
    expect(core.failed()).toBe(
      'HTTPS_PROXY names a socks5 proxy; only http:// and https:// proxies are supported'
    )
    expectNoSecrets(core, ['pw-9z'])
  })

  it('a reset connection and a stalled reply are told apart', async () => {
    sim.inject({ match: { service: 'ims' }, times: 5, action: { type: 'reset' } })
    const reset = await step({ ...database(), 'max-attempts': '1' })
    expect(reset.failed()).toMatch(/connection reset before a response/)

    sim.clearFaults()
    sim.inject({ match: { service: 'ims' }, action: { type: 'delay', ms: 1500 } })
    const stalled = await step({ ...database(), 'max-attempts': '1', 'timeout-seconds': '1' })
    expect(stalled.failed()).toMatch(
      /^IMS token request failed: no response within \d+ ms \(the step's timeout-seconds ran out\)/
    )
  })

  it('takes the transport from Deps when one is given (no socket is opened)', async () => {
    const transport = scriptedTransport([
      res(200, { items: [] }),
      res(201, { id: 'abc-123', etag: '"e1"' }),
      // The lookup after a create: only this run's connection has the name.
      res(200, {
        items: [{ id: 'abc-123', name: 'orders-db', connectionSpec: { id: SPEC_ID }, createdAt: 1 }]
      })
    ])
    const core = await step(
      { ...database(), 'access-token': 'tok-given', 'client-secret': '' },
      { transport, clock: new FakeClock() }
    )
    expect(core.failed()).toBeUndefined()
    expect(core.outputs).toMatchObject({ operation: 'created', 'connection-id': 'abc-123' })
    expect(transport.calls.map((c) => c.req.method)).toEqual(['GET', 'POST', 'GET'])
    expect(transport.calls[1]!.req.headers.authorization).toBe('Bearer tok-given')
  })

  it('a PATCH meeting a connection that started being deleted (1457): a new one is created', async () => {
    const going = sim.seedConnection('prod', { name: 'orders-db' })
    sim.inject({
      match: { method: 'PATCH' },
      action: { type: 'concurrent-state', state: 'delete-finalizing' }
    })
    const core = await step(database())
    expect(core.failed()).toBeUndefined()
    const live = sim.connections('prod').filter((c) => c.state !== 'delete-finalizing')
    expect(live).toHaveLength(1)
    expect(live[0]!.id).not.toBe(going.id)
    expect(core.outputs).toMatchObject({ operation: 'created', 'connection-id': live[0]!.id })
    expect(core.lines('info').join('\n')).toMatch(/started being deleted since the lookup \(1457\)/)
  })

  it('a failure after adopting a connection still sets connection-id and etag', async () => {
    // Another job's connection appears between the (stale) lookup and a POST that fails with 503.
    sim.inject({ match: { method: 'GET' }, action: { type: 'stale-list' } })
    sim.inject({
      match: { method: 'POST', service: 'flow' },
      action: { type: 'status', status: 503, headers: { 'retry-after': '0' } }
    })
    const other = sim.seedConnection('prod', { name: 'orders-db' })
    const core = await step({ ...database(), 'if-exists': 'fail' })
    expect(core.failed()).toMatch(/if-exists is fail, so it is not adopted/)
    expect(core.outputs).toEqual({ 'connection-id': other.id, etag: other.etag })
  })
})
