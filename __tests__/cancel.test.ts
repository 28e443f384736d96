/**
 * Cancellation: the runner sends SIGINT, then SIGTERM. A step that has sent a create finishes
 * settling on one copy within the grace period, sets its outputs, then fails; a step that has
 * changed nothing stops at the next step boundary.
 */
import { describe, it, expect } from '@jest/globals'
import { run } from '../src/connection/main.js'
import { CancelWatch, GRACE_MS, type Signal, type Signals } from '../src/platform/cancel.js'
import { Deadline } from '../src/platform/http.js'
import { Output } from '../src/platform/output.js'
import { fakeCore } from './support/fake-core.js'
import { FakeClock, RecordingSink, res, scriptedTransport } from './unit-fakes.js'

const SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'

/** Signals a test sends by hand. */
function manualSignals(): Signals & { send(s: Signal): void; listening(): number } {
  const listeners = new Set<(s: Signal) => void>()
  return {
    on(l) {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    send: (s) => listeners.forEach((l) => l(s)),
    listening: () => listeners.size
  }
}

const inputs = {
  'client-id': 'cid',
  'access-token': 'tok-given',
  'ims-org-id': 'ORG@AdobeOrg',
  'sandbox-name': 'prod',
  'platform-url': 'https://platform.example',
  'connection-name': 'orders-db',
  'connection-string': 'Server=h;Database=d;Port=5432;UID=u;Password=pw-cancel-1234'
}
const copy = (id: string) => ({
  id,
  name: 'orders-db',
  createdAt: 1,
  etag: `"etag-${id}"`,
  connectionSpec: { id: SPEC_ID }
})

describe('CancelWatch', () => {
  it('cuts the deadline to the grace period of each signal, and says so once per kind', () => {
    const clock = new FakeClock()
    const deadline = new Deadline(clock, 120_000)
    const sink = new RecordingSink()
    const signals = manualSignals()
    const watch = new CancelWatch(signals, new Output(sink))
    watch.attach(deadline)
    signals.send('SIGINT')
    expect(deadline.remaining()).toBe(GRACE_MS.SIGINT)
    signals.send('SIGINT')
    signals.send('SIGTERM')
    expect(deadline.remaining()).toBe(GRACE_MS.SIGTERM)
    expect(sink.calls.filter((c) => c[0] === 'warning').map((c) => c[1])).toEqual([
      'the runner is cancelling the step (SIGINT): finishing what was started within 6 s, then stopping',
      'the runner is cancelling the step (SIGTERM): finishing what was started within 2 s, then stopping'
    ])
    expect(() => watch.check()).toThrow('the runner cancelled the step (SIGTERM)')
    watch.close()
    expect(signals.listening()).toBe(0)
  })

  it('a signal heard before there is anything to cut applies when it is attached', () => {
    const clock = new FakeClock()
    const deadline = new Deadline(clock, 120_000)
    const signals = manualSignals()
    const watch = new CancelWatch(signals, new Output(new RecordingSink()))
    signals.send('SIGINT')
    watch.attach(deadline)
    expect(deadline.remaining()).toBe(GRACE_MS.SIGINT)
  })

  it('never moves a deadline later', () => {
    const clock = new FakeClock()
    const deadline = new Deadline(clock, 3000)
    deadline.cut(GRACE_MS.SIGINT)
    expect(deadline.remaining()).toBe(3000)
  })
})

describe('a run cancelled', () => {
  it('after its POST: settles on its copy, sets the outputs, then fails saying it was cancelled', async () => {
    const signals = manualSignals()
    const transport = scriptedTransport([
      res(200, { items: [] }),
      () => {
        // The runner cancels while the POST is being answered.
        signals.send('SIGINT')
        return res(201, { id: 'abc-123', etag: '"e1"' })
      },
      res(200, { items: [copy('abc-123')] })
    ])
    const core = fakeCore(inputs)
    await run({
      core,
      transport,
      clock: new FakeClock(),
      env: { GITHUB_STEP_SUMMARY: '/dev/null' },
      github: { serverUrl: 'https://github.com', payload: {} },
      signals
    })
    // The check after the create ran: exactly one copy, and it is the output.
    expect(transport.calls.map((c) => c.req.method)).toEqual(['GET', 'POST', 'GET'])
    expect(core.outputs).toMatchObject({ 'connection-id': 'abc-123', operation: 'created' })
    expect(core.failed()).toMatch(/^the runner cancelled the step \(SIGINT\)/)
    expect(signals.listening()).toBe(0)
  })

  it('before anything changed: stops after the lookup, sends nothing more', async () => {
    const signals = manualSignals()
    const transport = scriptedTransport([
      () => {
        signals.send('SIGTERM')
        return res(200, { items: [] })
      }
    ])
    const core = fakeCore(inputs)
    await run({
      core,
      transport,
      clock: new FakeClock(),
      env: {},
      github: { serverUrl: 'https://github.com', payload: {} },
      signals
    })
    expect(transport.calls).toHaveLength(1)
    expect(core.outputs).toEqual({})
    expect(core.failed()).toMatch(/^the runner cancelled the step \(SIGTERM\)/)
  })
})
