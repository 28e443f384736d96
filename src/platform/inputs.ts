import { InputError, type InputProblem } from './errors.js'
import { markOf } from './marker.js'
import * as z from './zod.js'

/*
 * What both actions take from the runner in the same way: the Adobe-side inputs (credential,
 * org, sandbox, hosts), the run inputs (if-exists, state, dry-run, timeout-seconds,
 * max-attempts), their defaults and checks, and the zod building blocks each action's own inputs
 * use. Messages name the input, never its value.
 */

/** The Adobe-side inputs, in the order both READMEs list them. */
export const ADOBE_INPUT_NAMES = [
  'client-id',
  'client-secret',
  'access-token',
  'scopes',
  'ims-org-id',
  'sandbox-name',
  'platform-url',
  'ims-url'
] as const

/** The inputs that say how a run behaves, shared by both actions. */
export const RUN_INPUT_NAMES = [
  'if-exists',
  'state',
  'dry-run',
  'timeout-seconds',
  'max-attempts'
] as const

export type SharedInputName = (typeof ADOBE_INPUT_NAMES)[number] | (typeof RUN_INPUT_NAMES)[number]

/** The Adobe-side secrets: masked before anything else happens. */
export const ADOBE_SECRET_INPUTS = ['client-secret', 'access-token'] as const

/** Defaults, mirrored from both action.yml files so a run outside the runner behaves the same. */
export const SHARED_DEFAULTS: Partial<Record<SharedInputName, string>> = {
  scopes: 'openid,session,AdobeID,read_organizations,additional_info.projectedProductContext',
  'platform-url': 'https://platform.adobe.io',
  'ims-url': 'https://ims-na1.adobelogin.com',
  'if-exists': 'update',
  state: 'present',
  'dry-run': 'false',
  'timeout-seconds': '120',
  'max-attempts': '5'
}

/** What every action's settings carry: where and as whom to call Adobe, and how to run. */
export interface AdobeSettings {
  clientId: string
  clientSecret?: string
  accessToken?: string
  scopes: string
  imsOrgId: string
  sandboxName: string
  platformUrl: string
  imsUrl: string
  ifExists: 'update' | 'reuse' | 'fail'
  state: 'present' | 'absent'
  dryRun: boolean
  timeoutSeconds: number
  maxAttempts: number
}

// Control characters would break log lines and Flow Service names alike.
// eslint-disable-next-line no-control-regex
export const CONTROL = /[\u0000-\u001f\u007f]/

/**
 * What a value sent as an HTTP header may hold: visible ASCII, no spaces. Anything else (an
 * emoji, a pasted line break) makes the HTTP client refuse the request, so it is an input error.
 */
export const VISIBLE_ASCII = /^[\x21-\x7e]+$/

/*
 * Each input is checked by a plain function (a Check) and zod parses the whole set once: an
 * object of strings whose transform runs every check and reports each problem at its input. One
 * zod schema per field, chained refinements and transforms, cost some 90 schema objects per step,
 * built and compiled at start-up (about 8 ms on Node 24); the checks, messages and outputs are
 * the same.
 */

/** What a check found wrong with one input: messages naming the input, never echoing its value. */
export class Problems {
  constructor(readonly messages: readonly string[]) {}
}

/** One input's check: its raw value (empty = not given) to its parsed value, or its Problems. */
export type Check<T> = (value: string) => T | Problems

/** Each check's parsed value, by input name. */
export type Checked<C extends Record<string, Check<unknown>>> = {
  [K in keyof C]: Exclude<ReturnType<C[K]>, Problems>
}

/** One problem with an input. */
export const problem = (message: string) => new Problems([message])

/** A rule as a check: the value when it holds, else the message. */
export const rule =
  (holds: (v: string) => boolean, message: string): Check<string> =>
  (v) =>
    holds(v) ? v : problem(message)

/** A text value with no rule of its own (secrets: only their presence is checked, elsewhere). */
export const anyText: Check<string> = (v) => v

/**
 * A text check followed by a further rule on the same value. Both run, so a value breaking both
 * gets both messages (as chained zod refinements gave them).
 */
export function also(check: Check<string>, rule: (v: string) => string | undefined): Check<string> {
  return (v) => {
    const first = check(v)
    const more = rule(v)
    if (more === undefined) return first
    return new Problems(first instanceof Problems ? [...first.messages, more] : [more])
  }
}

/**
 * The zod schema of a set of inputs: every value a string, every check run, every problem an
 * issue whose path is its input; the output is each check's value.
 */
export function inputsSchema<C extends Record<string, Check<unknown>>>(checks: C) {
  const entries = Object.entries(checks)
  const string = z.string()
  const shape: Record<string, typeof string> = {}
  for (const [name] of entries) shape[name] = string
  return z.pipe(
    z.object(shape),
    z.transform((raw: Record<string, string>, ctx) => {
      const out: Record<string, unknown> = {}
      for (const [name, check] of entries) {
        const result = check(raw[name] ?? '')
        if (result instanceof Problems)
          for (const message of result.messages)
            // No value in the issue: a secret input's has no place there.
            ctx.issues.push({ code: 'custom', path: [name], message, input: undefined })
        else out[name] = result
      }
      // Every name has its check's value here, or the parse has failed.
      return out as Checked<C>
    })
  )
}

/** A required value sent as a header (client-id as x-api-key). */
export const headerValue =
  (name: string, max: number): Check<string> =>
  (v) => {
    if (!v) return problem(`${name} is required`)
    if (v.length > max) return problem(`${name} must be at most ${max} characters`)
    if (!VISIBLE_ASCII.test(v))
      return problem(
        `${name} must be visible ASCII characters only (no spaces, control characters or emoji): it is sent as an HTTP header`
      )
    return v
  }

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)

/** An https URL, or plain http to a loopback host (the local simulator). No path beyond '/'. */
export const serviceUrl =
  (name: string): Check<string> =>
  (value) => {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      return problem(`${name} must be an absolute URL, e.g. https://…`)
    }
    if (url.username || url.password || url.search || url.hash)
      return problem(`${name} must not contain credentials, a query or a fragment`)
    const loopbackHttp = url.protocol === 'http:' && isLoopback(url.hostname)
    if (url.protocol !== 'https:' && !loopbackHttp)
      return problem(
        `${name} must use https (plain http is allowed only for a loopback host such as 127.0.0.1)`
      )
    return url.origin + url.pathname.replace(/\/+$/, '')
  }

export const bool =
  (name: string): Check<boolean> =>
  (v) =>
    /^(true|false)$/i.test(v)
      ? v.toLowerCase() === 'true'
      : problem(`${name} must be true or false`)

export const intIn =
  (name: string, min: number, max: number): Check<number> =>
  (v) =>
    /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max
      ? Number(v)
      : problem(`${name} must be a whole number from ${min} to ${max}`)

export const oneOf =
  <const T extends readonly [string, ...string[]]>(name: string, values: T): Check<T[number]> =>
  (v) =>
    values.includes(v) ? (v as T[number]) : problem(`${name} must be one of: ${values.join(', ')}`)

/** oneOf, or empty for "not given". */
export const optionalOneOf = <const T extends readonly [string, ...string[]]>(
  name: string,
  values: T
): Check<T[number] | ''> => {
  const given = oneOf(name, values)
  return (v) => (v === '' ? '' : given(v))
}

/** bool, or empty for "not given". */
export const optionalBool = (name: string): Check<boolean | ''> => {
  const given = bool(name)
  return (v) => (v === '' ? '' : given(v))
}

export const text =
  (name: string, max: number, required: boolean): Check<string> =>
  (v) => {
    if (required && v.length === 0) return problem(`${name} is required`)
    if (v.length > max) return problem(`${name} must be at most ${max} characters`)
    if (CONTROL.test(v)) return problem(`${name} must not contain control characters`)
    return v
  }

/**
 * A description: text, and not ending in what looks like the mark the action appends to a
 * create's description (a user's "[aep-gha:…]" would be taken for it, and replaced on every run).
 */
export const descriptionText = (name: string, max: number): Check<string> =>
  also(text(name, max, false), (v) =>
    markOf(v)
      ? `${name} must not end with text shaped like this action's mark ([aep-gha:…]), which the action adds itself`
      : undefined
  )

/** The name an object is found by: required, at most 255 characters, no control characters. */
export const objectName =
  (name: string): Check<string> =>
  (v) => {
    if (!v.trim()) return problem(`${name} is required`)
    if (v.length > 255) return problem(`${name} must be at most 255 characters`)
    if (CONTROL.test(v)) return problem(`${name} must not contain control characters`)
    return v
  }

/** The checks of the shared inputs; each action adds its own. */
export const sharedChecks = () => ({
  'client-id': headerValue('client-id', 255),
  'client-secret': anyText,
  // A secret: the message says what is wrong, never what it holds.
  'access-token': rule(
    (v) => !v || VISIBLE_ASCII.test(v),
    'access-token must be visible ASCII characters only (no spaces, line breaks or other control characters): it is sent in the Authorization header'
  ),
  scopes: text('scopes', 2000, true),
  'ims-org-id': rule(
    (v) => /^[A-Za-z0-9]+@AdobeOrg$/.test(v),
    'ims-org-id must look like 0123456789ABCDEF01234567@AdobeOrg'
  ),
  'sandbox-name': (v: string) => {
    if (!v) return problem('sandbox-name is required')
    if (!/^[a-z0-9][a-z0-9-]{0,254}$/.test(v))
      return problem(
        'sandbox-name must be the sandbox’s lower-case name (letters, digits and hyphens), e.g. prod'
      )
    return v
  },
  'platform-url': serviceUrl('platform-url'),
  'ims-url': serviceUrl('ims-url'),
  'if-exists': oneOf('if-exists', ['update', 'reuse', 'fail']),
  state: oneOf('state', ['present', 'absent']),
  'dry-run': bool('dry-run'),
  'timeout-seconds': intIn('timeout-seconds', 1, 3600),
  'max-attempts': intIn('max-attempts', 1, 20)
})

type SharedFields = Checked<ReturnType<typeof sharedChecks>>

/** The shared settings out of parsed fields. */
export function adobeSettings(f: SharedFields): AdobeSettings {
  return {
    clientId: f['client-id'],
    clientSecret: f['client-secret'] || undefined,
    accessToken: f['access-token'] || undefined,
    scopes: f.scopes,
    imsOrgId: f['ims-org-id'],
    sandboxName: f['sandbox-name'],
    platformUrl: f['platform-url'],
    imsUrl: f['ims-url'],
    ifExists: f['if-exists'],
    state: f.state,
    dryRun: f['dry-run'],
    timeoutSeconds: f['timeout-seconds'],
    maxAttempts: f['max-attempts']
  }
}

/** Exactly one way to authenticate: client-secret (IMS fetches a token) or access-token. */
export function credentialProblems(raw: Record<string, string>): InputProblem[] {
  if (raw['client-secret'] && raw['access-token'])
    return [
      { input: 'client-secret', message: 'give either client-secret or access-token, not both' }
    ]
  if (!raw['client-secret'] && !raw['access-token'])
    return [
      {
        input: 'client-secret',
        message: 'client-secret or access-token is required (exactly one of them)'
      }
    ]
  return []
}

/** Fills in defaults for inputs left empty. */
export function withDefaults<N extends string>(
  names: readonly N[],
  defaults: Partial<Record<N, string>>,
  raw: Partial<Record<N, string>>
): Record<N, string> {
  const out = {} as Record<N, string>
  for (const name of names) {
    const v = raw[name] ?? ''
    out[name] = v === '' ? (defaults[name] ?? '') : v
  }
  return out
}

/** Each zod issue as a problem naming its input (the first path element). */
export const problemsOf = (error: z.ZodError): InputProblem[] =>
  error.issues.map((issue) => ({ input: String(issue.path[0]), message: issue.message }))

/** One report per message: several rules may find the same problem. */
export function dedupe(problems: InputProblem[]): InputProblem[] {
  const seen = new Set<string>()
  return problems.filter((p) => !seen.has(p.message) && seen.add(p.message))
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two names. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0))
  )
  const at = (i: number, j: number) => d[i]?.[j] ?? Infinity
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1)
      const row = d[i]
      if (row) row[j] = best
    }
  return at(a.length, b.length)
}

/** The declared name closest to a given one, when it is close enough to be what was meant. */
export function closestName(given: string, declared: readonly string[]): string | undefined {
  const bare = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '')
  const exact = declared.find((n) => bare(n) === bare(given))
  if (exact) return exact
  // A name cut short (`timeout` for `timeout-seconds`): the shortest declared name it begins.
  const g = bare(given)
  const longer = declared.filter((n) => g.length >= 4 && bare(n).startsWith(g))
  if (longer.length > 0) return longer.sort((a, b) => a.length - b.length)[0]
  let best: { name: string; d: number } | undefined
  for (const name of declared) {
    const d = distance(given.toLowerCase().replace(/_/g, '-'), name)
    if (!best || d < best.d) best = { name, d }
  }
  return best && best.d <= Math.max(2, Math.floor(given.length / 3)) ? best.name : undefined
}

/**
 * The `with:` keys the action does not declare: the runner passes each as INPUT_<NAME> (upper
 * case, spaces as _) and only warns, so a misspelt `dryrun: true` would run for real. Each is a
 * problem naming it and the declared name closest to it.
 */
export function undeclaredInputs(
  env: NodeJS.ProcessEnv,
  declared: readonly string[]
): InputProblem[] {
  const known = new Set(declared.map((n) => `INPUT_${n.replace(/ /g, '_').toUpperCase()}`))
  const problems: InputProblem[] = []
  for (const key of Object.keys(env).sort()) {
    if (!/^INPUT_/i.test(key) || known.has(key.toUpperCase())) continue
    const name = key.slice('INPUT_'.length).toLowerCase()
    const near = closestName(name, declared)
    problems.push({
      input: name,
      message: `${name} is not an input of this action${near ? ` (did you mean ${near}?)` : ''}: the runner passes it on with only a warning, and the step would run as if it were not given`
    })
  }
  return problems
}

/**
 * Validates the inputs (`parse`, which throws InputError) and fails on any `with:` key the action
 * does not declare, that first: before anything is sent, every problem at once.
 */
export function parseDeclared<T>(
  env: NodeJS.ProcessEnv,
  declared: readonly string[],
  parse: () => T
): T {
  const undeclared = undeclaredInputs(env, declared)
  let parsed: T
  try {
    parsed = parse()
  } catch (e) {
    if (undeclared.length > 0 && e instanceof InputError)
      throw new InputError([...undeclared, ...e.problems])
    throw e
  }
  if (undeclared.length > 0) throw new InputError(undeclared)
  return parsed
}
