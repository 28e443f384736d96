/**
 * Fault injection: every case runs the action's run() in-process as the runner would
 * (support/in-process.ts), against its own simulator with faults injected, and checks the exit
 * code, the outputs, what the simulator holds afterwards (never two connections with one name)
 * and that no secret shows up in any line, the summary or the outputs. The action's clock is
 * instant (a wait costs nothing) unless a case needs the simulator's real delays to pass.
 */
import { describe, it, expect } from '@jest/globals'
import { startSimulator, type Simulator, type Fault } from '../simulator/server.js'
import type { ActionRun } from '../simulator/run-action.js'
import { systemClock, type Clock } from '../src/platform/http.js'
import { instantClock, runInProcess } from './support/in-process.js'
import { expectNoLeaks, forgedCommands, simulatorSecrets } from './support/leaks.js'
import { adobeInputs } from './support/sim-inputs.js'

const SANDBOX = 'prod'
const LIST_PATH = '/data/foundation/flowservice/connections'
const BY_ID_PATH = /^\/data\/foundation\/flowservice\/connections\/[^/]+$/
const CLIENT_SECRET = 'cs-FAULT-7f3a9+/=Zq~secret'
const DB_PASSWORD = 'pw-FAULT-9x;{y}=Q+/ p@ss'

/** Each case gets its own simulator, so faults (matched by path) cannot cross between cases. */
async function withSim(fn: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ clientSecret: CLIENT_SECRET })
  try {
    await fn(sim)
  } finally {
    await sim.close()
  }
}

function inputs(
  sim: Simulator,
  name: string,
  extra: Record<string, string> = {}
): Record<string, string> {
  return {
    ...adobeInputs(sim, SANDBOX, { 'client-secret': CLIENT_SECRET }),
    'connection-name': name,
    server: 'db.fault.example.com',
    database: 'analytics',
    username: 'svc_loader',
    password: DB_PASSWORD,
    // Each request may take a quarter of this in real time: the runs share one event loop, and
    // on a busy machine 2 s (at 8) timed some out. The cases about time set their own.
    'timeout-seconds': '20',
    ...extra
  }
}

const run = (
  sim: Simulator,
  name: string,
  extra: Record<string, string> = {},
  clock: Clock = instantClock()
) => runInProcess({ inputs: inputs(sim, name, extra), clock })

/**
 * After a failed POST, the name is listed until its mark shows or the wait is over (10 s at
 * most, and a quarter of the time left; growing pauses on the run's instant clock): here four
 * lookups that do not find it.
 */
const MARK_WAIT = Array<string>(4).fill('GET list 200')
const named = (sim: Simulator, name: string) => sim.connections().filter((c) => c.name === name)

const flowReqs = (sim: Simulator, method?: string) =>
  sim.requests.filter((r) => r.service === 'flow' && (!method || r.method === method))
const imsReqs = (sim: Simulator) => sim.requests.filter((r) => r.service === 'ims')
/** method + path (+ status) of each request, for order assertions and readable failures. */
const trace = (sim: Simulator) =>
  sim.requests.map(
    (r) =>
      `${r.method} ${r.path === LIST_PATH ? 'list' : BY_ID_PATH.test(r.path) ? 'id' : r.path} ${r.status}`
  )

const errorLines = (r: ActionRun) => r.lines.filter((l) => l.startsWith('::error'))

/** The single ::error line of a failed run. */
function theError(r: ActionRun): string {
  const errors = errorLines(r)
  expect(errors).toHaveLength(1)
  const line = errors[0] ?? ''
  // One line: no encoded newline inside, and short enough to read.
  expect(line).not.toMatch(/%0A|%0D/)
  expect(line.length).toBeLessThan(1200)
  return line
}

/** Checks that hold after every run: at most one connection per name, no secret anywhere. */
function invariants(sim: Simulator, r: ActionRun, name: string, secrets: string[] = []): void {
  expect(named(sim, name).length).toBeLessThanOrEqual(1)
  expect(r.timedOut).toBeUndefined()
  expectNoLeaks(r, [CLIENT_SECRET, DB_PASSWORD, ...simulatorSecrets(sim), ...secrets])
  expect(forgedCommands(r)).toEqual([])
}

function expectCreated(sim: Simulator, r: ActionRun, name: string): void {
  expect(r.code).toBe(0)
  expect(errorLines(r)).toEqual([])
  const [stored] = named(sim, name)
  expect(named(sim, name)).toHaveLength(1)
  expect(r.outputs).toEqual({
    'connection-id': stored?.id,
    etag: stored?.etag,
    operation: 'created',
    'connection-spec-id': '74a1c565-4e59-48d7-9d67-7c03b8a13137'
  })
  expect(stored?.auth.params.connectionString).toContain('Server=db.fault.example.com')
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until a delayed request the client gave up on has been performed (or 20 s passed). */
async function until(done: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await sleep(100)
}

const inject = (sim: Simulator, f: Fault) => sim.inject(f)

describe('retryable failures on idempotent calls', () => {
  it.concurrent('429 with Retry-After: 1 on the lookup: waits as told, then succeeds', () =>
    withSim(async (sim) => {
      const name = 'fault-429-lookup'
      inject(sim, {
        match: { method: 'GET', path: LIST_PATH },
        action: { type: 'status', status: 429, headers: { 'retry-after': '1' } }
      })
      const clock = instantClock()
      const started = clock.now()
      const r = await run(sim, name, {}, clock)
      expectCreated(sim, r, name)
      const retryLine = r.lines.find((l) => /attempt 1 of 5/.test(l))
      expect(retryLine).toMatch(/listing connections.*attempt 1 of 5 failed \(HTTP 429\)/)
      expect(retryLine).toMatch(/retrying in 1\.0 s/)
      // The run's own clock moves only when it waits: it waited the second it was told to.
      expect(clock.now() - started).toBeGreaterThanOrEqual(1000)
      expect(trace(sim)).toEqual([
        'POST /ims/token/v3 200',
        'GET list 429',
        'GET list 200',
        'POST list 201',
        'GET list 200'
      ])
      invariants(sim, r, name)
    })
  )

  it.concurrent('503 on the lookup, then success', () =>
    withSim(async (sim) => {
      const name = 'fault-503-lookup'
      inject(sim, {
        match: { method: 'GET', path: LIST_PATH },
        action: { type: 'status', status: 503, headers: { 'retry-after': '0' } }
      })
      const r = await run(sim, name)
      expectCreated(sim, r, name)
      expect(r.lines.some((l) => /attempt 1 of 5 failed \(HTTP 503\)/.test(l))).toBe(true)
      expect(flowReqs(sim, 'GET').map((q) => q.status)).toEqual([503, 200, 200])
      invariants(sim, r, name)
    })
  )

  it.concurrent('502 HTML page on every lookup, max-attempts 2: one clear error line', () =>
    withSim(async (sim) => {
      const name = 'fault-502-html'
      inject(sim, {
        match: { method: 'GET', path: LIST_PATH },
        times: Infinity,
        action: {
          type: 'status',
          status: 502,
          contentType: 'text/html',
          body: '<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>'
        }
      })
      const r = await run(sim, name, { 'max-attempts': '2' })
      expect(r.code).toBe(1)
      expect(r.outputs).toEqual({})
      const error = theError(r)
      expect(error).toMatch(/HTTP 502/)
      expect(error).toMatch(/HTML/)
      expect(error).not.toMatch(/<html|<body|<h1/i)
      expect(r.lines.join('\n')).not.toMatch(/<html/i)
      expect(flowReqs(sim, 'GET')).toHaveLength(2)
      expect(flowReqs(sim).filter((q) => q.method !== 'GET')).toEqual([])
      expect(sim.stats().mutations).toBe(0)
      invariants(sim, r, name)
    })
  )

  it.concurrent('429 on every lookup until max-attempts (3): rate-limit hint, no mutation', () =>
    withSim(async (sim) => {
      const name = 'fault-429-exhausted'
      inject(sim, {
        match: { method: 'GET', path: LIST_PATH },
        times: Infinity,
        action: { type: 'status', status: 429, headers: { 'retry-after': '0' } }
      })
      const r = await run(sim, name, { 'max-attempts': '3' })
      expect(r.code).toBe(1)
      const error = theError(r)
      expect(error).toMatch(/HTTP 429/)
      expect(error).toMatch(/rate limit/i)
      expect(flowReqs(sim, 'GET')).toHaveLength(3)
      expect(sim.stats().mutations).toBe(0)
      invariants(sim, r, name)
    })
  )

  it.concurrent('IMS answers 503 once: the token request is retried', () =>
    withSim(async (sim) => {
      const name = 'fault-ims-503'
      inject(sim, {
        match: { service: 'ims' },
        action: { type: 'status', status: 503, headers: { 'retry-after': '0' } }
      })
      const r = await run(sim, name)
      expectCreated(sim, r, name)
      expect(imsReqs(sim).map((q) => q.status)).toEqual([503, 200])
      expect(
        r.lines.some((l) => /IMS token request: attempt 1 of 5 failed \(HTTP 503\)/.test(l))
      ).toBe(true)
      invariants(sim, r, name)
    })
  )

  it.concurrent('504 on DELETE (state absent): retried, deleted', () =>
    withSim(async (sim) => {
      const name = 'fault-504-delete'
      const seeded = sim.seedConnection(SANDBOX, { name })
      inject(sim, {
        match: { method: 'DELETE', path: BY_ID_PATH },
        action: { type: 'status', status: 504, headers: { 'retry-after': '0' } }
      })
      const r = await run(sim, name, { state: 'absent' })
      expect(r.code).toBe(0)
      expect(r.outputs).toMatchObject({ operation: 'deleted', 'connection-id': seeded.id })
      expect(named(sim, name)).toHaveLength(0)
      expect(flowReqs(sim, 'DELETE').map((q) => q.status)).toEqual([504, 204])
      invariants(sim, r, name)
    })
  )

  it.concurrent(
    'DELETE performed but its answer lost: the retry sees 404 and reports deleted',
    () =>
      withSim(async (sim) => {
        const name = 'fault-ctr-delete'
        const seeded = sim.seedConnection(SANDBOX, { name })
        inject(sim, {
          match: { method: 'DELETE', path: BY_ID_PATH },
          action: { type: 'commit-then-reset' }
        })
        const r = await run(sim, name, { state: 'absent' })
        expect(r.code).toBe(0)
        expect(r.outputs).toMatchObject({ operation: 'deleted', 'connection-id': seeded.id })
        expect(named(sim, name)).toHaveLength(0)
        expect(flowReqs(sim, 'DELETE').map((q) => q.status)).toEqual([0, 404])
        expect(sim.stats().mutations).toBe(1)
        invariants(sim, r, name)
      })
  )
})

describe('the create (POST has no idempotency key)', () => {
  it.concurrent('429 on the POST: not performed, so retried; created once', () =>
    withSim(async (sim) => {
      const name = 'fault-429-post'
      inject(sim, {
        match: { method: 'POST', path: LIST_PATH },
        action: { type: 'status', status: 429, headers: { 'retry-after': '1' } }
      })
      const r = await run(sim, name)
      expectCreated(sim, r, name)
      expect(flowReqs(sim, 'POST').map((q) => q.status)).toEqual([429, 201])
      expect(
        r.lines.some((l) => /creating the connection: attempt 1 of 5 failed \(HTTP 429\)/.test(l))
      ).toBe(true)
      expect(sim.stats().mutations).toBe(1)
      invariants(sim, r, name)
    })
  )

  it.concurrent('reset before any response on the POST: looks the name up, then POSTs again', () =>
    withSim(async (sim) => {
      const name = 'fault-reset-post'
      inject(sim, { match: { method: 'POST', path: LIST_PATH }, action: { type: 'reset' } })
      const r = await run(sim, name)
      expectCreated(sim, r, name)
      // The name is looked up for the POST's mark before it is sent again (for up to 10 s).
      expect(trace(sim)).toEqual([
        'POST /ims/token/v3 200',
        'GET list 200',
        'POST list 0',
        ...MARK_WAIT,
        'POST list 201',
        'GET list 200'
      ])
      expect(
        r.lines.some((l) =>
          /looking for its mark \[aep-gha:[^\]]+\] before sending it again/.test(l)
        )
      ).toBe(true)
      invariants(sim, r, name)
    })
  )

  it.concurrent(
    'commit-then-reset on the POST: created but answer lost, found by its mark: created, nothing sent again',
    () =>
      withSim(async (sim) => {
        const name = 'fault-ctr-post'
        inject(sim, {
          match: { method: 'POST', path: LIST_PATH },
          action: { type: 'commit-then-reset' }
        })
        const r = await run(sim, name)
        expect(r.code).toBe(0)
        const [stored] = named(sim, name)
        // The copy found carries this run's mark: it is the one this run created.
        expect(r.outputs).toMatchObject({
          'connection-id': stored?.id,
          etag: stored?.etag,
          operation: 'created'
        })
        expect(flowReqs(sim, 'POST')).toHaveLength(1)
        expect(trace(sim)).toEqual([
          'POST /ims/token/v3 200',
          'GET list 200',
          'POST list 0',
          // Its mark is listed at once; then the check every create ends with.
          'GET list 200',
          'GET list 200'
        ])
        expect(r.lines.some((l) => /the connection this run created is listed \(id /.test(l))).toBe(
          true
        )
        expect(sim.stats().mutations).toBe(1)
        invariants(sim, r, name)
      })
  )

  it.concurrent.each([500, 502, 503, 504])(
    '%i on the POST (not performed): looks up, not found, POSTs again; one connection',
    (status) =>
      withSim(async (sim) => {
        const name = `fault-${status}-post`
        inject(sim, {
          match: { method: 'POST', path: LIST_PATH },
          action: { type: 'status', status, headers: { 'retry-after': '0' } }
        })
        const r = await run(sim, name)
        expectCreated(sim, r, name)
        expect(trace(sim)).toEqual([
          'POST /ims/token/v3 200',
          'GET list 200',
          `POST list ${status}`,
          ...MARK_WAIT,
          'POST list 201',
          'GET list 200'
        ])
        invariants(sim, r, name)
      })
  )

  it.concurrent(
    'POST slower than a per-request timeout (3 s at timeout-seconds 8): one connection',
    () =>
      withSim(async (sim) => {
        const name = 'fault-slow-post'
        const delay = 3000
        inject(sim, {
          match: { method: 'POST', path: LIST_PATH },
          action: { type: 'delay', ms: delay }
        })
        // Real time: the POST's timeout and the waits that follow must overlap the server's
        // real delay, as they would on a runner.
        const r = await run(sim, name, { 'timeout-seconds': '8' }, systemClock)
        // The simulator performs the delayed request even after the client gave up: wait for it.
        await until(() => sim.stats().mutations > 0)
        expectCreated(sim, r, name)
        expect(named(sim, name)).toHaveLength(1)
        expect(sim.stats().mutations).toBe(1)
        invariants(sim, r, name)
      })
  )

  it.concurrent(
    'POST slower than the whole deadline: fails, one connection later, a re-run adopts it',
    () =>
      withSim(async (sim) => {
        const name = 'fault-slower-than-deadline'
        const delay = 6000
        inject(sim, {
          match: { method: 'POST', path: LIST_PATH },
          action: { type: 'delay', ms: delay }
        })
        // Real time: the deadline must run out while the server's real delay is still going.
        const r = await run(sim, name, { 'timeout-seconds': '4' }, systemClock)
        expect(r.code).toBe(1)
        // The step gave up at its deadline, before the slow POST was answered (a load-proof
        // check: start-up time on a busy machine does not count against it).
        expect(named(sim, name)).toHaveLength(0)
        expect(r.durationMs).toBeLessThan(delay + 4000)
        const error = theError(r)
        expect(error).toMatch(/creating the connection/)
        expect(error).toMatch(/timeout-seconds|again/)
        // Only one POST was ever sent: a POST still in flight must not be sent a second time.
        expect(flowReqs(sim, 'POST')).toHaveLength(1)
        await until(() => named(sim, name).length > 0)
        expect(named(sim, name)).toHaveLength(1)
        invariants(sim, r, name)

        // The re-run finds it by name and updates it in place; still one connection.
        const again = await run(sim, name)
        expect(again.code).toBe(0)
        expect(again.outputs).toMatchObject({
          operation: 'updated',
          'connection-id': named(sim, name)[0]?.id
        })
        expect(named(sim, name)).toHaveLength(1)
        invariants(sim, again, name)
      })
  )
})

describe('the deadline', () => {
  it.concurrent('lookups that never answer in time: exit 1 within timeout-seconds 3 + margin', () =>
    withSim(async (sim) => {
      const name = 'fault-deadline'
      inject(sim, {
        match: { method: 'GET', path: LIST_PATH },
        times: Infinity,
        action: { type: 'delay', ms: 4000 }
      })
      // Real time: the deadline is what ends the server's real delays.
      const r = await run(sim, name, { 'timeout-seconds': '3' }, systemClock)
      expect(r.code).toBe(1)
      expect(r.durationMs).toBeLessThan(3000 + 2500)
      expect(r.outputs).toEqual({})
      const error = theError(r)
      expect(error).toMatch(/timeout-seconds/)
      expect(error).toMatch(/ran out|no response/)
      expect(flowReqs(sim).filter((q) => q.method !== 'GET')).toEqual([])
      expect(sim.stats().mutations).toBe(0)
      invariants(sim, r, name)
    })
  )
})

describe('tokens', () => {
  it.concurrent('a fetched token that expires after one use: one new token, then success', () =>
    withSim(async (sim) => {
      const name = 'fault-token-expiry'
      sim.configure({ tokenUses: 1 })
      const r = await run(sim, name)
      expectCreated(sim, r, name)
      expect(imsReqs(sim)).toHaveLength(3)
      expect(trace(sim)).toEqual([
        'POST /ims/token/v3 200',
        'GET list 200',
        'POST list 401',
        'POST /ims/token/v3 200',
        'POST list 201',
        'GET list 401',
        'POST /ims/token/v3 200',
        'GET list 200'
      ])
      expect(
        r.lines.some((l) => /token was rejected \(HTTP 401\); fetching a new one/.test(l))
      ).toBe(true)
      invariants(sim, r, name)
    })
  )

  it.concurrent(
    'a given access-token that expires after one use: exit 1, says it is invalid or expired',
    () =>
      withSim(async (sim) => {
        const name = 'fault-given-token-expiry'
        const token = sim.issueToken({ uses: 1 })
        const r = await run(sim, name, { 'client-secret': '', 'access-token': token })
        expect(r.code).toBe(1)
        const error = theError(r)
        expect(error).toMatch(/HTTP 401/)
        expect(error).toMatch(/access-token is invalid or expired/)
        expect(imsReqs(sim)).toHaveLength(0)
        expect(sim.stats().mutations).toBe(0)
        expect(named(sim, name)).toHaveLength(0)
        invariants(sim, r, name, [token])
      })
  )
})

describe('updates', () => {
  it.concurrent(
    '412 from a concurrent update: re-reads by id, retries once with the fresh etag',
    () =>
      withSim(async (sim) => {
        const name = 'fault-412'
        const seeded = sim.seedConnection(SANDBOX, { name })
        inject(sim, {
          match: { method: 'PATCH', path: BY_ID_PATH },
          action: { type: 'concurrent-update' }
        })
        const r = await run(sim, name)
        expect(r.code).toBe(0)
        const [stored] = named(sim, name)
        expect(r.outputs).toMatchObject({
          operation: 'updated',
          'connection-id': seeded.id,
          etag: stored?.etag
        })
        expect(trace(sim)).toEqual([
          'POST /ims/token/v3 200',
          'GET list 200',
          'PATCH id 412',
          'GET id 200',
          'PATCH id 200'
        ])
        const [first, second] = flowReqs(sim, 'PATCH')
        expect(first?.headers['if-match']).toBe(seeded.etag)
        // The simulator changed the etag before the first PATCH; the second PATCH was accepted,
        // so its If-Match is that fresh etag (not the seeded one, not the final one).
        expect(second?.headers['if-match']).not.toBe(seeded.etag)
        expect(second?.headers['if-match']).not.toBe(stored?.etag)
        expect(second?.headers['if-match']).toMatch(/^"[0-9a-f]{8}-0000-0200-0000-[0-9a-f]+"$/)
        expect(stored?.auth.params.connectionString).toContain('db.fault.example.com')
        invariants(sim, r, name)
      })
  )

  it.concurrent('PATCH performed but its answer lost: the retry gets 412, re-read, updated', () =>
    withSim(async (sim) => {
      const name = 'fault-ctr-patch'
      const seeded = sim.seedConnection(SANDBOX, { name })
      inject(sim, {
        match: { method: 'PATCH', path: BY_ID_PATH },
        action: { type: 'commit-then-reset' }
      })
      const r = await run(sim, name)
      expect(r.code).toBe(0)
      const [stored] = named(sim, name)
      expect(r.outputs).toMatchObject({
        operation: 'updated',
        'connection-id': seeded.id,
        etag: stored?.etag
      })
      expect(flowReqs(sim, 'PATCH').map((q) => q.status)).toEqual([0, 412, 200])
      invariants(sim, r, name)
    })
  )
})

describe('bad answers and bad state', () => {
  it.concurrent('invalid JSON on the lookup: one-line error, no mutation, body not dumped', () =>
    withSim(async (sim) => {
      const name = 'fault-invalid-json'
      inject(sim, { match: { method: 'GET', path: LIST_PATH }, action: { type: 'invalid-json' } })
      const r = await run(sim, name)
      expect(r.code).toBe(1)
      expect(r.outputs).toEqual({})
      const error = theError(r)
      expect(error).toMatch(/listing connections/)
      expect(error).toMatch(/not valid JSON/)
      expect(r.lines.join('\n')).not.toContain('{"items":[{"id":"5f0c')
      expect(flowReqs(sim, 'POST')).toHaveLength(0)
      expect(sim.stats().mutations).toBe(0)
      invariants(sim, r, name)
    })
  )

  it.concurrent('invalid JSON from IMS: one-line error, no Flow Service call', () =>
    withSim(async (sim) => {
      const name = 'fault-ims-invalid-json'
      inject(sim, { match: { service: 'ims' }, action: { type: 'invalid-json' } })
      const r = await run(sim, name)
      expect(r.code).toBe(1)
      expect(theError(r)).toMatch(/IMS token request failed.*not valid JSON/)
      expect(flowReqs(sim)).toHaveLength(0)
      invariants(sim, r, name)
    })
  )

  it.concurrent('two connections with the name: exit 1 listing both ids, no mutation', () =>
    withSim(async (sim) => {
      const name = 'fault-duplicates'
      const a = sim.seedConnection(SANDBOX, { name })
      const b = sim.seedConnection(SANDBOX, { name })
      const r = await run(sim, name)
      expect(r.code).toBe(1)
      const error = theError(r)
      expect(error).toContain(a.id)
      expect(error).toContain(b.id)
      expect(sim.stats().mutations).toBe(0)
      expect(flowReqs(sim).filter((q) => q.method !== 'GET')).toEqual([])
      expect(named(sim, name)).toHaveLength(2) // seeded by the test; the action added none
      expectNoLeaks(r, [CLIENT_SECRET, DB_PASSWORD, ...simulatorSecrets(sim)])
    })
  )
})

describe('gateway and IMS errors give hints', () => {
  it.concurrent('unknown sandbox: the error mentions the sandbox', () =>
    withSim(async (sim) => {
      const name = 'fault-unknown-sandbox'
      expect(sim.sandboxes).not.toContain('nosuchbox')
      const r = await run(sim, name, { 'sandbox-name': 'nosuchbox' })
      expect(r.code).toBe(1)
      const error = theError(r)
      expect(error).toMatch(/HTTP 404/)
      expect(error).toMatch(/sandbox/i)
      expect(error).toMatch(/sandbox-name/)
      expect(sim.stats().mutations).toBe(0)
      invariants(sim, r, name)
    })
  )

  it.concurrent('wrong org: the error points at ims-org-id and entitlement', () =>
    withSim(async (sim) => {
      const name = 'fault-wrong-org'
      const r = await run(sim, name, { 'ims-org-id': 'WRONG0RG1234@AdobeOrg' })
      expect(r.code).toBe(1)
      const error = theError(r)
      expect(error).toMatch(/HTTP 403/)
      expect(error).toMatch(/ims-org-id/)
      expect(error).toMatch(/entitled/)
      expect(sim.stats().mutations).toBe(0)
      invariants(sim, r, name)
    })
  )

  it.concurrent('wrong client secret: IMS invalid_client, with a hint', () =>
    withSim(async (sim) => {
      const name = 'fault-wrong-secret'
      // Not ending in "secret": a secret's end piece is redacted where text ends (client-secret).
      const wrong = 'cs-WRONG-4411+/=xq9z'
      const r = await run(sim, name, { 'client-secret': wrong })
      expect(r.code).toBe(1)
      const error = theError(r)
      expect(error).toMatch(/IMS token request failed: HTTP 401/)
      expect(error).toMatch(/invalid_client/)
      expect(error).toMatch(/check client-id and client-secret/)
      expect(imsReqs(sim)).toHaveLength(1)
      expect(flowReqs(sim)).toHaveLength(0)
      invariants(sim, r, name, [wrong])
    })
  )

  it.concurrent('403 FLOW-2120-403: a hint about the permission to manage sources', () =>
    withSim(async (sim) => {
      const name = 'fault-403-abac'
      inject(sim, {
        match: { method: 'GET', path: LIST_PATH },
        action: {
          type: 'status',
          status: 403,
          body: JSON.stringify({
            type: 'https://ns.adobe.com/aep/errors/FLOW-2120-403',
            title: 'Forbidden',
            status: 403,
            report: {
              'detailed-message': 'Access denied: missing permission to manage Enterprise Source',
              'request-id': 'req-2120'
            },
            errorMessage: 'Access denied: missing permission to manage Enterprise Source'
          })
        }
      })
      const r = await run(sim, name)
      expect(r.code).toBe(1)
      const error = theError(r)
      expect(error).toMatch(/HTTP 403/)
      expect(error).toMatch(/2120-403/)
      expect(error).toMatch(/req-2120/)
      expect(error).toMatch(/permission to manage sources/)
      expect(flowReqs(sim, 'GET')).toHaveLength(1) // a 403 is not retried
      expect(sim.stats().mutations).toBe(0)
      invariants(sim, r, name)
    })
  )
})
