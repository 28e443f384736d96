import { splitConnectionStringLoosely } from '../platform/connection-string.js'
import { connectionStringSecrets } from '../platform/masking.js'
import type { Output } from '../platform/output.js'
import type { InputSpec } from '../platform/secrets.js'
import { INPUT_NAMES, SECRET_INPUTS, type InputName } from './inputs.js'
import type { CreateBody } from './payload.js'
import type { Settings } from './settings.js'

/*
 * The connection action's secrets: its secret inputs (read and registered by the platform's
 * readInputs), the passwords inside a connection string even when it does not split cleanly,
 * and each form derived from them once the settings and the payload exist.
 */

/** How the connection action's inputs are read and their secrets registered. */
export const CONNECTION_INPUTS: InputSpec<InputName> = {
  names: INPUT_NAMES,
  secrets: SECRET_INPUTS,
  composite: ['connection-string', 'postgres-url'],
  // A name is the key a connection is found by: as given, edge spaces included.
  untrimmed: ['password', 'connection-name'],
  derived: (raw) => connectionStringSecrets(raw['connection-string'])
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
