import { describe, it, expect } from '@jest/globals'
import { CONNECTIONS, POSTGRES_SPEC_ID } from '../src/platform/collections.js'
import {
  alive,
  classify as classifyIn,
  IncompleteListingError,
  isDeleting,
  isInProgress as isInProgressIn,
  isUpdatable as isUpdatableIn,
  keeperOf,
  strictlyOldest,
  nameFilter,
  passesFilter as passesFilterIn,
  specFilter,
  type Listed
} from '../src/platform/listing.js'

// Base connections: the collection these rules were first written for.
const classify = (item: Listed, name: string) => classifyIn(item, name, CONNECTIONS)
const passesFilter = (item: Listed, property: string, name: string) =>
  passesFilterIn(item, property, name, CONNECTIONS)
const isInProgress = (state: string | undefined) => isInProgressIn(state, CONNECTIONS)
const isUpdatable = (state: string | undefined) => isUpdatableIn(state, CONNECTIONS)
const SPEC_FILTER = specFilter(CONNECTIONS)

const OTHER_SPEC = '00000000-0000-0000-0000-000000000000'
const pg = { id: POSTGRES_SPEC_ID }

describe('nameFilter', () => {
  it.each([
    ['orders-db', 'plain', 'name==orders-db'],
    ['in side', 'plain', 'name==in%20side'],
    ['Orders DB (prod)', 'plain', 'name==Orders%20DB%20(prod)'],
    ['a/b&c#d', 'plain', 'name==a%2Fb%26c%23d'],
    ['a,b', 'quoted', 'name==%22a%2Cb%22'],
    [' lead', 'quoted', 'name==%22%20lead%22'],
    ['trail ', 'quoted', 'name==%22trail%20%22'],
    ['a==b', 'quoted', 'name==%22a%3D%3Db%22'],
    ['a!b', 'quoted', 'name==%22a!b%22'],
    ['a<b>c', 'quoted', 'name==%22a%3Cb%3Ec%22'],
    ['a~b', 'quoted', 'name==%22a~b%22'],
    ['say "hi"', 'escaped', 'name==%22say%20%5C%22hi%5C%22%22'],
    ['back\\slash', 'escaped', 'name==%22back%5C%5Cslash%22']
  ])('%j is looked up %s: %s', (name, kind, property) => {
    expect(nameFilter(name)).toEqual({ kind, property })
  })
})

describe('classify', () => {
  it('matches the exact name with the PostgreSQL spec only', () => {
    expect(classify({ id: '1', name: 'n', connectionSpec: pg }, 'n')).toBe('match')
    expect(classify({ id: '1', name: 'N', connectionSpec: pg }, 'n')).toBe('other')
    expect(classify({ id: '1', name: 'n ', connectionSpec: pg }, 'n')).toBe('other')
    expect(classify({ id: '1', name: 'n', connectionSpec: { id: OTHER_SPEC } }, 'n')).toBe('other')
  })

  it('cannot tell without a name, or with the name but no spec', () => {
    expect(classify({ id: '1' }, 'n')).toBe('unknown')
    expect(classify({ id: '1', name: 'n' }, 'n')).toBe('unknown')
    expect(classify({ id: '1', name: 'n', connectionSpec: {} }, 'n')).toBe('unknown')
    // Another name: not ours, whatever its spec.
    expect(classify({ id: '1', name: 'x' }, 'n')).toBe('other')
  })
})

describe('passesFilter', () => {
  it('tells whether a page kept the name or spec filter', () => {
    const prop = nameFilter('n').property
    expect(passesFilter({ id: '1', name: 'n' }, prop, 'n')).toBe(true)
    expect(passesFilter({ id: '1', name: 'x' }, prop, 'n')).toBe(false)
    expect(passesFilter({ id: '1' }, prop, 'n')).toBe(true)
    expect(passesFilter({ id: '1', connectionSpec: pg }, SPEC_FILTER, 'n')).toBe(true)
    expect(passesFilter({ id: '1', connectionSpec: { id: OTHER_SPEC } }, SPEC_FILTER, 'n')).toBe(
      false
    )
  })
})

describe('states', () => {
  it.each([
    ['enabled', false, false, true],
    ['disabled', false, false, true],
    [undefined, false, false, true],
    ['initializing', false, true, true],
    [' Initializing ', false, true, true],
    ['delete-finalizing', true, false, false],
    ['DELETE-FINALIZING', true, false, false],
    // Undocumented states are neither guessed as deleting nor as in progress: they count as
    // live, and an update refused in them (1416) waits for an updatable one.
    ['updating', false, false, false],
    ['undeleted', false, false, false],
    ['pending', false, false, false],
    ['deleting', false, false, false]
  ])('%s: deleting %s, in progress %s, updatable %s', (state, deleting, inProgress, updatable) => {
    expect(isDeleting(state)).toBe(deleting)
    expect(isInProgress(state)).toBe(inProgress)
    expect(isUpdatable(state)).toBe(updatable)
  })

  it('alive drops the connections on their way out', () => {
    expect(
      alive([
        { id: 'a', state: 'enabled' },
        { id: 'b', state: 'delete-finalizing' },
        { id: 'c' }
      ]).map((i) => i.id)
    ).toEqual(['a', 'c'])
  })
})

describe('keeperOf', () => {
  it('keeps the oldest by createdAt, whatever the order it is listed in', () => {
    const items = [
      { id: 'b', createdAt: 2000 },
      { id: 'a', createdAt: 3000 },
      { id: 'c', createdAt: 1000 }
    ]
    expect(keeperOf(items).id).toBe('c')
    expect(keeperOf([...items].reverse()).id).toBe('c')
  })

  it('breaks ties by id; a missing or odd createdAt sorts last', () => {
    expect(
      keeperOf([
        { id: 'b', createdAt: 1000 },
        { id: 'a', createdAt: 1000 }
      ]).id
    ).toBe('a')
    expect(keeperOf([{ id: 'a' }, { id: 'b', createdAt: '1500' }]).id).toBe('b')
    expect(keeperOf([{ id: 'b', createdAt: 'soon' }, { id: 'a' }]).id).toBe('a')
  })

  it('reads ISO dates and numeric strings as well as epoch ms', () => {
    const items = [
      { id: 'a', createdAt: '2026-12-04T10:00:01.000Z' },
      { id: 'b', createdAt: Date.parse('2026-12-04T10:00:00.500Z') },
      { id: 'c', createdAt: ` ${Date.parse('2026-12-04T10:00:00.900Z')} ` }
    ]
    expect(keeperOf(items).id).toBe('b')
    expect(strictlyOldest(keeperOf(items), items)).toBe(true)
  })

  it('strictlyOldest is false on a tie or a missing date: the order cannot be told', () => {
    expect(
      strictlyOldest({ id: 'a', createdAt: 5 }, [
        { id: 'a', createdAt: 5 },
        { id: 'b', createdAt: 5 }
      ])
    ).toBe(false)
    expect(
      strictlyOldest({ id: 'a', createdAt: 5 }, [{ id: 'a', createdAt: 5 }, { id: 'b' }])
    ).toBe(false)
    expect(strictlyOldest({ id: 'a' }, [{ id: 'a' }])).toBe(false)
  })

  it('has nothing to keep in an empty list', () => {
    expect(() => keeperOf([])).toThrow('internal: no object to keep')
  })
})

it('IncompleteListingError says the listing was incomplete and why', () => {
  const e = new IncompleteListingError('page 2 links back to a page already read')
  expect(e.message).toBe(
    'listing connections by name was incomplete: page 2 links back to a page already read'
  )
  expect(e.reason).toBe('page 2 links back to a page already read')
})
