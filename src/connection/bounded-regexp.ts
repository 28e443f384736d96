import { Script, createContext, type Context } from 'node:vm'

/**
 * A regular-expression engine for ajv (its `code.regExp` option) that cannot hang the step.
 * JavaScript's RegExp backtracks, so a `pattern` served in a connection spec (say
 * `^(([^#])+)+#$`) can take longer than the step has, synchronously, on a short string. Each
 * test therefore runs under node:vm's timeout, which interrupts a running regular expression;
 * patterns too long to be worth evaluating are not compiled at all. A pattern that runs out of
 * time, or is too long, is not checked: its test answers "matches" and the pattern is recorded
 * as unchecked, so the caller can say so and carry on.
 */

/** Longer patterns are not evaluated (no PostgreSQL connection string needs one this long). */
export const MAX_PATTERN_LENGTH = 1000
/** How long one pattern may run on one value; a sound pattern takes microseconds. */
export const PATTERN_TIME_MS = 250

/** What ajv calls a regular expression: something with test(), keyed by toString(). */
export interface RegExpLike {
  test(s: string): boolean
  toString(): string
}

/** ajv's RegExpEngine: a factory, named by `code` for its standalone code generation. */
export interface RegExpEngine {
  (pattern: string, flags: string): RegExpLike
  code: string
}

let sandbox: { context: Context; script: Script } | undefined

/** Runs `re.test(s)` with a time limit; undefined when the limit was reached. */
function testWithin(re: RegExp, s: string, timeMs: number): boolean | undefined {
  sandbox ??= { context: createContext({}), script: new Script('re.test(s)') }
  const { context, script } = sandbox
  context.re = re
  context.s = s
  try {
    return script.runInContext(context, { timeout: timeMs }) === true
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return undefined
    throw e
  } finally {
    context.re = undefined
    context.s = undefined
  }
}

/** How long all patterns of one judgement may run together, unless the caller gives less. */
export const PATTERNS_BUDGET_MS = 2000

/**
 * A pattern as JSON Schema reads it: with the `u` flag (`\p{L}`, astral characters as one); a
 * pattern only valid without it (`[\w\_]`, written for the older syntax) is read that way.
 */
function compilePattern(pattern: string, flags: string): RegExp {
  const unicode = flags.includes('u') ? flags : `${flags}u`
  try {
    return new RegExp(pattern, unicode)
  } catch {
    // Invalid both ways, this throws: the schema itself is broken, as with ajv's own engine.
    return new RegExp(pattern, unicode.replace('u', ''))
  }
}

/**
 * A fresh engine and the patterns it could not check (pattern -> why). An invalid pattern still
 * throws when compiled, as with ajv's own engine: the schema itself is broken then. All tests
 * together run at most `budgetMs` (the caller shortens it to what the step's deadline leaves);
 * once it is spent, every further test answers "matches" and its pattern is unchecked.
 */
export function boundedRegExps(
  limits: { maxLength?: number; timeMs?: number; budgetMs?: number } = {}
): {
  engine: RegExpEngine
  unchecked: Map<string, string>
} {
  const maxLength = limits.maxLength ?? MAX_PATTERN_LENGTH
  const timeMs = limits.timeMs ?? PATTERN_TIME_MS
  const budgetMs = Math.max(0, limits.budgetMs ?? PATTERNS_BUDGET_MS)
  let spentMs = 0
  const unchecked = new Map<string, string>()
  const engine = ((pattern: string, flags: string): RegExpLike => {
    // ajv keys its compiled patterns by toString(): it must differ between patterns.
    const key = `/${pattern}/${flags}`
    if (pattern.length > maxLength) {
      unchecked.set(pattern, `it is longer than ${maxLength} characters`)
      return { test: () => true, toString: () => key }
    }
    const re = compilePattern(pattern, flags)
    return {
      test(s: string): boolean {
        if (unchecked.has(pattern)) return true
        const left = budgetMs - spentMs
        if (left < 1) {
          unchecked.set(pattern, `the time for checking patterns (${budgetMs} ms) ran out`)
          return true
        }
        const limit = Math.min(timeMs, Math.ceil(left))
        const started = performance.now()
        const matched = testWithin(re, s, limit)
        spentMs += performance.now() - started
        if (matched !== undefined) return matched
        unchecked.set(
          pattern,
          limit < timeMs
            ? `the time for checking patterns (${budgetMs} ms) ran out`
            : `it took too long to evaluate (over ${timeMs} ms)`
        )
        return true
      },
      toString: () => key
    }
  }) as RegExpEngine
  engine.code = 'boundedRegExp'
  return { engine, unchecked }
}
