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
} from '../src/platform/http.js'
import type { OutputSink, SummaryLike } from '../src/platform/output.js'

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

type Cell = string | { data: string; header?: boolean }

/** Records every call, like core.summary but in memory; can be told to fail on write. */
export class RecordingSummary implements SummaryLike {
  readonly calls: Array<[string, ...unknown[]]> = []
  written = 0
  constructor(private readonly failWith?: Error) {}
  addHeading(text: string, level?: number): SummaryLike {
    this.calls.push(['heading', text, level])
    return this
  }
  addTable(rows: Cell[][]): SummaryLike {
    this.calls.push(['table', rows])
    return this
  }
  addLink(text: string, href: string): SummaryLike {
    this.calls.push(['link', text, href])
    return this
  }
  addRaw(text: string): SummaryLike {
    this.calls.push(['raw', text])
    return this
  }
  async write(): Promise<unknown> {
    if (this.failWith) throw this.failWith
    this.written++
    return this
  }
  table(): Cell[][] {
    const t = this.calls.find((c) => c[0] === 'table')
    return (t?.[1] ?? []) as Cell[][]
  }
}

/** An @actions/core stand-in for output.ts: every call recorded as [method, ...args]. */
export class RecordingSink implements OutputSink {
  readonly calls: Array<[string, ...string[]]> = []
  readonly summary: RecordingSummary
  constructor(summary = new RecordingSummary()) {
    this.summary = summary
  }
  setSecret(v: string): void {
    this.calls.push(['setSecret', v])
  }
  info(m: string): void {
    this.calls.push(['info', m])
  }
  debug(m: string): void {
    this.calls.push(['debug', m])
  }
  warning(m: string): void {
    this.calls.push(['warning', m])
  }
  error(m: string): void {
    this.calls.push(['error', m])
  }
  setFailed(m: string): void {
    this.calls.push(['setFailed', m])
  }
  setOutput(name: string, value: string): void {
    this.calls.push(['setOutput', name, value])
  }
  startGroup(name: string): void {
    this.calls.push(['startGroup', name])
  }
  endGroup(): void {
    this.calls.push(['endGroup'])
  }
  /** The arguments of every call of one method. */
  of(method: string): string[][] {
    return this.calls.filter((c) => c[0] === method).map((c) => c.slice(1))
  }
  /** Everything printed (not the registered secrets), one entry per call. */
  printed(): string[] {
    return this.calls.filter((c) => c[0] !== 'setSecret').map((c) => c.slice(1).join(' '))
  }
}
