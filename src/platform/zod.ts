import { config } from 'zod'

/*
 * zod as both actions use it (`import * as z from '.../platform/zod.js'`). A step parses each
 * schema once or a few times, so zod's JIT is off: it compiles a parser for each object schema
 * on that schema's first parse (new Function), which costs more than the parse it speeds up. The
 * checks are the same. Every module that uses zod imports it from here, so the setting comes
 * before any schema (schemas are also built on first use: lazy.ts).
 *
 * zod's API is re-exported name by name (`export *`), not as zod's `z` object: the bundler then
 * keeps only what the actions use. Re-exporting `z` itself keeps all of zod (its locales,
 * z.compile, fromJSONSchema: +0.48 MB in each bundle).
 */
config({ jitless: true })

export * from 'zod'
