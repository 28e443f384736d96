import { z } from 'zod'

/*
 * zod as both actions use it. A step parses each schema once or a few times, so:
 *  - schemas are built on first use (`lazy`), not as the bundle loads: a run builds only the
 *    schemas it parses with (a connection test's, a spec's, an error path's stay unbuilt);
 *  - zod's JIT is off: it compiles a parser for each object schema on that schema's first parse
 *    (new Function), which costs more than the parse it speeds up. The checks are the same.
 * Every module that uses zod imports it from here, so the setting comes before any schema.
 */
z.config({ jitless: true })

export { z }

/** A schema (or anything costly to build) built on its first use, then kept. */
export function lazy<T>(build: () => T): () => T {
  let built: T | undefined
  return () => (built ??= build())
}
