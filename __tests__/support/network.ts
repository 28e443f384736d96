/**
 * The network a self-hosted runner has, shared by the in-process runs (inproc-network) and the
 * process-level ones (e2e-process): an https simulator on made-up names that only a forward
 * proxy resolves, the inputs that point the action at it, servers that stall, and the checks
 * those runs share. Not a test file.
 */
import { expect } from '@jest/globals'
import { startSimulator, type Simulator } from '../../simulator/server.js'
import type { ActionRun } from '../../simulator/run-action.js'
import { expectNoLeaks } from './leaks.js'
import { startProxy, type ProxyOptions, type TestProxy } from './proxy.js'
import type { TestCertificate } from './tls.js'

export const SANDBOX = 'prod'
export const LIST_PATH = '/data/foundation/flowservice/connections'
export const CLIENT_SECRET = 'cs-NET-4f1b+/=Zq~secret'
export const DB_PASSWORD = 'pw-NET-8c2d;{x}=Q+/ p@ss'
export const PLATFORM = 'platform.sim.test'
export const IMS = 'ims.sim.test'
export const MB = 1024 * 1024

/** The made-up names the test certificate is for. */
export const CERT_NAMES = [PLATFORM, IMS]

/** Inputs for the https simulator on the made-up names; `extra` wins. */
export function networkInputs(
  sim: Simulator,
  name: string,
  extra: Record<string, string> = {}
): Record<string, string> {
  return {
    'client-id': sim.clientId,
    'client-secret': CLIENT_SECRET,
    'ims-org-id': sim.orgId,
    'sandbox-name': SANDBOX,
    'platform-url': `https://${PLATFORM}`,
    'ims-url': `https://${IMS}`,
    'connection-name': name,
    server: 'db.net.example.com',
    database: 'analytics',
    username: 'svc_loader',
    password: DB_PASSWORD,
    'timeout-seconds': '20',
    ...extra
  }
}

/** An https simulator with the test certificate and a proxy that maps both made-up names to it. */
export async function withProxied(
  cert: TestCertificate,
  proxyOpts: Omit<ProxyOptions, 'hosts'>,
  fn: (sim: Simulator, proxy: TestProxy) => Promise<void>
): Promise<void> {
  const sim = await startSimulator({
    clientSecret: CLIENT_SECRET,
    tls: { key: cert.key, cert: cert.cert }
  })
  const port = Number(new URL(sim.url).port)
  const proxy = await startProxy({ ...proxyOpts, hosts: { [PLATFORM]: port, [IMS]: port } })
  try {
    await fn(sim, proxy)
  } finally {
    await proxy.close()
    await sim.close()
  }
}

export const errorLines = (r: ActionRun) => r.lines.filter((l) => l.startsWith('::error'))

/** The single ::error line of a failed run. */
export function theError(r: ActionRun): string {
  const errors = errorLines(r)
  expect(errors).toHaveLength(1)
  return errors[0] ?? ''
}

export const requests = (sim: Simulator) =>
  sim.requests.map((q) => `${q.method} ${q.path} ${q.status}`)
export const tunnels = (p: TestProxy) => p.tunnels.map((t) => t.target)

export function expectCreated(sim: Simulator, r: ActionRun, name: string): void {
  expect(errorLines(r)).toEqual([])
  expect(r.code).toBe(0)
  const stored = sim.connections().filter((c) => c.name === name)
  expect(stored).toHaveLength(1)
  expect(r.outputs['connection-id']).toBe(stored[0]?.id)
  expect(r.outputs.operation).toBe('created')
}

/** token, lookup, create, and the lookup after a create that checks for racing runs */
export const CREATE_TRACE = [
  'POST /ims/token/v3 200',
  `GET ${LIST_PATH} 200`,
  `POST ${LIST_PATH} 201`,
  `GET ${LIST_PATH} 200`
]

/** Inputs for a run against a server that stalls, with a deadline of 3 s. */
export const stallInputs = (url: string, extra: Record<string, string> = {}) => ({
  'client-id': 'sim-client-id',
  'client-secret': CLIENT_SECRET,
  'ims-org-id': 'SIMORG@AdobeOrg',
  'sandbox-name': SANDBOX,
  'platform-url': url,
  'ims-url': url,
  'connection-name': 'net-stall',
  'connection-string': `Server=db;Database=d;UID=u;Password=${DB_PASSWORD}`,
  'timeout-seconds': '3',
  ...extra
})

/**
 * How the error ends the phase: the last attempt's request timeout and undici's connect timeout
 * both end at the deadline, and whichever fires first words it.
 */
const STALL_END = "(within \\d+ ms|before the step's timeout-seconds ran out)"

/**
 * A stalled run: exit 1 within `withinMs`, one error naming the phase (`phase`, a regular
 * expression's source) and the deadline.
 */
export function expectStall(r: ActionRun, phase: string, withinMs: number): void {
  expect(r.timedOut).toBeUndefined()
  expect(r.code).toBe(1)
  expect(r.durationMs).toBeLessThan(withinMs)
  const error = theError(r)
  expect(error).toMatch(new RegExp(`${phase} ${STALL_END}`))
  expect(error).toMatch(/timeout-seconds ran out/)
  expectNoLeaks(r, [CLIENT_SECRET, DB_PASSWORD])
}

/** Inputs for a run that reads big replies: access-token (no IMS), plain simulator, 60 s. */
export const bigReplyInputs = (sim: Simulator, name: string) => ({
  'client-id': sim.clientId,
  'access-token': sim.issueToken(),
  'ims-org-id': sim.orgId,
  'sandbox-name': SANDBOX,
  'platform-url': sim.url,
  'connection-name': name,
  'connection-string': `Server=db;Database=d;UID=u;Password=${DB_PASSWORD}`,
  'timeout-seconds': '60'
})

/** The error of a reply over the size cap, for `method` answered with `status`. */
export const TOO_LARGE = (method: string, status: number) =>
  new RegExp(`the reply to ${method} \\S+/connections \\(HTTP ${status}\\) is larger than 10 MiB`)
