import { isIP } from 'node:net'
import { z } from 'zod'
import {
  parsePostgresUrl,
  parseConnectionString,
  splitConnectionStringLoosely
} from './connection.js'
import { SSL_MODES, type Settings } from './settings.js'

/** Every input action.yml declares, in the order the README lists them. */
export const INPUT_NAMES = [
  'client-id',
  'client-secret',
  'access-token',
  'scopes',
  'ims-org-id',
  'sandbox-name',
  'platform-url',
  'ims-url',
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
  'client-secret',
  'access-token',
  'connection-string',
  'postgres-url',
  'password'
] as const satisfies readonly InputName[]

/** Defaults, mirrored from action.yml so that a run outside the runner behaves the same. */
export const DEFAULTS: Partial<Record<InputName, string>> = {
  scopes: 'openid,session,AdobeID,read_organizations,additional_info.projectedProductContext',
  'platform-url': 'https://platform.adobe.io',
  'ims-url': 'https://ims-na1.adobelogin.com',
  'auth-type': 'connection-string',
  port: '5432',
  'if-exists': 'update',
  state: 'present',
  'dry-run': 'false',
  'test-connection': 'false',
  'timeout-seconds': '120',
  'max-attempts': '5',
  'validate-spec': 'false'
}

const ENCRYPTION = { disabled: 0, enabled: 1, 'request-ssl': 6 } as const
export type EncryptionMethod = keyof typeof ENCRYPTION

/** Raw input values, already read from the environment (empty string = not given). */
export type RawInputs = Record<InputName, string>

// Control characters would break log lines and Flow Service names alike.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/**
 * What a value sent as an HTTP header may hold: visible ASCII, no spaces. Anything else (an
 * emoji, a pasted line break) makes the HTTP client refuse the request, so it is an input error.
 */
export const VISIBLE_ASCII = /^[\x21-\x7e]+$/

/** A required value sent as a header (client-id as x-api-key). */
const headerValue = (name: InputName, max: number) =>
  z.string().superRefine((v, ctx) => {
    if (!v) ctx.addIssue({ code: 'custom', message: `${name} is required` })
    else if (v.length > max)
      ctx.addIssue({ code: 'custom', message: `${name} must be at most ${max} characters` })
    else if (!VISIBLE_ASCII.test(v))
      ctx.addIssue({
        code: 'custom',
        message: `${name} must be visible ASCII characters only (no spaces, control characters or emoji): it is sent as an HTTP header`
      })
  })

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)

/** An https URL, or plain http to a loopback host (the local simulator). No path beyond '/'. */
const serviceUrl = (name: InputName) =>
  z.string().transform((value, ctx) => {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name} must be an absolute URL, e.g. https://…` })
      return z.NEVER
    }
    if (url.username || url.password || url.search || url.hash) {
      ctx.addIssue({
        code: 'custom',
        message: `${name} must not contain credentials, a query or a fragment`
      })
      return z.NEVER
    }
    const loopbackHttp = url.protocol === 'http:' && isLoopback(url.hostname)
    if (url.protocol !== 'https:' && !loopbackHttp) {
      ctx.addIssue({
        code: 'custom',
        message: `${name} must use https (plain http is allowed only for a loopback host such as 127.0.0.1)`
      })
      return z.NEVER
    }
    return url.origin + url.pathname.replace(/\/+$/, '')
  })

const bool = (name: InputName) =>
  z
    .string()
    .refine((v) => /^(true|false)$/i.test(v), {
      message: `${name} must be true or false`
    })
    .transform((v) => v.toLowerCase() === 'true')

const intIn = (name: InputName, min: number, max: number) =>
  z
    .string()
    .refine((v) => /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max, {
      message: `${name} must be a whole number from ${min} to ${max}`
    })
    .transform(Number)

const oneOf = <const T extends readonly [string, ...string[]]>(name: InputName, values: T) =>
  z.enum(values, { error: () => `${name} must be one of: ${values.join(', ')}` })

/** oneOf, or empty for "not given". One error listing the values (a union would say only "Invalid input"). */
const optionalOneOf = <const T extends readonly [string, ...string[]]>(
  name: InputName,
  values: T
) => z.enum(['', ...values], { error: () => `${name} must be one of: ${values.join(', ')}` })

/** bool, or empty for "not given" (same reason as optionalOneOf). */
const optionalBool = (name: InputName) =>
  z
    .string()
    .refine((v) => /^(true|false|)$/i.test(v), { message: `${name} must be true or false` })
    .transform((v) => (v === '' ? ('' as const) : v.toLowerCase() === 'true'))

// Host name labels (letters, digits, hyphens; underscores, which some internal DNS names carry),
// dot-separated, an optional final dot. IPv4 addresses fit this too.
const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

/**
 * `server` is put into `Server=` as it is, so a URL, a port or a space in it would register a
 * connection Adobe can never reach; say which input to use instead.
 */
const serverName = z.string().superRefine((v, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message })
  if (!v) return
  if (v.length > 255) fail('server must be at most 255 characters')
  else if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(v))
    fail('server must be a host name or IP address without a scheme: use postgres-url for a URL')
  else if (/\s/.test(v)) fail('server must be a host name or IP address, without spaces')
  else if (isIP(v.replace(/^\[(.*)\]$/, '$1')) === 6) return
  else if (/^[^:]+:\d*$/.test(v) || /^\[[^\]]*\]:\d*$/.test(v))
    fail('server must not include a port: use the port input')
  else if (!HOST_NAME.test(v))
    fail(
      'server must be a host name or IP address (letters, digits, dots and hyphens, or an IPv6 address)'
    )
})

const text = (name: InputName, max: number, required: boolean) =>
  z.string().superRefine((v, ctx) => {
    if (required && v.length === 0) {
      ctx.addIssue({ code: 'custom', message: `${name} is required` })
    } else if (v.length > max) {
      ctx.addIssue({ code: 'custom', message: `${name} must be at most ${max} characters` })
    } else if (CONTROL.test(v)) {
      ctx.addIssue({ code: 'custom', message: `${name} must not contain control characters` })
    }
  })

/** Field-level shape of the inputs. Secret fields only check presence, never echo. */
const FieldsSchema = z.object({
  'client-id': headerValue('client-id', 255),
  'client-secret': z.string(),
  // A secret: the message says what is wrong, never what it holds.
  'access-token': z.string().refine((v) => !v || VISIBLE_ASCII.test(v), {
    message:
      'access-token must be visible ASCII characters only (no spaces, line breaks or other control characters): it is sent in the Authorization header'
  }),
  scopes: text('scopes', 2000, true),
  'ims-org-id': z.string().regex(/^[A-Za-z0-9]+@AdobeOrg$/, {
    message: 'ims-org-id must look like 0123456789ABCDEF01234567@AdobeOrg'
  }),
  'sandbox-name': z.string().superRefine((v, ctx) => {
    if (!v) ctx.addIssue({ code: 'custom', message: 'sandbox-name is required' })
    else if (!/^[a-z0-9][a-z0-9-]{0,254}$/.test(v))
      ctx.addIssue({
        code: 'custom',
        message:
          'sandbox-name must be the sandbox’s lower-case name (letters, digits and hyphens), e.g. prod'
      })
  }),
  'platform-url': serviceUrl('platform-url'),
  'ims-url': serviceUrl('ims-url'),
  'connection-name': z.string().superRefine((v, ctx) => {
    if (!v.trim()) ctx.addIssue({ code: 'custom', message: 'connection-name is required' })
    else if (v.length > 255)
      ctx.addIssue({ code: 'custom', message: 'connection-name must be at most 255 characters' })
    else if (CONTROL.test(v))
      ctx.addIssue({
        code: 'custom',
        message: 'connection-name must not contain control characters'
      })
  }),
  description: text('description', 1000, false),
  'auth-type': oneOf('auth-type', ['connection-string', 'basic']),
  'connection-string': z.string(),
  'postgres-url': z.string(),
  server: serverName,
  port: intIn('port', 1, 65535),
  database: text('database', 255, false),
  username: text('username', 255, false),
  password: z.string(),
  'encryption-method': optionalOneOf('encryption-method', ['disabled', 'enabled', 'request-ssl']),
  'validate-server-certificate': optionalBool('validate-server-certificate'),
  'ssl-mode': z.string().transform((v, ctx) => {
    if (!v) return undefined
    const mode = SSL_MODES.find((m) => m.toLowerCase() === v.toLowerCase().replace(/[\s_]+/g, '-'))
    if (!mode) {
      ctx.addIssue({ code: 'custom', message: `ssl-mode must be one of: ${SSL_MODES.join(', ')}` })
      return z.NEVER
    }
    return mode
  }),
  'if-exists': oneOf('if-exists', ['update', 'reuse', 'fail']),
  state: oneOf('state', ['present', 'absent']),
  'dry-run': bool('dry-run'),
  'test-connection': bool('test-connection'),
  'timeout-seconds': intIn('timeout-seconds', 1, 3600),
  'max-attempts': intIn('max-attempts', 1, 20),
  'validate-spec': bool('validate-spec')
})
type Fields = z.output<typeof FieldsSchema>

/** One problem with one input; never carries the input's value. */
export interface InputProblem {
  input: InputName
  message: string
}

export class InputError extends Error {
  constructor(readonly problems: InputProblem[]) {
    super(problems.map((p) => p.message).join('; '))
    this.name = 'InputError'
  }
}

/** Fills in action.yml defaults for inputs left empty. */
export function withDefaults(raw: Partial<RawInputs>): RawInputs {
  const out = {} as RawInputs
  for (const name of INPUT_NAMES) {
    const v = raw[name] ?? ''
    out[name] = v === '' ? (DEFAULTS[name] ?? '') : v
  }
  return out
}

/**
 * Validates the raw inputs and derives the settings. Throws InputError listing every problem,
 * each naming the input to fix. Pure: reads nothing but its argument.
 */
export function parseInputs(partial: Partial<RawInputs>): Settings {
  const raw = withDefaults(partial)
  const problems: InputProblem[] = []
  const parsed = FieldsSchema.safeParse(raw)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const input = issue.path[0] as InputName
      problems.push({ input, message: issue.message })
    }
  }
  // Cross-field rules are checked on the raw values so that every problem is reported at once.
  problems.push(...crossFieldProblems(raw))
  if (problems.length > 0 || !parsed.success) throw new InputError(dedupe(problems))
  return toSettings(parsed.data, raw)
}

function dedupe(problems: InputProblem[]): InputProblem[] {
  const seen = new Set<string>()
  return problems.filter((p) => !seen.has(p.message) && seen.add(p.message))
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
  const problems: InputProblem[] = []
  const add = (input: InputName, message: string) => problems.push({ input, message })

  if (raw['client-secret'] && raw['access-token'])
    add('client-secret', 'give either client-secret or access-token, not both')
  else if (!raw['client-secret'] && !raw['access-token'])
    add('client-secret', 'client-secret or access-token is required (exactly one of them)')

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
    clientId: f['client-id'],
    clientSecret: f['client-secret'] || undefined,
    accessToken: f['access-token'] || undefined,
    scopes: f.scopes,
    imsOrgId: f['ims-org-id'],
    sandboxName: f['sandbox-name'],
    platformUrl: f['platform-url'],
    imsUrl: f['ims-url'],
    connectionName: f['connection-name'],
    description: f.description || undefined,
    authType: f['auth-type'],
    encryptionMethod: f['encryption-method'] ? ENCRYPTION[f['encryption-method']] : undefined,
    validateServerCertificate:
      f['validate-server-certificate'] === '' ? undefined : f['validate-server-certificate'],
    sslMode: f['ssl-mode'],
    ifExists: f['if-exists'],
    state: f.state,
    dryRun: f['dry-run'],
    testConnection: f['test-connection'],
    timeoutSeconds: f['timeout-seconds'],
    maxAttempts: f['max-attempts'],
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
