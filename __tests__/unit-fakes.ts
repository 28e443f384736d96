/** Test doubles for the unit tests: a virtual clock and a scripted transport. Not a test file. */
import {
  Deadline,
  NetworkError,
  TransportError,
  type Clock,
  type HttpRequest,
  type HttpResponse,
  type RetryContext,
  type Transport
} from '../src/http.js'

/** Virtual time: sleep() advances now() at once. random() is fixed (default 0.5). */
export class FakeClock implements Clock {
  readonly sleeps: number[] = []
  constructor(
    public t = 1_700_000_000_000,
    public rnd = 0.5
  ) {}
  now(): number {
    return this.t
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms)
    this.t += ms
  }
  random(): number {
    return this.rnd
  }
}

export type Step =
  | HttpResponse
  | NetworkError
  | TransportError
  | ((req: HttpRequest, timeoutMs: number) => HttpResponse | NetworkError | TransportError)

export interface Recorded {
  req: HttpRequest
  timeoutMs: number
  at: number
}

/** A transport answering from a script, recording every request it was sent. */
export function scriptedTransport(
  steps: Step[],
  clock?: FakeClock
): Transport & { calls: Recorded[]; remaining: () => number } {
  const queue = [...steps]
  const calls: Recorded[] = []
  const t = (async (req: HttpRequest, timeoutMs: number) => {
    calls.push({ req, timeoutMs, at: clock?.now() ?? 0 })
    const step = queue.shift()
    if (step === undefined) throw new Error(`unexpected request ${req.method} ${req.url}`)
    const r = typeof step === 'function' ? step(req, timeoutMs) : step
    if (r instanceof NetworkError || r instanceof TransportError) throw r
    return r
  }) as Transport & { calls: Recorded[]; remaining: () => number }
  t.calls = calls
  t.remaining = () => queue.length
  return t
}

export function res(status: number, body?: unknown, headers: Record<string, string> = {}) {
  return {
    status,
    headers,
    text: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)
  }
}

export function retryContext(
  clock: FakeClock,
  opts: { totalMs?: number; maxAttempts?: number } = {}
): RetryContext & { lines: string[] } {
  const lines: string[] = []
  return {
    clock,
    deadline: new Deadline(clock, opts.totalMs ?? 120_000),
    maxAttempts: opts.maxAttempts ?? 5,
    log: (l) => lines.push(l),
    lines
  }
}
