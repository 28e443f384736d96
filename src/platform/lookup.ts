import type { Collection } from './collections.js'
import { ActionError, ApiError } from './errors.js'
import { FLOW_BASE_PATH, issueOf, PageSchema, type FlowApi, type FlowItem } from './flow-api.js'
import {
  classify,
  IncompleteListingError,
  isDeleting,
  isInProgress,
  nameFilter,
  passesFilter,
  specFilter
} from './listing.js'

/*
 * Finding objects by name, in any collection: the filter grammar (listing.ts says which filter a
 * name needs), every page of the listing followed, and a listing that cannot prove what exists (a
 * page limit, a cycle, a malformed page, an item that cannot be classified) refused, so nothing is
 * created on it.
 */

/** Beyond this many pages a listing is taken as broken (20,000 objects at 20 a page). */
export const MAX_PAGES = 1000

/** The name of the spec field in words: "connection spec" or "flow spec". */
const specWords = (c: Collection) => (c.spec.field === 'flowSpec' ? 'flow spec' : 'connection spec')

/**
 * Every object of the collection's kind with exactly this name in the sandbox, from a complete
 * listing (or an IncompleteListingError). The name is filtered server-side (see nameFilter) and
 * matched exactly here. Every object of the collection's spec is read instead when Flow Service
 * refuses a quoted filter, when an escaped name finds nothing, or when `mustInclude` (an object
 * known to exist) is missing from a quoted lookup: the filter then cannot be trusted.
 */
export async function findByName(
  api: FlowApi,
  c: Collection,
  name: string,
  opts: { mustInclude?: string } = {}
): Promise<FlowItem[]> {
  const log = (why: string) =>
    api.o.retry.log(`listing ${c.plural} by name: ${why}; reading every ${c.kind}`)
  const filter = nameFilter(name)
  let found: FlowItem[] | undefined
  try {
    found = await listMatching(api, c, name, filter.property)
  } catch (e) {
    if (filter.kind === 'plain' || !(e instanceof ApiError) || e.status !== 400) throw e
    log(`Flow Service refused the quoted name filter (HTTP 400${e.code ? ` ${e.code}` : ''})`)
  }
  if (found && filter.kind === 'escaped' && found.length === 0)
    log('no match for a name with a quote or backslash (Flow Service does not document escaping)')
  else if (found && filter.kind !== 'plain' && opts.mustInclude)
    if (!found.some((i) => i.id === opts.mustInclude))
      log(`the name filter did not return the ${c.noun} just created`)
    else return found
  else if (found) return found
  return listMatching(api, c, name, specFilter(c))
}

/** Reads every page of a filtered listing; keeps the exact matches for the name. */
async function listMatching(
  api: FlowApi,
  c: Collection,
  name: string,
  property: string
): Promise<FlowItem[]> {
  const label = `listing ${c.plural} by name`
  const incomplete = (reason: string) => new IncompleteListingError(reason, c.plural)
  // By id: an object listed on two pages (the listing moved while it was read) is one.
  const matches = new Map<string, FlowItem>()
  const unclassified = new Map<string, FlowItem>()
  const seen = new Set<string>()
  let url: string | undefined = `${api.base}/${c.path}?property=${property}`
  let resendFilter = false
  for (let page = 1; url; page++) {
    if (seen.has(url)) throw incomplete(`page ${page - 1} links back to a page already read`)
    if (page > MAX_PAGES) throw incomplete(`Flow Service sent more than ${MAX_PAGES} pages`)
    seen.add(url)
    const a = await api.send(label, 'GET', url)
    if (a.kind !== 'response' || a.res.status !== 200) api.fail(label, a)
    const parsed = PageSchema().safeParse(api.json(label, a))
    if (!parsed.success)
      throw incomplete(`page ${page} is not a list of ${c.plural} (${issueOf(parsed.error)})`)
    for (const item of parsed.data.items) {
      const kind = classify(item, name, c)
      if (kind === 'match') matches.set(item.id, item)
      else if (kind === 'unknown') unclassified.set(item.id, item)
    }
    // Whether a continuation link keeps the filter is not documented: once a followed link
    // shows items the filter excludes, the filter is sent again with the following links.
    if (
      page > 1 &&
      !new URL(url).searchParams.has('property') &&
      parsed.data.items.some((i) => !passesFilter(i, property, name, c))
    )
      resendFilter = true
    // The last page has no `next`, or one with href "" (Adobe's own Python client, aepp, stops
    // on ""). An href of only spaces, or one that is not a usable URL, cannot be followed, and
    // the pages after it are unknown.
    const href = parsed.data._links?.next?.href
    if (href !== undefined && href !== '' && href.trim() === '')
      throw incomplete(`page ${page} has a next-page link with a blank href`)
    url = href ? nextUrl(api, c, href, resendFilter ? property : undefined) : undefined
  }
  // A listed item without a name, or with the name but no spec, is read by id.
  for (const item of unclassified.values()) {
    if (matches.has(item.id)) continue
    const lacks = item.name === undefined ? 'a name' : `a ${specWords(c)}`
    const full = await api.getIfExists(c, item.id)
    // An item listed with this name that cannot be read is not proof of absence: gone since
    // the listing, or a server that contradicts itself; either way nothing may be created.
    if (!full) {
      if (item.name === undefined) continue
      throw incomplete(
        `${c.noun} ${item.id} is listed with this name but without a ${specWords(c)}, and reading it by id answers 404`
      )
    }
    const kind = classify(full, name, c)
    if (
      full.id !== item.id ||
      kind === 'unknown' ||
      (item.name !== undefined && full.name !== item.name)
    )
      throw incomplete(
        `${c.noun} ${item.id} is listed without ${lacks}, and reading it by id ${full.id !== item.id || (item.name !== undefined && full.name !== item.name) ? `gives another ${c.noun}` : 'does not tell either'}`
      )
    if (kind === 'match') matches.set(full.id, full)
  }
  return [...matches.values()]
}

/**
 * Resolves a _links.next.href: relative to the Flow Service base path, or to the host. With
 * `property`, the filter is added to a link that does not carry one.
 */
function nextUrl(api: FlowApi, c: Collection, href: string, property?: string): string {
  const origin = new URL(api.base).origin
  let url: string
  if (/^https?:\/\//i.test(href)) {
    // Never send the token to another host.
    if (parseUrl(href)?.origin !== origin)
      throw new ActionError(`listing ${c.plural} failed: the next page points to another host`)
    url = href
  } else if (href.startsWith(FLOW_BASE_PATH)) url = api.o.platformUrl + href
  else url = api.base + (href.startsWith('/') ? href : `/${href}`)
  const parsed = parseUrl(url)
  if (!parsed || parsed.origin !== origin)
    throw new IncompleteListingError('a next-page link is not a usable URL', c.plural)
  if (property && !parsed.searchParams.has('property'))
    url += `${url.includes('?') ? '&' : '?'}property=${property}`
  return url
}

/**
 * The live objects with the name, from a complete listing (see findByName): those being deleted
 * are not counted, those Flow Service is still working on (initializing) are waited for.
 */
export async function findLive(
  flow: FlowApi,
  c: Collection,
  name: string,
  log: (line: string) => void
): Promise<FlowItem[]> {
  let found: FlowItem[]
  try {
    found = await findByName(flow, c, name)
  } catch (e) {
    if (e instanceof IncompleteListingError)
      throw new ActionError(`${e.message}; nothing was created or changed`)
    throw e
  }
  const live: FlowItem[] = []
  for (const item of found) {
    if (isDeleting(item.state)) {
      log(`${c.noun} ${item.id} is being deleted (state ${item.state}): not counted`)
      continue
    }
    const settled = isInProgress(item.state, c) ? await flow.settle(c, item) : item
    if (settled) live.push(settled)
    else log(`${c.noun} ${item.id} went away while this run waited for it: not counted`)
  }
  return live
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}
