import type { AdobeSettings } from '../platform/inputs.js'

/**
 * The settings the step works from: what inputs.ts produces from the raw inputs, and what
 * payload.ts builds the payload from. Kept apart so neither module imports the other's types.
 */

/** The database's own coordinates and credentials, however they were given. */
export interface DbParts {
  server: string
  port: number
  database: string
  username: string
  password: string
}

export const SSL_MODES = [
  'Disable',
  'Allow',
  'Prefer',
  'Require',
  'Verify-Ca',
  'Verify-Full'
] as const
export type SslMode = (typeof SSL_MODES)[number]

/** How the database credentials are given; decides the payload. */
export type Credentials =
  | { source: 'connection-string'; connectionString: string; parts?: DbParts }
  | { source: 'parts'; parts: DbParts }
  /** ignoredParams: URL query parameters with no Flow Service equivalent (names only). */
  | { source: 'postgres-url'; parts: DbParts; ignoredParams?: string[] }

/** The validated, normalised settings the rest of the action works from. */
export interface Settings extends AdobeSettings {
  connectionName: string
  description?: string
  authType: 'connection-string' | 'basic'
  credentials?: Credentials
  encryptionMethod?: 0 | 1 | 6
  validateServerCertificate?: boolean
  sslMode?: SslMode
  testConnection: boolean
  /** Check the auth params against the live connection spec before every create or update. */
  validateSpec: boolean
}
