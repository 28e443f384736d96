import { describe, it, expect } from '@jest/globals'
import {
  compareCopies,
  firstCopy,
  keepingMark,
  madeByThisAction,
  markOf,
  markText,
  newRunId,
  stripMark,
  adoptedDescription,
  withMark,
  yieldedDescription
} from '../src/platform/marker.js'

const m = { run: 'a1b2c3d4e5f6', attempt: 2 }

describe('the mark a create leaves in the description', () => {
  it('is appended to the description, and read back', () => {
    expect(markText(m)).toBe('[aep-gha:a1b2c3d4e5f6.2]')
    expect(withMark('Managed by CI', m)).toBe('Managed by CI [aep-gha:a1b2c3d4e5f6.2]')
    expect(withMark(undefined, m)).toBe('[aep-gha:a1b2c3d4e5f6.2]')
    expect(withMark('', m)).toBe('[aep-gha:a1b2c3d4e5f6.2]')
    expect(markOf('Managed by CI [aep-gha:a1b2c3d4e5f6.2]')).toEqual(m)
    expect(markOf('Managed by CI')).toBeUndefined()
    expect(markOf(undefined)).toBeUndefined()
    // Only at the end: text that merely quotes a mark is not one.
    expect(markOf('[aep-gha:a1b2c3d4e5f6.2] and more')).toBeUndefined()
  })

  it('says when its run gave way, and keeps saying it', () => {
    const d = 'Managed by CI [aep-gha:a1b2c3d4e5f6.2.ab12]'
    expect(yieldedDescription(d)).toBe('Managed by CI [aep-gha:a1b2c3d4e5f6.2.ab12;yielded]')
    expect(markOf(yieldedDescription(d))).toEqual({
      run: 'a1b2c3d4e5f6',
      attempt: 2,
      at: parseInt('ab12', 36),
      yielded: true
    })
    expect(stripMark(yieldedDescription(d))).toBe('Managed by CI')
    expect(madeByThisAction({ description: yieldedDescription(d) })).toBe(true)
    // Already given way, or no mark at all: nothing to write.
    expect(yieldedDescription(yieldedDescription(d))).toBeUndefined()
    expect(yieldedDescription('made by hand')).toBeUndefined()
    expect(yieldedDescription(undefined)).toBeUndefined()
    // An update keeps the mark as it is.
    expect(keepingMark('new', yieldedDescription(d))).toBe(
      'new [aep-gha:a1b2c3d4e5f6.2.ab12;yielded]'
    )
  })

  it('says when a later run adopted the copy, with or without giving way', () => {
    const d = 'x [aep-gha:a1b2c3d4e5f6.2.ab12]'
    expect(adoptedDescription(undefined, d)).toBe('x [aep-gha:a1b2c3d4e5f6.2.ab12;adopted]')
    expect(adoptedDescription('y', d)).toBe('y [aep-gha:a1b2c3d4e5f6.2.ab12;adopted]')
    // A copy a run adopts no longer gives way: that run names it now.
    expect(adoptedDescription(undefined, yieldedDescription(d))).toBe(
      'x [aep-gha:a1b2c3d4e5f6.2.ab12;adopted]'
    )
    const both = 'x [aep-gha:a1b2c3d4e5f6.2.ab12;yielded;adopted]'
    expect(markOf(both)).toMatchObject({ yielded: true, adopted: true })
    expect(adoptedDescription(undefined, both)).toBe('x [aep-gha:a1b2c3d4e5f6.2.ab12;adopted]')
    expect(stripMark(both)).toBe('x')
    // Nothing to write: adopted already and the same text; or no mark and the same text.
    expect(adoptedDescription('x', 'x [aep-gha:a1b2c3d4e5f6.2.ab12;adopted]')).toBeUndefined()
    expect(adoptedDescription('x', 'x')).toBeUndefined()
    expect(adoptedDescription(undefined, undefined)).toBeUndefined()
    expect(adoptedDescription('new', 'x')).toBe('new')
    // Not a mark: an unknown flag.
    expect(markOf('x [aep-gha:a1b2c3d4e5f6.2.ab12;other]')).toBeUndefined()
  })

  it('reads a server text of 200,000 spaces in one pass (quadratic before: minutes)', () => {
    const spaces = ' '.repeat(200_000)
    expect(markOf(`${spaces}x`)).toBeUndefined()
    expect(markOf(`x${spaces}[aep-gha:a1b2c3d4e5f6.2]${spaces}`)).toEqual(m)
    expect(stripMark(`x${spaces}[aep-gha:a1b2c3d4e5f6.2]${spaces}`)).toBe('x')
    expect(stripMark(`x${spaces}`)).toBe(`x${spaces}`)
  })

  it('replaces an earlier mark instead of stacking marks', () => {
    expect(withMark('x [aep-gha:ffffffffffff.1]', m)).toBe('x [aep-gha:a1b2c3d4e5f6.2]')
  })

  it('is not part of the description a user compares', () => {
    expect(stripMark('Managed by CI [aep-gha:a1b2c3d4e5f6.2]')).toBe('Managed by CI')
    expect(stripMark('Managed by CI')).toBe('Managed by CI')
    expect(stripMark(undefined)).toBeUndefined()
  })

  it('stays when an update changes the description', () => {
    expect(keepingMark('new text', 'old text [aep-gha:a1b2c3d4e5f6.2]')).toBe(
      'new text [aep-gha:a1b2c3d4e5f6.2]'
    )
    expect(keepingMark('new text', 'old text')).toBe('new text')
  })

  it('tells copies this action made, also from the default text earlier versions wrote', () => {
    expect(madeByThisAction({ description: 'x [aep-gha:a1b2c3d4e5f6.1]' })).toBe(true)
    expect(madeByThisAction({ description: 'Managed by GitHub Actions: acme/repo, run 1' })).toBe(
      true
    )
    expect(
      madeByThisAction({ description: 'Managed by the AEP PostgreSQL connection GitHub Action' })
    ).toBe(true)
    expect(madeByThisAction({ description: 'made by hand' })).toBe(false)
    expect(madeByThisAction({})).toBe(false)
  })

  it('run ids are 12 hex digits from the run’s random source', () => {
    let i = 0
    const seq = [0, 0.999, 0.5, 0.0625]
    expect(newRunId(() => seq[i++ % seq.length] ?? 0)).toBe('0f810f810f81')
  })
})

describe('compareCopies: the order every run ranks copies by', () => {
  const copy = (id: string, createdAt: number | undefined, mark?: string) => ({
    id,
    ...(createdAt === undefined ? {} : { createdAt }),
    ...(mark ? { description: `d ${mark}` } : {})
  })

  it('a copy whose run gave way ranks after every other, whatever its date', () => {
    const gaveWay = copy('a', 1, '[aep-gha:aaaaaaaaaaaa.1.1;yielded]')
    expect(firstCopy([gaveWay, copy('b', 9, '[aep-gha:bbbbbbbbbbbb.1]')])?.id).toBe('b')
    expect(firstCopy([gaveWay, copy('c', undefined)])?.id).toBe('c')
    // Among copies that all gave way, the usual order.
    expect(firstCopy([copy('d', 5, '[aep-gha:dddddddddddd.1;yielded]'), gaveWay])?.id).toBe('a')
  })

  it('oldest date first; undated after dated; then mark, attempt, id', () => {
    expect(firstCopy([copy('b', 2), copy('a', 3)])?.id).toBe('b')
    expect(firstCopy([copy('a', undefined), copy('b', 9)])?.id).toBe('b')
    expect(
      firstCopy([
        copy('x', 5, '[aep-gha:bbbbbbbbbbbb.1]'),
        copy('y', 5, '[aep-gha:aaaaaaaaaaaa.1]')
      ])?.id
    ).toBe('y')
    expect(
      firstCopy([
        copy('x', 5, '[aep-gha:aaaaaaaaaaaa.2]'),
        copy('y', 5, '[aep-gha:aaaaaaaaaaaa.1]')
      ])?.id
    ).toBe('y')
    expect(firstCopy([copy('b', 5), copy('a', 5)])?.id).toBe('a')
    expect(firstCopy([])).toBeUndefined()
  })

  it('is a total order: the same first copy whatever order the listing shows them in', () => {
    // Random sets of copies: dates missing, tied or distinct; marked or not.
    let seed = 7
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let trial = 0; trial < 300; trial++) {
      const n = 2 + Math.floor(rnd() * 5)
      const copies = Array.from({ length: n }, (_, i) => {
        const date = rnd() < 0.3 ? undefined : Math.floor(rnd() * 3)
        const mark =
          rnd() < 0.7
            ? `[aep-gha:${['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc'][Math.floor(rnd() * 3)]}.${1 + Math.floor(rnd() * 2)}]`
            : undefined
        return copy(`id${i}`, date, mark)
      })
      const first = firstCopy(copies)?.id
      for (let k = 0; k < 5; k++) {
        const shuffled = [...copies].sort(() => rnd() - 0.5)
        expect(firstCopy(shuffled)?.id).toBe(first)
      }
      // Antisymmetric and transitive on this set.
      for (const a of copies)
        for (const b of copies) {
          expect(Math.sign(compareCopies(a, b)) + Math.sign(compareCopies(b, a))).toBe(0)
          for (const c of copies)
            if (compareCopies(a, b) < 0 && compareCopies(b, c) < 0)
              expect(compareCopies(a, c)).toBeLessThan(0)
        }
    }
  })
})
