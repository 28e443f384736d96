import { ActionError } from './errors.js'
import type { ConnectionItem, FlowService } from './flow-service.js'
import { IncompleteListingError, isDeleting, isInProgress } from './listing.js'

/**
 * The live connections with the name, from a complete listing (see FlowService.findByName for
 * the paging and the filter grammar): those being deleted are not counted, those Flow Service is
 * still working on (initializing) are waited for.
 */
export async function findLive(
  flow: FlowService,
  name: string,
  log: (line: string) => void
): Promise<ConnectionItem[]> {
  let found: ConnectionItem[]
  try {
    found = await flow.findByName(name)
  } catch (e) {
    if (e instanceof IncompleteListingError)
      throw new ActionError(`${e.message}; nothing was created or changed`)
    throw e
  }
  const live: ConnectionItem[] = []
  for (const item of found) {
    if (isDeleting(item.state)) {
      log(`connection ${item.id} is being deleted (state ${item.state}): not counted`)
      continue
    }
    const settled = isInProgress(item.state) ? await flow.settle(item) : item
    if (settled) live.push(settled)
    else log(`connection ${item.id} went away while this run waited for it: not counted`)
  }
  return live
}
