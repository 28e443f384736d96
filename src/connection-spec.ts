import { z } from 'zod'
import {
  POSTGRES_SPEC_ID,
  type AuthParams,
  type CreateBody,
  type ParamValue
} from './connection.js'
import { ActionError, ApiError } from './errors.js'
import { patchOps, type Plan } from './plan.js'

/**
 * Flow Service's live connection spec as the referee of the auth params: each authSpec entry
 * carries a draft-07 JSON Schema of `auth.params`. The documentation disagrees with itself about
 * port's type and sslMode's spelling; the spec a sandbox serves settles both at run time.
 */

/** A JSON Schema object, as the spec serves it. */
export type JsonSchema = Record<string, unknown>

const SpecReplySchema = z.looseObject({
  items: z.array(
    z.looseObject({
      id: z.string().optional(),
      name: z.string().optional(),
      authSpec: z
        .array(z.looseObject({ name: z.string().optional(), spec: z.unknown().optional() }))
        .optional()
    })
  )
})

const PropertySchema = z.looseObject({
  type: z.union([z.string(), z.array(z.string())]).optional(),
  enum: z.array(z.unknown()).optional(),
  format: z.string().optional()
})
type Property = z.infer<typeof PropertySchema>

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** The schema of one auth type out of a GET /connectionSpecs/{id} reply, or why there is none. */
export function authSchemaOf(
  reply: unknown,
  specName: string
): { schema: JsonSchema } | { unavailable: string } {
  const parsed = SpecReplySchema.safeParse(reply)
  if (!parsed.success) return { unavailable: 'the reply is not a connection spec list' }
  const items = parsed.data.items
  const spec = items.find((i) => i.id === POSTGRES_SPEC_ID) ?? items[0]
  if (!spec) return { unavailable: 'the reply holds no connection spec' }
  const names = (spec.authSpec ?? []).map((a) => a.name).filter((n) => n !== undefined)
  const auth = (spec.authSpec ?? []).find((a) => a.name === specName)
  if (!auth)
    return {
      unavailable: `it has no auth type named "${specName}" (it lists: ${names.join(', ') || 'none'})`
    }
  if (!isObject(auth.spec)) return { unavailable: `it has no schema for "${specName}"` }
  return { schema: auth.spec }
}

/** One way the params break the schema: the param's name and what the schema expects, never the value. */
export interface ParamProblem {
  param: string
  keyword: string
  expected: string
}

/** One reshaped param: what was changed, described without the value (enum targets come from the schema). */
export interface ParamChange {
  param: string
  change: string
}

export interface Verdict {
  /** The params to send: reshaped where that fixed a problem. */
  params: AuthParams
  changes: ParamChange[]
  problems: ParamProblem[]
}

/** The schema could not be compiled: the referee is unavailable, not the params wrong. */
export class SchemaError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SchemaError'
  }
}

/** ajv is loaded on first use only, so the common run (no spec read) never pays for it. */
const importAjv = () => import('ajv')
let ajvModule: ReturnType<typeof importAjv> | undefined
const loadAjv = () => (ajvModule ??= importAjv())

type Validate = (params: AuthParams) => ErrorLike[]
interface ErrorLike {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
  message?: string
}

async function compile(schema: JsonSchema): Promise<Validate> {
  // `default` is ajv's CommonJS exports object under Node, jest and the bundle alike; its named
  // exports are not (the bundle's ESM interop drops them).
  const { Ajv } = (await loadAjv()).default
  // Lenient about the schema itself (Adobe's specs carry UI keywords and "format": "password"),
  // strict about the params. $schema is dropped so a spec naming another draft still compiles.
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    validateFormats: false,
    validateSchema: false,
    logger: false,
    unicodeRegExp: false,
    addUsedSchema: false
  })
  const { $schema: _ignored, ...rest } = schema
  let fn: ReturnType<typeof ajv.compile>
  try {
    fn = ajv.compile(rest)
  } catch (e) {
    throw new SchemaError(`its schema could not be compiled (${(e as Error).message})`)
  }
  return (params) => (fn(params) ? [] : ((fn.errors ?? []) as ErrorLike[]))
}

const pointerToName = (p: string): string =>
  p.slice(1).split('/')[0]?.replace(/~1/g, '/').replace(/~0/g, '~') ?? ''

const A_TYPE: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  object: 'an object',
  array: 'an array',
  null: 'null'
}

/** The param an error is about, and the schema's expectation in words; no value ever. */
function describe(e: ErrorLike): ParamProblem {
  const p = e.params
  switch (e.keyword) {
    case 'required':
      return {
        param: String(p.missingProperty),
        keyword: e.keyword,
        expected: 'is required by the connection spec but is not sent'
      }
    case 'additionalProperties':
      return {
        param: String(p.additionalProperty),
        keyword: e.keyword,
        expected: 'is not a param this auth type accepts'
      }
    case 'type': {
      const types = String(p.type).split(',')
      return {
        param: pointerToName(e.instancePath) || '(params)',
        keyword: e.keyword,
        expected: `must be ${types.map((t) => A_TYPE[t] ?? t).join(' or ')}`
      }
    }
    case 'enum':
      return {
        param: pointerToName(e.instancePath),
        keyword: e.keyword,
        expected: `must be one of: ${(Array.isArray(p.allowedValues) ? p.allowedValues : [])
          .map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
          .join(', ')}`
      }
    case 'pattern':
      return {
        param: pointerToName(e.instancePath),
        keyword: e.keyword,
        expected: `must match the pattern ${String(p.pattern)}`
      }
    default:
      // ajv's own words name limits (maxLength, minimum, ...) but never the value.
      return {
        param: pointerToName(e.instancePath) || '(params)',
        keyword: e.keyword,
        expected: e.message ?? `fails the "${e.keyword}" rule`
      }
  }
}

function problemsOf(errors: ErrorLike[]): ParamProblem[] {
  const seen = new Set<string>()
  return errors
    .map(describe)
    .filter((p) => !seen.has(`${p.param}\0${p.expected}`) && seen.add(`${p.param}\0${p.expected}`))
}

const typesOf = (prop: Property): string[] =>
  prop.type === undefined ? [] : Array.isArray(prop.type) ? prop.type : [prop.type]

/** Case, spaces, hyphens and underscores do not tell two enum spellings apart. */
const looseKey = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, '')

/**
 * Reshapes one value where the schema leaves a single reading, and only there: a numeric string
 * the schema wants as an integer or number, a boolean-like value wanted as a boolean or a string,
 * an enum value matching exactly one allowed value loosely. Undefined when nothing applies.
 */
export function reshapeValue(
  value: ParamValue,
  prop: Property
): { value: ParamValue; change: string } | undefined {
  const types = typesOf(prop)
  let v = value
  const changes: string[] = []
  if (typeof v === 'string' && types.length > 0 && !types.includes('string')) {
    const t = v.trim()
    if (types.includes('integer') && /^[+-]?\d+$/.test(t) && Number.isSafeInteger(Number(t))) {
      v = Number(t)
      changes.push('string -> integer')
    } else if (types.includes('number') && t !== '' && Number.isFinite(Number(t))) {
      v = Number(t)
      changes.push('string -> number')
    } else if (types.includes('boolean') && /^(true|false)$/i.test(t)) {
      v = t.toLowerCase() === 'true'
      changes.push('string -> boolean')
    }
  } else if (typeof v === 'boolean' && types.includes('string') && !types.includes('boolean')) {
    v = String(v)
    changes.push('boolean -> string')
  }
  if (prop.enum && typeof v === 'string' && !prop.enum.includes(v)) {
    const key = looseKey(v)
    const matches = prop.enum.filter(
      (e): e is string => typeof e === 'string' && looseKey(e) === key
    )
    const [only] = matches
    if (matches.length === 1 && only !== undefined) {
      v = only
      // The allowed value comes from the schema; a secret param's is still not shown.
      changes.push(
        prop.format === 'password'
          ? 'matched one allowed value'
          : `matched the allowed value "${only}"`
      )
    }
  }
  return changes.length > 0 ? { value: v, change: changes.join(', ') } : undefined
}

/**
 * Validates params against an auth type's schema with ajv; where a param fails and the schema
 * allows exactly one reading of it, reshapes it and validates again. Problems name the param and
 * the expectation only. Throws SchemaError when the schema cannot be compiled.
 */
export async function judgeParams(schema: JsonSchema, params: AuthParams): Promise<Verdict> {
  const validate = await compile(schema)
  const first = validate(params)
  if (first.length === 0) return { params, changes: [], problems: [] }
  const properties = isObject(schema.properties) ? schema.properties : {}
  const failing = new Set(problemsOf(first).map((p) => p.param))
  const reshaped: AuthParams = { ...params }
  const tried: ParamChange[] = []
  for (const param of failing) {
    const value = params[param]
    const prop = PropertySchema.safeParse(properties[param])
    if (value === undefined || !prop.success) continue
    const r = reshapeValue(value, prop.data)
    if (!r) continue
    reshaped[param] = r.value
    tried.push({ param, change: r.change })
  }
  if (tried.length === 0) return { params, changes: [], problems: problemsOf(first) }
  const problems = problemsOf(validate(reshaped))
  const stillFailing = new Set(problems.map((p) => p.param))
  // A reshape that fixed nothing is undone, so only helpful changes are sent and reported.
  const changes = tried.filter((c) => !stillFailing.has(c.param))
  const out: AuthParams = { ...params }
  for (const c of changes) out[c.param] = reshaped[c.param] as ParamValue
  return { params: out, changes, problems }
}

/** True when a connection string brace-quotes a value (Key={...}), a form Adobe does not document. */
export function usesBraceQuoting(params: AuthParams): boolean {
  const cs = params.connectionString
  return typeof cs === 'string' && /(^|;)\s*[^=;]+=\s*\{/.test(cs)
}

/** The problems as one clause: "sslMode must be one of: ...; port must be an integer". */
export function describeProblems(problems: ParamProblem[], params: AuthParams): string {
  let text = problems.map((p) => `${p.param} ${p.expected}`).join('; ')
  if (problems.some((p) => p.param === 'connectionString' && p.keyword === 'pattern')) {
    text += usesBraceQuoting(params)
      ? '. A value in the connection string needed brace quoting ({...}), which this pattern does not allow: use auth-type: basic, which sends each part on its own and needs no quoting'
      : '. Check the keywords and their order against the pattern, or use auth-type: basic'
  }
  return text
}

export function describeChanges(changes: ParamChange[]): string {
  return changes.map((c) => `${c.param} (${c.change})`).join(', ')
}

/** Flow Service 400 codes whose cause is known and is not the params: the spec cannot help there. */
const EXPLAINED_400 = new Set([
  '1401',
  '1403',
  '1405',
  '1413',
  '1414',
  '1416',
  '1417',
  '1418',
  '1434',
  '1445',
  '1453',
  '1457',
  '2105',
  '2110',
  '2112',
  '2113',
  '2114',
  '2115',
  '400003'
])

/** A 400 the action cannot otherwise explain: perhaps the params, so worth asking the spec. */
export function isUnexplained400(e: unknown): e is ApiError {
  if (!(e instanceof ApiError) || e.status !== 400) return false
  const code = e.code?.split('-')[0]
  return code === undefined || !EXPLAINED_400.has(code)
}

/** What the spec says about a planned body. */
export type Ruling =
  | { kind: 'unavailable'; reason: string }
  | { kind: 'match' }
  | { kind: 'reshaped'; body: CreateBody; changes: ParamChange[] }
  | { kind: 'mismatch'; problems: ParamProblem[]; text: string }

export interface RefereeDeps {
  /** GET /connectionSpecs/{id}; throws when it cannot be read. */
  readSpec: () => Promise<unknown>
  log: (line: string) => void
  warn: (message: string) => void
}

/** A copy of a create or update plan carrying other params (the PATCH recomputed from them). */
export function withBody(plan: Plan, body: CreateBody): Plan {
  if (plan.kind === 'create') return { ...plan, body }
  if (plan.kind === 'update') return { ...plan, body, ops: patchOps(plan.existing, body) }
  return plan
}

export const withParams = (body: CreateBody, params: AuthParams): CreateBody => ({
  ...body,
  auth: { ...body.auth, params }
})

/**
 * Consults the live connection spec at most once per run (the reply is kept), only when asked:
 * a dry run, validate-spec, or an unexplained 400 on a create or update.
 */
export class SpecReferee {
  private reply?: Promise<{ reply: unknown } | { error: string }>
  /** GET /connectionSpecs requests made (0 or 1). */
  reads = 0

  constructor(private readonly deps: RefereeDeps) {}

  private read(): Promise<{ reply: unknown } | { error: string }> {
    this.reply ??= (async () => {
      this.reads++
      try {
        return { reply: await this.deps.readSpec() }
      } catch (e) {
        if (e instanceof ActionError) return { error: e.message }
        throw e
      }
    })()
    return this.reply
  }

  /** The spec's ruling on a body; never throws for an unavailable referee. */
  async rule(body: CreateBody): Promise<Ruling> {
    const r = await this.read()
    if ('error' in r) return { kind: 'unavailable', reason: r.error }
    const found = authSchemaOf(r.reply, body.auth.specName)
    if ('unavailable' in found) return { kind: 'unavailable', reason: found.unavailable }
    let verdict: Verdict
    try {
      verdict = await judgeParams(found.schema, body.auth.params)
    } catch (e) {
      if (e instanceof SchemaError) return { kind: 'unavailable', reason: e.message }
      throw e
    }
    if (verdict.problems.length > 0)
      return {
        kind: 'mismatch',
        problems: verdict.problems,
        text: describeProblems(verdict.problems, body.auth.params)
      }
    if (verdict.changes.length > 0)
      return {
        kind: 'reshaped',
        body: withParams(body, verdict.params),
        changes: verdict.changes
      }
    return { kind: 'match' }
  }

  private unavailable(reason: string): void {
    this.deps.warn(
      `could not check the auth params against Flow Service's live connection spec: ${reason}; going on without that check`
    )
  }

  /**
   * Checks a planned body before it is sent (dry run, validate-spec). Returns the body to send,
   * reshaped where the spec is unambiguous; throws naming the params on a mismatch.
   */
  async vet(body: CreateBody, nothingSent: string): Promise<CreateBody> {
    const ruling = await this.rule(body)
    switch (ruling.kind) {
      case 'unavailable':
        this.unavailable(ruling.reason)
        return body
      case 'match':
        this.deps.log(
          `The auth params match Flow Service's live connection spec for "${body.auth.specName}"`
        )
        return body
      case 'reshaped':
        this.deps.log(
          `Reshaped to match Flow Service's live connection spec for "${body.auth.specName}": ${describeChanges(ruling.changes)}`
        )
        return ruling.body
      case 'mismatch':
        throw new ActionError(
          `the auth params do not match Flow Service's live connection spec for "${body.auth.specName}": ${ruling.text} (${nothingSent})`
        )
    }
  }

  /**
   * The plan to carry out: in a dry run, or with validate-spec, a create or update is checked
   * (and perhaps reshaped) first; anything else is left as it is, with no spec read.
   */
  async vetPlan(plan: Plan, s: { dryRun: boolean; validateSpec: boolean }): Promise<Plan> {
    if (!(s.dryRun || s.validateSpec) || (plan.kind !== 'create' && plan.kind !== 'update'))
      return plan
    const nothingSent = s.dryRun ? 'dry run: nothing would be sent' : 'nothing was sent'
    const body = await this.vet(plan.body, nothingSent)
    return body === plan.body ? plan : withBody(plan, body)
  }

  /**
   * Sends a create or update; after a 400 nothing else explains, asks the spec. Where reshaping
   * fixes the params the call is sent once more (a 400 stored nothing); a mismatch fails naming
   * the params; otherwise the original error stands, with what the spec said.
   */
  async guard<T>(body: CreateBody, send: (b: CreateBody) => Promise<T>): Promise<T> {
    try {
      return await send(body)
    } catch (e) {
      if (!isUnexplained400(e)) throw e
      const ruling = await this.rule(body)
      switch (ruling.kind) {
        case 'unavailable':
          this.unavailable(ruling.reason)
          throw e
        case 'match':
          throw new ApiError(
            `${e.message} (the auth params match Flow Service's live connection spec, so the spec does not explain it)`,
            e.status,
            e.code,
            e.requestId
          )
        case 'mismatch':
          throw new ApiError(
            `${e.message}. Flow Service's live connection spec for "${body.auth.specName}" says: ${ruling.text}`,
            e.status,
            e.code,
            e.requestId
          )
        case 'reshaped':
          this.deps.log(
            `Flow Service refused the auth params (HTTP 400); reshaped to match its live connection spec for "${body.auth.specName}": ${describeChanges(ruling.changes)}. Sending once more`
          )
          return await send(ruling.body)
      }
    }
  }
}
