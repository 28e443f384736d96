import { VERSION, ACTION_NAME } from './version.js'

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'

export interface HttpRequest {
  method: Method
  url: string
  headers: Record<string, string>
  body?: string
}

export interface HttpResponse {
  status: number
  headers: Record<string, string>
  text: string
}

/**
 * Sends one request, once. Rejects with NetworkError when no response arrived, and with
 * TransportError when one did but another attempt would only repeat the failure.
 */
export type Transport = (req: HttpRequest, timeoutMs: number) => Promise<HttpResponse>

/** The clock and sleep, injectable so tests run in virtual time. */
export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
  random(): number
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random()
}

export const USER_AGENT = `${ACTION_NAME}/${VERSION}`

/**
 * No response arrived. `sent` tells whether the request may have reached the server: false
 * only when the connection itself could not be made, so the request certainly did nothing.
 */
export class NetworkError extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'reset' | 'refused' | 'other',
    readonly sent: boolean
  ) {
    super(message)
    this.name = 'NetworkError'
  }
}

/**
 * A failure that another attempt would only repeat (a reply over the size cap, a proxy that
 * wants credentials, an untrusted certificate): never retried.
 */
export class TransportError extends Error {
  /**
   * @param replyStatus the status of a reply that arrived but whose body was not read (over the
   * size cap): a 2xx means the call was performed, which the caller must tell from a refusal.
   */
  constructor(
    message: string,
    readonly replyStatus?: number
  ) {
    super(message)
    this.name = 'TransportError'
  }
}

export class DeadlineError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DeadlineError'
  }
}

/** The step's overall deadline: every wait and every request timeout is capped by it. */
export class Deadline {
  private end: number
  constructor(
    private readonly clock: Clock,
    readonly totalMs: number
  ) {
    this.end = clock.now() + totalMs
  }
  get at(): number {
    return this.end
  }
  /** Brings the deadline forward to `ms` from now (a cancelled run's grace period); never later. */
  cut(ms: number): void {
    this.end = Math.min(this.end, this.clock.now() + ms)
  }
  remaining(): number {
    return Math.max(0, this.end - this.clock.now())
  }
  /** Each request may use a quarter of the deadline (at most 30 s), so retries still fit. */
  requestTimeout(): number {
    return Math.min(this.remaining(), Math.max(1000, Math.min(30_000, this.totalMs / 4)))
  }
}

/** Statuses worth retrying: rate limiting and gateway trouble. */
export const RETRYABLE_STATUS = new Set([429, 502, 503, 504])

/** Parses Retry-After (delta seconds or an HTTP date) into milliseconds from now. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined
  const v = value.trim()
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000)
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

/**
 * Exponential backoff with equal jitter: c = min(cap, base * 2^(attempt-1)), the wait is random in
 * [c/2, c). Never less than half: retries stay spread even when the random draw is near 0.
 */
export function backoffMs(attempt: number, random: number, baseMs = 500, capMs = 10_000): number {
  const c = Math.min(capMs, baseMs * 2 ** (attempt - 1))
  return Math.floor(c / 2 + (random * c) / 2)
}

/** What happened on one attempt, and whether and how long to wait before the next. */
export type Attempt =
  { kind: 'response'; res: HttpResponse } | { kind: 'network'; error: NetworkError }

export interface RetryContext {
  clock: Clock
  deadline: Deadline
  maxAttempts: number
  log: (line: string) => void
  /**
   * Each attempt's timeout, when a call may take longer than deadline.requestTimeout() allows (a
   * database connectivity test); the deadline still caps it.
   */
  requestTimeoutMs?: () => number
}

/** The reason a retryable attempt failed, for the one-line retry log. */
export function describeAttempt(a: Attempt): string {
  return a.kind === 'response' ? `HTTP ${a.res.status}` : a.error.message
}

/**
 * Waits before attempt `next`, honouring Retry-After and never past the deadline.
 * Returns false when no time is left for another attempt.
 */
export async function waitBeforeRetry(
  ctx: RetryContext,
  label: string,
  attempt: number,
  why: Attempt,
  next = 'retrying'
): Promise<boolean> {
  const hinted =
    why.kind === 'response'
      ? retryAfterMs(why.res.headers['retry-after'], ctx.clock.now())
      : undefined
  // A Retry-After of 0 (or a few ms) still gets the backoff: five attempts must not fit in 0.1 s.
  const wait = Math.max(hinted ?? 0, backoffMs(attempt, ctx.clock.random()))
  // A wait that would leave no time for the request itself is pointless.
  if (wait + 250 >= ctx.deadline.remaining()) return false
  ctx.log(
    `${label}: attempt ${attempt} of ${ctx.maxAttempts} failed (${describeAttempt(why)}); ${next} in ${(wait / 1000).toFixed(1)} s`
  )
  await ctx.clock.sleep(wait)
  return true
}

/** Sends one request, returning network failures as a value instead of throwing. */
export async function attempt(
  transport: Transport,
  req: HttpRequest,
  deadline: Deadline,
  timeoutMs = deadline.requestTimeout()
): Promise<Attempt> {
  const timeout = Math.min(timeoutMs, deadline.remaining())
  if (timeout <= 0) throw new DeadlineError('the step ran out of time (timeout-seconds)')
  try {
    return { kind: 'response', res: await transport(req, timeout) }
  } catch (e) {
    if (e instanceof NetworkError) return { kind: 'network', error: e }
    throw e
  }
}

/** True when a failed attempt is worth another try of an idempotent request. */
export function isRetryable(a: Attempt): boolean {
  return a.kind === 'network' || RETRYABLE_STATUS.has(a.res.status)
}

/**
 * Sends an idempotent request (GET, DELETE, PATCH with If-Match, the IMS token call) with
 * retries. Returns the last attempt: a response (any status) or a network failure, which the
 * caller turns into an error.
 */
export async function sendWithRetries(
  transport: Transport,
  req: HttpRequest,
  ctx: RetryContext,
  label: string
): Promise<Attempt & { attempts: number }> {
  for (let n = 1; ; n++) {
    const a = await attempt(transport, req, ctx.deadline, ctx.requestTimeoutMs?.()).catch(
      (e: unknown) => {
        throw e instanceof TransportError
          ? new TransportError(`${label} failed: ${e.message}`, e.replyStatus)
          : e
      }
    )
    if (!isRetryable(a) || n >= ctx.maxAttempts) return { ...a, attempts: n }
    if (!(await waitBeforeRetry(ctx, label, n, a))) return { ...a, attempts: n }
  }
}
