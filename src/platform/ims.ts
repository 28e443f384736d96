import { apiError, ActionError } from './errors.js'
import { sendWithRetries, type RetryContext, type Transport } from './http.js'
import { VISIBLE_ASCII } from './inputs.js'
import * as z from './zod.js'
import { lazy } from './lazy.js'

const TokenResponse = lazy(() =>
  z.object({
    access_token: z.string().check(z.minLength(1)),
    token_type: z.optional(z.string()),
    expires_in: z.optional(z.number())
  })
)

export interface ImsCredentials {
  imsUrl: string
  clientId: string
  clientSecret: string
  scopes: string
}

/**
 * OAuth Server-to-Server: exchanges the client credentials for an access token at
 * <ims-url>/ims/token/v3. Form-encoded in the body, as IMS recommends; never JWT.
 */
export async function fetchToken(
  transport: Transport,
  retry: RetryContext,
  c: ImsCredentials,
  onToken: (token: string) => void
): Promise<string> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: c.clientId,
    client_secret: c.clientSecret,
    scope: c.scopes
  }).toString()
  const a = await sendWithRetries(
    transport,
    {
      method: 'POST',
      url: `${c.imsUrl}/ims/token/v3`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body
    },
    retry,
    'IMS token request'
  )
  if (a.kind !== 'response' || a.res.status !== 200) throw apiError('IMS token request', a)
  let json: unknown
  try {
    json = JSON.parse(a.res.text)
  } catch {
    throw new ActionError('IMS token request failed: the response was not valid JSON')
  }
  const parsed = TokenResponse().safeParse(json)
  if (!parsed.success)
    throw new ActionError('IMS token request failed: the response had no access_token')
  // Masked before anything else can print it.
  onToken(parsed.data.access_token)
  if (!VISIBLE_ASCII.test(parsed.data.access_token))
    throw new ActionError(
      'IMS token request failed: IMS returned an access token with characters that cannot be sent in an HTTP header (only visible ASCII can); check ims-url'
    )
  return parsed.data.access_token
}

/** Where Flow Service calls get their bearer token, and whether a rejected one can be replaced. */
export interface TokenSource {
  readonly given: boolean
  token(): Promise<string>
  /** A new token after a 401, or undefined when the token was given and cannot be renewed. */
  refresh(): Promise<string | undefined>
}

export function givenToken(token: string): TokenSource {
  return { given: true, token: async () => token, refresh: async () => undefined }
}

/** Fetches lazily, once; a refresh fetches a new token (IMS issues no refresh tokens). */
export function imsTokenSource(fetch: () => Promise<string>): TokenSource {
  let current: Promise<string> | undefined
  return {
    given: false,
    token: () => (current ??= fetch()),
    refresh: async () => {
      current = fetch()
      return current
    }
  }
}
