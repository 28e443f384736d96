import type { Collection } from './collections.js'
import { ActionError } from './errors.js'

/** The facts about a listed object that this module reads. */
export interface Listed {
  id: string
  name?: string
  state?: string
  createdAt?: number | string
  connectionSpec?: { id?: string }
  flowSpec?: { id?: string }
}

/**
 * A listing that cannot prove which objects exist: a page limit, a cycle, a malformed page or an
 * item that cannot be classified. Nothing may be created on such a listing.
 */
export class IncompleteListingError extends ActionError {
  constructor(
    readonly reason: string,
    plural = 'connections'
  ) {
    super(`listing ${plural} by name was incomplete: ${reason}`)
    this.name = 'IncompleteListingError'
  }
}

/** The filter that lists every object of the collection's spec: the fallback for names no filter can carry. */
export const specFilter = (c: Collection): string => `${c.spec.field}.id==${c.spec.id}`

/**
 * How a name is looked up.
 * - plain: `name==<name>`, as in Adobe's examples (`property=name==TestConn`).
 * - quoted: `name=="<name>"`, as Adobe's examples quote values (`name=="CloudStorageToAEP"`), for
 *   names with characters the filter grammar reads (a comma is a value list; `=`, `!`, `<`, `>`
 *   and `~` make operators) or with edge spaces.
 * - escaped: a name with `"` or `\` needs an escape inside the quotes, which Adobe does not
 *   document: `\"` and `\\` are sent, a match found is trusted, and a miss is confirmed by
 *   listing every object of the collection's spec.
 */
export type NameFilter = { kind: 'plain' | 'quoted' | 'escaped'; property: string }

export function nameFilter(name: string): NameFilter {
  const encode = (v: string) => `name==${encodeURIComponent(v)}`
  if (/["\\]/.test(name))
    return { kind: 'escaped', property: encode(`"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`) }
  if (/[,=!<>~]|^\s|\s$/.test(name)) return { kind: 'quoted', property: encode(`"${name}"`) }
  return { kind: 'plain', property: encode(name) }
}

/** A spec id as Flow Service may write it: compared without case or edge spaces. */
export const sameSpec = (a: string | undefined, b: string): boolean =>
  a !== undefined && a.trim().toLowerCase() === b.toLowerCase()

/** The spec id an item carries in the collection's spec field. */
const specOf = (item: Listed, c: Collection) => item[c.spec.field]?.id

/**
 * Whether a listed item is the collection's kind of object with this exact name: 'match',
 * 'other', or 'unknown' when the item lacks the name or (with the name) the spec to tell.
 */
export function classify(item: Listed, name: string, c: Collection): 'match' | 'other' | 'unknown' {
  if (item.name === undefined) return 'unknown'
  if (item.name !== name) return 'other'
  const spec = specOf(item, c)
  if (spec === undefined) return 'unknown'
  return sameSpec(spec, c.spec.id) ? 'match' : 'other'
}

/**
 * Whether an item could have been returned by the filter `property` (for a name lookup) on a
 * page that followed a continuation link: when not, the link dropped the filter.
 */
export function passesFilter(item: Listed, property: string, name: string, c: Collection): boolean {
  if (property === specFilter(c)) {
    const spec = specOf(item, c)
    return spec === undefined || sameSpec(spec, c.spec.id)
  }
  return item.name === undefined || item.name === name
}

/**
 * Flow Service's documented states (Adobe's API description and error catalogue): settled ones,
 * ones it is still working in (waited on, see Collection.inProgress) and `delete-finalizing` (on
 * the way out: not counted). Any other state counts as live, and Flow Service refusing an update
 * or delete in it (1416) is waited out (see `isUpdatable`).
 */
const stateOf = (state: string | undefined) => state?.trim().toLowerCase()
export const isDeleting = (state: string | undefined): boolean =>
  stateOf(state) === 'delete-finalizing'
export const isInProgress = (state: string | undefined, c: Collection): boolean =>
  c.inProgress.some((s) => s.toLowerCase() === stateOf(state))
/** The states Flow Service accepts an update or delete in (1416-400 otherwise). */
export const isUpdatable = (state: string | undefined, c: Collection): boolean =>
  state === undefined || c.updatable.some((s) => s.toLowerCase() === stateOf(state))

/** The objects a run counts: every one not on its way out. */
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
 * The object every racing run keeps: the oldest by createdAt, ties (and missing dates, which
 * sort last) broken by id, so all runs that see the same set choose the same one.
 */
export function keeperOf<T extends Listed>(items: T[]): T {
  const [first, ...rest] = items
  if (!first) throw new ActionError('internal: no object to keep')
  const at = (i: Listed) => createdAtOf(i) ?? Number.POSITIVE_INFINITY
  return rest.reduce((best, i) => {
    const a = at(i)
    const b = at(best)
    return a < b || (a === b && i.id < best.id) ? i : best
  }, first)
}

/**
 * Whether the keeper is older than every other by createdAt: when not (a tie, or dates
 * missing), which object was made first cannot be told from the listing.
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
