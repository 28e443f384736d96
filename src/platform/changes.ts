import { ActionError, ApiError } from './errors.js'
import type { FlowItem } from './flow-api.js'
import type { FlowObjects } from './flow-service.js'
import type { Outcome } from './exactly-one.js'
import { isDeleting, isInProgress, isUpdatable } from './listing.js'

/*
 * Updating and deleting one stored object, in any collection, through the refusals racing runs
 * and Flow Service's own work cause: a 412 (another run changed it first) is re-read and
 * retried; a refusal in the object's current state waits for the state to settle.
 */

/** 412s in a row that an update re-reads and retries through (racing runs all patch one). */
export const MAX_PRECONDITION_RETRIES = 5

/**
 * Sends one update of an object as it was read (`from`), with If-Match `etag`; the action says
 * what the PATCH holds (and may referee it).
 */
export type SendUpdate = (from: FlowItem, etag: string) => Promise<{ etag?: string }>

/**
 * Updates an object. A 412 (changed since read: another run patched it) re-reads and retries, up
 * to MAX_PRECONDITION_RETRIES times with growing pauses; a refusal in the object's current state
 * (1416, 1417) waits for the state to settle, then retries once.
 */
export async function updateExisting(
  objects: FlowObjects,
  existing: FlowItem,
  send: SendUpdate,
  log: (line: string) => void
): Promise<Outcome> {
  const { noun } = objects.c
  const label = `updating the ${noun}`
  const id = existing.id
  let current = existing
  let etag = existing.etag ?? (await objects.get(id)).etag
  if (!etag) throw new ActionError(`${label} failed: Flow Service gave no etag for it`)
  let waitedForState = false
  for (let n = 1; ; n++) {
    try {
      const r = await send(current, etag)
      return { operation: 'updated', id, etag: r.etag ?? '' }
    } catch (e) {
      if (!(e instanceof ApiError)) throw e
      if (e.status === 412 && n <= MAX_PRECONDITION_RETRIES) {
        const why = 'it changed since it was read (HTTP 412)'
        // Other runs are patching it too: after the first, a pause spreads the retries out.
        if (n > 1 && !(await objects.pause(label, n - 1, why, 're-reading'))) throw e
        if (n === 1) log(`${label}: ${why}; re-reading and retrying`)
        current = await objects.get(id)
      } else if ((e.code === '1416-400' || e.code === '1417-400') && !waitedForState) {
        waitedForState = true
        log(
          `${label}: Flow Service refused it in the ${noun}'s current state (${e.code}); waiting for the state to settle, then retrying once`
        )
        current = await settled(objects, id)
      } else throw e
      etag = current.etag ?? ''
    }
  }
}

/** Deletes an object; one already being deleted (1458) counts as absent. */
export async function deleteExisting(
  objects: FlowObjects,
  existing: FlowItem,
  log: (line: string) => void
): Promise<Outcome> {
  const { noun } = objects.c
  const del = async (): Promise<Outcome> =>
    (await objects.delete(existing.id))
      ? { operation: 'deleted', id: existing.id, etag: '' }
      : { operation: 'absent', id: '', etag: '' }
  try {
    return await del()
  } catch (e) {
    if (!(e instanceof ApiError)) throw e
    if (e.code === '1458-400') {
      log(`${noun} ${existing.id} is already being deleted (1458): nothing to do`)
      return { operation: 'absent', id: '', etag: '' }
    }
    if (e.code !== '1416-400') throw e
    log(
      `deleting the ${noun}: Flow Service refused it in the ${noun}'s current state (${e.code}); waiting for the state to settle, then retrying once`
    )
    await settled(objects, existing.id)
    return del()
  }
}

/**
 * Reads the object until its state accepts an update or delete (see isUpdatable), with growing
 * pauses within the deadline.
 */
async function settled(objects: FlowObjects, id: string): Promise<FlowItem> {
  const { c } = objects
  let current = await objects.get(id)
  for (let n = 1; !isUpdatable(current.state, c) || isInProgress(current.state, c); n++) {
    const why = `${c.noun} ${id} is "${current.state ?? ''}"`
    if (isDeleting(current.state))
      throw new ActionError(`${why}: it started being deleted while this run waited`)
    if (!(await objects.pause(`waiting for the ${c.noun}`, n, why, 'checking again')))
      throw new ActionError(
        `${why} (Flow Service is still working on it) and timeout-seconds leaves no time to wait longer; run the step again later`
      )
    const next = await objects.getIfExists(id)
    if (!next) throw new ActionError(`${c.noun} ${id} went away while this run waited for it`)
    current = next
  }
  return current
}
