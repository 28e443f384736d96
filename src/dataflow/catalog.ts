import { ActionError } from '../platform/errors.js'
import { CONNECTION_ID, issueOf, type FlowApi } from '../platform/flow-api.js'
import * as z from '../platform/zod.js'
import { lazy } from '../platform/lazy.js'

/*
 * The dataset the rows land in, read from Catalog: its id and the XDM schema its rows follow.
 * The target connection and the mapping set both name that schema, so they cannot disagree
 * (Flow Service refuses a dataflow whose two schemas differ: 1425-400).
 */

export const CATALOG_BASE_PATH = '/data/foundation/catalog'

export interface Dataset {
  id: string
  name?: string
  /** The XDM schema's $id (schemaRef.id). */
  schemaId: string
}

const DatasetSchema = lazy(() =>
  z.looseObject({
    name: z.optional(z.string()),
    schemaRef: z.optional(z.looseObject({ id: z.optional(z.string()) })),
    // "schemaRef will be derived from schema field, if it is not present" (Catalog's description).
    schema: z.optional(z.looseObject({ id: z.optional(z.string()) }))
  })
)

/** Catalog answers an object keyed by dataset id. */
const DatasetsSchema = lazy(() => z.record(z.string(), z.unknown()))

/** A schema $id: an absolute URI, one line, no spaces. */
const SCHEMA_ID = /^https?:\/\/[\x21-\x7e]{1,1000}$/

function toDataset(id: string, raw: unknown, label: string): Dataset {
  const parsed = DatasetSchema().safeParse(raw)
  if (!parsed.success)
    throw new ActionError(`${label} failed: malformed response (${issueOf(parsed.error)})`)
  const schemaId = parsed.data.schemaRef?.id ?? parsed.data.schema?.id
  if (!schemaId)
    throw new ActionError(
      `dataset ${id} has no XDM schema in Catalog (no schemaRef): give a dataset created from an XDM schema`
    )
  if (!SCHEMA_ID.test(schemaId))
    throw new ActionError(`${label} failed: dataset ${id} names a schema that is not a URI`)
  return { id, ...(parsed.data.name ? { name: parsed.data.name } : {}), schemaId }
}

const base = (api: FlowApi) => `${api.o.platformUrl}${CATALOG_BASE_PATH}`

/** The dataset with this id; a clear error when the sandbox has none. */
export async function datasetById(api: FlowApi, id: string): Promise<Dataset> {
  const label = 'reading the dataset'
  const a = await api.send(
    label,
    'GET',
    `${base(api)}/dataSets/${encodeURIComponent(id)}?properties=name,schemaRef`
  )
  if (a.kind === 'response' && a.res.status === 404)
    throw new ActionError(
      `dataset-id ${id} names no dataset in sandbox ${api.o.sandboxName} (Catalog answers 404): check the id, or give dataset-name`
    )
  if (a.kind !== 'response' || a.res.status !== 200) api.fail(label, a)
  const parsed = DatasetsSchema().safeParse(api.json(label, a))
  if (!parsed.success || !(id in parsed.data))
    throw new ActionError(`${label} failed: Catalog's answer holds no dataset ${id}`)
  return toDataset(id, parsed.data[id], label)
}

/** The one dataset with exactly this name; a clear error when there is none or several. */
export async function datasetByName(api: FlowApi, name: string): Promise<Dataset> {
  const label = 'finding the dataset by name'
  const a = await api.send(
    label,
    'GET',
    `${base(api)}/dataSets?name=${encodeURIComponent(name)}&properties=name,schemaRef&limit=100`
  )
  if (a.kind !== 'response' || a.res.status !== 200) api.fail(label, a)
  const parsed = DatasetsSchema().safeParse(api.json(label, a))
  if (!parsed.success) throw new ActionError(`${label} failed: malformed response (not an object)`)
  // Catalog's name filter is not documented as exact: the exact name is matched here.
  const found = Object.entries(parsed.data).filter(([id, d]) => {
    const n = DatasetSchema().safeParse(d)
    return CONNECTION_ID.test(id) && n.success && n.data.name === name
  })
  if (found.length === 0)
    throw new ActionError(
      `dataset-name "${name}" names no dataset in sandbox ${api.o.sandboxName}: check the name (it is matched exactly), or give dataset-id`
    )
  if (found.length > 1)
    throw new ActionError(
      `${found.length} datasets are named "${name}" in sandbox ${api.o.sandboxName} (ids ${found.map(([id]) => id).join(', ')}): give dataset-id instead`
    )
  const [id, raw] = found[0] as [string, unknown]
  return toDataset(id, raw, label)
}
