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

  it('a pattern longer than the limit is not compiled; an invalid one throws as RegExp does', () => {
    const { engine, unchecked } = boundedRegExps({ maxLength: 10 })
    expect(engine('(((((((((((', '').test('x')).toBe(true)
    expect(unchecked.get('(((((((((((')).toBe('it is longer than 10 characters')
    expect(() => engine('(', '')).toThrow(SyntaxError)
  })
})
