import { ActionError, apiError } from '../platform/errors.js'
import { issueOf, pauseMs, type FlowApi } from '../platform/flow-api.js'
import { attempt, waitBeforeRetry, TransportError, type Attempt } from '../platform/http.js'
import { markOf, markText, stripMark, withMark, type Mark } from '../platform/marker.js'
import * as z from '../platform/zod.js'
import { lazy } from '../platform/lazy.js'
import type { Mapping, MappingBody } from './payloads.js'

/*
 * Data Prep mapping sets (<platform-url>/data/foundation/conversion): created (200, version 0),
 * read (a version, or the latest), replaced by PUT (version + 1). Adobe's API has no DELETE for
 * them, so a mapping set is never deleted. A create is made safe against lost answers the way
 * Flow Service creates are: its name carries the POST's mark, and after a lost answer the run
 * looks for that name before it sends another.
 */

export const DATA_PREP_BASE_PATH = '/data/foundation/conversion'

/** A mapping set id: 32 hex digits in Adobe's examples; any id-like string is accepted. */
const MAPPING_SET_ID = /^[A-Za-z0-9_-]{1,128}$/
const MappingSetIdSchema = lazy(() =>
  z.string().check(
    z.regex(MAPPING_SET_ID, {
      message: 'is not a mapping set id (1-128 letters, digits, - or _)'
    })
  )
)

const CreatedSchema = lazy(() =>
  z.looseObject({
    id: MappingSetIdSchema(),
    version: z.optional(z.union([z.number(), z.string()]))
  })
)

/** A stored mapping: GET writes both vocabularies, so either pair is read. */
const StoredMappingSchema = lazy(() =>
  z.looseObject({
    sourceType: z.optional(z.string()),
    source: z.optional(z.string()),
    destination: z.optional(z.string()),
    sourceAttribute: z.optional(z.string()),
    destinationXdmPath: z.optional(z.string())
  })
)

const StoredSetSchema = lazy(() =>
  z.looseObject({
    id: MappingSetIdSchema(),
    version: z.optional(z.union([z.number(), z.string()])),
    name: z.optional(z.string()),
    outputSchema: z.optional(
      z.looseObject({ schemaRef: z.optional(z.looseObject({ id: z.optional(z.string()) })) })
    ),
    xdmSchema: z.optional(z.string()),
    mappings: z.array(StoredMappingSchema())
  })
)

const ListSchema = lazy(() =>
  z.looseObject({
    data: z.array(
      z.looseObject({
        id: z.string(),
        name: z.optional(z.string()),
        version: z.optional(z.union([z.number(), z.string()]))
      })
    )
  })
)

export interface StoredMappingSet {
  id: string
  version: number
  schemaId?: string
  mappings: Mapping[]
}

/**
 * A stored mapping's kind. Data Prep reads back media types (Adobe's mapping-set guide):
 * text/x.schema-path for an attribute, text/x.aep-xl for an expression; the request names
 * (ATTRIBUTE, EXPRESSION) are read too.
 */
function sourceTypeOf(t: string | undefined): 'ATTRIBUTE' | 'EXPRESSION' {
  const v = (t ?? '').trim().toLowerCase()
  return v === 'expression' || v === 'text/x.aep-xl' ? 'EXPRESSION' : 'ATTRIBUTE'
}

/** A version as Data Prep writes it (a number; a numeric string is read too). */
function versionOf(v: number | string | undefined): number {
  const n = typeof v === 'string' ? Number(v) : v
  return Number.isInteger(n) && (n as number) >= 0 ? (n as number) : 0
}

const base = (api: FlowApi) => `${api.o.platformUrl}${DATA_PREP_BASE_PATH}`

/** A mapping set as stored: its version, schema and mappings. */
export async function getMappingSet(
  api: FlowApi,
  id: string,
  version?: number
): Promise<StoredMappingSet | undefined> {
  const label = 'reading the mapping set'
  const query = version === undefined ? '' : `?version=${version}`
  const a = await api.send(
    label,
    'GET',
    `${base(api)}/mappingSets/${encodeURIComponent(id)}${query}`
  )
  if (a.kind === 'response' && a.res.status === 404) return undefined
  if (a.kind !== 'response' || a.res.status !== 200) api.fail(label, a)
  const parsed = StoredSetSchema().safeParse(api.json(label, a))
  if (!parsed.success)
    throw new ActionError(`${label} failed: malformed response (${issueOf(parsed.error)})`)
  const s = parsed.data
  // A read by id answered with another mapping set must not send a PUT to that one.
  if (s.id.toLowerCase() !== id.toLowerCase())
    throw new ActionError(
      `${label} ${id} failed: Data Prep answered with another mapping set (id ${s.id}); the run stops rather than act on it`
    )
  return {
    id,
    version: versionOf(s.version),
    schemaId: s.outputSchema?.schemaRef?.id ?? s.xdmSchema,
    mappings: s.mappings.map((m) => ({
      sourceType: sourceTypeOf(m.sourceType),
      source: m.source ?? m.sourceAttribute ?? '',
      destination: m.destination ?? m.destinationXdmPath ?? ''
    }))
  }
}

/**
 * Replaces a mapping set's mappings: the new version (Data Prep bumps it by one). An answer
 * without a version, or with one not past `previous`, is checked by reading the set: the
 * dataflow must never be pointed back at the mappings it had.
 */
export async function putMappingSet(
  api: FlowApi,
  id: string,
  body: MappingBody,
  previous: number
): Promise<{ version: number }> {
  const label = 'updating the mapping set'
  // PUT replaces the whole set, so sending it again after a lost answer does no harm.
  const a = await api.send(label, 'PUT', `${base(api)}/mappingSets/${encodeURIComponent(id)}`, body)
  if (a.kind !== 'response' || a.res.status < 200 || a.res.status >= 300) api.fail(label, a)
  const parsed = CreatedSchema().safeParse(api.json(label, a))
  if (parsed.success && parsed.data.version !== undefined) {
    const version = versionOf(parsed.data.version)
    if (version > previous) return { version }
  }
  const stored = await getMappingSet(api, id)
  if (!stored) throw new ActionError(`${label} failed: mapping set ${id} is gone`)
  if (stored.version <= previous)
    throw new ActionError(
      `${label} failed: Data Prep accepted it, but mapping set ${id} is still at version ${stored.version}; run the step again`
    )
  return { version: stored.version }
}

/** The mapping sets with exactly this name (a name carries the mark of the POST that made it). */
async function findByName(
  api: FlowApi,
  name: string
): Promise<Array<{ id: string; version: number }>> {
  const label = 'listing mapping sets by name'
  const a = await api.send(
    label,
    'GET',
    `${base(api)}/mappingSets?limit=100&start=0&name=${encodeURIComponent(name)}`
  )
  if (a.kind !== 'response' || a.res.status !== 200) api.fail(label, a)
  const parsed = ListSchema().safeParse(api.json(label, a))
  if (!parsed.success)
    throw new ActionError(`${label} failed: malformed response (${issueOf(parsed.error)})`)
  return parsed.data.data
    .filter((m) => m.name === name && MAPPING_SET_ID.test(m.id))
    .map((m) => ({ id: m.id, version: versionOf(m.version) }))
}

/** How many of the sandbox's most recent mapping sets are looked through for an earlier run's. */
export const RECENT_MAPPING_SETS = 100

/**
 * The latest mapping set an earlier run of this action made for this name and left unused (its
 * dataflow was never created): its name is `<name> [aep-gha:…]`. Reused instead of making
 * another, since Data Prep cannot delete them. The sandbox's most recent sets are read, newest
 * first, and the names compared here: whether Data Prep's name= filter matches exactly or by
 * part is not documented, and a marked name would not match exactly. One missed (older than the
 * most recent RECENT_MAPPING_SETS) only means a new set is made.
 */
export async function findLeftMappingSet(
  api: FlowApi,
  name: string
): Promise<StoredMappingSet | undefined> {
  const label = 'looking for a mapping set an earlier run left'
  const a = await api.send(
    label,
    'GET',
    `${base(api)}/mappingSets?limit=${RECENT_MAPPING_SETS}&start=0&orderBy=-createdDate`
  )
  if (a.kind !== 'response' || a.res.status !== 200) api.fail(label, a)
  const parsed = ListSchema().safeParse(api.json(label, a))
  if (!parsed.success)
    throw new ActionError(`${label} failed: malformed response (${issueOf(parsed.error)})`)
  const left = parsed.data.data.find(
    (m) =>
      m.name !== undefined &&
      markOf(m.name) !== undefined &&
      stripMark(m.name) === name &&
      MAPPING_SET_ID.test(m.id)
  )
  return left ? getMappingSet(api, left.id) : undefined
}

/** At most this long (and a quarter of the time left) for a lost create's name to be listed. */
export const LOST_MAPPING_WAIT_MS = 10_000

/**
 * Creates a mapping set, safe against lost answers: its name is `<name> [aep-gha:run.attempt]`;
 * after a lost answer, a reset or a 5xx the run looks for that name (within
 * LOST_MAPPING_WAIT_MS) before it sends another; after a timeout it never does.
 */
export async function createMappingSet(
  api: FlowApi,
  body: MappingBody,
  run: string
): Promise<{ id: string; version: number }> {
  const label = 'creating the mapping set'
  const { retry, transport } = api.o
  for (let n = 1; ; n++) {
    const mark: Mark = { run, attempt: n, at: Math.floor(retry.clock.now() / 1000) }
    const name = withMark(body.name, mark)
    const { deadline } = retry
    const postTimeout = Math.max(
      deadline.requestTimeout(),
      deadline.remaining() - deadline.requestTimeout()
    )
    let a: Attempt
    try {
      a = await attempt(
        transport,
        await api.request('POST', `${base(api)}/mappingSets`, { ...body, name }),
        deadline,
        postTimeout
      )
    } catch (e) {
      if (!(e instanceof TransportError)) throw e
      throw new TransportError(`${label} failed: ${e.message}`, e.replyStatus)
    }
    if (a.kind === 'response' && a.res.status >= 200 && a.res.status < 300) {
      const parsed = CreatedSchema().safeParse(api.json(label, a))
      if (parsed.success) return { id: parsed.data.id, version: versionOf(parsed.data.version) }
      const found = await lookFor(api, name, label)
      if (found) return found
      throw new ActionError(
        `${label} failed: Data Prep accepted it (HTTP ${a.res.status}) but its answer held no usable id, and no mapping set named "${name}" is listed; run the step again`
      )
    }
    const notPerformed =
      (a.kind === 'response' && a.res.status === 429) || (a.kind === 'network' && !a.error.sent)
    const ambiguous =
      (a.kind === 'network' && a.error.sent) || (a.kind === 'response' && a.res.status >= 500)
    if (!notPerformed && !ambiguous) api.fail(label, a)
    if (ambiguous) {
      retry.log(
        `${label}: attempt ${n} failed after it was sent; looking for ${markText(mark)} by name`
      )
      const found = await lookFor(api, name, label)
      if (found) return found
      if (a.kind === 'network' && a.error.reason === 'timeout')
        throw new ActionError(
          `${label} failed: ${a.error.message}; Data Prep may still create it, so it was not sent again (named "${name}"). Run the step again`
        )
    }
    if (n >= retry.maxAttempts || !(await waitBeforeRetry(retry, label, n, a)))
      throw apiError(label, a, api.o.tokens.given)
  }
}

/** Looks for a mapping set by its exact (marked) name, pausing between looks, within the bound. */
async function lookFor(
  api: FlowApi,
  name: string,
  label: string
): Promise<{ id: string; version: number } | undefined> {
  const budget = Math.min(LOST_MAPPING_WAIT_MS, api.o.retry.deadline.remaining() * 0.25)
  let waited = 0
  for (let n = 1; ; n++) {
    const [found] = await findByName(api, name)
    if (found) {
      api.o.retry.log(`${label}: it is listed (id ${found.id})`)
      return found
    }
    const wait = pauseMs(n)
    if (waited + wait > budget || !(await api.pause(label, n, 'not listed yet', 'looking again')))
      return undefined
    waited += wait
  }
}
