import type { Socket } from 'node:net'
import { isIP } from 'node:net'
import { Agent, Client, Pool, ProxyAgent, buildConnector, request, type Dispatcher } from 'undici'
import { NetworkError, TransportError, USER_AGENT, type Method, type Transport } from './http.js'
import { proxyFor, type Proxy, type ProxyConfig } from './proxy.js'

/** The most a reply body may hold. Adobe's replies here are a few kB; a list page is tens of kB. */
export const MAX_REPLY_BYTES = 10 * 1024 * 1024

export interface TransportOptions {
  /** Proxies from the environment (see proxy.ts); none when omitted. */
  proxies?: ProxyConfig
  /** Time left on the step's deadline: bounds DNS, TCP connect and TLS set-up as a backstop. */
  timeLeft?: () => number
  maxReplyBytes?: number
}

/** Where a connection being opened has got to. */
type Phase =
  'dns' | 'tcp' | 'tls' | 'proxy-dns' | 'proxy-tcp' | 'proxy-tls' | 'tunnel' | 'tunnel-tls'

/** A connection being opened, so a stall can be named and cut short. */
interface Opening {
  /** host:port of the destination */
  target: string
  targetTls: boolean
  proxy?: Proxy
  phase: Phase
  sockets: Socket[]
  /** the status the proxy answered CONNECT with, when not 200 */
  refused?: number
  /** gives up on the connection now (the connector's callback with an error) */
  fail(err: Error): void
}

type Snapshot = Pick<Opening, 'target' | 'proxy' | 'phase' | 'refused'>

type Connector = buildConnector.connector

const defaultPort = (protocol: string) => (protocol === 'https:' ? 443 : 80)
const hostOf = (hostPort: string) => hostPort.replace(/:\d+$/, '')

/** One sentence for a connection that did not open in time, naming the phase and the host. */
export function describeStall(o: Snapshot, within: string): string {
  const proxy = o.proxy?.host ?? ''
  switch (o.phase) {
    case 'dns':
      return `the DNS lookup of ${hostOf(o.target)} did not finish ${within}`
    case 'tcp':
      return `the TCP connection to ${o.target} was not accepted ${within}`
    case 'tls':
      return `the TLS handshake with ${o.target} did not finish ${within}`
    case 'proxy-dns':
      return `the DNS lookup of the proxy ${hostOf(proxy)} did not finish ${within}`
    case 'proxy-tcp':
      return `the TCP connection to the proxy ${proxy} was not accepted ${within}`
    case 'proxy-tls':
      return `the TLS handshake with the proxy ${proxy} did not finish ${within}`
    case 'tunnel':
      return `the proxy ${proxy} did not open a tunnel to ${o.target} ${within}`
    case 'tunnel-tls':
      return `the TLS handshake with ${o.target} through the proxy ${proxy} did not finish ${within}`
  }
}

/**
 * Watches the connections undici opens. undici leaves a request that waits for a connection
 * deaf to its abort signal until the connection opens, so a stalled DNS lookup, TCP connect,
 * proxy tunnel or TLS handshake would outlive the request timeout; the watch knows the phase
 * and can end it. The step sends one request at a time, so at most one connection is opening.
 */
class ConnectWatch {
  private current: Opening | undefined
  /** The last connection that failed to open, to explain the error its request gets. */
  failed: Snapshot | undefined

  constructor(private readonly timeLeft: () => number) {}

  /** Wraps a connector that opens a connection to the destination, directly or via a proxy. */
  outer(connect: Connector, proxy?: Proxy): Connector {
    return (opts, callback) => {
      let settled = false
      const done: buildConnector.Callback = (...args) => {
        if (settled) {
          // A socket delivered after we gave up is nobody's: close it.
          args[1]?.destroy()
          return
        }
        settled = true
        if (this.current === o) this.current = undefined
        const err = args[0]
        if (!err) return callback(...args)
        this.failed = snapshot(o)
        callback(finalConnectError(err), null)
      }
      const o: Opening = {
        target: `${opts.hostname}:${opts.port || defaultPort(opts.protocol)}`,
        targetTls: opts.protocol === 'https:',
        proxy,
        phase: proxy ? 'proxy-tcp' : 'tcp',
        sockets: [],
        fail: (err) => done(err, null)
      }
      this.current = o
      connect(opts, done)
    }
  }

  /**
   * A connector for the destination (direct) or for the proxy: undici's own, with its connect
   * timeout set from the time left on the deadline when the connection starts.
   */
  inner(role: 'target' | 'proxy'): Connector {
    return (opts, callback) => {
      // undici's connector returns the socket it opened (its typings say void).
      const connect = buildConnector({
        timeout: Math.max(1, Math.round(this.timeLeft())),
        maxCachedSessions: 0
      }) as unknown as (
        o: buildConnector.Options,
        cb: buildConnector.Callback
      ) => Socket | undefined
      const socket = connect(opts, callback)
      const o = this.current
      if (!o || !socket) return
      o.sockets.push(socket)
      const tls = opts.protocol === 'https:'
      const proxy = role === 'proxy'
      o.phase = isIP(opts.hostname) ? (proxy ? 'proxy-tcp' : 'tcp') : proxy ? 'proxy-dns' : 'dns'
      socket.once('lookup', () => {
        if (o.phase === 'dns' || o.phase === 'proxy-dns') o.phase = proxy ? 'proxy-tcp' : 'tcp'
      })
      // Connected to the proxy, ProxyAgent sends CONNECT and waits for the tunnel.
      socket.once('connect', () => {
        if (tls) o.phase = proxy ? 'proxy-tls' : 'tls'
        else if (proxy) o.phase = 'tunnel'
      })
      if (tls && proxy) socket.once('secureConnect', () => void (o.phase = 'tunnel'))
    }
  }

  /** ProxyAgent asks its proxy client for each tunnel; its answer ends the 'tunnel' phase. */
  tunnels(pool: Pool): Pool {
    const open = pool.connect.bind(pool) as (
      o: Dispatcher.ConnectOptions
    ) => Promise<Dispatcher.ConnectData>
    const connect = async (o: Dispatcher.ConnectOptions) => {
      const data = await open(o)
      const opening = this.current
      if (opening) {
        if (data.statusCode !== 200) opening.refused = data.statusCode
        else if (opening.targetTls) opening.phase = 'tunnel-tls'
      }
      return data
    }
    Object.assign(pool, { connect })
    return pool
  }

  /** Gives up on the connection being opened, if any; returns where it had got to. */
  stall(): Snapshot | undefined {
    const o = this.current
    if (!o) return undefined
    const s = snapshot(o)
    const err = new Error(describeStall(s, 'in time'))
    for (const socket of o.sockets) socket.destroy(err)
    o.fail(err)
    return s
  }
}

/**
 * undici's Client takes UND_ERR_SOCKET ("other side closed") while connecting as recoverable: it
 * keeps the request queued and reconnects at once, without backoff. A proxy that closes the
 * connection on CONNECT gives exactly that, so undici would send thousands of CONNECTs a second.
 * The same error without the code (kept as the cause, for the message) fails the request once,
 * and the retry policy decides what follows.
 */
export function finalConnectError(err: Error): Error {
  if ((err as { code?: unknown }).code !== 'UND_ERR_SOCKET') return err
  return new Error(err.message, { cause: err })
}

const snapshot = (o: Opening): Snapshot => ({
  target: o.target,
  proxy: o.proxy,
  phase: o.phase,
  refused: o.refused
})

/**
 * The undici transport: one keep-alive Agent for direct requests and one ProxyAgent per proxy,
 * each with one connection per origin; no redirect following (an Authorization header must never
 * travel to another host); a per-request timeout that covers connecting, headers and body; reply
 * bodies read up to a cap.
 */
export function undiciTransport(options: TransportOptions = {}): {
  transport: Transport
  close: () => Promise<void>
  shorten: (ms: number) => void
} {
  const timeLeft = options.timeLeft ?? (() => 120_000)
  const maxBytes = options.maxReplyBytes ?? MAX_REPLY_BYTES
  const watch = new ConnectWatch(timeLeft)
  // One connection per origin: the step's requests are sequential, and with more allowed undici
  // opens a second socket when a request follows the previous response within the same tick.
  const direct = new Agent({
    keepAliveTimeout: 10_000,
    connections: 1,
    connect: watch.outer(watch.inner('target'))
  })
  const viaProxy = new Map<string, ProxyAgent>()
  const dispatcherFor = (url: URL): Dispatcher => {
    const proxy = options.proxies ? proxyFor(url, options.proxies) : undefined
    if (!proxy) return direct
    let agent = viaProxy.get(proxy.href)
    if (!agent) {
      agent = new ProxyAgent({
        // Without credentials: undici would send them only when both user and password are
        // given; the header is passed as it is, so a user name alone is sent too.
        uri: proxy.display,
        ...(proxy.authorization ? { token: proxy.authorization } : {}),
        keepAliveTimeout: 10_000,
        connections: 1,
        // The TLS handshake with the destination, inside the tunnel.
        requestTls: { timeout: Math.max(1, Math.round(timeLeft())) },
        factory: (origin, opts) => {
          const o = opts as Client.Options
          return new Client(origin, { ...o, connect: watch.outer(o.connect as Connector, proxy) })
        },
        clientFactory: (origin) =>
          watch.tunnels(
            new Pool(origin, {
              connect: watch.inner('proxy'),
              headersTimeout: Math.max(1, Math.round(timeLeft()))
            })
          )
      })
      viaProxy.set(proxy.href, agent)
    }
    return agent
  }

  /** Requests in flight: a cancelled run shortens their timeouts to its grace period. */
  const inFlight = new Set<{ end: number; rearm(ms: number): void }>()
  const transport: Transport = async (req, timeoutMs) => {
    const url = new URL(req.url)
    const dispatcher = dispatcherFor(url)
    const controller = new AbortController()
    let stalled: Snapshot | undefined
    watch.failed = undefined
    const expire = () => {
      // The abort alone does not reach a connection that is still opening.
      stalled = watch.stall()
      controller.abort()
    }
    let timer = setTimeout(expire, timeoutMs)
    const entry = {
      end: Date.now() + timeoutMs,
      rearm(ms: number) {
        if (Date.now() + ms >= entry.end) return
        clearTimeout(timer)
        entry.end = Date.now() + ms
        timer = setTimeout(expire, ms)
      }
    }
    inFlight.add(entry)
    try {
      const res = await request(url, {
        method: req.method,
        headers: { 'user-agent': USER_AGENT, ...req.headers },
        body: req.body,
        dispatcher,
        signal: controller.signal,
        maxRedirections: 0
      })
      const text = await readCapped(res, maxBytes, req.method, url, res.statusCode)
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
      }
      return { status: res.statusCode, headers, text }
    } catch (e) {
      if (e instanceof TransportError) throw e
      throw toNetworkError(e, {
        stalled,
        failed: watch.failed,
        timedOut: controller.signal.aborted,
        timeoutMs
      })
    } finally {
      clearTimeout(timer)
      inFlight.delete(entry)
    }
  }

  /** Ends every request in flight within `ms` at the latest. */
  const shorten = (ms: number) => {
    for (const entry of inFlight) entry.rearm(ms)
  }

  // Closing destroys the sockets with an error whose stack Node reads; in the bundle that makes the
  // source-map support parse the whole map (~70 ms CPU, ~20 MB) on every run. No frames needed here.
  // Destroy, not close: nothing is in flight when the step ends, and a connection still opening
  // (given up on) must not keep the process alive.
  const close = async () => {
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      await Promise.all([direct, ...viaProxy.values()].map((d) => d.destroy()))
    } finally {
      Error.stackTraceLimit = limit
    }
  }
  return { transport, close, shorten }
}

/**
 * Reads a reply body, refusing it past `limit` bytes without holding more than that. The error
 * carries the status: whether the call was performed is for the caller to say (a 2xx to a
 * create was, a 4xx was not, and an IMS token call changes nothing either way).
 */
async function readCapped(
  res: Dispatcher.ResponseData,
  limit: number,
  method: Method,
  url: URL,
  status: number
): Promise<string> {
  const tooLarge = () => {
    // Dropping the body closes the connection; the abort error it raises is expected.
    res.body.on('error', () => undefined).destroy()
    return new TransportError(
      `the reply to ${method} ${url.origin}${url.pathname} (HTTP ${status}) is larger than ` +
        `${formatBytes(limit)}, the most this action reads; it was not read, and the request was not sent again`,
      status
    )
  }
  const declared = Number(res.headers['content-length'])
  if (declared > limit) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw tooLarge()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`
}

/** TLS verification failures: permanent, so not retried. */
const CERT_ERROR =
  /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID|UND_ERR_PRX_TLS/

function toNetworkError(
  e: unknown,
  ctx: { stalled?: Snapshot; failed?: Snapshot; timedOut: boolean; timeoutMs: number }
): NetworkError | TransportError {
  const within = `within ${ctx.timeoutMs} ms`
  // Nothing was sent when the connection never opened, so any request may be tried again.
  if (ctx.stalled) return new NetworkError(describeStall(ctx.stalled, within), 'timeout', false)
  const err = e as { code?: string; message?: string; cause?: { code?: string } }
  const code = err.code ?? err.cause?.code ?? ''
  // The request itself cannot be sent (a header value with a line break, say): no retry changes that.
  if (/^(UND_ERR_INVALID_ARG|ERR_INVALID_CHAR|ERR_INVALID_HTTP_TOKEN)$/.test(code))
    return new TransportError(`the request could not be sent (${code})`)
  const f = ctx.failed
  if (f) {
    if (f.refused !== undefined && f.proxy) return proxyRefused(f.proxy, f.target, f.refused)
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT')
      return new NetworkError(
        describeStall(f, "before the step's timeout-seconds ran out"),
        'timeout',
        false
      )
    const why = code || err.message || 'unknown error'
    const viaProxy = f.proxy ? ` through the proxy ${f.proxy.host}` : ''
    if (CERT_ERROR.test(code)) {
      const who = f.phase === 'proxy-tls' ? `the proxy ${f.proxy?.host ?? ''}` : f.target
      return new TransportError(
        `the TLS certificate of ${who} is not trusted (${why}); if a proxy inspects TLS, point NODE_EXTRA_CA_CERTS at its CA certificate`
      )
    }
    if (f.phase.startsWith('proxy-'))
      return new NetworkError(
        `could not connect to the proxy ${f.proxy?.host ?? ''} (${why})`,
        'refused',
        false
      )
    if (f.phase === 'tunnel')
      return new NetworkError(
        `the proxy ${f.proxy?.host ?? ''} closed the connection instead of opening a tunnel to ${f.target} (${why})`,
        'refused',
        false
      )
    return new NetworkError(
      `could not connect to ${f.target}${viaProxy} (${why})`,
      'refused',
      false
    )
  }
  if (ctx.timedOut) return new NetworkError(`no response ${within}`, 'timeout', true)
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new NetworkError(`could not connect (${code})`, 'refused', false)
  if (
    /ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED/.test(code) ||
    /other side closed/i.test(err.message ?? '')
  )
    return new NetworkError(
      `connection reset before a response (${code || 'socket closed'})`,
      'reset',
      true
    )
  if (/TIMEOUT/.test(code))
    return new NetworkError(`no response in time (${code})`, 'timeout', true)
  return new NetworkError(
    `request failed (${code || err.message || 'unknown error'})`,
    'other',
    true
  )
}

/** A proxy that answered CONNECT with something other than 200. */
function proxyRefused(proxy: Proxy, target: string, status: number): NetworkError | TransportError {
  if (status === 407)
    return new TransportError(
      `the proxy ${proxy.host} (${proxy.variable}) asked for credentials (HTTP 407 Proxy Authentication Required); ` +
        (proxy.hasCredentials
          ? `it did not accept the user and password in ${proxy.variable}`
          : `give them in ${proxy.variable} as http://user:password@host:port`)
    )
  const message = `the proxy ${proxy.host} (${proxy.variable}) refused to open a tunnel to ${target} (HTTP ${status})`
  // A gateway error may pass; a refusal by policy will not.
  return status >= 500 ? new NetworkError(message, 'refused', false) : new TransportError(message)
}

/** Logs each request in debug mode: method, URL and status only; never headers or bodies. */
export function tracing(transport: Transport, debug: (line: string) => void): Transport {
  return async (req, timeoutMs) => {
    try {
      const res = await transport(req, timeoutMs)
      const id = res.headers['x-request-id']
      debug(`${req.method} ${req.url} -> ${res.status}${id ? ` (request id ${id})` : ''}`)
      return res
    } catch (e) {
      debug(`${req.method} ${req.url} -> ${(e as Error).message}`)
      throw e
    }
  }
}
