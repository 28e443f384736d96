import { POSTGRES_SPEC_ID, SPEC_VERSION } from '../platform/collections.js'
import {
  quoteValue,
  splitConnectionString,
  splitConnectionStringLoosely
} from '../platform/connection-string.js'
import type { DbParts, Settings, SslMode } from './settings.js'
export const SPEC_NAMES = {
  'connection-string': 'Connection String Based Authentication',
  basic: 'Basic Authentication'
} as const

export interface SslFromUrl {
  encryptionMethod?: 0 | 1 | 6
  validateServerCertificate?: boolean
  sslMode?: SslMode
}

/** Server=..;Database=..;Port=..;UID=..;Password=.. plus the optional SSL keywords. */
export function buildConnectionString(
  p: DbParts,
  ssl: { encryptionMethod?: number; validateServerCertificate?: boolean } = {}
): string {
  let s =
    `Server=${quoteValue(p.server)};Database=${quoteValue(p.database)};Port=${p.port};` +
    `UID=${quoteValue(p.username)};Password=${quoteValue(p.password)}`
  if (ssl.encryptionMethod !== undefined) s += `;EncryptionMethod=${ssl.encryptionMethod}`
  if (ssl.validateServerCertificate !== undefined)
    s += `;ValidateServerCertificate=${ssl.validateServerCertificate ? 1 : 0}`
  return s
}

/** Reads the parts basic auth needs out of an Adobe-format connection string. */
export function parseConnectionString(cs: string): DbParts {
  const kv = splitConnectionString(cs)
  const get = (...keys: string[]) => keys.map((k) => kv.get(k)).find((v) => v !== undefined)
  const server = get('server', 'host')
  const database = get('database')
  const username = get('uid', 'user id', 'username', 'user')
  const password = get('password', 'pwd')
  const port = get('port') ?? '5432'
  const missing = [
    ['Server', server],
    ['Database', database],
    ['UID', username],
    ['Password', password]
  ]
    .filter(([, v]) => !v)
    .map(([k]) => k)
  if (missing.length) throw new Error(`connection-string is missing ${missing.join(', ')}`)
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    throw new Error('connection-string has a Port that is not a number from 1 to 65535')
  return {
    server: server as string,
    database: database as string,
    username: username as string,
    password: password as string,
    port: Number(port)
  }
}

/** libpq sslmode → the nearest Adobe settings for each auth type (see docs/how-it-works.md). */
const SSLMODE_MAP: Record<string, SslFromUrl> = {
  disable: { encryptionMethod: 0, sslMode: 'Disable' },
  allow: { encryptionMethod: 6, sslMode: 'Allow' },
  prefer: { encryptionMethod: 6, sslMode: 'Prefer' },
  require: { encryptionMethod: 1, validateServerCertificate: false, sslMode: 'Require' },
  'verify-ca': { encryptionMethod: 1, validateServerCertificate: true, sslMode: 'Verify-Ca' },
  'verify-full': { encryptionMethod: 1, validateServerCertificate: true, sslMode: 'Verify-Full' }
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new Error(`postgres-url has invalid percent-encoding in the ${what}`)
  }
}

/**
 * Splits a postgresql:// (or postgres://) URI into parts, percent-decoding each one.
 * Error messages name the part that is wrong, never its value.
 */
export function parsePostgresUrl(uri: string): {
  parts: DbParts
  ssl: SslFromUrl
  ignored: string[]
} {
  const scheme = /^(postgresql|postgres):\/\//i.exec(uri)
  if (!scheme) throw new Error('postgres-url must start with postgresql:// or postgres://')
  const authority = uri.slice(scheme[0].length).split(/[/?#]/)[0] ?? ''
  if (authority.slice(authority.lastIndexOf('@') + 1).includes(','))
    throw new Error('postgres-url names several hosts; Flow Service takes exactly one')
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    throw new Error(
      'postgres-url is not a valid URI (postgresql://user:password@host:5432/database)'
    )
  }
  const hostname = url.hostname
  if (!hostname)
    throw new Error('postgres-url must name a host (Unix sockets are not reachable from Adobe)')
  if (hostname.includes(','))
    throw new Error('postgres-url names several hosts; Flow Service takes exactly one')
  if (url.port && (Number(url.port) < 1 || Number(url.port) > 65535))
    throw new Error('postgres-url has a port outside 1-65535')
  const database = decode(url.pathname.replace(/^\//, ''), 'database')
  if (!database) throw new Error('postgres-url must name a database (…/database)')
  const username = decode(url.username, 'user name')
  if (!username)
    throw new Error('postgres-url must include a user name (postgresql://user:password@host/db)')
  const password = decode(url.password, 'password')
  if (!password)
    throw new Error('postgres-url must include a password (postgresql://user:password@host/db)')

  let ssl: SslFromUrl = {}
  const ignored: string[] = []
  for (const [key, value] of url.searchParams) {
    if (key === 'sslmode') {
      const mapped = SSLMODE_MAP[value.toLowerCase()]
      if (!mapped)
        throw new Error(
          `postgres-url sslmode must be one of: ${Object.keys(SSLMODE_MAP).join(', ')}`
        )
      ssl = mapped
    } else ignored.push(key)
  }
  return {
    parts: {
      server: hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : 5432,
      database,
      username,
      password
    },
    ssl,
    ignored
  }
}

/** Strings as built; a number or boolean only where the live connection spec asks for one. */
export type ParamValue = string | number | boolean
export type AuthParams = Record<string, ParamValue>

export interface ConnectionAuth {
  specName: (typeof SPEC_NAMES)[keyof typeof SPEC_NAMES]
  params: AuthParams
}

/** The auth block of the connection: connection string or basic, from the settings. */
export function buildAuth(s: Settings): ConnectionAuth {
  const creds = s.credentials
  if (!creds) throw new Error('no database credentials were given')
  if (s.authType === 'basic') {
    const p = creds.parts
    if (!p) throw new Error('connection-string could not be split into parts for basic auth')
    const params: AuthParams = {
      server: p.server,
      port: String(p.port),
      database: p.database,
      username: p.username,
      password: p.password
    }
    if (s.sslMode) params.sslMode = s.sslMode
    return { specName: SPEC_NAMES.basic, params }
  }
  const ssl = {
    encryptionMethod: s.encryptionMethod,
    validateServerCertificate: s.validateServerCertificate
  }
  let connectionString: string
  if (creds.source === 'connection-string') {
    // A trailing ';' would otherwise leave an empty segment before the appended keywords.
    connectionString = creds.connectionString.replace(/;+\s*$/, '')
    const keys = splitConnectionStringLoosely(connectionString)
    if (ssl.encryptionMethod !== undefined && !keys.has('encryptionmethod'))
      connectionString += `;EncryptionMethod=${ssl.encryptionMethod}`
    if (ssl.validateServerCertificate !== undefined && !keys.has('validateservercertificate'))
      connectionString += `;ValidateServerCertificate=${ssl.validateServerCertificate ? 1 : 0}`
  } else {
    connectionString = buildConnectionString(creds.parts, ssl)
  }
  return { specName: SPEC_NAMES['connection-string'], params: { connectionString } }
}

export interface CreateBody {
  name: string
  description?: string
  auth: ConnectionAuth
  connectionSpec: { id: string; version: string }
}

/** The POST /connections body, keys in the seed tutorial's order. */
export function buildCreateBody(
  name: string,
  description: string | undefined,
  auth: ConnectionAuth
): CreateBody {
  return {
    name,
    ...(description !== undefined ? { description } : {}),
    auth,
    connectionSpec: { id: POSTGRES_SPEC_ID, version: SPEC_VERSION }
  }
}

/** A copy of an auth block with every secret parameter shown as ***, for plans and logs. */
export function redactAuth(auth: ConnectionAuth): ConnectionAuth {
  const params: AuthParams = { ...auth.params }
  for (const key of ['password', 'connectionString']) if (key in params) params[key] = '***'
  return { specName: auth.specName, params }
}

/** The payload the connection should have, or none when deleting (state absent). */
export function desiredBody(s: Settings, defaultDescription: () => string): CreateBody | undefined {
  if (s.state === 'absent') return undefined
  return buildCreateBody(s.connectionName, s.description ?? defaultDescription(), buildAuth(s))
}
