import { createdAtOf, type Listed } from './listing.js'

/*
 * The mark a create leaves on the object it makes, so that copies are told apart without trusting
 * clocks or listings: every POST carries `[aep-gha:<run>.<attempt>.<time>]` at the end of its
 * description (Flow Service stores and lists descriptions), where <run> is random per run,
 * <attempt> counts the run's POSTs and <time> is when it was sent (the runner's clock, epoch
 * seconds in base 36). A run recognises its own copies after lost answers and never touches
 * another run's by mistake; a later run recognises copies this action made (and may heal a
 * duplicate) from copies someone made by hand, and how long ago their runs made them.
 * A run that fails because another run's copy stayed next to its own (that run may have exited 0
 * naming it) gives way: it adds `;yielded` to its copy's mark, and every run ranks such a copy
 * after the others, so the next run's heal keeps the copy the other run named. A run that updates
 * a copy another run made adds `;adopted`: the run that made it, if still racing, then keeps it
 * instead of deleting a copy another run may have exited 0 naming.
 */

/** One POST's mark. */
export interface Mark {
  run: string
  attempt: number
  /** when the POST was sent, epoch seconds (absent in marks of earlier versions) */
  at?: number
  /** its run failed, another run's copy staying next to this one: this copy ranks last */
  yielded?: boolean
  /** a later run updated it (and may have exited 0 naming it): its own run does not delete it */
  adopted?: boolean
}

/**
 * A mark, read from its `[` to the end. It is looked for only from the last `[aep-gha:` of the
 * text (a mark holds none inside), so a long text from a server costs one scan, not one per
 * position.
 */
const OPEN = '[aep-gha:'
const MARK =
  /^\[aep-gha:([0-9a-f]{8,32})\.(\d{1,4})(?:\.([0-9a-z]{1,10}))?((?:;(?:yielded|adopted))*)\]$/

/** The text before a mark, and the mark; undefined when the text ends in none. */
function split(description: string): { text: string; m: RegExpExecArray } | undefined {
  const end = description.trimEnd()
  const at = end.lastIndexOf(OPEN)
  const m = at < 0 ? null : MARK.exec(end.slice(at))
  return m ? { text: end.slice(0, at).trimEnd(), m } : undefined
}

/** The text appended to a description. */
export const markText = (m: Mark): string =>
  `[aep-gha:${m.run}.${m.attempt}${m.at === undefined ? '' : `.${m.at.toString(36)}`}${m.yielded ? ';yielded' : ''}${m.adopted ? ';adopted' : ''}]`

/** A description with a mark at its end (a description the action did not mark gets one). */
export function withMark(description: string | undefined, m: Mark): string {
  const text = stripMark(description)
  return text ? `${text} ${markText(m)}` : markText(m)
}

/** A new description for an object, keeping the mark its current description carries. */
export function keepingMark(description: string, current: string | undefined): string {
  const m = markOf(current)
  return m ? withMark(description, m) : description
}

/** The mark at the end of a description, if any. */
export function markOf(description: string | undefined): Mark | undefined {
  const m = description === undefined ? undefined : split(description)?.m
  if (!m) return undefined
  const at = m[3] === undefined ? undefined : parseInt(m[3], 36)
  return {
    run: m[1] as string,
    attempt: Number(m[2]),
    ...(at !== undefined ? { at } : {}),
    ...(m[4]?.includes(';yielded') ? { yielded: true } : {}),
    ...(m[4]?.includes(';adopted') ? { adopted: true } : {})
  }
}

/** The description with its mark saying that the copy gives way; undefined without a mark. */
export function yieldedDescription(description: string | undefined): string | undefined {
  const m = markOf(description)
  return m && !m.yielded ? withMark(description, { ...m, yielded: true }) : undefined
}

/**
 * The description to write when this run updates a copy: `text` (the current text when
 * undefined), the mark kept and saying the copy was adopted (another run made it). Undefined when
 * there is nothing to write: the text unchanged and the mark, if any, already saying so.
 */
export function adoptedDescription(
  text: string | undefined,
  current: string | undefined
): string | undefined {
  const m = markOf(current)
  const wanted = text ?? stripMark(current) ?? ''
  const same = wanted === (stripMark(current) ?? '')
  if (!m) return same ? undefined : wanted
  if (m.adopted && !m.yielded && same) return undefined
  // A copy a run adopts no longer gives way: that run names it now.
  const { yielded: _gaveWay, ...kept } = m
  return withMark(wanted, { ...kept, adopted: true })
}

/** A description without its mark: what the user asked for, to compare with what is wanted. */
export function stripMark(description: string | undefined): string | undefined {
  if (description === undefined) return undefined
  return split(description)?.text ?? description
}

/**
 * The descriptions this action wrote before it marked its creates: its default provenance text
 * (see provenance.ts). Copies with them were made by this action too.
 */
const EARLIER_DEFAULTS = [
  /^Managed by GitHub Actions: /,
  /^Managed by the AEP PostgreSQL connection GitHub Action$/
]

/** Whether this action made the object: its description carries a mark or the old default text. */
export function madeByThisAction(item: { description?: string }): boolean {
  if (markOf(item.description)) return true
  const d = item.description ?? ''
  return EARLIER_DEFAULTS.some((re) => re.test(d))
}

/** A random run id for marks, 12 hex digits, from the run's random source. */
export function newRunId(random: () => number): string {
  let id = ''
  for (let i = 0; i < 12; i++) id += Math.floor(random() * 16).toString(16)
  return id
}

/**
 * The order every run ranks copies of one name by, the same for every run whatever it lists:
 * copies whose runs gave way (`;yielded`) after all others; then oldest createdAt first (a copy
 * without a readable date after every dated one), then by when the mark says its POST was sent,
 * then by the creating run's mark (an unmarked copy by its id), then by attempt, then by id. The
 * first is the copy racing runs keep; its run never deletes it (a run that gives way marks its
 * copy, and keeps it), so a sandbox can never be left with none.
 */
export function compareCopies(a: Listed & { description?: string }, b: typeof a): number {
  const ya = markOf(a.description)?.yielded === true
  const yb = markOf(b.description)?.yielded === true
  if (ya !== yb) return ya ? 1 : -1
  const at = (i: typeof a) => createdAtOf(i) ?? Number.POSITIVE_INFINITY
  const ta = at(a)
  const tb = at(b)
  if (ta !== tb) return ta < tb ? -1 : 1
  const ma = markOf(a.description)
  const mb = markOf(b.description)
  const sa = ma?.at ?? Number.POSITIVE_INFINITY
  const sb = mb?.at ?? Number.POSITIVE_INFINITY
  if (sa !== sb) return sa < sb ? -1 : 1
  const ka = ma ? `m${ma.run}` : `i${a.id}`
  const kb = mb ? `m${mb.run}` : `i${b.id}`
  if (ka !== kb) return ka < kb ? -1 : 1
  const aa = ma?.attempt ?? 0
  const ab = mb?.attempt ?? 0
  if (aa !== ab) return aa - ab
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** The first copy by compareCopies. */
export function firstCopy<T extends Listed & { description?: string }>(items: T[]): T | undefined {
  return items.reduce<T | undefined>(
    (best, i) => (best === undefined || compareCopies(i, best) < 0 ? i : best),
    undefined
  )
}
