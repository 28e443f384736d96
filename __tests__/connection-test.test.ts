import { describe, it, expect } from '@jest/globals'
import { connectionTestCalls, testConnection } from '../src/connection/connection-test.js'
import { ActionError } from '../src/platform/errors.js'
import { FlowApi } from '../src/platform/flow-api.js'
import { NetworkError } from '../src/platform/http.js'
import { givenToken } from '../src/platform/ims.js'
import { FakeClock, res, retryContext, scriptedTransport } from './unit-fakes.js'

/** A FlowService stand-in: scripted /test answers, explore results, and the calls made. */
function fakeFlow(
  test: { result: boolean } | { unsupported: ActionError } | Error,
  explore: { tables: number; paths: string[] } | Error = {
    tables: 2,
    paths: ['public.a', 'public.b']
  }
) {
  const calls: string[] = []
  return {
    calls,
    flow: {
      test: async (id: string) => {
        calls.push(`test ${id}`)
        if (test instanceof Error) throw test
        return test
      },
      explore: async (id: string) => {
        calls.push(`explore ${id}`)
        if (explore instanceof Error) throw explore
        return explore
      }
    }
  }
}

describe('testConnection', () => {
  it('/test true, then explore for the tables', async () => {
    const { flow, calls } = fakeFlow({ result: true })
    const log: string[] = []
    expect(await testConnection(flow, 'c1', (l) => log.push(l))).toEqual({
      tables: 2,
      paths: ['public.a', 'public.b']
    })
    expect(calls).toEqual(['test c1', 'explore c1'])
    expect(log).toEqual(['Flow Service connected to the database with the stored credentials'])
  })

  it('/test false fails saying Flow Service could not connect with the stored credentials; no explore', async () => {
    const { flow, calls } = fakeFlow({ result: false })
    const e = await testConnection(flow, 'c1', () => undefined).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ActionError)
    expect((e as Error).message).toMatch(
      /^testing the connection failed: Flow Service could not connect to the database with the stored credentials \(GET \/connections\/c1\/test answered result false\)/
    )
    expect(calls).toEqual(['test c1'])
  })

  it('/test refused as unsupported: explore decides, and says why', async () => {
    const ok = fakeFlow({ unsupported: new ActionError('HTTP 400 not supported') })
    const log: string[] = []
    expect((await testConnection(ok.flow, 'c1', (l) => log.push(l))).tables).toBe(2)
    expect(ok.calls).toEqual(['test c1', 'explore c1'])
    expect(log[0]).toMatch(
      /did not answer for this connection \(HTTP 400 not supported\); listing the database root instead/
    )
    const bad = fakeFlow(
      { unsupported: new ActionError('HTTP 404') },
      new ActionError('explore failed')
    )
    await expect(testConnection(bad.flow, 'c1', () => undefined)).rejects.toThrow('explore failed')
  })

  it('explore failing after a passing /test still fails; a /test error is not swallowed', async () => {
    const a = fakeFlow({ result: true }, new ActionError('testing the connection failed: HTTP 400'))
    await expect(testConnection(a.flow, 'c1', () => undefined)).rejects.toThrow('HTTP 400')
    const b = fakeFlow(new ActionError('HTTP 403'))
    await expect(testConnection(b.flow, 'c1', () => undefined)).rejects.toThrow('HTTP 403')
    expect(b.calls).toEqual(['test c1'])
  })
})

describe('a /test reply slower than one request is given', () => {
  /** Flow Service answering /test after `ms` (virtual time), then explore at once. */
  function slowTest(ms: number, totalMs: number) {
    const clock = new FakeClock()
    const transport = scriptedTransport(
      [
        (_req, timeoutMs) => {
          if (timeoutMs < ms) {
            clock.t += timeoutMs
            return new NetworkError(`no response within ${timeoutMs} ms`, 'timeout', true)
          }
          clock.t += ms
          return res(200, { result: true })
        },
        res(200, [{ type: 'table', path: 'public.orders' }])
      ],
      clock
    )
    const api = new FlowApi({
      run: 'a1b2c3d4e5f6',
      platformUrl: 'https://platform.example',
      clientId: 'client-abc',
      imsOrgId: 'ORG123@AdobeOrg',
      sandboxName: 'prod',
      tokens: givenToken('tok-given'),
      transport,
      retry: retryContext(clock, { totalMs, maxAttempts: 1 })
    })
    return { calls: connectionTestCalls(api), transport }
  }

  it('passes when the deadline leaves room (35 s of 120 s), keeping one request for explore', async () => {
    const { calls, transport } = slowTest(35_000, 120_000)
    expect(await testConnection(calls, 'c1', () => undefined)).toEqual({
      tables: 1,
      paths: ['public.orders']
    })
    // The deadline, less one ordinary request's time (30 s) for the explore after it.
    expect(transport.calls[0]?.timeoutMs).toBe(90_000)
  })

  it('is still bounded by the deadline (35 s of 40 s: the test cannot finish)', async () => {
    const { calls } = slowTest(35_000, 40_000)
    await expect(testConnection(calls, 'c1', () => undefined)).rejects.toThrow(/GET \/test/)
  })
})
