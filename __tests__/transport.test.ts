/**
 * The undici transport against real sockets on loopback: reply size cap, connections that stall
 * in each phase, a real proxy that refuses, one connection per origin.
 */
import { describe, it, expect, afterEach } from '@jest/globals'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { NetworkError, TransportError, type HttpRequest } from '../src/platform/http.js'
import { proxyConfig } from '../src/platform/proxy.js'
import { describeStall, MAX_REPLY_BYTES, undiciTransport } from '../src/platform/transport.js'
import { closingProxy, startProxy, type ClosingProxy, type TestProxy } from './support/proxy.js'
import { silentServer, stalledAccept, type StallServer } from './support/stall.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.()
})

/** A server whose replies a test decides; counts TCP connections. */
async function server(
  handler: http.RequestListener
): Promise<{ url: string; port: number; connections: () => number }> {
  let connections = 0
  const s = http.createServer({ keepAlive: true }, handler)
  s.on('connection', () => connections++)
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  cleanups.push(
    () =>
      new Promise((resolve) => {
        s.closeAllConnections()
        s.close(resolve)
      })
  )
  const port = (s.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, port, connections: () => connections }
}

function transport(opts: Parameters<typeof undiciTransport>[0] = {}) {
  const t = undiciTransport(opts)
  cleanups.push(t.close)
  return t.transport
}

async function closing(): Promise<ClosingProxy> {
  const p = await closingProxy()
  cleanups.push(p.close)
  return p
}

const get = (url: string): HttpRequest => ({ method: 'GET', url, headers: {} })

async function stall(make: () => Promise<StallServer>): Promise<StallServer> {
  const s = await make()
  cleanups.push(s.close)
  return s
}

async function proxy(hosts: Record<string, number>, auth?: 'refuse'): Promise<TestProxy> {
  const p = await startProxy({ hosts, auth })
  cleanups.push(p.close)
  return p
}

describe('reply size cap', () => {
  it('is 10 MiB', () => {
    expect(MAX_REPLY_BYTES).toBe(10 * 1024 * 1024)
  })

  it('reads a reply of exactly the cap, refuses one byte more', async () => {
    const sizes = [1000, 1001]
    const s = await server((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      // Chunked: no Content-Length, so the body must be counted as it streams.
      res.write('x'.repeat(500))
      res.end('y'.repeat(Number(req.url?.slice(1)) - 500))
    })
    const send = transport({ maxReplyBytes: 1000 })
    const ok = await send(get(`${s.url}/${sizes[0]}`), 5000)
    expect(ok.text).toHaveLength(1000)
    await expect(send(get(`${s.url}/${sizes[1]}`), 5000)).rejects.toThrow(TransportError)
    await expect(send(get(`${s.url}/${sizes[1]}`), 5000)).rejects.toThrow(
      `the reply to GET ${s.url}/1001 (HTTP 200) is larger than 1000 bytes, the most this action reads; it was not read, and the request was not sent again`
    )
  })

  it('refuses a declared Content-Length over the cap without reading it', async () => {
    let written = 0
    const s = await server((_req, res) => {
      res.writeHead(503, { 'content-length': String(50 * 1024 * 1024) })
      const chunk = Buffer.alloc(64 * 1024)
      const pump = () => {
        while (written < 50 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
      }
      pump()
    })
    const send = transport()
    await expect(send(get(s.url), 5000)).rejects.toThrow(
      /HTTP 503\) is larger than 10 MiB, the most this action reads/
    )
    expect(written).toBeLessThan(20 * 1024 * 1024)
  })

  it.each([201, 400, 503])(
    'a refused %i reply carries its status, and leaves "the change may have been made" to the caller',
    async (status) => {
      const s = await server((_req, res) => {
        res.writeHead(status, { 'content-length': '2000' })
        res.end('z'.repeat(2000))
      })
      const send = transport({ maxReplyBytes: 1000 })
      const e = await send(
        { method: 'POST', url: `${s.url}/c`, headers: {}, body: '{}' },
        5000
      ).catch((err: unknown) => err)
      expect(e).toBeInstanceOf(TransportError)
      expect((e as TransportError).replyStatus).toBe(status)
      // Only the caller knows whether this POST changes anything (an IMS token call does not).
      expect((e as Error).message).toBe(
        `the reply to POST ${s.url}/c (HTTP ${status}) is larger than 1000 bytes, the most this action reads; it was not read, and the request was not sent again`
      )
    }
  )

  it('keeps one connection per origin across requests', async () => {
    const s = await server((_req, res) => res.end('{}'))
    const send = transport()
    for (let i = 0; i < 5; i++) await send(get(s.url), 5000)
    expect(s.connections()).toBe(1)
  })
})

describe('a request the HTTP client refuses to send', () => {
  it.each([
    ['a line break', 'line\nbreak'],
    ['a control character', 'bell\u0007'],
    ['an emoji', 'client-😀']
  ])(
    'a header value with %s: a TransportError (never retried), nothing reaches the server',
    async (_l, value) => {
      const s = await server((_req, res) => res.end('{}'))
      const send = transport()
      const e = await send(
        { method: 'GET', url: `${s.url}/x`, headers: { 'x-api-key': value } },
        5000
      ).catch((err: unknown) => err)
      expect(e).toBeInstanceOf(TransportError)
      expect((e as Error).message).toMatch(/^the request could not be sent \(\w+\)$/)
      expect((e as Error).message).not.toContain(value)
      expect(s.connections()).toBe(0)
    }
  )
})

describe('connections that stall: the request timeout reaches the connect phase', () => {
  /** The timeout's NetworkError, and how long the transport took to give it. */
  async function timed(
    send: ReturnType<typeof transport>,
    url: string,
    timeoutMs: number
  ): Promise<{ error: NetworkError; ms: number }> {
    const started = Date.now()
    const error = await send(get(url), timeoutMs).then(
      () => {
        throw new Error('expected a failure')
      },
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(NetworkError)
    return { error: error as NetworkError, ms: Date.now() - started }
  }

  it('a TCP accept that stalls: named, not sent, ended at the timeout', async () => {
    const s = await stall(stalledAccept)
    const { error, ms } = await timed(transport(), `http://127.0.0.1:${s.port}/`, 400)
    expect(error.message).toBe(
      `the TCP connection to 127.0.0.1:${s.port} was not accepted within 400 ms`
    )
    expect(error.reason).toBe('timeout')
    expect(error.sent).toBe(false)
    expect(ms).toBeLessThan(1500)
  })

  it('a TLS handshake that stalls', async () => {
    const s = await stall(silentServer)
    const send = transport()
    const { error, ms } = await timed(send, `https://127.0.0.1:${s.port}/`, 400)
    expect(error.message).toBe(
      `the TLS handshake with 127.0.0.1:${s.port} did not finish within 400 ms`
    )
    expect(ms).toBeLessThan(1500)
    // The next attempt opens a new connection instead of waiting on the stalled one.
    const again = await timed(send, `https://127.0.0.1:${s.port}/`, 300)
    expect(again.error.message).toMatch(/did not finish within 300 ms/)
  })

  it('the connect timeout from the time left ends a stall even without a request timeout', async () => {
    const s = await stall(silentServer)
    const send = transport({ timeLeft: () => 300 })
    const { error, ms } = await timed(send, `https://127.0.0.1:${s.port}/`, 10_000)
    expect(error.message).toBe(
      `the TLS handshake with 127.0.0.1:${s.port} did not finish before the step's timeout-seconds ran out`
    )
    expect(ms).toBeLessThan(1500)
  })

  it('a proxy that never answers CONNECT', async () => {
    const s = await stall(silentServer)
    const send = transport({ proxies: proxyConfig({ HTTPS_PROXY: `http://127.0.0.1:${s.port}` }) })
    const { error } = await timed(send, 'https://platform.sim.test/', 400)
    expect(error.message).toBe(
      `the proxy 127.0.0.1:${s.port} did not open a tunnel to platform.sim.test:443 within 400 ms`
    )
    expect(error.sent).toBe(false)
  })

  it('a server that connects but never answers: no response (and perhaps sent)', async () => {
    const s = await server(() => undefined)
    const { error } = await timed(transport(), s.url, 300)
    expect(error.message).toBe('no response within 300 ms')
    expect(error.sent).toBe(true)
  })

  it('describes every phase', () => {
    const proxy = {
      href: 'http://u:p@proxy.corp:3128/',
      display: 'http://proxy.corp:3128',
      host: 'proxy.corp:3128',
      variable: 'HTTPS_PROXY',
      hasCredentials: true
    }
    const target = 'platform.adobe.io:443'
    const say = (phase: Parameters<typeof describeStall>[0]['phase']) =>
      describeStall({ target, phase, proxy }, 'within 1 ms')
    expect(say('dns')).toBe('the DNS lookup of platform.adobe.io did not finish within 1 ms')
    expect(say('tcp')).toBe(
      'the TCP connection to platform.adobe.io:443 was not accepted within 1 ms'
    )
    expect(say('tls')).toBe(
      'the TLS handshake with platform.adobe.io:443 did not finish within 1 ms'
    )
    expect(say('proxy-dns')).toBe(
      'the DNS lookup of the proxy proxy.corp did not finish within 1 ms'
    )
    expect(say('proxy-tcp')).toBe(
      'the TCP connection to the proxy proxy.corp:3128 was not accepted within 1 ms'
    )
    expect(say('proxy-tls')).toBe(
      'the TLS handshake with the proxy proxy.corp:3128 did not finish within 1 ms'
    )
    expect(say('tunnel')).toBe(
      'the proxy proxy.corp:3128 did not open a tunnel to platform.adobe.io:443 within 1 ms'
    )
    expect(say('tunnel-tls')).toBe(
      'the TLS handshake with platform.adobe.io:443 through the proxy proxy.corp:3128 did not finish within 1 ms'
    )
  })
})

describe('through a real proxy', () => {
  it('sends https requests through the proxy and plain loopback ones direct', async () => {
    const s = await server((_req, res) => res.end('{"ok":true}'))
    const p = await proxy({ 'api.sim.test': s.port })
    const send = transport({ proxies: proxyConfig({ HTTP_PROXY: p.url }) })
    // http to a made-up name: through the proxy (a CONNECT tunnel, as for https).
    const res = await send(get(`http://api.sim.test:${s.port}/x`), 5000)
    expect(res.text).toBe('{"ok":true}')
    await send(get(`http://api.sim.test:${s.port}/y`), 5000)
    expect(p.tunnels.map((t) => t.target)).toEqual([`api.sim.test:${s.port}`])
    // loopback: direct
    await send(get(`${s.url}/z`), 5000)
    expect(p.tunnels).toHaveLength(1)
    expect(s.connections()).toBe(2)
  })

  it('407 is final (a TransportError, not retried); a 5xx to CONNECT may be retried', async () => {
    const s = await server((_req, res) => res.end('{}'))
    const refusing = await proxy({ 'api.sim.test': s.port }, 'refuse')
    const send = transport({ proxies: proxyConfig({ HTTP_PROXY: refusing.url }) })
    const e407 = await send(get(`http://api.sim.test:${s.port}/`), 5000).catch((e: unknown) => e)
    expect(e407).toBeInstanceOf(TransportError)
    expect((e407 as Error).message).toBe(
      `the proxy ${refusing.url.slice('http://'.length)} (HTTP_PROXY) asked for credentials (HTTP 407 Proxy Authentication Required); give them in HTTP_PROXY as http://user:password@host:port`
    )

    const p = await proxy({})
    const send2 = transport({ proxies: proxyConfig({ HTTP_PROXY: p.url }) })
    const e500 = await send2(get('http://nowhere.sim.test/'), 5000).catch((e: unknown) => e)
    expect(e500).toBeInstanceOf(NetworkError)
    expect((e500 as NetworkError).sent).toBe(false)
    expect((e500 as Error).message).toBe(
      `the proxy ${p.url.slice('http://'.length)} (HTTP_PROXY) refused to open a tunnel to nowhere.sim.test:80 (HTTP 500)`
    )
  })

  it('a proxy that closes the connection on CONNECT: one CONNECT, named, not sent (no reconnect loop)', async () => {
    const p = await closing()
    const send = transport({ proxies: proxyConfig({ HTTPS_PROXY: p.url }) })
    const started = Date.now()
    const e = await send(get('https://platform.sim.test/'), 3000).catch((err: unknown) => err)
    expect(e).toBeInstanceOf(NetworkError)
    expect((e as Error).message).toBe(
      `the proxy 127.0.0.1:${p.port} closed the connection instead of opening a tunnel to platform.sim.test:443 (UND_ERR_SOCKET)`
    )
    expect((e as NetworkError).sent).toBe(false)
    expect((e as NetworkError).reason).toBe('refused')
    // At once, not at the timeout: undici did not keep reconnecting.
    expect(Date.now() - started).toBeLessThan(1500)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(p.connects).toEqual(['CONNECT platform.sim.test:443 HTTP/1.1'])
    // The next request is one more CONNECT, failing the same way.
    await expect(send(get('https://platform.sim.test/'), 3000)).rejects.toThrow(
      /closed the connection instead of opening a tunnel/
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(p.connects).toHaveLength(2)
  })

  it('a user name without a password is sent as Basic base64("user:"), as http-client does', async () => {
    const s = await server((_req, res) => res.end('{"ok":true}'))
    const p = await startProxy({
      hosts: { 'api.sim.test': s.port },
      auth: { user: 'tok%2Fen', password: '' }
    })
    cleanups.push(p.close)
    const send = transport({
      proxies: proxyConfig({ HTTP_PROXY: `http://tok%252Fen@127.0.0.1:${p.port}` })
    })
    const res = await send(get(`http://api.sim.test:${s.port}/x`), 5000)
    expect(res.text).toBe('{"ok":true}')
    expect(p.tunnels.map((t) => t.authorization)).toEqual([
      `Basic ${Buffer.from('tok%2Fen:').toString('base64')}`
    ])
  })

  it.each(['/corp', '/corp/?x=1', '?x=1', '#frag', '/a/b?c=d#e'])(
    'a proxy URL ending in %s: only scheme, credentials, host and port are used',
    async (tail) => {
      const s = await server((_req, res) => res.end('{"ok":true}'))
      const p = await startProxy({
        hosts: { 'api.sim.test': s.port },
        auth: { user: 'u', password: 'p@ss' }
      })
      cleanups.push(p.close)
      const send = transport({
        proxies: proxyConfig({ HTTP_PROXY: `http://u:p%40ss@127.0.0.1:${p.port}${tail}` })
      })
      const res = await send(get(`http://api.sim.test:${s.port}/x`), 5000)
      expect(res.text).toBe('{"ok":true}')
      expect(p.tunnels.map((t) => t.allowed)).toEqual([true])
    }
  )

  it('a proxy that refuses connections is named', async () => {
    const p = await proxy({})
    const port = p.port
    await p.close()
    const send = transport({ proxies: proxyConfig({ HTTPS_PROXY: `http://127.0.0.1:${port}` }) })
    const e = await send(get('https://platform.sim.test/'), 5000).catch((err: unknown) => err)
    expect((e as Error).message).toBe(
      `could not connect to the proxy 127.0.0.1:${port} (ECONNREFUSED)`
    )
    expect((e as NetworkError).sent).toBe(false)
  })
})
