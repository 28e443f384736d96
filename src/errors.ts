import type { Attempt, HttpResponse } from './http.js'

/** A failure the action reports as one line and exit code 1. */
export class ActionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ActionError'
  }
}

/** A failed Flow Service or IMS call; carries what a user needs to act on it. */
export class ApiError extends ActionError {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    readonly requestId?: string
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

const MAX_DETAIL = 300

/** Squeezes text onto one short line. */
export function oneLine(text: string, max = MAX_DETAIL): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

type Json = Record<string, unknown>

function parseJson(text: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(text)
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined
  } catch {
    return undefined
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined)

/** Reads the error details out of a gateway, Flow Service or IMS error body. */
export function describeBody(res: HttpResponse): {
  code?: string
  detail: string
  requestId?: string
} {
  const requestId = res.headers['x-request-id']
  const body = parseJson(res.text)
  if (!body) {
    const type = res.headers['content-type'] ?? 'unknown type'
    const detail =
      /html/i.test(type) || /^\s*</.test(res.text)
        ? 'an HTML page instead of JSON (a proxy or gateway error page)'
        : res.text.trim()
          ? `a body that is not valid JSON (${type})`
          : 'an empty body'
    return { detail, requestId }
  }
  // Gateway: {"error_code","message"}
  if (str(body.error_code))
    return { code: str(body.error_code), detail: oneLine(String(body.message ?? '')), requestId }
  // IMS: {"error","error_description"}
  if (str(body.error))
    return {
      code: str(body.error),
      detail: oneLine(String(body.error_description ?? '')),
      requestId
    }
  // Flow Service: {"type":".../FLOW-1101-404","title","report":{"detailed-message","request-id"},"errorMessage"}
  const report = (body.report && typeof body.report === 'object' ? body.report : {}) as Json
  const type = str(body.type) ?? ''
  const code = /FLOW-(\d+-\d+)/.exec(type)?.[1]
  const title = str(body.title)
  const message =
    str(body.errorMessage) ??
    str(report['detailed-message']) ??
    str(body.detail) ??
    str(body.message)
  const detail = [title, message && message !== title ? message : undefined]
    .filter(Boolean)
    .join(': ')
  return {
    code,
    detail: oneLine(detail || 'no details given'),
    requestId: str(report['request-id']) ?? requestId
  }
}

/** A hint for the failures users hit most, keyed by status and code. */
export function hintFor(
  status: number,
  code: string | undefined,
  tokenGiven: boolean
): string | undefined {
  const c = code ?? ''
  // IMS answers a wrong client secret with 401 invalid_client: not a token problem.
  if (c === 'invalid_client') return 'check client-id and client-secret'
  if (status === 401 || c === '401013' || c.startsWith('2114') || c.startsWith('2115'))
    return tokenGiven
      ? 'the access-token is invalid or expired; pass a fresh token, or use client-secret so the action fetches one'
      : 'the token was rejected; check that the credential belongs to ims-org-id'
  if (c === '403000' || c === '403003')
    return 'client-id is sent as x-api-key; check it matches the credential'
  if (
    c === '400003' ||
    c === '403027' ||
    c === '403025' ||
    c.startsWith('2000') ||
    c.startsWith('1100')
  )
    return 'check ims-org-id, and that the org is entitled to Experience Platform and the credential has a product profile'
  if (c.startsWith('2118') || c.startsWith('2120') || c.startsWith('2121') || status === 403)
    return 'the credential lacks permission to manage sources in this sandbox (add "Manage Sources" to its product profile)'
  if (c.startsWith('2100') || c.startsWith('2101'))
    return 'sandbox-name does not name a sandbox of this org'
  if (c === 'invalid_scope')
    return 'check scopes against the scopes granted to the credential in the Developer Console'
  if (status === 429)
    return 'Adobe is rate limiting; retry later or lower the number of parallel runs'
  return undefined
}

/** Builds the one-line error for a failed call: operation, status, code and detail, request id, hint. */
export function apiError(operation: string, a: Attempt, tokenGiven = false): ApiError {
  if (a.kind === 'network') return new ApiError(`${operation} failed: ${a.error.message}`, 0)
  const { code, detail, requestId } = describeBody(a.res)
  const hint = hintFor(a.res.status, code, tokenGiven)
  const parts = [
    `${operation} failed: HTTP ${a.res.status}`,
    code ? `${code} ${detail}` : detail,
    requestId ? `(request id ${requestId})` : undefined
  ]
  let msg = parts.filter(Boolean).join(' ')
  if (hint) msg += ` — ${hint}`
  return new ApiError(msg, a.res.status, code, requestId)
}
