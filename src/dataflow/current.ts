import { FLOWS, SOURCE_CONNECTIONS, TARGET_CONNECTIONS } from '../platform/collections.js'
import { ActionError } from '../platform/errors.js'
import type { FlowApi, FlowItem } from '../platform/flow-api.js'
import { FlowObjects } from '../platform/flow-service.js'
import { heal } from '../platform/heal.js'
import { datasetById, datasetByName, type Dataset } from './catalog.js'
import { findLeftMappingSet, getMappingSet, type StoredMappingSet } from './data-prep.js'
import {
  asFlow,
  asSource,
  asTarget,
  mappingOf,
  type StoredFlow,
  type StoredSource,
  type StoredTarget
} from './flows.js'
import { mappingName, sourceName, targetName } from './payloads.js'
import type { DataflowSettings } from './settings.js'

/*
 * What exists now, read before anything is decided: the dataflow by name and, when it exists,
 * the source and target connections and the mapping set it uses; when it does not, any source or
 * target connection an earlier run left under the names this action gives them. Either way the
 * source and target connections are also looked up by those names, and extra copies this action
 * made are healed (heal.ts: its only writes here). The dataset is read from Catalog only when its
 * schema or its id is needed.
 */

/** The four collections' clients for one run. */
export interface Objects {
  api: FlowApi
  flows: FlowObjects
  sources: FlowObjects
  targets: FlowObjects
}

export const objectsOf = (api: FlowApi): Objects => ({
  api,
  flows: new FlowObjects(api, FLOWS),
  sources: new FlowObjects(api, SOURCE_CONNECTIONS),
  targets: new FlowObjects(api, TARGET_CONNECTIONS)
})

export interface Current {
  flow?: StoredFlow & FlowItem
  /** The dataflow's own source and target (read by id), or ones found by name (no dataflow). */
  source?: StoredSource & FlowItem
  target?: StoredTarget & FlowItem
  /** The mapping set (the version the dataflow uses). */
  mapping?: StoredMappingSet
  /** No dataflow yet: the mapping set an earlier run made for it and left unused. */
  leftMapping?: StoredMappingSet
  /** With state absent: every live source and target connection with this dataflow's names. */
  named?: { sources: FlowItem[]; targets: FlowItem[] }
}

interface Reading {
  objects: Objects
  dryRun: boolean
  log: (line: string) => void
  warn: (line: string) => void
}

/**
 * The one live object of a name: several made by this action are healed to one (heal.ts), keeping
 * the one `used` names (the dataflow's own, read by id) when it is among them.
 */
async function one(
  r: Reading,
  objects: FlowObjects,
  name: string,
  used?: string
): Promise<FlowItem | undefined> {
  const live = await objects.findLive(name, r.log)
  if (live.length <= 1) return live[0]
  return heal(
    {
      objects,
      name,
      dryRun: r.dryRun,
      log: r.log,
      warn: r.warn,
      ...(used ? { usedIds: [used] } : {})
    },
    live
  )
}

/** What exists for this dataflow name now. */
export async function readCurrent(r: Reading, s: DataflowSettings): Promise<Current> {
  const { objects } = r
  const found = await one(r, objects.flows, s.dataflowName)
  // To delete: also what an earlier run left under the names this action gives (every copy).
  const named =
    s.state === 'absent'
      ? {
          sources: await objects.sources.findLive(sourceName(s), r.log),
          targets: await objects.targets.findLive(targetName(s), r.log)
        }
      : undefined
  if (!found) {
    if (named) return { named }
    // No dataflow: connections an earlier run left, found by the names this action gives them.
    const source = await one(r, objects.sources, sourceName(s))
    const target = await one(r, objects.targets, targetName(s))
    const leftMapping = await findLeftMappingSet(objects.api, mappingName(s))
    return {
      ...(source ? { source: { ...source, ...asSource(source) } } : {}),
      ...(target ? { target: { ...target, ...asTarget(target) } } : {}),
      ...(leftMapping ? { leftMapping } : {})
    }
  }
  const flow = { ...found, ...asFlow(found) }
  const current: Current = { flow, ...(named ? { named } : {}) }
  const sourceId = flow.sourceConnectionIds?.[0]
  const targetId = flow.targetConnectionIds?.[0]
  if (s.state === 'present') {
    // Racing or cancelled runs may have left extra copies under the names this action gives
    // them, next to the ones the dataflow uses: healed here, keeping the dataflow's own.
    await one(r, objects.sources, sourceName(s), sourceId)
    await one(r, objects.targets, targetName(s), targetId)
  }
  if (sourceId) {
    const source = await objects.sources.getIfExists(sourceId)
    if (source) current.source = { ...source, ...asSource(source) }
  }
  if (targetId) {
    const target = await objects.targets.getIfExists(targetId)
    if (target) current.target = { ...target, ...asTarget(target) }
  }
  // Deleting needs no mapping set: it stays.
  if (s.state === 'present') {
    const m = mappingOf(flow)
    if (m) current.mapping = await getMappingSet(objects.api, m.id, m.version)
  }
  return current
}

/** The dataset named by the inputs (by id, or found by name). */
export async function readDataset(api: FlowApi, s: DataflowSettings): Promise<Dataset> {
  if (!s.dataset) throw new ActionError('internal: no dataset to read')
  return 'id' in s.dataset ? datasetById(api, s.dataset.id) : datasetByName(api, s.dataset.name)
}
