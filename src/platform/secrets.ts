import type { Output } from './output.js'
import { proxyPasswords, proxySecrets } from './proxy.js'

/*
 * Where the secrets are registered: the secret inputs the moment they are read, and the proxy
 * credentials in the environment, before anything validates, prints or sends them (the IMS
 * token is registered on arrival, in session.ts; each action registers the forms it derives).
 * output.ts redacts all of them from every line the step prints; masking.ts says which forms
 * each has.
 */

/** What reading inputs needs from @actions/core. */
export interface InputSource {
  getInput(name: string, options?: { trimWhitespace?: boolean }): string
}

/** Which inputs an action reads, and how their secrets are registered. */
export interface InputSpec<N extends string> {
  names: readonly N[]
  secrets: readonly N[]
  /** Secret inputs built from other values (a connection string, a URL): not redacted run by run. */
  composite?: readonly N[]
  /** Read as given: a password, or a name, may legitimately start or end with spaces. */
  untrimmed?: readonly N[]
  /** Further secrets found in the raw values (the password inside a connection string). */
  derived?: (raw: Record<N, string>) => string[]
}

/** Reads every input; every secret is registered before anything validates, prints or sends it. */
export function readInputs<N extends string>(
  c: InputSource,
  env: NodeJS.ProcessEnv,
  out: Output,
  spec: InputSpec<N>
): Record<N, string> {
  for (const secret of proxySecrets(env)) out.compositeSecret(secret)
  for (const password of proxyPasswords(env)) out.secret(password)
  const raw = {} as Record<N, string>
  for (const name of spec.names) {
    // Only a pasted line break is dropped from an input read as given.
    raw[name] = spec.untrimmed?.includes(name)
      ? c.getInput(name, { trimWhitespace: false }).replace(/\r?\n$/, '')
      : c.getInput(name)
  }
  for (const name of spec.secrets)
    if (spec.composite?.includes(name)) out.compositeSecret(raw[name])
    else out.secret(raw[name])
  for (const value of spec.derived?.(raw) ?? []) out.secret(value)
  // HTTP Basic's client-id:client-secret, as an IMS error may echo it (base64).
  const byName = raw as Partial<Record<string, string>>
  if (byName['client-secret'])
    out.compositeSecret(`${byName['client-id']}:${byName['client-secret']}`)
  return raw
}
