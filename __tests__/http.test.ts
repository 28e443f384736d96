import { describe, it, expect } from '@jest/globals'
import {
  attempt,
  backoffMs,
  Deadline,
  DeadlineError,
  describeAttempt,
  isRetryable,
  NetworkError,
  retryAfterMs,
  sendWithRetries,
  TransportError,
  USER_AGENT,
  type HttpRequest
} from '../src/platform/http.js'
import { VERSION } from '../src/platform/version.js'
import { FakeClock, res, retryContext, scriptedTransport } from './unit-fakes.js'

const req: HttpRequest = { method: 'GET', url: 'https://platform.example/x', headers: {} }
const NOW = 1_700_000_000_000 // a whole second, so HTTP dates round-trip exactly

describe('retryAfterMs', () => {
  it('reads delta seconds', () => {
    expect(retryAfterMs('5', NOW)).toBe(5000)
    expect(retryAfterMs(' 12 ', NOW)).toBe(12_000)
    expect(retryAfterMs('0', NOW)).toBe(0)
  })

  it('reads an HTTP date relative to now', () => {
    expect(retryAfterMs(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000)
  })

  it('a date in the past means no wait', () => {
    expect(retryAfterMs(new Date(NOW - 30_000).toUTCString(), NOW)).toBe(0)
  })

  it('ignores garbage and absence', () => {
    expect(retryAfterMs('soon', NOW)).toBeUndefined()
    expect(retryAfterMs('', NOW)).toBeUndefined()
    expect(retryAfterMs(undefined, NOW)).toBeUndefined()
  })
})

describe('backoffMs', () => {
  it('is equal jitter: half the exponential window, plus random times the other half', () => {
    expect(backoffMs(1, 0)).toBe(250)
    expect(backoffMs(1, 0.5)).toBe(375)
    expect(backoffMs(2, 0.5)).toBe(750)
    expect(backoffMs(3, 0.5)).toBe(1500)
    expect(backoffMs(1, 0.999999)).toBe(499)
  })

  it('is capped', () => {
    expect(backoffMs(6, 0.5)).toBe(7500) // window 10 000 = cap
    expect(backoffMs(7, 0.5)).toBe(7500)
    expect(backoffMs(30, 0.999999)).toBe(9999)
    expect(backoffMs(4, 0.5, 100, 300)).toBe(225)
  })

  it('stays within [half the window, the window) for every attempt: never near 0', () => {
    for (let n = 1; n <= 20; n++)
      for (const r of [0, 0.3, 0.999999]) {
        const ms = backoffMs(n, r)
        const window = Math.min(10_000, 500 * 2 ** (n - 1))
        expect(ms).toBeGreaterThanOrEqual(window / 2)
        expect(ms).toBeLessThan(window)
      }
  })
})

describe('Deadline', () => {
  it('requestTimeout is a quarter of the total, between 1 s and 30 s', () => {
    const clock = new FakeClock()
    expect(new Deadline(clock, 120_000).requestTimeout()).toBe(30_000)
    expect(new Deadline(clock, 200_000).requestTimeout()).toBe(30_000)
    expect(new Deadline(clock, 8_000).requestTimeout()).toBe(2_000)
    expect(new Deadline(clock, 2_000).requestTimeout()).toBe(1_000)
  })

  it('requestTimeout never exceeds what is left', () => {
    const clock = new FakeClock()
    const d = new Deadline(clock, 120_000)
    clock.t += 110_000
    expect(d.remaining()).toBe(10_000)
    expect(d.requestTimeout()).toBe(10_000)
    clock.t += 20_000
    expect(d.remaining()).toBe(0)
    expect(d.requestTimeout()).toBe(0)
  })

  it('attempt() refuses to send once the deadline has passed', async () => {
    const clock = new FakeClock()
    const d = new Deadline(clock, 1000)
    clock.t += 1000
    const t = scriptedTransport([res(200)])
    await expect(attempt(t, req, d)).rejects.toBeInstanceOf(DeadlineError)
    expect(t.calls).toHaveLength(0)
  })
})

describe('attempt / isRetryable / describeAttempt', () => {
  it('returns network failures as a value and rethrows anything else', async () => {
    const clock = new FakeClock()
    const d = new Deadline(clock, 10_000)
    const net = new NetworkError('connection reset before a response (ECONNRESET)', 'reset', true)
    const a = await attempt(scriptedTransport([net]), req, d)
    expect(a).toEqual({ kind: 'network', error: net })
    expect(describeAttempt(a)).toBe('connection reset before a response (ECONNRESET)')
    const boom = scriptedTransport([
      () => {
        throw new TypeError('bug')
      }
    ])
    await expect(attempt(boom, req, d)).rejects.toThrow('bug')
  })

  it('an explicit timeout is capped by what is left of the deadline', async () => {
    const clock = new FakeClock()
    const d = new Deadline(clock, 120_000)
    const t = scriptedTransport([res(200), res(200)])
    await attempt(t, req, d, 50_000)
    clock.t += 100_000
    await attempt(t, req, d, 50_000)
    expect(t.calls.map((c) => c.timeoutMs)).toEqual([50_000, 20_000])
  })

  it('passes the request timeout to the transport', async () => {
    const clock = new FakeClock()
    const t = scriptedTransport([res(200)])
    await attempt(t, req, new Deadline(clock, 8000))
    expect(t.calls[0]?.timeoutMs).toBe(2000)
  })

  it.each([
    [429, true],
    [502, true],
    [503, true],
    [504, true],
    [500, false],
    [400, false],
    [401, false],
    [404, false],
    [200, false]
  ])('HTTP %i retryable: %s', (status, retryable) => {
    expect(isRetryable({ kind: 'response', res: res(status) })).toBe(retryable)
    expect(describeAttempt({ kind: 'response', res: res(status) })).toBe(`HTTP ${status}`)
  })
})

describe('sendWithRetries', () => {
  it.each([429, 502, 503, 504])('retries HTTP %i', async (status) => {
    const clock = new FakeClock()
    const ctx = retryContext(clock)
    const t = scriptedTransport([res(status), res(200, { ok: true })])
    const a = await sendWithRetries(t, req, ctx, 'reading')
    expect(a.kind).toBe('response')
    expect(a.kind === 'response' && a.res.status).toBe(200)
    expect(a.attempts).toBe(2)
    expect(t.calls).toHaveLength(2)
    expect(clock.sleeps).toEqual([375])
    expect(ctx.lines).toEqual([
      `reading: attempt 1 of 5 failed (HTTP ${status}); retrying in 0.4 s`
    ])
  })

  it.each([400, 401, 404, 500])('does not retry HTTP %i', async (status) => {
    const clock = new FakeClock()
    const ctx = retryContext(clock)
    const t = scriptedTransport([res(status), res(200)])
    const a = await sendWithRetries(t, req, ctx, 'reading')
    expect(a.kind === 'response' && a.res.status).toBe(status)
    expect(a.attempts).toBe(1)
    expect(t.calls).toHaveLength(1)
    expect(clock.sleeps).toEqual([])
    expect(ctx.lines).toEqual([])
  })

  it('retries network failures', async () => {
    const clock = new FakeClock()
    const ctx = retryContext(clock)
    const t = scriptedTransport([
      new NetworkError('could not connect (ECONNREFUSED)', 'refused', false),
      new NetworkError('no response within 30000 ms', 'timeout', true),
      res(204)
    ])
    const a = await sendWithRetries(t, req, ctx, 'deleting')
    expect(a.kind === 'response' && a.res.status).toBe(204)
    expect(a.attempts).toBe(3)
    expect(ctx.lines).toEqual([
      'deleting: attempt 1 of 5 failed (could not connect (ECONNREFUSED)); retrying in 0.4 s',
      'deleting: attempt 2 of 5 failed (no response within 30000 ms); retrying in 0.8 s'
    ])
  })

  it('stops at maxAttempts and returns the last failure', async () => {
    const clock = new FakeClock()
    const ctx = retryContext(clock, { maxAttempts: 3 })
    const t = scriptedTransport([res(503), res(502), res(504), res(200)])
    const a = await sendWithRetries(t, req, ctx, 'listing')
    expect(a.kind === 'response' && a.res.status).toBe(504)
    expect(a.attempts).toBe(3)
    expect(t.calls).toHaveLength(3)
    expect(t.remaining()).toBe(1)
    expect(ctx.lines).toHaveLength(2)
    expect(ctx.lines[0]).toContain('attempt 1 of 3')
    expect(ctx.lines[1]).toContain('attempt 2 of 3')
  })

  it('returns a network failure after the last attempt', async () => {
    const clock = new FakeClock()
    const ctx = retryContext(clock, { maxAttempts: 2 })
    const err = new NetworkError('reset', 'reset', true)
    const a = await sendWithRetries(scriptedTransport([err, err]), req, ctx, 'x')
    expect(a).toEqual({ kind: 'network', error: err, attempts: 2 })
  })

  it('never retries a TransportError, and names the call in it', async () => {
    const clock = new FakeClock()
    const ctx = retryContext(clock)
    const t = scriptedTransport([new TransportError('the reply is too large'), res(200)])
    const e = await sendWithRetries(t, req, ctx, 'listing').catch((err: unknown) => err)
    expect(e).toBeInstanceOf(TransportError)
    expect((e as Error).message).toBe('listing failed: the reply is too large')
    expect(t.calls).toHaveLength(1)
    expect(ctx.lines).toEqual([])
  })

  it('keeps the status of a reply refused for its size, and adds nothing about a change (IMS uses this too)', async () => {
    const clock = new FakeClock()
    const ctx = retryContext(clock)
    const t = scriptedTransport([new TransportError('the reply is too large', 200)])
    const e = await sendWithRetries(t, req, ctx, 'IMS token request').catch((err: unknown) => err)
    expect(e).toBeInstanceOf(TransportError)
    expect((e as TransportError).replyStatus).toBe(200)
    expect((e as Error).message).toBe('IMS token request failed: the reply is too large')
  })

  it('maxAttempts 1 never retries', async () => {
    const clock = new FakeClock()
    const ctx = retryContext(clock, { maxAttempts: 1 })
    const t = scriptedTransport([res(503), res(200)])
    const a = await sendWithRetries(t, req, ctx, 'x')
    expect(a.attempts).toBe(1)
    expect(ctx.lines).toEqual([])
  })

  it('honours Retry-After in seconds', async () => {
    const clock = new FakeClock(NOW)
    const ctx = retryContext(clock)
    const t = scriptedTransport([res(429, '', { 'retry-after': '7' }), res(200)], clock)
    await sendWithRetries(t, req, ctx, 'listing')
    expect(clock.sleeps).toEqual([7000])
    expect(t.calls[1]?.at).toBe(NOW + 7000)
    expect(ctx.lines[0]).toBe('listing: attempt 1 of 5 failed (HTTP 429); retrying in 7.0 s')
  })

  it('honours Retry-After as an HTTP date', async () => {
    const clock = new FakeClock(NOW)
    const ctx = retryContext(clock)
    const t = scriptedTransport(
      [res(503, '', { 'retry-after': new Date(NOW + 3000).toUTCString() }), res(200)],
      clock
    )
    await sendWithRetries(t, req, ctx, 'listing')
    expect(clock.sleeps).toEqual([3000])
  })

  it('does not wait when Retry-After reaches past the deadline', async () => {
    const clock = new FakeClock(NOW)
    const ctx = retryContext(clock, { totalMs: 10_000 })
    const t = scriptedTransport([res(429, '', { 'retry-after': '60' }), res(200)])
    const a = await sendWithRetries(t, req, ctx, 'listing')
    expect(a.kind === 'response' && a.res.status).toBe(429)
    expect(a.attempts).toBe(1)
    expect(clock.sleeps).toEqual([])
    expect(clock.t).toBe(NOW)
    expect(ctx.lines).toEqual([])
  })

  it.each(['0', '0.01', '0.2'])(
    'a Retry-After of %s s still gets the backoff: five attempts never fit in a second',
    async (after) => {
      const clock = new FakeClock(NOW, 0)
      const ctx = retryContext(clock)
      const t = scriptedTransport(
        Array.from({ length: 5 }, () => res(429, '', { 'retry-after': after })),
        clock
      )
      await sendWithRetries(t, req, ctx, 'listing')
      expect(clock.sleeps).toEqual([250, 500, 1000, 2000])
      expect((t.calls.at(-1)?.at ?? 0) - NOW).toBe(3750)
    }
  )

  it('a Retry-After longer than the backoff is honoured', async () => {
    const clock = new FakeClock(NOW, 0)
    const ctx = retryContext(clock)
    const t = scriptedTransport([res(429, '', { 'retry-after': '20' }), res(200)], clock)
    await sendWithRetries(t, req, ctx, 'listing')
    expect(clock.sleeps).toEqual([20_000])
  })

  it('never waits or sends past the deadline', async () => {
    const clock = new FakeClock(NOW, 0.999)
    const ctx = retryContext(clock, { totalMs: 5000, maxAttempts: 20 })
    const t = scriptedTransport(
      Array.from({ length: 20 }, () => res(503)),
      clock
    )
    const a = await sendWithRetries(t, req, ctx, 'listing')
    expect(a.kind === 'response' && a.res.status).toBe(503)
    expect(a.attempts).toBeLessThan(20)
    expect(clock.t).toBeLessThanOrEqual(NOW + 5000)
    for (const c of t.calls) {
      expect(c.at).toBeLessThan(NOW + 5000)
      expect(c.at + c.timeoutMs).toBeLessThanOrEqual(NOW + 5000)
    }
    // Backoff 499, 999, 1999 fits (3497 ms); the next (3999 ms) would not.
    expect(clock.sleeps).toEqual([499, 999, 1999])
    expect(ctx.lines).toHaveLength(3)
  })
})

describe('USER_AGENT', () => {
  it('names the action and its version', () => {
    expect(USER_AGENT).toBe(`aep-postgresql-connection-action/${VERSION}`)
  })
})
