/**
 * A real forward proxy (the `proxy` package: CONNECT tunnelling, basic auth) for end-to-end
 * tests. The simulator's made-up names (platform.sim.test, ...) resolve nowhere but here: the
 * proxy maps each to a port on 127.0.0.1, so a request reaches the simulator only through it.
 */
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { createProxy } from 'proxy'

export interface ProxyOptions {
  /** made-up host name -> port on 127.0.0.1 (CONNECT name:443 or name:port reaches it) */
  hosts: Record<string, number>
  /** require these basic credentials (407 otherwise); 'refuse' answers 407 to everyone */
  auth?: { user: string; password: string } | 'refuse'
}

export interface TunnelRecord {
  /** host:port as the client asked for it */
  target: string
  /** the Proxy-Authorization header as received ('' when none) */
  authorization: string
  /** false when the proxy answered 407 */
  allowed: boolean
}

export interface TestProxy {
  /** http://127.0.0.1:PORT */
  url: string
  port: number
  /** every CONNECT, in order */
  tunnels: TunnelRecord[]
  /** requests that were not CONNECT (plain proxied http) */
  plain: string[]
  close(): Promise<void>
}

export async function startProxy(opts: ProxyOptions): Promise<TestProxy> {
  const tunnels: TunnelRecord[] = []
  const plain: string[] = []
  const server = createProxy(http.createServer())
  const expected =
    opts.auth && opts.auth !== 'refuse'
      ? `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString('base64')}`
      : undefined
  // The package's authentication hook sees each request before it connects anywhere: the place
  // to check credentials, count, and resolve the made-up names.
  server.authenticate = (req) => {
    const authorization = req.headers['proxy-authorization'] ?? ''
    const allowed = opts.auth === 'refuse' ? false : expected ? authorization === expected : true
    if (req.method !== 'CONNECT') {
      plain.push(`${req.method} ${req.url}`)
      return allowed
    }
    const target = req.url ?? ''
    tunnels.push({ target, authorization, allowed })
    const i = target.lastIndexOf(':')
    const port = opts.hosts[target.slice(0, i)]
    // Unknown names go nowhere (port 9 on loopback refuses), never to the network.
    req.url = `127.0.0.1:${port ?? 9}`
    return allowed
  }
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    tunnels,
    plain,
    close: async () => {
      // The package ends a tunnel's upstream only when its client side ends: destroyed, the
      // upstream would stay open and keep the server behind it from closing. A client that has
      // gone away closes its side at once, so a short wait lets that reach the upstream first.
      for (const end = Date.now() + 1000; sockets.size > 0 && Date.now() < end;)
        await new Promise((resolve) => setTimeout(resolve, 10))
      await new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
    }
  }
}

export interface ClosingProxy {
  /** http://127.0.0.1:PORT */
  url: string
  port: number
  /** the CONNECT requests received, in order (their request lines) */
  connects: string[]
  close(): Promise<void>
}

/**
 * A proxy that accepts the TCP connection, reads the CONNECT request, then closes the connection
 * without answering (as a proxy that drops a tunnel it will not open may do).
 */
export async function closingProxy(): Promise<ClosingProxy> {
  const connects: string[] = []
  const sockets = new Set<import('node:net').Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on('error', () => undefined)
    s.on('close', () => sockets.delete(s))
    let head = ''
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      connects.push(head.split('\r\n')[0] ?? '')
      s.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
