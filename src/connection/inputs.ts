import { isIP } from 'node:net'
import { splitConnectionStringLoosely } from '../platform/connection-string.js'
import { InputError, type InputProblem } from '../platform/errors.js'
import {
  adobeSettings,
  ADOBE_INPUT_NAMES,
  ADOBE_SECRET_INPUTS,
  anyText,
  bool,
  credentialProblems,
  dedupe,
  inputsSchema,
  intIn,
  objectName,
  oneOf,
  optionalBool,
  optionalOneOf,
  problem,
  problemsOf,
  sharedChecks,
  SHARED_DEFAULTS,
  descriptionText,
  text,
  withDefaults,
  type Check,
  type Checked
} from '../platform/inputs.js'
import { parsePostgresUrl, parseConnectionString } from './payload.js'
import { SSL_MODES, type Settings } from './settings.js'

/** Every input action.yml declares, in the order the README lists them. */
export const INPUT_NAMES = [
  ...ADOBE_INPUT_NAMES,
  'connection-name',
  'description',
  'auth-type',
  'connection-string',
  'postgres-url',
  'server',
  'port',
  'database',
  'username',
  'password',
  'encryption-method',
  'validate-server-certificate',
  'ssl-mode',
  'if-exists',
  'state',
  'dry-run',
  'test-connection',
  'timeout-seconds',
  'max-attempts',
  'validate-spec'
] as const
export type InputName = (typeof INPUT_NAMES)[number]

/** Inputs whose values are secrets: masked before anything else happens. */
export const SECRET_INPUTS = [
  ...ADOBE_SECRET_INPUTS,
  'connection-string',
  'postgres-url',
  'password'
] as const satisfies readonly InputName[]

/** Defaults, mirrored from action.yml so that a run outside the runner behaves the same. */
export const DEFAULTS: Partial<Record<InputName, string>> = {
  ...SHARED_DEFAULTS,
  'auth-type': 'connection-string',
  port: '5432',
  'test-connection': 'false',
  'validate-spec': 'false'
}

const ENCRYPTION = { disabled: 0, enabled: 1, 'request-ssl': 6 } as const
export type EncryptionMethod = keyof typeof ENCRYPTION

/** Raw input values, already read from the environment (empty string = not given). */
export type RawInputs = Record<InputName, string>

// Host name labels (letters, digits, hyphens; underscores, which some internal DNS names carry),
// dot-separated, an optional final dot. IPv4 addresses fit this too.
const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

/**
 * `server` is put into `Server=` as it is, so a URL, a port or a space in it would register a
 * connection Adobe can never reach; say which input to use instead.
 */
const serverName: Check<string> = (v) => {
  if (!v) return v
  if (v.length > 255) return problem('server must be at most 255 characters')
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(v))
    return problem(
      'server must be a host name or IP address without a scheme: use postgres-url for a URL'
    )
  if (/\s/.test(v)) return problem('server must be a host name or IP address, without spaces')
  if (isIP(v.replace(/^\[(.*)\]$/, '$1')) === 6) return v
  if (/^[^:]+:\d*$/.test(v) || /^\[[^\]]*\]:\d*$/.test(v))
    return problem('server must not include a port: use the port input')
  if (!HOST_NAME.test(v))
    return problem(
      'server must be a host name or IP address (letters, digits, dots and hyphens, or an IPv6 address)'
    )
  return v
}

/** The ssl-mode as Flow Service spells it, from any case and with _ or spaces for -. */
const sslMode: Check<(typeof SSL_MODES)[number] | undefined> = (v) => {
  if (!v) return undefined
  const mode = SSL_MODES.find((m) => m.toLowerCase() === v.toLowerCase().replace(/[\s_]+/g, '-'))
  return mode ?? problem(`ssl-mode must be one of: ${SSL_MODES.join(', ')}`)
}

/** Each input's own check. Secret fields only check presence (elsewhere), never echo. */
const checks = () => ({
  ...sharedChecks(),
  'connection-name': objectName('connection-name'),
  description: descriptionText('description', 1000),
  'auth-type': oneOf('auth-type', ['connection-string', 'basic']),
  'connection-string': anyText,
  'postgres-url': anyText,
  server: serverName,
  port: intIn('port', 1, 65535),
  database: text('database', 255, false),
  username: text('username', 255, false),
  password: anyText,
  'encryption-method': optionalOneOf('encryption-method', ['disabled', 'enabled', 'request-ssl']),
  'validate-server-certificate': optionalBool('validate-server-certificate'),
  'ssl-mode': sslMode,
  'test-connection': bool('test-connection'),
  'validate-spec': bool('validate-spec')
})
type Fields = Checked<ReturnType<typeof checks>>

/**
 * Validates the raw inputs and derives the settings. Throws InputError listing every problem,
 * each naming the input to fix. Pure: reads nothing but its argument.
 */
export function parseInputs(partial: Partial<RawInputs>): Settings {
  const raw = withDefaults(INPUT_NAMES, DEFAULTS, partial)
  const parsed = inputsSchema(checks()).safeParse(raw)
  const problems: InputProblem[] = parsed.success ? [] : problemsOf(parsed.error)
  // Cross-field rules are checked on the raw values so that every problem is reported at once.
  problems.push(...crossFieldProblems(raw))
  if (problems.length > 0 || !parsed.success) throw new InputError(dedupe(problems))
  return toSettings(parsed.data, raw)
}

const PART_INPUTS = ['server', 'database', 'username', 'password'] as const

function credentialSources(raw: RawInputs): Array<'connection-string' | 'postgres-url' | 'parts'> {
  const sources: Array<'connection-string' | 'postgres-url' | 'parts'> = []
  if (raw['connection-string']) sources.push('connection-string')
  if (raw['postgres-url']) sources.push('postgres-url')
  if (PART_INPUTS.some((n) => raw[n])) sources.push('parts')
  return sources
}

function crossFieldProblems(raw: RawInputs): InputProblem[] {
  const problems: InputProblem[] = credentialProblems(raw)
  const add = (input: InputName, message: string) => problems.push({ input, message })

  // Deleting needs only the name; credentials, if given, are not used (and not checked).
  if (raw.state === 'absent') return problems

  const sources = credentialSources(raw)
  if (sources.length === 0) {
    add(
      'connection-string',
      'database credentials are required: connection-string, postgres-url, or server + database + username + password'
    )
  } else if (sources.length > 1) {
    add(
      sources[1] === 'parts' ? 'server' : (sources[1] ?? 'postgres-url'),
      `give exactly one source of database credentials, not ${sources.join(' and ')}`
    )
  } else if (sources[0] === 'parts') {
    for (const n of PART_INPUTS)
      if (!raw[n]) add(n, `${n} is required when the database is given as parts`)
  } else if (raw.port !== '5432' && raw.port !== '') {
    add(
      'port',
      `port applies only to server/database/username/password; put the port in ${sources[0]}`
    )
  }

  if (sources.length === 1 && sources[0] === 'postgres-url') {
    try {
      parsePostgresUrl(raw['postgres-url'])
    } catch (e) {
      add('postgres-url', (e as Error).message)
    }
  }
  if (sources.length === 1 && sources[0] === 'connection-string') {
    // The same setting twice, with perhaps different values: make the user pick one place.
    const keys = splitConnectionStringLoosely(raw['connection-string'])
    if (raw['encryption-method'] && keys.has('encryptionmethod'))
      add(
        'encryption-method',
        'encryption-method conflicts with EncryptionMethod in connection-string; set it in one place'
      )
    if (raw['validate-server-certificate'] && keys.has('validateservercertificate'))
      add(
        'validate-server-certificate',
        'validate-server-certificate conflicts with ValidateServerCertificate in connection-string; set it in one place'
      )
  }
  if (sources.length === 1 && sources[0] === 'connection-string' && raw['auth-type'] === 'basic') {
    try {
      parseConnectionString(raw['connection-string'])
    } catch (e) {
      add('connection-string', (e as Error).message)
    }
  }

  const authType = raw['auth-type']
  if (authType === 'basic') {
    if (raw['encryption-method'])
      add(
        'encryption-method',
        'encryption-method applies only to auth-type connection-string; use ssl-mode with basic'
      )
    if (raw['validate-server-certificate'])
      add(
        'validate-server-certificate',
        'validate-server-certificate applies only to auth-type connection-string; use ssl-mode with basic'
      )
  } else if (authType === 'connection-string' && raw['ssl-mode']) {
    add(
      'ssl-mode',
      'ssl-mode applies only to auth-type basic; use encryption-method with connection-string'
    )
  }
  return problems
}

function toSettings(f: Fields, raw: RawInputs): Settings {
  const settings: Settings = {
    ...adobeSettings(f),
    connectionName: f['connection-name'],
    description: f.description || undefined,
    authType: f['auth-type'],
    encryptionMethod: f['encryption-method'] ? ENCRYPTION[f['encryption-method']] : undefined,
    validateServerCertificate:
      f['validate-server-certificate'] === '' ? undefined : f['validate-server-certificate'],
    sslMode: f['ssl-mode'],
    testConnection: f['test-connection'],
    validateSpec: f['validate-spec']
  }
  if (f.state === 'absent') return settings

  const [source] = credentialSources(raw)
  if (source === 'connection-string') {
    const cs = f['connection-string']
    settings.credentials = {
      source,
      connectionString: cs,
      parts: f['auth-type'] === 'basic' ? parseConnectionString(cs) : undefined
    }
  } else if (source === 'postgres-url') {
    const { parts, ssl, ignored } = parsePostgresUrl(f['postgres-url'])
    settings.credentials = { source, parts, ...(ignored.length ? { ignoredParams: ignored } : {}) }
    // The URL's sslmode fills in what the explicit inputs leave open; explicit inputs win.
    if (settings.authType === 'basic') settings.sslMode ??= ssl.sslMode
    else {
      settings.encryptionMethod ??= ssl.encryptionMethod
      settings.validateServerCertificate ??= ssl.validateServerCertificate
    }
  } else {
    settings.credentials = {
      source: 'parts',
      parts: {
        server: f.server,
        port: f.port,
        database: f.database,
        username: f.username,
        password: f.password
      }
    }
  }
  return settings
}

/** What the step says about valid inputs it does not use, once the token is masked. */
export function inputNotes(s: Settings): string[] {
  const ignored = s.credentials?.source === 'postgres-url' && s.credentials.ignoredParams
  return ignored
    ? [`postgres-url parameters not used by Flow Service were ignored: ${ignored.join(', ')}`]
    : []
}
