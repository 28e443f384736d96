import type { Attempt, HttpResponse } from './http.js'

/**
 * A failure the action reports as one line and exit code 1. Messages may carry text a server
 * wrote; they are printed only through output.ts, which redacts before it shortens.
 */
export class ActionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ActionError'
  }

  /**
   * The message as printed, each server-supplied part passed through `shorten` (with the fields
   * of the server's body it joins, when several).
   */
  render(_shorten: (serverText: string, fields?: readonly string[]) => string): string {
    return this.message
  }
}

/** A message around one piece of server text: `${head}${detail}${tail}`. */
export interface ServerText {
  head: string
  detail: string
  tail: string
  /** The fields of the server's body that `detail` joins (`title: message`), when several. */
  fields?: readonly string[]
}

/** A failed Flow Service or IMS call; carries what a user needs to act on it. */
export class ApiError extends ActionError {
  /**
   * `parts`, when given, marks the server's text inside the message, so it can be shortened on
   * its own (after redaction) while the operation, status and hint around it stay whole.
   */
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    readonly requestId?: string,
    readonly parts?: ServerText
  ) {
    super(message)
    this.name = 'ApiError'
  }

  override render(shorten: (serverText: string, fields?: readonly string[]) => string): string {
    const p = this.parts
    return p ? `${p.head}${shorten(p.detail, p.fields)}${p.tail}` : this.message
  }

  /** The same error with a sentence added at the end. */
  withNote(note: string): ApiError {
    const p = this.parts
    return new ApiError(
      `${this.message}${note}`,
      this.status,
      this.code,
      this.requestId,
      p ? { ...p, tail: `${p.tail}${note}` } : undefined
    )
  }
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

/**
 * Reads the error details out of a gateway, Flow Service or IMS error body. The detail is the
 * server's text as written (it may echo what it received): never shortened or reflowed here,
 * so that redaction sees it whole.
 */
export function describeBody(res: HttpResponse): {
  code?: string
  detail: string
  requestId?: string
  /** The fields `detail` joins with ': ', when there are two (a title and a message). */
  fields?: string[]
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
    return { code: str(body.error_code), detail: String(body.message ?? ''), requestId }
  // IMS: {"error","error_description"}
  if (str(body.error))
    return {
      code: str(body.error),
      detail: String(body.error_description ?? ''),
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
  const fields = [title, message && message !== title ? message : undefined].filter(
    (f): f is string => !!f
  )
  return {
    code,
    detail: fields.join(': ') || 'no details given',
    requestId: str(report['request-id']) ?? requestId,
    ...(fields.length > 1 ? { fields } : {})
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

/**
 * Builds the error for a failed call: operation, status, code and detail, request id, hint. The
 * detail stays raw; output.ts redacts it, then squeezes it onto the one line it prints.
 */
export function apiError(operation: string, a: Attempt, tokenGiven = false): ApiError {
  if (a.kind === 'network') return new ApiError(`${operation} failed: ${a.error.message}`, 0)
  const { code, detail, requestId, fields } = describeBody(a.res)
  const hint = hintFor(a.res.status, code, tokenGiven)
  const head = `${operation} failed: HTTP ${a.res.status} ${code ? `${code} ` : ''}`
  const tail = `${requestId ? ` (request id ${requestId})` : ''}${hint ? ` — ${hint}` : ''}`
  return new ApiError(`${head}${detail}${tail}`, a.res.status, code, requestId, {
    head,
    detail,
    tail,
    ...(fields ? { fields } : {})
  })
}

/**
 * A failure once an object with the name exists (this run's, or one it adopted): the step fails,
 * and its outputs still say which object it is.
 */
export class StoredObjectError extends ActionError {
  constructor(
    message: string,
    readonly id: string,
    readonly etag: string
  ) {
    super(message)
    this.name = 'StoredObjectError'
  }
}

/** One problem with one input; never carries the input's value. */
export interface InputProblem {
  input: string
  message: string
}

/** Invalid inputs: reported before anything is sent, each problem naming its input. */
export class InputError extends Error {
  constructor(readonly problems: InputProblem[]) {
    super(problems.map((p) => p.message).join('; '))
    this.name = 'InputError'
  }
}
