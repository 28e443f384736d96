/**
 * The network a self-hosted runner has, with the action's run() in-process as the runner would
 * run it (support/in-process.ts): a real forward proxy (the `proxy` package) in front of the
 * simulator served over https on made-up names that only the proxy resolves; connections that
 * stall in each phase; replies far over the size cap. The action reads the proxy variables from
 * the environment it is given and sends through a real undici ProxyAgent. Runs that need the test
 * CA trusted (NODE_EXTRA_CA_CERTS, read only when a process starts) and the bounds of a real
 * process (its exit at the deadline, its peak memory) are in e2e-process.test.ts.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { rm } from 'node:fs/promises'
import { startSimulator, type Simulator } from '../simulator/server.js'
import { systemClock, type Clock } from '../src/platform/http.js'
import { runInProcess } from './support/in-process.js'
import { expectNoLeaks } from './support/leaks.js'
import {
  bigReplyInputs,
  CERT_NAMES,
  CLIENT_SECRET,
  CREATE_TRACE,
  errorLines,
  expectCreated,
  expectStall,
  IMS,
  LIST_PATH,
  MB,
  networkInputs,
  PLATFORM,
  requests,
  stallInputs,
  theError,
  TOO_LARGE,
  tunnels,
  withProxied as withProxiedBy
} from './support/network.js'
import { closingProxy, startProxy, type ProxyOptions, type TestProxy } from './support/proxy.js'
import { silentServer, stalledAccept } from './support/stall.js'
import { testCertificate, type TestCertificate } from './support/tls.js'

let cert: TestCertificate
beforeAll(async () => {
  cert = await testCertificate(CERT_NAMES)
})
afterAll(async () => {
  await rm(cert.dir, { recursive: true, force: true })
})

const withProxied = (
  proxyOpts: Omit<ProxyOptions, 'hosts'>,
  fn: (sim: Simulator, proxy: TestProxy) => Promise<void>
) => withProxiedBy(cert, proxyOpts, fn)

/**
 * Runs the action in-process against `sim` with these variables. This process does not trust
 * the test CA, so a TLS handshake with the simulator fails here: only runs that end before one
 * succeeds (or never need one) are in this file.
 */
const runIn = (
  sim: Simulator,
  name: string,
  env: Record<string, string>,
  extra: Record<string, string> = {},
  clock?: Clock
) => runInProcess({ inputs: networkInputs(sim, name, extra), env, clock })

describe('through a forward proxy (https simulator on names only the proxy resolves)', () => {
  it.concurrent(
    'without a proxy the names do not resolve: the proxy is what makes them reachable',
    () =>
      withProxied({}, async (sim, proxy) => {
        const r = await runIn(sim, 'net-no-proxy', {}, { 'max-attempts': '1' })
        expect(r.code).toBe(1)
        expect(theError(r)).toMatch(
          /could not connect to ims\.sim\.test:443 \((ENOTFOUND|EAI_AGAIN)\)/
        )
        expect(sim.requests).toEqual([])
        expect(proxy.tunnels).toEqual([])
      })
  )

  it.concurrent(
    'the same run direct (plain simulator on loopback) makes the same requests as through the proxy',
    async () => {
      const sim = await startSimulator({ clientSecret: CLIENT_SECRET })
      try {
        const name = 'net-https-proxy'
        const r = await runInProcess({
          inputs: { ...networkInputs(sim, name), 'platform-url': sim.url, 'ims-url': sim.url }
        })
        expectCreated(sim, r, name)
        expect(requests(sim)).toEqual(CREATE_TRACE)
      } finally {
        await sim.close()
      }
    }
  )

  it.concurrent(
    'HTTP_PROXY is not used for https hosts: they go direct (and here do not resolve)',
    () =>
      withProxied({}, async (sim, proxy) => {
        const r = await runIn(
          sim,
          'net-http-only',
          { HTTP_PROXY: proxy.url },
          { 'max-attempts': '1' }
        )
        expect(r.code).toBe(1)
        expect(theError(r)).toMatch(
          /could not connect to ims\.sim\.test:443 \((ENOTFOUND|EAI_AGAIN)\)/
        )
        expect(proxy.tunnels).toEqual([])
      })
  )

  it.concurrent('loopback is never proxied, whatever the variables say', async () => {
    const sim = await startSimulator({ clientSecret: CLIENT_SECRET })
    try {
      const name = 'net-loopback'
      const r = await runInProcess({
        inputs: { ...networkInputs(sim, name), 'platform-url': sim.url, 'ims-url': sim.url },
        env: { HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9' }
      })
      expectCreated(sim, r, name)
      expect(r.lines.some((l) => /is reached/.test(l))).toBe(false)
    } finally {
      await sim.close()
    }
  })

  describe('NO_PROXY', () => {
    // A bypassed host goes direct, and these names resolve only at the proxy: so a bypass shows as
    // a direct lookup that fails, with no tunnel for that host at the proxy.
    const bypassed = (host: string) =>
      new RegExp(
        `could not connect to ${host.replace(/\./g, '\\.')}:443 \\((ENOTFOUND|EAI_AGAIN)\\)`
      )

    it.concurrent.each([
      ['domain suffix', 'sim.test'],
      ['domain suffix with a leading dot', '.sim.test'],
      ['wildcard', '*'],
      ['lower-case variable', 'sim.test']
    ])('%s (%s): both hosts direct, nothing at the proxy', (what, noProxy) =>
      withProxied({}, async (sim, proxy) => {
        const env: Record<string, string> = { HTTPS_PROXY: proxy.url }
        env[what.startsWith('lower') ? 'no_proxy' : 'NO_PROXY'] = noProxy
        const r = await runIn(sim, 'net-no-proxy-all', env, { 'max-attempts': '1' })
        expect(r.code).toBe(1)
        expect(theError(r)).toMatch(bypassed(IMS))
        expect(proxy.tunnels).toEqual([])
        expect(sim.requests).toEqual([])
      })
    )
  })

  describe('proxy credentials and refusals', () => {
    const USER = 'svc-proxy'
    const PASSWORD = 'Pr0xy:p@ss/w%rd'
    const enc = encodeURIComponent

    it.concurrent(
      'a proxy that answers 407: one clear error naming the proxy, no retries, no leak',
      () =>
        withProxied({ auth: { user: USER, password: 'the-right-one' } }, async (sim, proxy) => {
          const proxyUrl = `http://${USER}:${enc(PASSWORD)}@127.0.0.1:${proxy.port}`
          const r = await runIn(sim, 'net-proxy-407', { HTTPS_PROXY: proxyUrl })
          expect(r.code).toBe(1)
          const error = theError(r)
          expect(error).toContain(
            `IMS token request failed: the proxy 127.0.0.1:${proxy.port} (HTTPS_PROXY) asked for credentials (HTTP 407 Proxy Authentication Required); it did not accept the user and password in HTTPS_PROXY`
          )
          expect(proxy.tunnels.map((t) => t.allowed)).toEqual([false])
          expect(sim.requests).toEqual([])
          expect(r.lines.some((l) => /attempt 1 of/.test(l))).toBe(false)
          expectNoLeaks(r, [PASSWORD, `${USER}:${PASSWORD}`, proxyUrl, CLIENT_SECRET])
        })
    )

    it.concurrent('407 without credentials says where to put them', () =>
      withProxied({ auth: 'refuse' }, async (sim, proxy) => {
        const r = await runIn(sim, 'net-proxy-407-none', { https_proxy: proxy.url })
        expect(r.code).toBe(1)
        expect(theError(r)).toMatch(
          /asked for credentials \(HTTP 407 Proxy Authentication Required\); give them in https_proxy as http:\/\/user:password@host:port/
        )
        expect(proxy.tunnels).toHaveLength(1)
      })
    )

    it.concurrent(
      'a proxy that cannot reach the host (HTTP 500 on CONNECT) is retried, then named',
      () =>
        withProxied({}, async (sim, proxy) => {
          const r = await runIn(
            sim,
            'net-proxy-500',
            { HTTPS_PROXY: proxy.url },
            { 'ims-url': 'https://unknown.sim.test', 'max-attempts': '2' }
          )
          expect(r.code).toBe(1)
          expect(theError(r)).toContain(
            `the proxy 127.0.0.1:${proxy.port} (HTTPS_PROXY) refused to open a tunnel to unknown.sim.test:443 (HTTP 500)`
          )
          expect(tunnels(proxy)).toEqual(['unknown.sim.test:443', 'unknown.sim.test:443'])
        })
    )

    it.concurrent(
      'a proxy that closes the connection on CONNECT: one CONNECT per attempt, the phase named (no reconnect loop)',
      async () => {
        const closing = await closingProxy()
        const sim = await startSimulator({ clientSecret: CLIENT_SECRET })
        try {
          const r = await runIn(
            sim,
            'net-proxy-closes',
            { HTTPS_PROXY: closing.url },
            { 'timeout-seconds': '3', 'max-attempts': '2' }
          )
          expect(r.code).toBe(1)
          const said = `the proxy 127.0.0.1:${closing.port} closed the connection instead of opening a tunnel to ${IMS}:443`
          expect(theError(r)).toContain(`IMS token request failed: ${said}`)
          expect(r.lines.some((l) => l.includes(`attempt 1 of 2 failed (${said}`))).toBe(true)
          // Each attempt is one CONNECT (undici alone would send thousands in 3 s).
          expect(closing.connects).toEqual([
            `CONNECT ${IMS}:443 HTTP/1.1`,
            `CONNECT ${IMS}:443 HTTP/1.1`
          ])
          expect(sim.requests).toEqual([])
        } finally {
          await closing.close()
          await sim.close()
        }
      }
    )

    it.concurrent(
      "an unencoded '#' in the proxy password: an error naming the variable, nothing sent, no leak",
      () =>
        withProxied({}, async (sim, proxy) => {
          const bad = `http://carol:12#34secret@127.0.0.1:${proxy.port}`
          const r = await runIn(sim, 'net-proxy-hash', { HTTPS_PROXY: bad })
          expect(r.code).toBe(1)
          expect(theError(r)).toMatch(
            /HTTPS_PROXY is not a valid proxy URL: percent-encode '#', '\?' and '\/' in the user name and password/
          )
          expect(sim.requests).toEqual([])
          expect(proxy.tunnels).toEqual([])
          expectNoLeaks(r, [bad, '12#34secret', '34secret'])
        })
    )

    it.concurrent(
      'a certificate the runner does not trust (no NODE_EXTRA_CA_CERTS): fails at once, naming the host',
      () =>
        withProxied({}, async (sim, proxy) => {
          const r = await runIn(sim, 'net-untrusted', { HTTPS_PROXY: proxy.url })
          expect(r.code).toBe(1)
          expect(theError(r)).toMatch(
            /IMS token request failed: the TLS certificate of ims\.sim\.test:443 is not trusted \([A-Z_]+\); if a proxy inspects TLS, point NODE_EXTRA_CA_CERTS at its CA certificate/
          )
          // Not retried: one tunnel, and nothing reached the simulator's handlers.
          expect(tunnels(proxy)).toEqual([`${IMS}:443`])
          expect(sim.requests).toEqual([])
        })
    )

    it.concurrent(
      'an unusable proxy variable: a clear error naming it, nothing sent, value masked',
      () =>
        withProxied({}, async (sim, proxy) => {
          const bad = `http://${USER}:${enc(PASSWORD)}@[bad:${proxy.port}`
          const r = await runIn(sim, 'net-proxy-bad', { HTTPS_PROXY: bad })
          expect(r.code).toBe(1)
          expect(theError(r)).toMatch(/HTTPS_PROXY is not a valid proxy URL/)
          expect(sim.requests).toEqual([])
          expect(proxy.tunnels).toEqual([])
          expectNoLeaks(r, [bad])
        })
    )
  })
})

// Real time: the deadline (timeout-seconds 3) is what ends a stalled connection, so the run's
// clock must move while it waits on the socket. At most 5 s: the run alone, without a process
// starting (e2e-process.test.ts bounds a whole process).
/** Windows cannot stage a listener that never accepts (no SIGSTOP; see support/stall.ts). */
const concurrentWithStoppedListener = process.platform === 'win32' ? it.skip : it.concurrent

describe('stalled connections end with the deadline (timeout-seconds 3, done within 5 s)', () => {
  const stalled = (inputs: Record<string, string>, env: Record<string, string> = {}) =>
    runInProcess({ inputs, env, clock: systemClock })

  concurrentWithStoppedListener('stalled TCP accept (the listener never accepts)', async () => {
    const stall = await stalledAccept()
    try {
      const r = await stalled(stallInputs(`https://127.0.0.1:${stall.port}`))
      expectStall(r, `the TCP connection to 127\\.0\\.0\\.1:${stall.port} was not accepted`, 5000)
      // Each attempt gave up on its own connection, so each retry was a fresh connect.
      expect(r.lines.some((l) => /attempt 1 of 5 failed \(the TCP connection/.test(l))).toBe(true)
    } finally {
      await stall.close()
    }
  })

  it.concurrent('stalled TLS handshake (the server accepts and never answers)', async () => {
    const stall = await silentServer()
    try {
      const r = await stalled(stallInputs(`https://127.0.0.1:${stall.port}`))
      expectStall(r, `the TLS handshake with 127\\.0\\.0\\.1:${stall.port} did not finish`, 5000)
    } finally {
      await stall.close()
    }
  })

  it.concurrent('a proxy that accepts but never answers CONNECT', async () => {
    const stall = await silentServer()
    try {
      const r = await stalled(stallInputs(`https://${PLATFORM}`, { 'ims-url': `https://${IMS}` }), {
        HTTPS_PROXY: `http://127.0.0.1:${stall.port}`
      })
      expectStall(
        r,
        `the proxy 127\\.0\\.0\\.1:${stall.port} did not open a tunnel to ims\\.sim\\.test:443`,
        5000
      )
    } finally {
      await stall.close()
    }
  })

  concurrentWithStoppedListener('a proxy whose TCP accept stalls', async () => {
    const stall = await stalledAccept()
    try {
      const r = await stalled(stallInputs(`https://${PLATFORM}`, { 'ims-url': `https://${IMS}` }), {
        HTTPS_PROXY: `http://127.0.0.1:${stall.port}`
      })
      expectStall(
        r,
        `the TCP connection to the proxy 127\\.0\\.0\\.1:${stall.port} was not accepted`,
        5000
      )
    } finally {
      await stall.close()
    }
  })

  it.concurrent('a TLS handshake that stalls inside the proxy tunnel', async () => {
    const stall = await silentServer()
    const proxy = await startProxy({ hosts: { [IMS]: stall.port, [PLATFORM]: stall.port } })
    try {
      const r = await stalled(stallInputs(`https://${PLATFORM}`, { 'ims-url': `https://${IMS}` }), {
        HTTPS_PROXY: proxy.url
      })
      expectStall(
        r,
        `the TLS handshake with ims\\.sim\\.test:443 through the proxy 127\\.0\\.0\\.1:${proxy.port} did not finish`,
        5000
      )
      expect(proxy.tunnels.length).toBeGreaterThanOrEqual(2)
    } finally {
      await proxy.close()
      await stall.close()
    }
  })
})

// The action's peak memory on these replies is measured in e2e-process.test.ts, in a process.
describe('replies over the size cap (10 MiB): exit 1, no retry', () => {
  const NOTE = /The change may have been made: run the step again, it finds the connection by name/
  // A 201 too large to read was performed, as far as the action can tell: it looks the name up
  // (here the simulator did not store it, so it is not found) and never POSTs again.
  const UNREAD_201 =
    /creating the connection failed: Flow Service accepted it \(HTTP 201\) but its answer is larger than this action reads, and the connection is not listed yet; it was not sent again/

  const CASES: Array<{
    what: string
    method: 'GET' | 'POST'
    status: number
    bytes: number
    chunked: boolean
  }> = [
    { what: 'list reply', method: 'GET', status: 200, bytes: 50 * MB, chunked: true },
    { what: 'list reply', method: 'GET', status: 200, bytes: 500 * MB, chunked: true },
    {
      what: 'list reply, Content-Length given',
      method: 'GET',
      status: 200,
      bytes: 500 * MB,
      chunked: false
    },
    { what: 'create reply', method: 'POST', status: 201, bytes: 50 * MB, chunked: true },
    { what: 'create reply', method: 'POST', status: 201, bytes: 500 * MB, chunked: true },
    { what: 'error reply (503)', method: 'GET', status: 503, bytes: 50 * MB, chunked: true },
    { what: 'error reply (503)', method: 'GET', status: 503, bytes: 500 * MB, chunked: true },
    {
      what: 'error reply on create (500)',
      method: 'POST',
      status: 500,
      bytes: 500 * MB,
      chunked: true
    },
    {
      what: 'refusal of a create (400)',
      method: 'POST',
      status: 400,
      bytes: 50 * MB,
      chunked: true
    }
  ]

  it.each(CASES)('$what, $bytes bytes', async ({ method, status, bytes, chunked }) => {
    const sim = await startSimulator()
    try {
      sim.inject({
        match: { method, path: LIST_PATH },
        times: Infinity,
        action: { type: 'large-body', bytes, status, chunked }
      })
      const r = await runInProcess({ inputs: bigReplyInputs(sim, `net-big-${method}-${status}`) })
      expect(r.code).toBe(1)
      expect(r.timedOut).toBeUndefined()
      const error = theError(r)
      expect(error).toMatch(
        method === 'POST' && status === 201 ? UNREAD_201 : TOO_LARGE(method, status)
      )
      expect(error).toMatch(/not sent again/)
      // Only a create that may have gone through (a 5xx here) says so; a GET or a 4xx does not.
      if (method === 'POST' && status >= 500) expect(error).toMatch(NOTE)
      else expect(error).not.toMatch(NOTE)
      // Not retried: exactly one request of that kind.
      expect(sim.requests.filter((q) => q.method === method)).toHaveLength(1)
      expect(sim.stats().mutations).toBe(0)
      expect(r.outputs).toEqual({})
    } finally {
      await sim.close()
    }
  })

  it('a create performed whose 201 reply is too large to read: found by name and adopted, outputs set', async () => {
    const sim = await startSimulator()
    try {
      sim.inject({
        match: { method: 'POST', path: LIST_PATH },
        times: 1,
        action: { type: 'large-body', bytes: 50 * MB, status: 201, chunked: true, perform: true }
      })
      const name = 'net-big-201-performed'
      const r = await runInProcess({ inputs: bigReplyInputs(sim, name) })
      expect(errorLines(r)).toEqual([])
      expect(r.code).toBe(0)
      const stored = sim.connections().filter((c) => c.name === name)
      expect(stored).toHaveLength(1)
      expect(r.outputs['connection-id']).toBe(stored[0]?.id)
      // Found by its mark: the copy this run created.
      expect(r.outputs.operation).toBe('created')
      expect(sim.requests.filter((q) => q.method === 'POST')).toHaveLength(1)
      expect(r.lines).toContain(
        'creating the connection: Flow Service accepted it (HTTP 201) but its answer is larger than this action reads; looking for it by name'
      )
    } finally {
      await sim.close()
    }
  })
})
