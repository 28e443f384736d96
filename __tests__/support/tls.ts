/**
 * Test certificates: a CA, and a server certificate it signs for the simulator's made-up names,
 * as a TLS-inspecting proxy's CA would be handed to a runner. The child trusts the CA through
 * NODE_EXTRA_CA_CERTS, the way a user would.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import selfsigned from 'selfsigned'

export interface TestCertificate {
  /** server key and certificate (PEM) */
  key: string
  cert: string
  /** the CA certificate (PEM) and a file holding it, for NODE_EXTRA_CA_CERTS */
  ca: string
  caFile: string
  /** the directory holding caFile; remove it when done */
  dir: string
}

export async function testCertificate(names: string[]): Promise<TestCertificate> {
  const ca = await selfsigned.generate([{ name: 'commonName', value: 'Test proxy CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
    ]
  })
  const server = await selfsigned.generate(
    [{ name: 'commonName', value: names[0] ?? 'sim.test' }],
    {
      keyType: 'ec',
      algorithm: 'sha256',
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) }
      ]
    }
  )
  const dir = await mkdtemp(path.join(tmpdir(), 'test-ca-'))
  const caFile = path.join(dir, 'ca.pem')
  await writeFile(caFile, ca.cert)
  return { key: server.private, cert: server.cert, ca: ca.cert, caFile, dir }
}
