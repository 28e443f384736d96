import { describe, it, expect } from '@jest/globals'
import { boundedRegExps } from '../src/connection/bounded-regexp.js'

describe('boundedRegExps: a regular-expression engine that cannot hang the step', () => {
  const catastrophic = '^(([^#])+)+#$'
  const subject = 'Server=db.example.com;Database=orders;Port=5433;UID=etl;Password=pw'

  it('answers like RegExp for sound patterns, and keys each pattern apart', () => {
    // A generous limit: on a loaded machine even a sound pattern's first run can take a while.
    const { engine, unchecked } = boundedRegExps({ timeMs: 10_000 })
    const a = engine('^a+$', '')
    const b = engine('^b+$', '')
    expect([a.test('aaa'), a.test('ab'), b.test('bb')]).toEqual([true, false, true])
    expect(a.toString()).not.toBe(b.toString())
    expect(unchecked.size).toBe(0)
  })

  it('a pattern that runs out of time answers "matches" and is recorded; later tests do not run it', () => {
    const { engine, unchecked } = boundedRegExps({ timeMs: 100 })
    const re = engine(catastrophic, '')
    const started = Date.now()
    expect(re.test(subject)).toBe(true)
    expect(unchecked.get(catastrophic)).toBe('it took too long to evaluate (over 100 ms)')
    for (let i = 0; i < 20; i++) re.test(subject)
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('all tests share one budget: once it is spent, every pattern is unchecked', () => {
    const { engine, unchecked } = boundedRegExps({ timeMs: 250, budgetMs: 600 })
    const started = performance.now()
    for (let i = 0; i < 40; i++)
      expect(engine(`^(([^#]{1,${i + 1}})+)+#$`, '').test(subject)).toBe(true)
    // 40 x 250 ms without the budget; with it, about 600 ms (slack for a loaded machine).
    expect(performance.now() - started).toBeLessThan(3000)
    expect(unchecked.size).toBe(40)
    expect([...unchecked.values()]).toContain('the time for checking patterns (600 ms) ran out')
  })

  it('reads patterns with the u flag, as JSON Schema does; one valid only without it still runs', () => {
    const { engine } = boundedRegExps({ timeMs: 10_000 })
    expect(engine('^[\\p{L}\\p{N}.-]+$', '').test('db.example.com')).toBe(true)
    expect(engine('^[\\p{L}\\p{N}.-]+$', 'u').test('dböx.example')).toBe(true)
    expect(engine('^.$', '').test('😀')).toBe(true)
    // `\_` is no escape with u; without it, it is `_`.
    expect(engine('^[\\w\\_]+$', '').test('a_b')).toBe(true)
    expect(() => engine('[', '')).toThrow(SyntaxError)
  })

  it('a pattern longer than the limit is not compiled; an invalid one throws as RegExp does', () => {
    const { engine, unchecked } = boundedRegExps({ maxLength: 10 })
    expect(engine('(((((((((((', '').test('x')).toBe(true)
    expect(unchecked.get('(((((((((((')).toBe('it is longer than 10 characters')
    expect(() => engine('(', '')).toThrow(SyntaxError)
  })
})
