import { POSTGRES_SPEC_ID } from './connection.js'
import { ActionError } from './errors.js'

/** The facts about a listed connection that this module reads. */
export interface Listed {
  id: string
  name?: string
  state?: string
  createdAt?: number | string
  connectionSpec?: { id?: string }
}

/**
 * A listing that cannot prove which connections exist: a page limit, a cycle, a malformed
 * page or an item that cannot be classified. Nothing may be created on such a listing.
 */
export class IncompleteListingError extends ActionError {
  constructor(readonly reason: string) {
    super(`listing connections by name was incomplete: ${reason}`)
    this.name = 'IncompleteListingError'
  }
}

/** The filter that lists every PostgreSQL connection: the fallback for names no filter can carry. */
export const SPEC_FILTER = `connectionSpec.id==${POSTGRES_SPEC_ID}`

/**
 * How a name is looked up.
 * - plain: `name==<name>`, as in Adobe's examples (`property=name==TestConn`).
 * - quoted: `name=="<name>"`, as Adobe's examples quote values (`name=="CloudStorageToAEP"`), for
 *   names with characters the filter grammar reads (a comma is a value list; `=`, `!`, `<`, `>`
 *   and `~` make operators) or with edge spaces.
 * - escaped: a name with `"` or `\` needs an escape inside the quotes, which Adobe does not
 *   document: `\"` and `\\` are sent, a match found is trusted, and a miss is confirmed by
 *   listing every PostgreSQL connection.
 */
export type NameFilter = { kind: 'plain' | 'quoted' | 'escaped'; property: string }

export function nameFilter(name: string): NameFilter {
  const encode = (v: string) => `name==${encodeURIComponent(v)}`
  if (/["\\]/.test(name))
    return { kind: 'escaped', property: encode(`"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`) }
  if (/[,=!<>~]|^\s|\s$/.test(name)) return { kind: 'quoted', property: encode(`"${name}"`) }
  return { kind: 'plain', property: encode(name) }
}

/** A connection spec id as Flow Service may write it: compared without case or edge spaces. */
export const isPostgresSpec = (id: string | undefined): boolean =>
  id !== undefined && id.trim().toLowerCase() === POSTGRES_SPEC_ID.toLowerCase()

/**
 * Whether a listed item is a PostgreSQL connection with this exact name: 'match', 'other', or
 * 'unknown' when the item lacks the name or (with the name) the connection spec to tell.
 */
export function classify(item: Listed, name: string): 'match' | 'other' | 'unknown' {
  if (item.name === undefined) return 'unknown'
  if (item.name !== name) return 'other'
  const spec = item.connectionSpec?.id
  if (spec === undefined) return 'unknown'
  return isPostgresSpec(spec) ? 'match' : 'other'
}

/**
 * Whether an item could have been returned by the filter `property` (for a name lookup) on a
 * page that followed a continuation link: when not, the link dropped the filter.
 */
export function passesFilter(item: Listed, property: string, name: string): boolean {
  if (property === SPEC_FILTER)
    return item.connectionSpec?.id === undefined || isPostgresSpec(item.connectionSpec.id)
  return item.name === undefined || item.name === name
}

/**
 * Flow Service's documented states (Adobe's API description and error catalogue): `enabled`
 * and `disabled` (settled), `initializing` (in progress: waited on) and `delete-finalizing` (on
 * the way out: not counted). Any other state counts as live, and Flow Service refusing an
 * update or delete in it (1416) is waited out (see `isUpdatable`).
 */
const stateOf = (state: string | undefined) => state?.trim().toLowerCase()
export const isDeleting = (state: string | undefined): boolean =>
  stateOf(state) === 'delete-finalizing'
export const isInProgress = (state: string | undefined): boolean =>
  stateOf(state) === 'initializing'
/** The states Flow Service accepts an update or delete in (1416-400 otherwise). */
export const isUpdatable = (state: string | undefined): boolean =>
  state === undefined || ['enabled', 'disabled', 'initializing'].includes(stateOf(state) ?? '')

/** The connections a run counts: every one not on its way out. */
export const alive = <T extends Listed>(items: T[]): T[] =>
  items.filter((i) => !isDeleting(i.state))

/**
 * createdAt in epoch ms: a number, a numeric string or an ISO date (Adobe's description says
 * epoch ms; other forms are read rather than guessed at). Undefined when it cannot be read.
 */
export function createdAtOf(item: Listed): number | undefined {
  const v = item.createdAt
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined
  if (typeof v !== 'string' || v.trim() === '') return undefined
  const n = /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : Date.parse(v)
  return Number.isFinite(n) ? n : undefined
}

/**
 * The connection every racing run keeps: the oldest by createdAt, ties (and missing dates,
 * which sort last) broken by id, so all runs that see the same set choose the same one.
 */
export function keeperOf<T extends Listed>(items: T[]): T {
  const [first, ...rest] = items
  if (!first) throw new ActionError('internal: no connection to keep')
  const at = (i: Listed) => createdAtOf(i) ?? Number.POSITIVE_INFINITY
  return rest.reduce((best, i) => {
    const a = at(i)
    const b = at(best)
    return a < b || (a === b && i.id < best.id) ? i : best
  }, first)
}

/**
 * Whether the keeper is older than every other by createdAt: when not (a tie, or dates
 * missing), which connection was made first cannot be told from the listing.
 */
export function strictlyOldest(keeper: Listed, items: Listed[]): boolean {
  const k = createdAtOf(keeper)
  return (
    k !== undefined &&
    items.every((i) => {
      if (i.id === keeper.id) return true
      const t = createdAtOf(i)
      return t !== undefined && t > k
    })
  )
}
