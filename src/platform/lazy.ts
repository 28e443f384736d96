/** A value costly to build (a zod schema) built on its first use, then kept. */
export function lazy<T>(build: () => T): () => T {
  let built: T | undefined
  return () => (built ??= build())
}
