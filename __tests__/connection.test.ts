import { describe, it, expect } from '@jest/globals'
import {
  buildAuth,
  buildConnectionString,
  buildCreateBody,
  parseConnectionString,
  parsePostgresUrl,
  redactAuth
} from '../src/connection/payload.js'
import { POSTGRES_SPEC_ID } from '../src/platform/collections.js'
import { quoteValue, splitConnectionString } from '../src/platform/connection-string.js'
import type { DbParts, Settings } from '../src/connection/settings.js'

const PW = 'pw-SECRET-3q9z'

const parts: DbParts = {
  server: 'H',
  port: 5432,
  database: 'D',
  username: 'U',
  password: 'W'
}

describe('quoteValue', () => {
  it('leaves plain values alone', () => {
    expect(quoteValue('plain-value_1.2@x')).toBe('plain-value_1.2@x')
    expect(quoteValue('in side')).toBe('in side')
    expect(quoteValue('')).toBe('')
  })

  it.each([
    ['a;b', '{a;b}'],
    ['a{b', '{a{b}'],
    ['a=b', '{a=b}'],
    ['a}b', '{a}}b}'],
    ['}}', '{}}}}}'],
    [' lead', '{ lead}'],
    ['trail ', '{trail }'],
    ['\ttab', '{\ttab}']
  ])('%j -> %j', (value, quoted) => {
    expect(quoteValue(value)).toBe(quoted)
  })
})

describe('buildConnectionString', () => {
  it('has the exact seed format', () => {
    expect(buildConnectionString(parts)).toBe('Server=H;Database=D;Port=5432;UID=U;Password=W')
  })

  it.each([
    [{ encryptionMethod: 0 }, ';EncryptionMethod=0'],
    [{ encryptionMethod: 1 }, ';EncryptionMethod=1'],
    [{ encryptionMethod: 6 }, ';EncryptionMethod=6'],
    [{ validateServerCertificate: true }, ';ValidateServerCertificate=1'],
    [{ validateServerCertificate: false }, ';ValidateServerCertificate=0'],
    [
      { encryptionMethod: 1, validateServerCertificate: true },
      ';EncryptionMethod=1;ValidateServerCertificate=1'
    ]
  ])('appends %j', (ssl, suffix) => {
    expect(buildConnectionString(parts, ssl)).toBe(
      `Server=H;Database=D;Port=5432;UID=U;Password=W${suffix}`
    )
  })

  it('quotes values that need it', () => {
    expect(buildConnectionString({ ...parts, username: 'u=1', password: 'p;}x ' })).toBe(
      'Server=H;Database=D;Port=5432;UID={u=1};Password={p;}}x }'
    )
  })
})

describe('splitConnectionString / parseConnectionString', () => {
  it('splits keywords case-insensitively, trimming keys but not values', () => {
    const kv = splitConnectionString('SERVER=h; Database = d ;port=1;')
    expect([...kv.entries()]).toEqual([
      ['server', 'h'],
      ['database', ' d '],
      ['port', '1']
    ])
  })

  it('reads brace-quoted values with ;, =, { and doubled }', () => {
    const kv = splitConnectionString('Server=h;Password={a;b=c{d}}e};UID=u')
    expect(kv.get('password')).toBe('a;b=c{d}e')
    expect(kv.get('uid')).toBe('u')
  })

  it('skips empty segments and stray semicolons', () => {
    expect([...splitConnectionString(';Server=h;;Database=d; ;UID=u;').entries()]).toEqual([
      ['server', 'h'],
      ['database', 'd'],
      ['uid', 'u']
    ])
    expect(parseConnectionString('Server=h;;Database=d;UID=u;Password=p;')).toEqual({
      server: 'h',
      database: 'd',
      username: 'u',
      password: 'p',
      port: 5432
    })
  })

  it('allows whitespace after a closing brace', () => {
    expect(splitConnectionString('Password={x}  ;UID=u').get('password')).toBe('x')
  })

  it.each(['p;w', 'p}w', '}}', '{{', 'a=b;c={d}', ' spaced ', 'plain', `${PW};Server=evil`])(
    'round-trips password %j',
    (password) => {
      const p = {
        server: 'db.example.com',
        port: 6543,
        database: 'orders',
        username: 'svc',
        password
      }
      expect(parseConnectionString(buildConnectionString(p))).toEqual(p)
      expect(parseConnectionString(buildConnectionString(p, { encryptionMethod: 1 }))).toEqual(p)
    }
  )

  it('accepts alternative keywords and defaults the port', () => {
    expect(parseConnectionString('Host=h;Database=d;User Id=u;Pwd=p')).toEqual({
      server: 'h',
      database: 'd',
      username: 'u',
      password: 'p',
      port: 5432
    })
  })

  it.each([
    [`Server=h;Password={${PW}`, /without its closing "}"/],
    [`Server=h;Password={${PW}}x;UID=u`, /text after a closing "}"/],
    [`Server=h;${PW}`, /part without "="/],
    [`=x;Password=${PW}`, /empty keyword/]
  ])('split error for %j never echoes the password', (cs, message) => {
    expect(() => splitConnectionString(cs)).toThrow(message)
    try {
      splitConnectionString(cs)
    } catch (e) {
      expect((e as Error).message).not.toContain(PW)
    }
  })

  it('names the missing parts', () => {
    expect(() => parseConnectionString(`Server=h;Password=${PW}`)).toThrow(
      'connection-string is missing Database, UID'
    )
    expect(() => parseConnectionString('')).toThrow(
      'connection-string is missing Server, Database, UID, Password'
    )
  })

  it.each(['0', '65536', 'abc', '54.3'])('rejects Port=%s', (port) => {
    expect(() =>
      parseConnectionString(`Server=h;Database=d;UID=u;Password=${PW};Port=${port}`)
    ).toThrow(/Port that is not a number from 1 to 65535/)
  })
})

describe('parsePostgresUrl', () => {
  it('parses postgresql:// with every part', () => {
    expect(parsePostgresUrl(`postgresql://svc:${PW}@db.example.com:6543/orders`)).toEqual({
      parts: {
        server: 'db.example.com',
        port: 6543,
        database: 'orders',
        username: 'svc',
        password: PW
      },
      ssl: {},
      ignored: []
    })
  })

  it('accepts postgres:// and defaults the port to 5432', () => {
    const r = parsePostgresUrl(`postgres://svc:${PW}@db.example.com/orders`)
    expect(r.parts.port).toBe(5432)
    expect(r.parts.server).toBe('db.example.com')
  })

  it('percent-decodes user, password and database', () => {
    const r = parsePostgresUrl('postgresql://us%40er:p%40ss%3Aw%2Frd%25@h/my%20db')
    expect(r.parts.username).toBe('us@er')
    expect(r.parts.password).toBe('p@ss:w/rd%')
    expect(r.parts.database).toBe('my db')
  })

  it('strips the brackets of an IPv6 host', () => {
    const r = parsePostgresUrl(`postgresql://svc:${PW}@[2001:db8::1]:5433/orders`)
    expect(r.parts.server).toBe('2001:db8::1')
    expect(r.parts.port).toBe(5433)
  })

  it.each([
    ['disable', { encryptionMethod: 0, sslMode: 'Disable' }],
    ['allow', { encryptionMethod: 6, sslMode: 'Allow' }],
    ['prefer', { encryptionMethod: 6, sslMode: 'Prefer' }],
    ['require', { encryptionMethod: 1, validateServerCertificate: false, sslMode: 'Require' }],
    ['verify-ca', { encryptionMethod: 1, validateServerCertificate: true, sslMode: 'Verify-Ca' }],
    [
      'VERIFY-FULL',
      { encryptionMethod: 1, validateServerCertificate: true, sslMode: 'Verify-Full' }
    ]
  ])('maps sslmode=%s', (mode, ssl) => {
    expect(parsePostgresUrl(`postgresql://svc:${PW}@h/orders?sslmode=${mode}`).ssl).toEqual(ssl)
  })

  it('lists parameters it ignores', () => {
    const r = parsePostgresUrl(
      `postgresql://svc:${PW}@h/orders?application_name=x&sslmode=require&connect_timeout=5`
    )
    expect(r.ignored).toEqual(['application_name', 'connect_timeout'])
    expect(r.ssl.sslMode).toBe('Require')
  })

  it.each([
    [
      'an unknown sslmode',
      `postgresql://svc:${PW}@h/orders?sslmode=${PW}`,
      /sslmode must be one of/
    ],
    ['no host', `postgresql://svc:${PW}@/orders`, /not a valid URI/],
    ['no host (socket form)', 'postgresql:///orders', /must name a host/],
    ['no database', `postgresql://svc:${PW}@h`, /must name a database/],
    ['no database (slash)', `postgresql://svc:${PW}@h/`, /must name a database/],
    ['no user', `postgresql://:${PW}@h/orders`, /must include a user name/],
    ['no password', 'postgresql://svc@h/orders', /must include a password/],
    [
      'bad encoding in the password',
      `postgresql://svc:${PW}%E0%A4%A@h/orders`,
      /percent-encoding in the password/
    ],
    [
      'bad encoding in the user',
      `postgresql://s%zzvc:${PW}@h/orders`,
      /percent-encoding in the user name/
    ],
    [
      'bad encoding in the database',
      `postgresql://svc:${PW}@h/ord%GGers`,
      /percent-encoding in the database/
    ],
    ['several hosts with ports', `postgresql://svc:${PW}@h1:5432,h2:5432/orders`, /several hosts/],
    ['several hosts (no ports)', `postgresql://svc:${PW}@h1,h2/orders`, /several hosts/],
    ['another scheme', `mysql://svc:${PW}@h/orders`, /must start with postgresql:\/\//],
    ['no scheme', `svc:${PW}@h/orders`, /must start with postgresql:\/\//],
    ['a port too large', `postgresql://svc:${PW}@h:99999/orders`, /not a valid URI/],
    ['port 0', `postgresql://svc:${PW}@h:0/orders`, /port outside 1-65535/]
  ])('rejects %s without echoing the password', (_label, uri, message) => {
    let error: Error | undefined
    try {
      parsePostgresUrl(uri)
    } catch (e) {
      error = e as Error
    }
    expect(error).toBeInstanceOf(Error)
    expect(error?.message).toMatch(message)
    expect(error?.message).toMatch(/^postgres-url /)
    expect(error?.message).not.toContain(PW)
    expect(error?.message).not.toContain(uri)
  })
})

function settings(s: Partial<Settings>): Settings {
  return {
    clientId: 'c',
    scopes: 's',
    imsOrgId: 'o@AdobeOrg',
    sandboxName: 'prod',
    platformUrl: 'https://platform.adobe.io',
    imsUrl: 'https://ims-na1.adobelogin.com',
    connectionName: 'n',
    authType: 'connection-string',
    ifExists: 'update',
    state: 'present',
    dryRun: false,
    testConnection: false,
    timeoutSeconds: 120,
    maxAttempts: 5,
    validateSpec: false,
    ...s
  }
}

describe('buildAuth', () => {
  it('connection-string source, connection-string auth: the string as given', () => {
    const cs = 'Server=H;Database=D;Port=5432;UID=U;Password=W'
    expect(
      buildAuth(settings({ credentials: { source: 'connection-string', connectionString: cs } }))
    ).toEqual({
      specName: 'Connection String Based Authentication',
      params: { connectionString: cs }
    })
  })

  it('appends SSL keywords the given string lacks', () => {
    const cs = 'Server=H;Database=D;Port=5432;UID=U;Password=W'
    const auth = buildAuth(
      settings({
        credentials: { source: 'connection-string', connectionString: cs },
        encryptionMethod: 6,
        validateServerCertificate: false
      })
    )
    expect(auth.params.connectionString).toBe(
      `${cs};EncryptionMethod=6;ValidateServerCertificate=0`
    )
  })

  it('keeps SSL keywords the given string already has', () => {
    const cs = 'Server=H;Database=D;Port=5432;UID=U;Password=W;encryptionmethod=1'
    const auth = buildAuth(
      settings({
        credentials: { source: 'connection-string', connectionString: cs },
        encryptionMethod: 0,
        validateServerCertificate: true
      })
    )
    expect(auth.params.connectionString).toBe(`${cs};ValidateServerCertificate=1`)
  })

  it.each(['postgres-url', 'parts'] as const)(
    '%s source, connection-string auth: a built string',
    (source) => {
      expect(buildAuth(settings({ credentials: { source, parts }, encryptionMethod: 1 }))).toEqual({
        specName: 'Connection String Based Authentication',
        params: {
          connectionString: 'Server=H;Database=D;Port=5432;UID=U;Password=W;EncryptionMethod=1'
        }
      })
    }
  )

  it.each(['postgres-url', 'parts'] as const)('%s source, basic auth', (source) => {
    expect(
      buildAuth(
        settings({ authType: 'basic', credentials: { source, parts }, sslMode: 'Verify-Full' })
      )
    ).toEqual({
      specName: 'Basic Authentication',
      params: {
        server: 'H',
        port: '5432',
        database: 'D',
        username: 'U',
        password: 'W',
        sslMode: 'Verify-Full'
      }
    })
  })

  it('basic auth without ssl-mode has no sslMode param', () => {
    const auth = buildAuth(settings({ authType: 'basic', credentials: { source: 'parts', parts } }))
    expect(Object.keys(auth.params)).toEqual(['server', 'port', 'database', 'username', 'password'])
  })

  it('connection-string source, basic auth: uses the split parts', () => {
    const auth = buildAuth(
      settings({
        authType: 'basic',
        credentials: { source: 'connection-string', connectionString: 'ignored', parts }
      })
    )
    expect(auth.specName).toBe('Basic Authentication')
    expect(auth.params.password).toBe('W')
  })

  it('fails without credentials or without parts for basic auth', () => {
    expect(() => buildAuth(settings({}))).toThrow('no database credentials were given')
    expect(() =>
      buildAuth(
        settings({
          authType: 'basic',
          credentials: { source: 'connection-string', connectionString: 'x' }
        })
      )
    ).toThrow(/could not be split/)
  })
})

describe('buildCreateBody', () => {
  it('matches the seed tutorial body byte for byte (key order included)', () => {
    const auth = buildAuth(settings({ credentials: { source: 'parts', parts } }))
    const body = buildCreateBody(
      'Test connection for PostgreSQL',
      'Test connection for PostgreSQL',
      auth
    )
    expect(JSON.stringify(body)).toBe(
      '{"name":"Test connection for PostgreSQL","description":"Test connection for PostgreSQL",' +
        '"auth":{"specName":"Connection String Based Authentication","params":{"connectionString":' +
        '"Server=H;Database=D;Port=5432;UID=U;Password=W"}},' +
        '"connectionSpec":{"id":"74a1c565-4e59-48d7-9d67-7c03b8a13137","version":"1.0"}}'
    )
  })

  it('omits an undefined description', () => {
    const body = buildCreateBody('n', undefined, { specName: 'Basic Authentication', params: {} })
    expect(Object.keys(body)).toEqual(['name', 'auth', 'connectionSpec'])
    expect(body.connectionSpec).toEqual({ id: POSTGRES_SPEC_ID, version: '1.0' })
  })

  it('keeps an empty description', () => {
    const body = buildCreateBody('n', '', { specName: 'Basic Authentication', params: {} })
    expect(Object.keys(body)).toEqual(['name', 'description', 'auth', 'connectionSpec'])
  })
})

describe('redactAuth', () => {
  it('hides the connection string', () => {
    const auth = {
      specName: 'Connection String Based Authentication' as const,
      params: { connectionString: `Server=H;Password=${PW}` }
    }
    expect(redactAuth(auth)).toEqual({
      specName: 'Connection String Based Authentication',
      params: { connectionString: '***' }
    })
    // The original is not modified.
    expect(auth.params.connectionString).toContain(PW)
  })

  it('hides the basic password and keeps the rest', () => {
    const r = redactAuth({
      specName: 'Basic Authentication',
      params: {
        server: 'H',
        port: '5432',
        database: 'D',
        username: 'U',
        password: PW,
        sslMode: 'Require'
      }
    })
    expect(r.params).toEqual({
      server: 'H',
      port: '5432',
      database: 'D',
      username: 'U',
      password: '***',
      sslMode: 'Require'
    })
    expect(JSON.stringify(r)).not.toContain(PW)
  })
})
