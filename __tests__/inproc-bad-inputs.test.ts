/**
 * Bad inputs: each invalid input set runs the action's run() in-process as the runner would
 * (support/in-process.ts), every other one with RUNNER_DEBUG=1. Every run must exit 1 with an
 * ::error:: line naming the offending input, send nothing at all (the simulator must see zero
 * requests during the whole file) and print no secret in any form, anywhere but the ::add-mask::
 * lines.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { startSimulator, type Simulator } from '../simulator/server.js'
import { runInProcess } from './support/in-process.js'
import { expectNoLeaks, forgedCommands } from './support/leaks.js'

type Inputs = Record<string, string>

interface BadSet {
  title: string
  /** the input the ::error:: line must name */
  input: string
  /** the inputs of this set (the base plus overrides); platform-url/ims-url filled in at run time */
  make: (n: number) => Inputs
  /** secrets embedded in other values (a password inside a URL or connection string) */
  embedded?: (n: number) => string[]
}

const SECRET_INPUTS = [
  'client-secret',
  'access-token',
  'connection-string',
  'postgres-url',
  'password'
]

const clientSecret = (n: number) => `ClientSecret-${n}-Qw8+/=kZ`
const csPassword = (n: number) => `CsPw-${n}-x7!q{;}`
const partsPassword = (n: number) => `PartsPw-${n}-z9#k &=`
/** the decoded password of urlFor(n) */
const urlPassword = (n: number) => `UrlPw-${n}-m3$k@/`
const urlFor = (n: number, query = '?sslmode=require') =>
  `postgresql://app_user:${encodeURIComponent(urlPassword(n))}@db.bad.example.com:5432/app${query}`
const connectionString = (n: number) =>
  `Server=db.bad.example.com;Database=app;Port=5432;UID=app_user;Password={${csPassword(n).replace(/}/g, '}}')}}`

/** A valid set (connection-string credentials); each bad set changes something. */
const base = (n: number): Inputs => ({
  'client-id': `bad-inputs-client-${n}`,
  'client-secret': clientSecret(n),
  'ims-org-id': 'BADINPUTS0123@AdobeOrg',
  'sandbox-name': 'prod',
  'connection-name': `bad-input-set-${n}`,
  'connection-string': connectionString(n),
  'timeout-seconds': '8'
})
const withParts = (n: number, extra: Inputs = {}): Inputs => ({
  ...base(n),
  'connection-string': '',
  server: 'db.bad.example.com',
  database: 'app',
  username: 'app_user',
  password: partsPassword(n),
  ...extra
})
const withUrl = (n: number, url: string, extra: Inputs = {}): Inputs => ({
  ...base(n),
  'connection-string': '',
  'postgres-url': url,
  ...extra
})
const csEmbedded = (n: number) => [csPassword(n)]
const urlEmbedded = (n: number) => [urlPassword(n)]

const SETS: BadSet[] = [
  // Each required input missing.
  {
    title: 'client-id missing',
    input: 'client-id',
    make: (n) => ({ ...base(n), 'client-id': '' })
  },
  {
    title: 'ims-org-id missing',
    input: 'ims-org-id',
    make: (n) => ({ ...base(n), 'ims-org-id': '' })
  },
  {
    title: 'sandbox-name missing',
    input: 'sandbox-name',
    make: (n) => ({ ...base(n), 'sandbox-name': '' })
  },
  {
    title: 'connection-name missing',
    input: 'connection-name',
    make: (n) => ({ ...base(n), 'connection-name': '' })
  },
  // The Adobe credential: exactly one of client-secret and access-token.
  {
    title: 'both client-secret and access-token',
    input: 'client-secret',
    make: (n) => ({ ...base(n), 'access-token': `AccessToken-${n}-eyJhbGciOi.payload.sig` })
  },
  {
    title: 'neither client-secret nor access-token',
    input: 'client-secret',
    make: (n) => ({ ...base(n), 'client-secret': '' })
  },
  // Each enum wrong.
  {
    title: 'auth-type wrong',
    input: 'auth-type',
    make: (n) => ({ ...base(n), 'auth-type': 'kerberos' })
  },
  {
    title: 'if-exists wrong',
    input: 'if-exists',
    make: (n) => ({ ...base(n), 'if-exists': 'replace' })
  },
  { title: 'state wrong', input: 'state', make: (n) => ({ ...base(n), state: 'deleted' }) },
  { title: 'dry-run wrong', input: 'dry-run', make: (n) => ({ ...base(n), 'dry-run': 'yes' }) },
  {
    title: 'test-connection wrong',
    input: 'test-connection',
    make: (n) => ({ ...base(n), 'test-connection': 'maybe' })
  },
  {
    title: 'validate-spec wrong',
    input: 'validate-spec',
    make: (n) => ({ ...base(n), 'validate-spec': 'always' })
  },
  {
    title: 'encryption-method wrong',
    input: 'encryption-method',
    make: (n) => ({ ...base(n), 'encryption-method': 'tls' })
  },
  {
    title: 'validate-server-certificate wrong',
    input: 'validate-server-certificate',
    make: (n) => ({ ...base(n), 'validate-server-certificate': 'yes' })
  },
  {
    title: 'ssl-mode wrong (basic)',
    input: 'ssl-mode',
    make: (n) => withParts(n, { 'auth-type': 'basic', 'ssl-mode': 'strict' })
  },
  // Port.
  { title: 'port 0', input: 'port', make: (n) => withParts(n, { port: '0' }) },
  { title: 'port 65536', input: 'port', make: (n) => withParts(n, { port: '65536' }) },
  { title: "port 'abc'", input: 'port', make: (n) => withParts(n, { port: 'abc' }) },
  { title: "port '5432.5'", input: 'port', make: (n) => withParts(n, { port: '5432.5' }) },
  // A URL or host:port in server would register a connection Adobe cannot reach.
  {
    title: 'server with a scheme and a port',
    input: 'server',
    make: (n) => withParts(n, { server: 'postgres://db.bad.example.com:5432' })
  },
  // Options that belong to the other auth type.
  {
    title: 'ssl-mode with connection-string auth',
    input: 'ssl-mode',
    make: (n) => ({ ...base(n), 'ssl-mode': 'Require' })
  },
  {
    title: 'encryption-method with basic auth',
    input: 'encryption-method',
    make: (n) => withParts(n, { 'auth-type': 'basic', 'encryption-method': 'enabled' })
  },
  // Conflicting or incomplete credential sources.
  {
    title: 'connection-string and postgres-url',
    input: 'postgres-url',
    make: (n) => ({ ...base(n), 'postgres-url': urlFor(n) }),
    embedded: (n) => [...csEmbedded(n), ...urlEmbedded(n)]
  },
  {
    title: 'postgres-url and server/password parts',
    input: 'server',
    make: (n) => withParts(n, { 'postgres-url': urlFor(n) }),
    embedded: urlEmbedded
  },
  ...(['server', 'database', 'username', 'password'] as const).map((part): BadSet => ({
    title: `parts without ${part}`,
    input: part,
    make: (n) => withParts(n, { [part]: '' })
  })),
  // Service URLs.
  {
    title: 'platform-url plain http, not loopback',
    input: 'platform-url',
    make: (n) => ({ ...base(n), 'platform-url': 'http://platform.example.invalid' })
  },
  {
    title: 'ims-url plain http, not loopback',
    input: 'ims-url',
    make: (n) => ({ ...base(n), 'ims-url': 'http://ims.example.invalid' })
  },
  {
    title: 'platform-url with credentials',
    input: 'platform-url',
    make: (n) => ({ ...base(n), 'platform-url': `https://svc:UrlCred-${n}-Pw9@platform.adobe.io` }),
    embedded: (n) => [...csEmbedded(n), `UrlCred-${n}-Pw9`]
  },
  // Names.
  {
    title: 'connection-name whitespace only',
    input: 'connection-name',
    make: (n) => ({ ...base(n), 'connection-name': '   \t  ' })
  },
  {
    title: 'connection-name of 300 characters',
    input: 'connection-name',
    make: (n) => ({ ...base(n), 'connection-name': `n${n}-`.padEnd(300, 'x') })
  },
  {
    title: 'sandbox-name upper-case',
    input: 'sandbox-name',
    make: (n) => ({ ...base(n), 'sandbox-name': 'Prod' })
  },
  // Malformed postgres-url.
  {
    title: 'postgres-url not a URI',
    input: 'postgres-url',
    make: (n) => withUrl(n, `just some text with UrlPw-${n}-notauri`),
    embedded: (n) => [`UrlPw-${n}-notauri`]
  },
  {
    title: 'postgres-url wrong scheme',
    input: 'postgres-url',
    make: (n) => withUrl(n, urlFor(n).replace('postgresql://', 'mysql://')),
    embedded: urlEmbedded
  },
  {
    title: 'postgres-url without a password',
    input: 'postgres-url',
    make: (n) =>
      withUrl(n, `postgresql://app_user@db.bad.example.com:5432/app?application_name=UrlNoPw-${n}`)
  },
  {
    title: 'postgres-url with bad percent-encoding',
    input: 'postgres-url',
    make: (n) => withUrl(n, `postgresql://app_user:BadPct-${n}-%zz-pw@db.bad.example.com/app`),
    embedded: (n) => [`BadPct-${n}-%zz-pw`]
  },
  {
    title: 'postgres-url with a bad sslmode',
    input: 'postgres-url',
    make: (n) => withUrl(n, urlFor(n, '?sslmode=sometimes')),
    embedded: urlEmbedded
  },
  // Numbers out of range.
  {
    title: 'timeout-seconds 0',
    input: 'timeout-seconds',
    make: (n) => ({ ...base(n), 'timeout-seconds': '0' })
  },
  {
    title: 'max-attempts 50',
    input: 'max-attempts',
    make: (n) => ({ ...base(n), 'max-attempts': '50' })
  }
]

let sim: Simulator

beforeAll(async () => {
  sim = await startSimulator({ clientId: 'bad-inputs-client', clientSecret: 'bad-inputs-secret' })
})

afterAll(async () => {
  // Every run was invalid, so nothing may have reached the simulator during the whole file.
  expect(sim.requests).toEqual([])
  expect(sim.stats()).toEqual({ requests: 0, tcpConnections: 0, mutations: 0 })
  expect(sim.connections()).toEqual([])
  await sim.close()
})

/**
 * The sets numbered, so every run gets its own values (and secrets). RUNNER_DEBUG only adds the
 * request groups' lines (debug lines are written either way, and nothing is sent here), so each
 * set runs once, every other one in debug mode.
 */
const CASES = SETS.map((s, i) => ({
  ...s,
  n: i + 1,
  debug: i % 2 === 1,
  title: `${s.title}${i % 2 === 1 ? ', RUNNER_DEBUG=1' : ''}`
}))

describe('bad inputs', () => {
  it.concurrent.each(CASES)('$title', async ({ input, make, embedded, n, debug }) => {
    const id = n
    const inputs: Inputs = { 'platform-url': sim.url, 'ims-url': sim.url, ...make(id) }
    const r = await runInProcess({ inputs, env: debug ? { RUNNER_DEBUG: '1' } : {} })

    expect(r.timedOut).toBeUndefined()
    expect(r.code).toBe(1)
    const errors = r.lines.filter((l) => l.startsWith('::error::'))
    expect(errors.length).toBeGreaterThanOrEqual(1)
    expect(errors.some((l) => l.includes(`Invalid input '${input}'`))).toBe(true)
    expect(errors.at(-1)).toMatch(/\(nothing was sent to Adobe\)$/)
    for (const l of errors) expect(l).not.toMatch(/%0A|%0D/)
    // Nothing was sent, nothing decided, no outputs.
    expect(sim.stats().requests).toBe(0)
    expect(r.outputs).toEqual({})
    expect(r.lines.some((l) => /^Looking up/.test(l))).toBe(false)

    const secrets = [
      ...SECRET_INPUTS.map((k) => inputs[k] ?? '').filter(Boolean),
      ...(embedded ?? csEmbedded)(id)
    ]
    expect(secrets.length).toBeGreaterThanOrEqual(2)
    expectNoLeaks(r, secrets)
    expect(forgedCommands(r)).toEqual([])
  })
})

describe('the matrix itself', () => {
  it('has at least 25 sets, each with secrets, each naming a declared input', () => {
    expect(SETS.length).toBeGreaterThanOrEqual(25)
    for (const s of CASES) {
      const inputs = s.make(s.n)
      expect(Object.keys(inputs)).toContain(s.input)
      expect(SECRET_INPUTS.some((k) => inputs[k])).toBe(true)
    }
  })
})
