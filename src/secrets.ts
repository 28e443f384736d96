import { splitConnectionStringLoosely, type CreateBody } from './connection.js'
import { INPUT_NAMES, SECRET_INPUTS, type RawInputs } from './inputs.js'
import { connectionStringSecrets } from './masking.js'
import type { Output } from './output.js'
import { proxySecrets } from './proxy.js'
import type { Settings } from './settings.js'

/**
 * Where the secrets are registered: the secret inputs the moment they are read, the proxy
 * credentials in the environment, and each form derived from them once the settings and the
 * payload exist (the IMS token is registered on arrival, in session.ts). output.ts redacts all
 * of them from every line the step prints; masking.ts says which forms each has.
 */

/** What reading inputs needs from @actions/core. */
export interface InputSource {
  getInput(name: string, options?: { trimWhitespace?: boolean }): string
}

/** Inputs whose secret values are built from other values (so not redacted run by run). */
const COMPOSITE_INPUTS: ReadonlySet<string> = new Set(['connection-string', 'postgres-url'])

/** Reads every input; every secret is registered before anything validates, prints or sends it. */
export function readInputs(c: InputSource, env: NodeJS.ProcessEnv, out: Output): RawInputs {
  for (const secret of proxySecrets(env)) out.compositeSecret(secret)
  const raw = {} as RawInputs
  for (const name of INPUT_NAMES) {
    // A password may legitimately start or end with spaces; only a pasted newline is dropped.
    raw[name] =
      name === 'password'
        ? c.getInput(name, { trimWhitespace: false }).replace(/\r?\n$/, '')
        : c.getInput(name)
  }
  for (const name of SECRET_INPUTS)
    if (COMPOSITE_INPUTS.has(name)) out.compositeSecret(raw[name])
    else out.secret(raw[name])
  // The passwords inside a connection string, even one that does not split cleanly.
  for (const value of connectionStringSecrets(raw['connection-string'])) out.secret(value)
  // HTTP Basic's client-id:client-secret, as an IMS error may echo it (base64).
  if (raw['client-secret']) out.compositeSecret(`${raw['client-id']}:${raw['client-secret']}`)
  return raw
}

/** Registers what is derived from the secrets: the parts of a postgres-url, the built payload. */
export function registerDerived(s: Settings, body: CreateBody | undefined, out: Output): void {
  // The password inside a postgres-url or connection string, once decoded or split out.
  out.secret(s.credentials?.parts?.password)
  if (s.credentials?.source === 'connection-string') {
    const kv = splitConnectionStringLoosely(s.credentials.connectionString)
    out.secret(kv.get('password'))
    out.secret(kv.get('pwd'))
  }
  if (body) {
    const p = body.auth.params
    if (typeof p.password === 'string') out.secret(p.password)
    if (typeof p.connectionString === 'string') out.compositeSecret(p.connectionString)
    // The auth block as it travels inside the JSON request body.
    out.compositeSecret(JSON.stringify(p))
  }
}
