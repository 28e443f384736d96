import { ActionError, apiError } from '../platform/errors.js'
import { parseOrUndefined, type FlowApi } from '../platform/flow-api.js'
import * as z from '../platform/zod.js'
import { lazy } from '../platform/lazy.js'

/*
 * The connection test: Flow Service's own connectivity test and the explore of the database root
 * (the documented calls), and the verdict from their answers.
 */

const ExploreSchema = lazy(() =>
  z.array(
    z.looseObject({
      type: z.optional(z.unknown()),
      path: z.optional(z.unknown()),
      name: z.optional(z.unknown())
    })
  )
)

const TestSchema = lazy(() => z.looseObject({ result: z.boolean() }))

/** The two calls the connection test makes; tests pass stand-ins. */
export interface ConnectionTestCalls {
  test(id: string): Promise<{ result: boolean } | { unsupported: ActionError }>
  explore(id: string): Promise<{ tables: number; paths: string[] }>
}

/** The connection test's calls on the Flow Service client. */
export const connectionTestCalls = (api: FlowApi): ConnectionTestCalls => ({
  test: (id) => test(api, id),
  explore: (id) => explore(api, id)
})

export interface ConnectionTestResult {
  /** Tables the explore listed. */
  tables: number
  /** Their paths (`schema.table`), in Flow Service's order. */
  paths: string[]
}

/**
 * The connection test, the documented way first: GET /connections/{id}/test (Adobe's API
 * description). `false` fails; a refusal as unsupported leaves the verdict to explore. Explore
 * runs after a passing /test too, for the tables, and its failure still fails.
 */
export async function testConnection(
  flow: ConnectionTestCalls,
  id: string,
  log: (line: string) => void,
  describe: (e: ActionError) => string = (e) => e.message
): Promise<ConnectionTestResult> {
  const t = await flow.test(id)
  if ('unsupported' in t) {
    log(
      `Flow Service's connection test did not answer for this connection (${describe(t.unsupported)}); listing the database root instead`
    )
  } else if (!t.result) {
    throw new ActionError(
      `testing the connection failed: Flow Service could not connect to the database with the stored credentials (GET /connections/${id}/test answered result false); check server, port, database, username, password and the SSL settings, and that the database accepts connections from Adobe's IP addresses for your region`
    )
  } else {
    log('Flow Service connected to the database with the stored credentials')
  }
  return flow.explore(id)
}

/**
 * Lists the root of the database as Flow Service sees it: the tables (items typed "table", or
 * untyped) counted, and their paths (`path`, else `name`). A reply that is not an array of
 * objects fails: it cannot show that Flow Service reached the database.
 */
export async function explore(
  api: FlowApi,
  id: string
): Promise<{ tables: number; paths: string[] }> {
  const label = 'testing the connection'
  const a = await api.send(
    label,
    'GET',
    `${api.base}/connections/${encodeURIComponent(id)}/explore?objectType=root`
  )
  if (a.kind !== 'response' || a.res.status !== 200) api.fail(label, a)
  const parsed = ExploreSchema().safeParse(api.json(label, a))
  if (!parsed.success)
    throw new ActionError(
      `${label} failed: Flow Service's explore reply (HTTP 200) is not a list of objects, so it does not show the database was reached`
    )
  // Adobe lists tables as {type: 'table', ...}; an item without a type is counted as one too.
  const tables = parsed.data.filter((i) => i.type === 'table' || i.type === undefined)
  const paths = tables
    .map((i) => (typeof i.path === 'string' ? i.path : i.name))
    .filter((p): p is string => typeof p === 'string')
  return { tables: tables.length, paths }
}

/**
 * GET /connections/{id}/test, the connectivity test in Adobe's API description: its result, or
 * `unsupported` (the refusal, printed through output.ts like any error) when Flow Service refuses
 * it with a 4xx that is not about authentication or rate limiting. A 200 without a true/false
 * result fails.
 */
export async function test(
  api: FlowApi,
  id: string
): Promise<{ result: boolean } | { unsupported: ActionError }> {
  const label = 'testing the connection (GET /test)'
  // Flow Service connects to the database before it answers, which may take longer than any
  // one request is given: the deadline bounds it, keeping one request's time for the explore.
  const { deadline } = api.o.retry
  const retry = {
    ...api.o.retry,
    requestTimeoutMs: () =>
      Math.max(deadline.requestTimeout(), deadline.remaining() - deadline.requestTimeout())
  }
  const a = await api.send(
    label,
    'GET',
    `${api.base}/connections/${encodeURIComponent(id)}/test`,
    undefined,
    undefined,
    retry
  )
  if (a.kind === 'response' && a.res.status >= 400 && a.res.status < 500) {
    if ([401, 403, 407, 429].includes(a.res.status)) api.fail(label, a)
    return { unsupported: apiError(label, a, api.o.tokens.given) }
  }
  if (a.kind !== 'response' || a.res.status !== 200) api.fail(label, a)
  const parsed = TestSchema().safeParse(parseOrUndefined(a.res.text))
  // A 200 is the endpoint answering: one that breaks its contract says nothing about the
  // database, so it fails the test rather than passing it on to explore.
  if (!parsed.success)
    throw new ActionError(
      `testing the connection failed: GET /connections/${id}/test answered HTTP 200 without the documented {"result": true|false} (${testShape(a.res.text)}), so it does not show whether Flow Service could connect to the database`
    )
  return { result: parsed.data.result }
}

/** A JSON value's kind in words: "null", "an array", "a string", "an object". */
const kindOf = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : /^[aeiou]/.test(typeof v)
        ? `an ${typeof v}`
        : `a ${typeof v}`

/** What a /test reply held instead of {"result": true|false}, in words: never its content. */
function testShape(text: string): string {
  const body = parseOrUndefined(text)
  if (body === undefined) return `a body that is not JSON, ${text.length} characters`
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return `the body is ${kindOf(body)}, not an object`
  if (!('result' in body)) return 'no "result" field'
  const result: unknown = (body as { result: unknown }).result
  return result === null ? '"result" is null' : `"result" is ${kindOf(result)}, not true or false`
}
