import { FlowApi } from './flow-api.js'
import { Deadline, type Clock, type RetryContext, type Transport } from './http.js'
import { fetchToken, givenToken, imsTokenSource, type TokenSource } from './ims.js'
import type { AdobeSettings } from './inputs.js'
import { newRunId } from './marker.js'
import type { Output } from './output.js'
import { describeRoutes, proxyConfig } from './proxy.js'
import { tracing, undiciTransport } from './transport.js'

/** The I/O edges a session is opened on. */
export interface SessionDeps {
  clock: Clock
  env: NodeJS.ProcessEnv
  /** Sends HTTP; defaults to undici with one keep-alive agent (through the proxies). */
  transport?: Transport
}

/** The HTTP side of one run: one deadline, retries, proxies, the debug trace and the token. */
export interface Session {
  api: FlowApi
  deadline: Deadline
  /**
   * Fetches the token (its mask registered first), then says how each host is reached and warns
   * about inputs given but not used (`notes`).
   */
  signIn(notes?: readonly string[]): Promise<void>
  /** Runs fn with its requests' debug trace folded into a log group (debug mode only). */
  phase<T>(title: string, fn: () => Promise<T>): Promise<T>
  /** Brings the deadline, and the timeouts of requests in flight, to `ms` from now. */
  cut(ms: number): void
  close(): Promise<void>
}

/**
 * Opens the session. A proxy variable that cannot be used fails here, before anything is sent.
 * Nothing is sent until signIn().
 */
export function openSession(settings: AdobeSettings, deps: SessionDeps, out: Output): Session {
  const deadline = new Deadline(deps.clock, settings.timeoutSeconds * 1000)
  const proxies = proxyConfig(deps.env)
  const routes = describeRoutes(
    settings.accessToken ? [settings.platformUrl] : [settings.imsUrl, settings.platformUrl],
    proxies
  )
  let base = deps.transport
  // A transport passed in is its owner's to close (and to cut short).
  let closeTransport: () => Promise<void> = async () => {}
  let shorten: (ms: number) => void = () => undefined
  if (!base) {
    const own = undiciTransport({ proxies, timeLeft: () => deadline.remaining() })
    base = own.transport
    closeTransport = own.close
    shorten = own.shorten
  }
  const sending = base
  // An error reply may echo a secret in any encoding: what redacting it needs is loaded before
  // anyone reads it (and never on a run that gets no error reply).
  const loading: Transport = async (req, timeoutMs) => {
    const res = await sending(req, timeoutMs)
    if (res.status >= 400) await out.prepareForServerText()
    return res
  }
  const transport = tracing(loading, (line) => out.debug(line))
  const retry: RetryContext = {
    clock: deps.clock,
    deadline,
    maxAttempts: settings.maxAttempts,
    log: (line) => out.info(line)
  }
  const tokens: TokenSource = settings.accessToken
    ? givenToken(settings.accessToken)
    : imsTokenSource(() =>
        fetchToken(
          transport,
          retry,
          {
            imsUrl: settings.imsUrl,
            clientId: settings.clientId,
            clientSecret: settings.clientSecret ?? '',
            scopes: settings.scopes
          },
          // Masked before anything else can print it.
          (token) => out.secret(token)
        )
      )
  const api = new FlowApi({
    run: newRunId(() => deps.clock.random()),
    platformUrl: settings.platformUrl,
    clientId: settings.clientId,
    imsOrgId: settings.imsOrgId,
    sandboxName: settings.sandboxName,
    tokens,
    transport,
    retry
  })
  return {
    api,
    deadline,
    async signIn(notes = []) {
      // First, so every ::add-mask:: precedes the step's first log line.
      await tokens.token()
      for (const route of routes) out.info(route)
      for (const note of notes) out.warning(note)
    },
    phase: (title, fn) =>
      deps.env.RUNNER_DEBUG === '1' ? out.group(`Requests: ${title}`, fn) : fn(),
    cut(ms) {
      deadline.cut(ms)
      shorten(ms)
    },
    close: () => closeTransport().catch(() => undefined)
  }
}
