import { describe, it, expect } from '@jest/globals'
import { ActionError, apiError, ApiError, describeBody, hintFor } from '../src/platform/errors.js'
import { NetworkError, type HttpResponse } from '../src/platform/http.js'

const r = (status: number, text: string, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  text,
  headers
})

describe('describeBody', () => {
  it('gateway error', () => {
    expect(
      describeBody(
        r(401, JSON.stringify({ error_code: '401013', message: 'Oauth token is not valid' }), {
          'x-request-id': 'gw-1'
        })
      )
    ).toEqual({ code: '401013', detail: 'Oauth token is not valid', requestId: 'gw-1' })
  })

  it('IMS error', () => {
    expect(
      describeBody(
        r(
          400,
          JSON.stringify({
            error: 'invalid_client',
            error_description: 'invalid client_id parameter'
          })
        )
      )
    ).toEqual({
      code: 'invalid_client',
      detail: 'invalid client_id parameter',
      requestId: undefined
    })
  })

  it('Flow Service error with a report', () => {
    const body = {
      type: 'http://ns.adobe.com/aep/errors/FLOW-1101-404',
      title: 'Entity not found',
      status: 404,
      report: {
        'detailed-message': 'Connection with id abc\nnot found',
        'request-id': 'flow-req-1'
      }
    }
    expect(describeBody(r(404, JSON.stringify(body), { 'x-request-id': 'hdr-1' }))).toEqual({
      code: '1101-404',
      // As the server wrote it: redaction must see it before anything reflows or cuts it.
      detail: 'Entity not found: Connection with id abc\nnot found',
      requestId: 'flow-req-1',
      // Each redacted on its own too: a secret split between them leaves a piece at each edge.
      fields: ['Entity not found', 'Connection with id abc\nnot found']
    })
  })

  it('Flow Service error with errorMessage, falling back to the header request id', () => {
    const body = {
      type: 'http://ns.adobe.com/aep/errors/FLOW-1404-412',
      title: 'Version not matching',
      errorMessage: 'Supplied version=[1] does not match'
    }
    expect(describeBody(r(412, JSON.stringify(body), { 'x-request-id': 'hdr-2' }))).toEqual({
      code: '1404-412',
      detail: 'Version not matching: Supplied version=[1] does not match',
      requestId: 'hdr-2',
      fields: ['Version not matching', 'Supplied version=[1] does not match']
    })
  })

  it('does not repeat a message equal to the title', () => {
    const body = { title: 'Bad request', message: 'Bad request' }
    expect(describeBody(r(400, JSON.stringify(body))).detail).toBe('Bad request')
  })

  it('a JSON object without known fields', () => {
    expect(describeBody(r(500, '{"foo":1}'))).toEqual({
      code: undefined,
      detail: 'no details given',
      requestId: undefined
    })
  })

  it('an HTML page (by content type or by its first character)', () => {
    const html = '<html><body>502 Bad Gateway secret-looking-stuff</body></html>'
    expect(describeBody(r(502, html, { 'content-type': 'text/html; charset=utf-8' })).detail).toBe(
      'an HTML page instead of JSON (a proxy or gateway error page)'
    )
    expect(describeBody(r(502, `  ${html}`)).detail).toBe(
      'an HTML page instead of JSON (a proxy or gateway error page)'
    )
  })

  it('invalid JSON names the content type and never echoes the body', () => {
    const d = describeBody(r(500, 'Internal failure: token=abc', { 'content-type': 'text/plain' }))
    expect(d.detail).toBe('a body that is not valid JSON (text/plain)')
    expect(describeBody(r(500, '{broken')).detail).toBe(
      'a body that is not valid JSON (unknown type)'
    )
    expect(describeBody(r(500, '[1,2]')).detail).toBe(
      'a body that is not valid JSON (unknown type)'
    )
  })

  it('an empty body', () => {
    expect(describeBody(r(503, '', { 'x-request-id': 'e-1' }))).toEqual({
      detail: 'an empty body',
      requestId: 'e-1'
    })
    expect(describeBody(r(503, '  \n')).detail).toBe('an empty body')
  })
})

describe('hintFor', () => {
  const TOKEN = /access-token is invalid or expired/
  const REJECTED = /the token was rejected; check that the credential belongs to ims-org-id/
  const API_KEY = /client-id is sent as x-api-key/
  const ORG = /check ims-org-id, and that the org is entitled/
  const PERMISSION = /lacks permission to manage sources/
  const SANDBOX = /sandbox-name does not name a sandbox/

  it.each([
    [401, undefined, true, TOKEN],
    [401, undefined, false, REJECTED],
    [400, '401013', true, TOKEN],
    [400, '2114-400', false, REJECTED],
    [400, '2115-400', true, TOKEN],
    [403, '403000', false, API_KEY],
    [403, '403003', false, API_KEY],
    [400, '400003', false, ORG],
    [403, '403027', false, ORG],
    [403, '403025', false, ORG],
    [400, '2000-401', false, ORG],
    [400, '1100-400', false, ORG],
    [403, '2118-403', false, PERMISSION],
    [403, '2120-403', false, PERMISSION],
    [403, '2121-403', false, PERMISSION],
    [403, undefined, false, PERMISSION],
    [404, '2100-404', false, SANDBOX],
    [404, '2101-404', false, SANDBOX],
    [400, 'invalid_client', false, /check client-id and client-secret/],
    [401, 'invalid_client', false, /^check client-id and client-secret$/],
    [400, 'invalid_scope', false, /check scopes against the scopes granted/],
    [429, undefined, false, /rate limiting/]
  ])('HTTP %i code %s (token given %s)', (status, code, given, hint) => {
    expect(hintFor(status, code, given)).toMatch(hint)
  })

  it.each([
    [404, undefined],
    [404, '1101-404'],
    [500, undefined],
    [400, '1415-400'],
    [412, '1404-412']
  ])('no hint for HTTP %i code %s', (status, code) => {
    expect(hintFor(status, code, false)).toBeUndefined()
  })
})

describe('apiError', () => {
  it('a network failure', () => {
    const e = apiError('deleting the connection', {
      kind: 'network',
      error: new NetworkError('no response within 30000 ms', 'timeout', true)
    })
    expect(e).toBeInstanceOf(ApiError)
    expect(e).toBeInstanceOf(ActionError)
    expect(e.message).toBe('deleting the connection failed: no response within 30000 ms')
    expect(e.status).toBe(0)
  })

  it('operation, status, code, detail, request id and hint; the detail kept raw', () => {
    const e = apiError(
      'listing connections by name',
      {
        kind: 'response',
        res: r(
          404,
          JSON.stringify({
            type: 'http://ns.adobe.com/aep/errors/FLOW-2100-404',
            title: 'Sandbox not found',
            report: { 'detailed-message': 'No sandbox\nnamed dev', 'request-id': 'rq-42' }
          })
        )
      },
      false
    )
    expect(e.message).toBe(
      'listing connections by name failed: HTTP 404 2100-404 Sandbox not found: No sandbox\nnamed dev (request id rq-42) — sandbox-name does not name a sandbox of this org'
    )
    expect(e.status).toBe(404)
    expect(e.code).toBe('2100-404')
    expect(e.requestId).toBe('rq-42')
    // Only the server's part is handed to the shortener; operation and hint stay whole.
    const seen: string[] = []
    expect(e.render((t) => (seen.push(t), '[detail]'))).toBe(
      'listing connections by name failed: HTTP 404 2100-404 [detail] (request id rq-42) — sandbox-name does not name a sandbox of this org'
    )
    expect(seen).toEqual(['Sandbox not found: No sandbox\nnamed dev'])
  })

  it('withNote adds a sentence after the hint, keeping the server part apart', () => {
    const e = apiError('deleting', { kind: 'response', res: r(400, '{"message":"in use"}') })
    const noted = e.withNote(' — delete the dataflows first')
    expect(noted.message).toBe('deleting failed: HTTP 400 in use — delete the dataflows first')
    expect(noted.render(() => '[d]')).toBe(
      'deleting failed: HTTP 400 [d] — delete the dataflows first'
    )
    expect(noted.status).toBe(400)
    expect(new ApiError('plain', 500).withNote(' — x').render(() => '?')).toBe('plain — x')
  })

  it('without a code, a request id or a hint', () => {
    const e = apiError('reading the connection', { kind: 'response', res: r(500, '') })
    expect(e.message).toBe('reading the connection failed: HTTP 500 an empty body')
    expect(e.code).toBeUndefined()
    expect(e.requestId).toBeUndefined()
  })

  it('passes tokenGiven to the hint', () => {
    const a = { kind: 'response' as const, res: r(401, '') }
    expect(apiError('x', a, true).message).toMatch(/access-token is invalid or expired/)
    expect(apiError('x', a, false).message).toMatch(/belongs to ims-org-id/)
    expect(apiError('x', a).message).toMatch(/belongs to ims-org-id/)
  })

  it('an ActionError renders as its message', () => {
    expect(new ActionError('m').render(() => 'x')).toBe('m')
  })

  it('the error classes carry their names', () => {
    expect(new ActionError('m').name).toBe('ActionError')
    expect(new ApiError('m', 400).name).toBe('ApiError')
  })
})
