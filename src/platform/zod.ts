import { config, type core } from 'zod/mini'

/*
 * zod as both actions use it (`import * as z from '.../platform/zod.js'`): zod/mini, the same
 * parser and checks as zod's classic API with schemas written as functions
 * (`z.optional(z.string())`, `z.string().check(z.regex(…))`, `z.pipe(x, z.transform(f))`). Its
 * schemas are plain objects without the classic API's 40 methods each, so a step builds them
 * about twice as fast, and the bundle holds some 100 kB less of zod (no JSON Schema conversion,
 * no English message catalogue: every message a step shows is the action's own).
 *
 * A step parses each schema once or a few times, so zod's JIT is off: it compiles a parser for
 * each object schema on that schema's first parse (new Function), which costs more than the
 * parse it speeds up. The checks are the same. Every module that uses zod imports it from here,
 * so the setting comes before any schema (schemas are also built on first use: lazy.ts).
 *
 * zod's API is re-exported name by name (`export *`), not as zod's `z` object: the bundler then
 * keeps only what the actions use.
 */
config({ jitless: true })

export * from 'zod/mini'

/** What a failed parse reports. */
export type ZodError = core.$ZodError
