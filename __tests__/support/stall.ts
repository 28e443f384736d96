/**
 * Servers that stall a connection: one whose TCP accept queue is full (a connect hangs, as
 * behind a firewall that drops packets) and one that accepts TCP but never answers TLS.
 */
import { spawn } from 'node:child_process'
import net from 'node:net'

export interface StallServer {
  port: number
  close(): Promise<void>
}

/**
 * A listener in a stopped process with a backlog of 1: the kernel completes handshakes into the
 * accept queue until it is full, then drops SYNs, so the next connect waits forever. POSIX only:
 * Windows has no SIGSTOP (and refuses a connect when the queue is full).
 */
export async function stalledAccept(): Promise<StallServer> {
  if (process.platform === 'win32')
    throw new Error('stalledAccept needs SIGSTOP, which Windows lacks')
  const child = spawn(
    process.execPath,
    [
      '-e',
      "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () {" +
        " process.stdout.write(this.address().port + '\\n'); process.kill(process.pid, 'SIGSTOP') })"
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject)
    child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())))
  })
  const held: net.Socket[] = []
  // Fill the queue: connects succeed until one hangs.
  for (let i = 0; i < 16; i++) {
    const s = net.connect(port, '127.0.0.1')
    s.on('error', () => undefined)
    held.push(s)
    const accepted = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 300)
      s.once('connect', () => {
        clearTimeout(t)
        resolve(true)
      })
    })
    if (!accepted) break
  }
  return {
    port,
    close: async () => {
      for (const s of held) s.destroy()
      child.kill('SIGKILL')
      await new Promise((resolve) =>
        child.exitCode !== null ? resolve(null) : child.once('exit', resolve)
      )
    }
  }
}

/** Accepts TCP and reads, but never answers: a TLS handshake (or a CONNECT) hangs. */
export async function silentServer(): Promise<StallServer> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on('error', () => undefined)
    s.on('close', () => sockets.delete(s))
    s.resume()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
