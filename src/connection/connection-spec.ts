import { POSTGRES_SPEC_ID } from '../platform/collections.js'
import { ActionError } from '../platform/errors.js'
import type { FlowApi } from '../platform/flow-api.js'
import {
  Deadline,
  DeadlineError,
  TransportError,
  type Attempt,
  type RetryContext
} from '../platform/http.js'
import { sameSpec } from '../platform/listing.js'
import { cut, MAX_MESSAGE } from '../platform/output.js'
import * as z from '../platform/zod.js'
import { lazy } from '../platform/lazy.js'
import { boundedRegExps } from './bounded-regexp.js'
import type { AuthParams, CreateBody, ParamValue } from './payload.js'
import { patchOps, type Plan } from './plan.js'
import { isUnexplained400 } from './refusal.js'
import { specText, UNPRINTABLE } from './spec-text.js'

export { specText }

/**
 * Flow Service's live connection spec as the referee of the auth params: each authSpec entry
 * carries a draft-07 JSON Schema of `auth.params`. The documentation disagrees with itself about
 * port's type and sslMode's spelling; the spec a sandbox serves settles both at run time.
 */

/** A JSON Schema object, as the spec serves it. */
export type JsonSchema = Record<string, unknown>

const SpecReplySchema = lazy(() =>
  z.looseObject({
    items: z.array(
      z.looseObject({
        id: z.optional(z.string()),
        name: z.optional(z.string()),
        authSpec: z.optional(
          z.array(z.looseObject({ name: z.optional(z.string()), spec: z.optional(z.unknown()) }))
        )
      })
    )
  })
)

const PropertySchema = lazy(() =>
  z.looseObject({
    type: z.optional(z.union([z.string(), z.array(z.string())])),
    enum: z.optional(z.array(z.unknown())),
    format: z.optional(z.string())
  })
)
type Property = z.infer<ReturnType<typeof PropertySchema>>

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Spec text as printed within `max` characters: the referee is given output.ts's guarded path
 * (redacted, then neutralised, then cut), so a value that is a secret is redacted whole before
 * any cut; specText and cut alone are the stand-in for tests without an Output.
 */
export type Shorten = (text: string, max: number) => string
export const plainShorten: Shorten = (text, max) => cut(specText(text), max)

/** The schema of one auth type out of a GET /connectionSpecs/{id} reply, or why there is none. */
export function authSchemaOf(
  reply: unknown,
  specName: string,
  shorten: Shorten = plainShorten
): { schema: JsonSchema } | { unavailable: string } {
  const parsed = SpecReplySchema().safeParse(reply)
  if (!parsed.success) return { unavailable: 'the reply is not a connection spec list' }
  // Only PostgreSQL's own spec referees: another connector's would fail good params.
  const spec = parsed.data.items.find((i) => sameSpec(i.id, POSTGRES_SPEC_ID))
  if (!spec)
    return { unavailable: `the reply holds no PostgreSQL connection spec (id ${POSTGRES_SPEC_ID})` }
  const names = (spec.authSpec ?? []).map((a) => a.name).filter((n) => n !== undefined)
  const auth = (spec.authSpec ?? []).find((a) => a.name === specName)
  if (!auth)
    return {
      unavailable: `it has no auth type named "${specName}" (it lists: ${shorten(names.join(', '), 200) || 'none'})`
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

/** A rule of the schema that could not be evaluated (a pattern too long or too slow). */
export interface UncheckedRule {
  param: string
  rule: string
  why: string
}

export interface Verdict {
  /** The params to send: reshaped where that fixed a problem. */
  params: AuthParams
  changes: ParamChange[]
  problems: ParamProblem[]
  /** Rules skipped because they could not be evaluated safely; the rest was checked. */
  unchecked: UncheckedRule[]
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

interface Validator {
  validate: (params: AuthParams) => ErrorLike[]
  /** Patterns that could not be evaluated so far (pattern -> why), treated as matching. */
  unchecked: Map<string, string>
}
interface ErrorLike {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
  message?: string
}

/**
 * Largest auth schema judged, in JSON nodes (objects, arrays and values). Adobe's PostgreSQL
 * schemas have a few dozen; compiling one costs time and memory in proportion to its size
 * (2,000 properties: 4.5 s), which nothing can interrupt, so a larger one is not compiled: the
 * spec counts as unavailable.
 */
export const MAX_SCHEMA_NODES = 1000

/** The nodes of a JSON value, counted up to `max` (then max + 1): a bound, not a full walk. */
function nodesOf(value: unknown, max: number): number {
  let count = 0
  const stack: unknown[] = [value]
  while (stack.length > 0 && count <= max) {
    const v = stack.pop()
    count++
    if (Array.isArray(v)) stack.push(...v)
    else if (isObject(v)) stack.push(...Object.values(v))
  }
  return Math.min(count, max + 1)
}

async function compile(
  schema: JsonSchema,
  shorten: Shorten,
  budgetMs?: number
): Promise<Validator> {
  if (nodesOf(schema, MAX_SCHEMA_NODES) > MAX_SCHEMA_NODES)
    throw new SchemaError(`its schema is too large to use (more than ${MAX_SCHEMA_NODES} nodes)`)
  // `default` is ajv's CommonJS exports object under Node, jest and the bundle alike; its named
  // exports are not (the bundle's ESM interop drops them).
  const { Ajv } = (await loadAjv()).default
  // Lenient about the schema itself (Adobe's specs carry UI keywords and "format": "password"),
  // strict about the params. $schema is dropped so a spec naming another draft still compiles.
  // Patterns run on a bounded engine: a served pattern must not be able to hang the step.
  const regExps = boundedRegExps(budgetMs === undefined ? {} : { budgetMs })
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    validateFormats: false,
    validateSchema: false,
    logger: false,
    // Patterns as JSON Schema reads them (`\p{L}`); one valid only without `u` is read that way.
    unicodeRegExp: true,
    addUsedSchema: false,
    code: { regExp: regExps.engine }
  })
  const { $schema: _ignored, ...rest } = schema
  let fn: ReturnType<typeof ajv.compile>
  try {
    fn = ajv.compile(rest)
  } catch (e) {
    throw new SchemaError(
      `its schema could not be compiled (${shorten((e as Error).message, 300)})`
    )
  }
  return {
    validate: (params) => (fn(params) ? [] : ((fn.errors ?? []) as ErrorLike[])),
    unchecked: regExps.unchecked
  }
}

/** The unchecked patterns, by the params whose schema carries them. */
function uncheckedRules(
  schema: JsonSchema,
  unchecked: Map<string, string>,
  shorten: Shorten
): UncheckedRule[] {
  const properties = isObject(schema.properties) ? schema.properties : {}
  const rules: UncheckedRule[] = []
  for (const [pattern, why] of unchecked) {
    const params = Object.entries(properties)
      .filter(([, prop]) => isObject(prop) && prop.pattern === pattern)
      .map(([name]) => name)
    for (const param of params.length > 0 ? params : ['(a param)'])
      rules.push({ param: shorten(param, 80), rule: 'pattern', why })
  }
  return rules
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

/** Longest pattern shown in a message; the rest is cut with an ellipsis. */
const MAX_PATTERN_SHOWN = 160
/** Longest list of allowed values shown in a message. */
const MAX_ENUM_SHOWN = 200

/** Allowed values as printed: one line, each cut at 60 characters, the list after 200 with a count. */
export function enumList(values: unknown[], shorten: Shorten = plainShorten): string {
  let out = ''
  for (const v of values) {
    const text = shorten(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)), 60)
    if (out && out.length + 2 + text.length > MAX_ENUM_SHOWN)
      return `${out}, … (${values.length} values in all)`
    out = out ? `${out}, ${text}` : text
  }
  return out
}

/** The param an error is about, and the schema's expectation in words; no value ever. */
function describe(e: ErrorLike, shorten: Shorten): ParamProblem {
  const d = describeRaw(e, shorten)
  // Param names may come from the spec too (required): printed like the rest of its text.
  return { ...d, param: shorten(d.param, 80) }
}

function describeRaw(e: ErrorLike, shorten: Shorten): ParamProblem {
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
        expected: `must be ${shorten(types.map((t) => A_TYPE[t] ?? t).join(' or '), 200)}`
      }
    }
    case 'enum':
      return {
        param: pointerToName(e.instancePath),
        keyword: e.keyword,
        expected: `must be one of: ${enumList(Array.isArray(p.allowedValues) ? p.allowedValues : [], shorten)}`
      }
    case 'pattern':
      return {
        param: pointerToName(e.instancePath),
        keyword: e.keyword,
        expected: `must match the pattern ${shorten(String(p.pattern), MAX_PATTERN_SHOWN)}`
      }
    default:
      // ajv's own words name limits (maxLength, minimum, ...) but never the value.
      return {
        param: pointerToName(e.instancePath) || '(params)',
        keyword: e.keyword,
        expected: shorten(e.message ?? `fails the "${e.keyword}" rule`, 200)
      }
  }
}

function problemsOf(errors: ErrorLike[], shorten: Shorten): ParamProblem[] {
  const seen = new Set<string>()
  return errors
    .map((e) => describe(e, shorten))
    .filter((p) => !seen.has(`${p.param}\0${p.expected}`) && seen.add(`${p.param}\0${p.expected}`))
}

const typesOf = (prop: Property): string[] =>
  prop.type === undefined ? [] : Array.isArray(prop.type) ? prop.type : [prop.type]

/** Case, spaces, hyphens and underscores do not tell two enum spellings apart. */
const looseKey = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, '')

/** A plain decimal, written as JavaScript writes that number back: nothing is lost by reading it. */
const isPlainNumber = (s: string) => /^-?(0|[1-9]\d*)(\.\d+)?$/.test(s) && String(Number(s)) === s

/**
 * Reshapes one value where the schema leaves a single reading, and only there: a numeric string
 * the schema wants as an integer or number, a boolean-like value wanted as a boolean or a string,
 * an enum value matching exactly one allowed value loosely. Undefined when nothing applies.
 */
export function reshapeValue(
  value: ParamValue,
  prop: Property,
  shorten: Shorten = plainShorten
): { value: ParamValue; change: string } | undefined {
  const types = typesOf(prop)
  let v = value
  const changes: string[] = []
  if (typeof v === 'string' && types.length > 0 && !types.includes('string')) {
    // Only an unambiguous string: not "0x1F", "1e3", " 5432", "007" or "TRUE".
    if (types.includes('integer') && isPlainNumber(v) && Number.isSafeInteger(Number(v))) {
      v = Number(v)
      changes.push('string -> integer')
    } else if (types.includes('number') && isPlainNumber(v)) {
      v = Number(v)
      changes.push('string -> number')
    } else if (types.includes('boolean') && (v === 'true' || v === 'false')) {
      v = v === 'true'
      changes.push('string -> boolean')
    }
  } else if (typeof v === 'boolean' && types.includes('string') && !types.includes('boolean')) {
    v = String(v)
    changes.push('boolean -> string')
  }
  if (prop.enum && typeof v === 'string' && !prop.enum.includes(v)) {
    const key = looseKey(v)
    // An allowed value holding control or line-separator characters never matches: it would
    // be sent, and printed, as the spec wrote it.
    const matches = prop.enum.filter(
      (e): e is string => typeof e === 'string' && !UNPRINTABLE.test(e) && looseKey(e) === key
    )
    const [only] = matches
    if (matches.length === 1 && only !== undefined) {
      v = only
      // The allowed value comes from the schema; a secret param's is still not shown.
      changes.push(
        prop.format === 'password'
          ? 'matched one allowed value'
          : `matched the allowed value "${shorten(only, 60)}"`
      )
    }
  }
  return changes.length > 0 ? { value: v, change: changes.join(', ') } : undefined
}

/** How a judgement prints spec text, and how long its patterns may run in all. */
export interface JudgeOptions {
  shorten?: Shorten
  budgetMs?: number
}

/**
 * Validates params against an auth type's schema with ajv; where a param fails and the schema
 * allows exactly one reading of it, reshapes it and validates again. Problems name the param and
 * the expectation only. Throws SchemaError when the schema cannot be compiled.
 */
export async function judgeParams(
  schema: JsonSchema,
  params: AuthParams,
  opts: JudgeOptions = {}
): Promise<Verdict> {
  const shorten = opts.shorten ?? plainShorten
  const { validate, unchecked } = await compile(schema, shorten, opts.budgetMs)
  const first = validate(params)
  const skipped = () => uncheckedRules(schema, unchecked, shorten)
  if (first.length === 0) return { params, changes: [], problems: [], unchecked: skipped() }
  const properties = isObject(schema.properties) ? schema.properties : {}
  // By the params' own names (as sent), not as printed.
  const failing = new Set(first.map((e) => describeRaw(e, shorten).param))
  const reshaped: AuthParams = { ...params }
  const tried: ParamChange[] = []
  for (const param of failing) {
    const value = params[param]
    const prop = PropertySchema().safeParse(properties[param])
    if (value === undefined || !prop.success) continue
    const r = reshapeValue(value, prop.data, shorten)
    if (!r) continue
    reshaped[param] = r.value
    tried.push({ param, change: r.change })
  }
  if (tried.length === 0)
    return { params, changes: [], problems: problemsOf(first, shorten), unchecked: skipped() }
  const second = validate(reshaped)
  const problems = problemsOf(second, shorten)
  const stillFailing = new Set(second.map((e) => describeRaw(e, shorten).param))
  // A reshape that fixed nothing is undone, so only helpful changes are sent and reported.
  const changes = tried.filter((c) => !stillFailing.has(c.param))
  const out: AuthParams = { ...params }
  for (const c of changes) out[c.param] = reshaped[c.param] as ParamValue
  return { params: out, changes, problems, unchecked: skipped() }
}

/** True when a connection string brace-quotes a value (Key={...}), a form Adobe does not document. */
export function usesBraceQuoting(params: AuthParams): boolean {
  const cs = params.connectionString
  return typeof cs === 'string' && /(^|;)\s*[^=;]+=\s*\{/.test(cs)
}

/**
 * The problems as one clause within `max` characters: what to do first (a connection-string
 * hint), then "sslMode must be one of: ...; port must be an integer", then how many more.
 */
export function describeProblems(problems: ParamProblem[], params: AuthParams, max = 600): string {
  let hint = ''
  if (problems.some((p) => p.param === 'connectionString' && p.keyword === 'pattern')) {
    hint = usesBraceQuoting(params)
      ? 'a value in the connection string needed brace quoting ({...}), which the pattern does not allow: use auth-type: basic, which sends each part on its own and needs no quoting. '
      : 'check the keywords and their order against the pattern, or use auth-type: basic. '
  }
  let text = hint
  for (const [i, p] of problems.entries()) {
    const item = `${p.param} ${p.expected}`
    const more = problems.length - i
    // The first problem is always named; room is kept for "; and N more problems" after it.
    const room = max - text.length - (i > 0 ? 2 : 0) - (more > 1 ? 24 : 0)
    if (i > 0 && item.length > room) {
      text += `; and ${more} more problem${more > 1 ? 's' : ''}`
      break
    }
    text += `${i > 0 ? '; ' : ''}${i === 0 ? cut(item, Math.max(room, 80)) : item}`
  }
  return text
}

export function describeChanges(changes: ParamChange[]): string {
  return changes.map((c) => `${c.param} (${c.change})`).join(', ')
}

/** What the spec says about a planned body. */
export type Ruling =
  | { kind: 'unavailable'; reason: string }
  | { kind: 'match'; unchecked: UncheckedRule[] }
  | { kind: 'reshaped'; body: CreateBody; changes: ParamChange[] }
  | { kind: 'mismatch'; problems: ParamProblem[] }

export interface RefereeDeps {
  /** GET /connectionSpecs/{id}; throws when it cannot be read. */
  readSpec: () => Promise<unknown>
  log: (line: string) => void
  warn: (message: string) => void
  /** An error as printed (output.ts: each field of a server's reply redacted on its own). */
  describe?: (e: ActionError) => string
  /** Spec text as printed within a length (output.ts: redacted before it is cut). */
  shorten?: Shorten
  /** What the step's deadline leaves, in ms: judging takes a share of it at most. */
  timeLeft?: () => number
}

/** Judging the params (compiling, then patterns) takes this share of the time left, at most 5 s. */
export const JUDGE_SHARE = 0.2
export const JUDGE_MAX_MS = 5000

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

/** The step prints at most this much of its error (output.ts): the spec's verdict must fit in it. */
const MESSAGE_ROOM = MAX_MESSAGE
/** What a refusal's own message may take ahead of the verdict (its server text is capped at 300). */
const REFUSAL_ROOM = 600

/**
 * Consults the live connection spec at most once per run (the reply is kept), only when asked:
 * a dry run, validate-spec, or an unexplained 400 on a create or update.
 */
export class SpecReferee {
  private reply?: Promise<{ reply: unknown } | { error: string }>
  /** Warnings already printed: a run consulting the spec twice says each thing once. */
  private readonly warned = new Set<string>()
  /** GET /connectionSpecs requests made (0 or 1). */
  reads = 0

  constructor(private readonly deps: RefereeDeps) {}

  private read(): Promise<{ reply: unknown } | { error: string }> {
    this.reply ??= (async () => {
      this.reads++
      try {
        return { reply: await this.deps.readSpec() }
      } catch (e) {
        if (e instanceof ActionError) return { error: this.deps.describe?.(e) ?? e.message }
        throw e
      }
    })()
    return this.reply
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return
    this.warned.add(message)
    this.deps.warn(message)
  }

  /** The spec's ruling on a body; never throws for an unavailable referee. */
  async rule(body: CreateBody): Promise<Ruling> {
    const r = await this.read()
    if ('error' in r) return { kind: 'unavailable', reason: r.error }
    const found = authSchemaOf(r.reply, body.auth.specName, this.deps.shorten)
    if ('unavailable' in found) return { kind: 'unavailable', reason: found.unavailable }
    let verdict: Verdict
    const left = this.deps.timeLeft?.() ?? Infinity
    const budgetMs = Math.floor(Math.min(JUDGE_MAX_MS, left * JUDGE_SHARE))
    try {
      verdict = await judgeParams(found.schema, body.auth.params, {
        shorten: this.deps.shorten,
        budgetMs
      })
    } catch (e) {
      if (e instanceof SchemaError) return { kind: 'unavailable', reason: e.message }
      // Whatever else a served schema does to the validator (a $ref to itself overflows the
      // stack), the referee is unavailable; the params are not judged wrong.
      const why = (this.deps.shorten ?? plainShorten)(String((e as Error).message), 200)
      return { kind: 'unavailable', reason: `its schema could not be evaluated (${why})` }
    }
    // A rule that could not be evaluated is skipped, not failed: the rest still referees.
    for (const u of verdict.unchecked)
      this.warnOnce(
        `could not check ${u.param} against the connection spec's ${u.rule} (${u.why}); going on without that rule`
      )
    if (verdict.problems.length > 0) return { kind: 'mismatch', problems: verdict.problems }
    if (verdict.changes.length > 0)
      return {
        kind: 'reshaped',
        body: withParams(body, verdict.params),
        changes: verdict.changes
      }
    return { kind: 'match', unchecked: verdict.unchecked }
  }

  private unavailable(reason: string): void {
    this.warnOnce(
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
          `The auth params match Flow Service's live connection spec for "${body.auth.specName}"${ruling.unchecked.length > 0 ? ' (apart from the rules it could not check)' : ''}`
        )
        return body
      case 'reshaped':
        this.deps.log(
          `Reshaped to match Flow Service's live connection spec for "${body.auth.specName}": ${describeChanges(ruling.changes)}`
        )
        return ruling.body
      case 'mismatch': {
        // What was (not) sent comes first, so no cut can take it away.
        const head = `the auth params do not match Flow Service's live connection spec for "${body.auth.specName}" (${nothingSent}): `
        throw new ActionError(
          `${head}${describeProblems(ruling.problems, body.auth.params, MESSAGE_ROOM - head.length)}`
        )
      }
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
      return await this.afterRefusal(e, body, send)
    }
  }

  /** guard() once the send has failed with `e`: rethrows it, or sends once more, reshaped. */
  async afterRefusal<T>(
    e: unknown,
    body: CreateBody,
    send: (b: CreateBody) => Promise<T>
  ): Promise<T> {
    if (!isUnexplained400(e)) throw e
    let ruling: Ruling
    try {
      ruling = await this.rule(body)
    } catch (failure) {
      // The referee failing in any way leaves Flow Service's own error, as without it.
      this.unavailable(
        failure instanceof ActionError
          ? (this.deps.describe?.(failure) ?? failure.message)
          : 'it could not be consulted'
      )
      throw e
    }
    switch (ruling.kind) {
      case 'unavailable':
        this.unavailable(ruling.reason)
        throw e
      case 'match':
        throw e.withNote(
          " (the auth params match Flow Service's live connection spec, so the spec does not explain it)"
        )
      case 'mismatch': {
        const note = `. Flow Service's live connection spec for "${body.auth.specName}" says: `
        const room = MESSAGE_ROOM - Math.min(e.message.length, REFUSAL_ROOM) - note.length
        throw e.withNote(`${note}${describeProblems(ruling.problems, body.auth.params, room)}`)
      }
      case 'reshaped':
        this.deps.log(
          `Flow Service refused the auth params (HTTP 400); reshaped to match its live connection spec for "${body.auth.specName}": ${describeChanges(ruling.changes)}. Sending once more`
        )
        return await send(ruling.body)
    }
  }
}

/**
 * The spec read's own budget: a fifth of the time left, at most 20 s, and at most 2 attempts
 * (each a quarter of that budget, at least 1 s). The spec is optional; the create or update it
 * referees must keep its time even when the spec endpoint hangs.
 */
export const SPEC_READ_SHARE = 0.2
export const SPEC_READ_MAX_MS = 20_000
export const SPEC_READ_ATTEMPTS = 2
/** Largest spec reply used, in characters: Adobe's PostgreSQL spec is a few KB. */
export const MAX_SPEC_CHARS = 256 * 1024

/** GET /connectionSpecs/{id}: the live spec, parsed but not judged (see connection-spec.ts). */
export async function readConnectionSpec(
  api: FlowApi,
  id: string = POSTGRES_SPEC_ID
): Promise<unknown> {
  const label = 'reading the connection spec'
  const parent = api.o.retry.deadline
  const budgetMs = Math.floor(Math.min(SPEC_READ_MAX_MS, parent.remaining() * SPEC_READ_SHARE))
  const retry: RetryContext = {
    ...api.o.retry,
    deadline: new Deadline(api.o.retry.clock, budgetMs),
    maxAttempts: Math.min(SPEC_READ_ATTEMPTS, api.o.retry.maxAttempts)
  }
  let a: Attempt
  try {
    a = await api.send(
      label,
      'GET',
      `${api.base}/connectionSpecs/${encodeURIComponent(id)}`,
      undefined,
      undefined,
      retry
    )
  } catch (e) {
    // The spec's budget ran out, not the step's: the referee is unavailable, the step goes on.
    if (e instanceof DeadlineError && parent.remaining() > 0)
      throw new ActionError(
        `${label} failed: no answer within its share of the step's time (${(budgetMs / 1000).toFixed(1)} s)`
      )
    // A reply over the size cap (or the like) only makes the optional spec unavailable.
    if (e instanceof TransportError) throw new ActionError(e.message)
    throw e
  }
  if (a.kind !== 'response' || a.res.status !== 200) api.fail(label, a)
  // A spec far larger than any Adobe serves costs memory to parse and time to judge: unavailable.
  if (a.res.text.length > MAX_SPEC_CHARS)
    throw new ActionError(
      `the connection spec is too large to use (${Math.ceil(a.res.text.length / 1024)} KB, more than ${MAX_SPEC_CHARS / 1024} KB)`
    )
  return api.json(label, a)
}
