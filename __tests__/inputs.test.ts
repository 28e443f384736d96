import { describe, it, expect } from '@jest/globals'
import {
  DEFAULTS,
  INPUT_NAMES,
  parseInputs,
  type InputName,
  type RawInputs
} from '../src/connection/inputs.js'
import { InputError } from '../src/platform/errors.js'
import { withDefaults as withAnyDefaults } from '../src/platform/inputs.js'

const withDefaults = (raw: Partial<RawInputs>) => withAnyDefaults(INPUT_NAMES, DEFAULTS, raw)

// Distinctive secret values: none of them may ever appear in an error message.
const CLIENT_SECRET = 'cs-SECRET-7f3a9q'
const ACCESS_TOKEN = 'at-TOKEN-5k2m8z'
const CS_PASSWORD = 'pw-CONNSTR-4x9y1w'
const URL_PASSWORD = 'pw-URL-8h3j6n'
const PART_PASSWORD = 'pw-PART-2b7c5v'
const CONNECTION_STRING = `Server=db.example.com;Database=orders;Port=5432;UID=svc;Password=${CS_PASSWORD}`
const POSTGRES_URL = `postgresql://svc:${URL_PASSWORD}@db.example.com:6543/orders`
const SECRETS = [
  CLIENT_SECRET,
  ACCESS_TOKEN,
  CS_PASSWORD,
  URL_PASSWORD,
  PART_PASSWORD,
  CONNECTION_STRING,
  POSTGRES_URL
]

const ORG = '0123456789ABCDEF01234567@AdobeOrg'

/** A valid set using a connection string and a client secret. */
const base: Partial<RawInputs> = {
  'client-id': 'client-abc',
  'client-secret': CLIENT_SECRET,
  'ims-org-id': ORG,
  'sandbox-name': 'prod',
  'connection-name': 'orders-db',
  'connection-string': CONNECTION_STRING
}

const parts: Partial<RawInputs> = {
  server: 'db.example.com',
  database: 'orders',
  username: 'svc',
  password: PART_PASSWORD
}

function without(obj: Partial<RawInputs>, ...names: InputName[]): Partial<RawInputs> {
  const out = { ...obj }
  for (const n of names) delete out[n]
  return out
}

/** Parses, expects an InputError naming `input`, and checks no secret leaked. */
function expectProblem(raw: Partial<RawInputs>, input: InputName, messagePart?: RegExp): void {
  let error: unknown
  try {
    parseInputs(raw)
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(InputError)
  const e = error as InputError
  expect(e.problems.map((p) => p.input)).toContain(input)
  if (messagePart) {
    const forInput = e.problems.filter((p) => p.input === input).map((p) => p.message)
    expect(forInput.some((m) => messagePart.test(m))).toBe(true)
  }
  const everything = `${e.message}\n${JSON.stringify(e.problems)}\n${String(e.stack)}`
  for (const secret of SECRETS) expect(everything).not.toContain(secret)
  // Also the secret values given in this particular case (e.g. variants of the URL).
  for (const n of ['client-secret', 'access-token', 'connection-string', 'postgres-url'] as const)
    if (raw[n]) expect(everything).not.toContain(raw[n])
  if (raw.password) expect(everything).not.toContain(raw.password)
}

describe('withDefaults', () => {
  it('fills every empty or missing input with its action.yml default', () => {
    const raw = withDefaults({ 'client-id': 'x', port: '', scopes: 'openid' })
    expect(Object.keys(raw)).toEqual([...INPUT_NAMES])
    expect(raw['client-id']).toBe('x')
    expect(raw.scopes).toBe('openid')
    expect(raw.port).toBe('5432')
    expect(raw['platform-url']).toBe('https://platform.adobe.io')
    expect(raw['ims-url']).toBe('https://ims-na1.adobelogin.com')
    expect(raw['auth-type']).toBe('connection-string')
    expect(raw['if-exists']).toBe('update')
    expect(raw.state).toBe('present')
    expect(raw['dry-run']).toBe('false')
    expect(raw['test-connection']).toBe('false')
    expect(raw['timeout-seconds']).toBe('120')
    expect(raw['max-attempts']).toBe('5')
    expect(raw.description).toBe('')
    expect(raw.password).toBe('')
  })

  it('has the documented default scopes', () => {
    expect(DEFAULTS.scopes).toBe(
      'openid,session,AdobeID,read_organizations,additional_info.projectedProductContext'
    )
  })
})

describe('parseInputs: valid sets', () => {
  it('connection-string source with client-secret, all defaults', () => {
    const s = parseInputs(base)
    expect(s).toEqual({
      clientId: 'client-abc',
      clientSecret: CLIENT_SECRET,
      accessToken: undefined,
      scopes: DEFAULTS.scopes,
      imsOrgId: ORG,
      sandboxName: 'prod',
      platformUrl: 'https://platform.adobe.io',
      imsUrl: 'https://ims-na1.adobelogin.com',
      connectionName: 'orders-db',
      description: undefined,
      authType: 'connection-string',
      credentials: {
        source: 'connection-string',
        connectionString: CONNECTION_STRING,
        parts: undefined
      },
      encryptionMethod: undefined,
      validateServerCertificate: undefined,
      sslMode: undefined,
      ifExists: 'update',
      state: 'present',
      dryRun: false,
      testConnection: false,
      timeoutSeconds: 120,
      maxAttempts: 5,
      validateSpec: false
    })
  })

  it('access-token instead of client-secret', () => {
    const s = parseInputs({ ...without(base, 'client-secret'), 'access-token': ACCESS_TOKEN })
    expect(s.accessToken).toBe(ACCESS_TOKEN)
    expect(s.clientSecret).toBeUndefined()
  })

  it('connection-string with basic auth is split into parts', () => {
    const s = parseInputs({ ...base, 'auth-type': 'basic', 'ssl-mode': 'require' })
    expect(s.authType).toBe('basic')
    expect(s.sslMode).toBe('Require')
    expect(s.credentials).toEqual({
      source: 'connection-string',
      connectionString: CONNECTION_STRING,
      parts: {
        server: 'db.example.com',
        port: 5432,
        database: 'orders',
        username: 'svc',
        password: CS_PASSWORD
      }
    })
  })

  it('connection-string with encryption-method and validate-server-certificate', () => {
    const s = parseInputs({
      ...base,
      'encryption-method': 'request-ssl',
      'validate-server-certificate': 'TRUE'
    })
    expect(s.encryptionMethod).toBe(6)
    expect(s.validateServerCertificate).toBe(true)
    expect(parseInputs({ ...base, 'encryption-method': 'disabled' }).encryptionMethod).toBe(0)
    expect(parseInputs({ ...base, 'encryption-method': 'enabled' }).encryptionMethod).toBe(1)
    expect(
      parseInputs({ ...base, 'validate-server-certificate': 'false' }).validateServerCertificate
    ).toBe(false)
  })

  it('postgres-url source (connection-string auth) takes sslmode from the URL', () => {
    const s = parseInputs({
      ...without(base, 'connection-string'),
      'postgres-url': `${POSTGRES_URL}?sslmode=verify-full`
    })
    expect(s.credentials).toEqual({
      source: 'postgres-url',
      parts: {
        server: 'db.example.com',
        port: 6543,
        database: 'orders',
        username: 'svc',
        password: URL_PASSWORD
      }
    })
    expect(s.encryptionMethod).toBe(1)
    expect(s.validateServerCertificate).toBe(true)
    expect(s.sslMode).toBeUndefined()
  })

  it('postgres-url: explicit inputs win over the URL sslmode', () => {
    const s = parseInputs({
      ...without(base, 'connection-string'),
      'postgres-url': `${POSTGRES_URL}?sslmode=require`,
      'encryption-method': 'disabled'
    })
    expect(s.encryptionMethod).toBe(0)
    expect(s.validateServerCertificate).toBe(false)
  })

  it('postgres-url with basic auth maps sslmode to ssl-mode', () => {
    const s = parseInputs({
      ...without(base, 'connection-string'),
      'auth-type': 'basic',
      'postgres-url': `${POSTGRES_URL}?sslmode=prefer`
    })
    expect(s.sslMode).toBe('Prefer')
    expect(s.encryptionMethod).toBeUndefined()
    const explicit = parseInputs({
      ...without(base, 'connection-string'),
      'auth-type': 'basic',
      'ssl-mode': 'disable',
      'postgres-url': `${POSTGRES_URL}?sslmode=prefer`
    })
    expect(explicit.sslMode).toBe('Disable')
  })

  it('parts source with basic auth and a custom port', () => {
    const s = parseInputs({
      ...without(base, 'connection-string'),
      ...parts,
      port: '6432',
      'auth-type': 'basic',
      'ssl-mode': 'verify-full'
    })
    expect(s.credentials).toEqual({
      source: 'parts',
      parts: {
        server: 'db.example.com',
        port: 6432,
        database: 'orders',
        username: 'svc',
        password: PART_PASSWORD
      }
    })
    expect(s.sslMode).toBe('Verify-Full')
  })

  it('parts source with connection-string auth and the default port', () => {
    const s = parseInputs({ ...without(base, 'connection-string'), ...parts })
    expect(s.credentials?.source).toBe('parts')
    expect(s.credentials?.parts?.port).toBe(5432)
    expect(s.authType).toBe('connection-string')
  })

  it.each([
    ['disable', 'Disable'],
    ['ALLOW', 'Allow'],
    ['Prefer', 'Prefer'],
    ['require', 'Require'],
    ['verify-ca', 'Verify-Ca'],
    ['Verify Ca', 'Verify-Ca'],
    ['verify-full', 'Verify-Full'],
    ['VERIFY-FULL', 'Verify-Full']
  ])('ssl-mode %s is normalised to %s', (given, expected) => {
    expect(parseInputs({ ...base, 'auth-type': 'basic', 'ssl-mode': given }).sslMode).toBe(expected)
  })

  it('behaviour inputs are parsed', () => {
    const s = parseInputs({
      ...base,
      'if-exists': 'reuse',
      'dry-run': 'True',
      'test-connection': 'true',
      'timeout-seconds': '3600',
      'max-attempts': '20',
      'validate-spec': 'TRUE',
      description: 'Managed by hand'
    })
    expect(s.validateSpec).toBe(true)
    expect(s.ifExists).toBe('reuse')
    expect(s.dryRun).toBe(true)
    expect(s.testConnection).toBe(true)
    expect(s.timeoutSeconds).toBe(3600)
    expect(s.maxAttempts).toBe(20)
    expect(s.description).toBe('Managed by hand')
    expect(parseInputs({ ...base, 'timeout-seconds': '1', 'max-attempts': '1' })).toMatchObject({
      timeoutSeconds: 1,
      maxAttempts: 1
    })
  })

  it('state absent needs no database credentials', () => {
    const s = parseInputs({ ...without(base, 'connection-string'), state: 'absent' })
    expect(s.state).toBe('absent')
    expect(s.credentials).toBeUndefined()
  })

  it('state absent does not check credentials that are given', () => {
    const s = parseInputs({
      ...base,
      'postgres-url': 'not a url',
      'auth-type': 'basic',
      'encryption-method': 'enabled',
      state: 'absent'
    })
    expect(s.credentials).toBeUndefined()
  })

  it.each([
    ['https://platform-stage.adobe.io/', 'https://platform-stage.adobe.io'],
    ['https://example.com/prefix//', 'https://example.com/prefix'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://127.1.2.3:9', 'http://127.1.2.3:9'],
    ['http://localhost:3000/', 'http://localhost:3000'],
    ['http://[::1]:4000', 'http://[::1]:4000']
  ])('platform-url %s is accepted as %s', (given, expected) => {
    expect(parseInputs({ ...base, 'platform-url': given }).platformUrl).toBe(expected)
    expect(parseInputs({ ...base, 'ims-url': given }).imsUrl).toBe(expected)
  })
})

describe('parseInputs: errors name the input and never echo secrets', () => {
  it.each(['client-id', 'ims-org-id', 'sandbox-name', 'connection-name'] as const)(
    '%s is required',
    (name) => {
      expectProblem(without(base, name), name)
    }
  )

  it('reports every problem at once', () => {
    let error: InputError | undefined
    try {
      parseInputs({ 'connection-string': CONNECTION_STRING, port: 'x' })
    } catch (e) {
      error = e as InputError
    }
    expect([...new Set(error?.problems.map((p) => p.input))].sort()).toEqual(
      ['client-id', 'client-secret', 'connection-name', 'ims-org-id', 'port', 'sandbox-name'].sort()
    )
  })

  it('client-secret and access-token together', () => {
    expectProblem({ ...base, 'access-token': ACCESS_TOKEN }, 'client-secret', /not both/)
  })

  it('neither client-secret nor access-token', () => {
    expectProblem(without(base, 'client-secret'), 'client-secret', /exactly one/)
  })

  it('no credential source at all', () => {
    expectProblem(without(base, 'connection-string'), 'connection-string', /required/)
  })

  it('connection-string and postgres-url together', () => {
    expectProblem({ ...base, 'postgres-url': POSTGRES_URL }, 'postgres-url', /exactly one/)
  })

  it('connection-string and parts together', () => {
    expectProblem({ ...base, ...parts }, 'server', /connection-string and parts/)
  })

  it('postgres-url and parts together', () => {
    expectProblem(
      {
        ...without(base, 'connection-string'),
        'postgres-url': POSTGRES_URL,
        password: PART_PASSWORD
      },
      'server',
      /postgres-url and parts/
    )
  })

  it.each(['server', 'database', 'username', 'password'] as const)('missing part %s', (name) => {
    expectProblem({ ...without(base, 'connection-string'), ...without(parts, name) }, name)
  })

  it('a password alone reports the three other parts', () => {
    let error: InputError | undefined
    try {
      parseInputs({ ...without(base, 'connection-string'), password: PART_PASSWORD })
    } catch (e) {
      error = e as InputError
    }
    expect(error?.problems.map((p) => p.input)).toEqual(['server', 'database', 'username'])
    expect(error?.message).not.toContain(PART_PASSWORD)
  })

  it('port given with a connection string', () => {
    expectProblem({ ...base, port: '6432' }, 'port', /applies only/)
  })

  it.each(['0', '65536', '-1', '5432.5', 'abc', '1e3', ' 5432'])('port %j is rejected', (p) => {
    expectProblem(
      { ...without(base, 'connection-string'), ...parts, port: p },
      'port',
      /1 to 65535/
    )
  })

  it.each([
    ['auth-type', 'oauth'],
    ['if-exists', 'replace'],
    ['state', 'deleted'],
    ['encryption-method', 'tls'],
    ['validate-server-certificate', 'yes'],
    ['dry-run', '1'],
    ['test-connection', 'on'],
    ['validate-spec', 'yes']
  ] as const)('%s %j is rejected', (name, value) => {
    expectProblem({ ...base, [name]: value }, name)
  })

  it.each([
    ['encryption-method', 'SSL', /must be one of: disabled, enabled, request-ssl$/],
    ['validate-server-certificate', 'yes', /must be true or false$/]
  ] as const)('%s %j lists the allowed values', (name, value, message) => {
    expectProblem({ ...base, [name]: value }, name, message)
  })

  it.each([
    ['postgres://db.example.com', /without a scheme: use postgres-url/],
    ['postgresql://svc@db.example.com:5432/orders', /without a scheme: use postgres-url/],
    ['db.example.com:5432', /must not include a port: use the port input/],
    ['10.0.0.5:5432', /must not include a port: use the port input/],
    ['[2001:db8::1]:5432', /must not include a port: use the port input/],
    ['db example.com', /without spaces/],
    ['db.example.com\t', /without spaces/],
    ['db.example.com/orders', /host name or IP address \(/],
    ['user@db.example.com', /host name or IP address \(/],
    ['db..example.com', /host name or IP address \(/],
    ['-db.example.com', /host name or IP address \(/],
    ['db;Password=x', /host name or IP address \(/]
  ])('server %j is rejected, saying what to use instead', (server, message) => {
    expectProblem({ ...without(base, 'connection-string'), ...parts, server }, 'server', message)
  })

  it.each([
    'db.example.com',
    'db',
    '10.0.0.5',
    '::1',
    '[::1]',
    '2001:db8::1',
    'db_1.corp.',
    'a.b-c.d'
  ])('server %j is accepted', (server) => {
    const s = parseInputs({ ...without(base, 'connection-string'), ...parts, server })
    expect(s.credentials).toMatchObject({ source: 'parts', parts: { server } })
  })

  it('an unknown ssl-mode is rejected', () => {
    expectProblem({ ...base, 'auth-type': 'basic', 'ssl-mode': 'strict' }, 'ssl-mode', /one of/)
  })

  it('ssl-mode with connection-string auth', () => {
    expectProblem({ ...base, 'ssl-mode': 'Require' }, 'ssl-mode', /only to auth-type basic/)
  })

  it('encryption-method given twice: as an input and inside the connection-string', () => {
    const cs = `${CONNECTION_STRING};EncryptionMethod=1;ValidateServerCertificate=1`
    expectProblem(
      { ...base, 'connection-string': cs, 'encryption-method': 'disabled' },
      'encryption-method',
      /conflicts with EncryptionMethod in connection-string/
    )
    expectProblem(
      { ...base, 'connection-string': cs, 'validate-server-certificate': 'false' },
      'validate-server-certificate',
      /conflicts with ValidateServerCertificate/
    )
    // Either place alone is fine.
    expect(parseInputs({ ...base, 'connection-string': cs }).encryptionMethod).toBeUndefined()
  })

  it('encryption-method with basic auth', () => {
    expectProblem(
      { ...base, 'auth-type': 'basic', 'encryption-method': 'enabled' },
      'encryption-method',
      /only to auth-type connection-string/
    )
  })

  it('validate-server-certificate with basic auth', () => {
    expectProblem(
      { ...base, 'auth-type': 'basic', 'validate-server-certificate': 'true' },
      'validate-server-certificate',
      /only to auth-type connection-string/
    )
  })

  it.each([
    'http://platform.adobe.io',
    'http://127.0.0.1.evil.example',
    'http://localhost.evil.example',
    'http://10.0.0.1:8080',
    'ftp://platform.adobe.io',
    'platform.adobe.io',
    'https://user:pass@platform.adobe.io',
    'https://platform.adobe.io/?x=1',
    'https://platform.adobe.io/#frag'
  ])('service URL %s is rejected', (url) => {
    expectProblem({ ...base, 'platform-url': url }, 'platform-url')
    expectProblem({ ...base, 'ims-url': url }, 'ims-url')
  })

  it('plain http to a non-loopback host says why', () => {
    expectProblem(
      { ...base, 'platform-url': 'http://platform.adobe.io' },
      'platform-url',
      /must use https/
    )
  })

  it('a URL with credentials or a query says why', () => {
    expectProblem(
      { ...base, 'ims-url': 'https://u:p@ims.example' },
      'ims-url',
      /credentials, a query or a fragment/
    )
  })

  it.each([
    ['empty', ''],
    ['whitespace', '   \t '],
    ['oversized', 'x'.repeat(256)],
    ['newline', 'orders\ndb'],
    ['tab', 'orders\tdb'],
    ['escape', 'orders\u001b[31m'],
    ['delete', 'orders\u007f']
  ])('connection-name %s is rejected', (_label, name) => {
    expectProblem({ ...base, 'connection-name': name }, 'connection-name')
  })

  it('connection-name of exactly 255 characters is accepted', () => {
    expect(
      parseInputs({ ...base, 'connection-name': 'n'.repeat(255) }).connectionName
    ).toHaveLength(255)
  })

  it.each(['Prod', '-prod', 'dev_1', 'my sandbox', 'a'.repeat(256)])(
    'sandbox-name %j is rejected',
    (name) => {
      expectProblem({ ...base, 'sandbox-name': name }, 'sandbox-name', /lower-case/)
    }
  )

  it.each(['prod', 'dev-2', '0abc'])('sandbox-name %j is accepted', (name) => {
    expect(parseInputs({ ...base, 'sandbox-name': name }).sandboxName).toBe(name)
  })

  it.each(['ABC', 'abc@adobeorg', '@AdobeOrg', 'ab-c@AdobeOrg'])('ims-org-id %j', (org) => {
    expectProblem({ ...base, 'ims-org-id': org }, 'ims-org-id', /AdobeOrg/)
  })

  it.each(['0', '3601', 'soon', '1.5'])('timeout-seconds %j is rejected', (t) => {
    expectProblem({ ...base, 'timeout-seconds': t }, 'timeout-seconds', /1 to 3600/)
  })

  it.each(['0', '21', 'many'])('max-attempts %j is rejected', (n) => {
    expectProblem({ ...base, 'max-attempts': n }, 'max-attempts', /1 to 20/)
  })

  it('description too long or with control characters', () => {
    expectProblem({ ...base, description: 'd'.repeat(1001) }, 'description', /1000/)
    expectProblem({ ...base, description: 'a\u0000b' }, 'description', /control/)
  })

  it('client-id with control characters', () => {
    expectProblem({ ...base, 'client-id': 'abc\r\n' }, 'client-id', /control/)
  })

  it.each([
    ['an emoji', 'client-😀'],
    ['a space', 'client id'],
    ['a tab', 'client\tid'],
    ['a non-ASCII letter', 'clíent']
  ])('client-id with %s: it is sent as a header, so visible ASCII only', (_l, value) => {
    expectProblem({ ...base, 'client-id': value }, 'client-id', /visible ASCII/)
  })

  it.each([
    ['an embedded newline', 'tok-part1\ntok-part2'],
    ['a space', 'tok part'],
    ['a control character', 'tok\u0007'],
    ['an emoji', 'tok-😀']
  ])('access-token with %s: an error naming it, never its value', (_l, token) => {
    // expectProblem also checks that the token shows nowhere in the error.
    expectProblem(
      { ...base, 'client-secret': '', 'access-token': token },
      'access-token',
      /^access-token must be visible ASCII characters only .* Authorization header$/
    )
  })

  describe('postgres-url problems are reported without the URL', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['bad scheme', `mysql://svc:${URL_PASSWORD}@db/orders`, /postgresql:\/\//],
      ['no password', 'postgresql://svc@db.example.com/orders', /password/],
      ['no database', `postgresql://svc:${URL_PASSWORD}@db.example.com/`, /database/],
      ['bad sslmode', `${POSTGRES_URL}?sslmode=${URL_PASSWORD}`, /sslmode/],
      ['bad encoding', `postgresql://svc:${URL_PASSWORD}%zz@db.example.com/orders`, /percent/],
      ['several hosts', `postgresql://svc:${URL_PASSWORD}@h1,h2/orders`, /several hosts/]
    ]
    it.each(cases)('%s', (_label, url, message) => {
      expectProblem(
        { ...without(base, 'connection-string'), 'postgres-url': url },
        'postgres-url',
        message
      )
    })

    it('postgres-url with a port input', () => {
      expectProblem(
        { ...without(base, 'connection-string'), 'postgres-url': POSTGRES_URL, port: '7000' },
        'port',
        /put the port in postgres-url/
      )
    })
  })

  it('basic auth with an unparsable connection string', () => {
    expectProblem(
      { ...base, 'auth-type': 'basic', 'connection-string': `Server=db;Password={${CS_PASSWORD}` },
      'connection-string',
      /closing/
    )
    expectProblem(
      { ...base, 'auth-type': 'basic', 'connection-string': `Server=db;Password=${CS_PASSWORD}` },
      'connection-string',
      /missing Database, UID/
    )
  })
})
