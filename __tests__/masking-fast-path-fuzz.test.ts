/**
 * redact() equals redactFully() (and redactOutput() against redactOutputFully()) over a
 * seeded corpus the shipped corpus lacks: compatibility characters whose lower case or NFD is
 * ASCII (Kelvin sign, dotted I, ligatures, title-case digraphs, final sigma), secrets with tabs,
 * vertical whitespace and zero-width characters, mostly-ASCII texts (non-ASCII dropped), case
 * changes, cuts and inserted whitespace, and joins out of range, fractional and NaN.
 */
import { describe, it, expect } from '@jest/globals'
import { Masker, connectionStringSecrets, type RedactOptions } from '../src/platform/masking.js'
import { mulberry32 as prng } from './support/seeded-random.js'

const r = prng(20261207)
const int = (a: number, b: number) => a + Math.floor(r() * (b - a + 1))
const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T

const CS =
  'Server=db.example.com;Database=analytics;Port=5432;UID=aep_reader;Password=Bench pa55;word'
const SECRETS = [
  'k9Z',
  'abcdef',
  'abcdefghijk',
  'Hunter2Hunter2X',
  '\u212Aelvin-secret-42',
  'ST\u0130LL-secret',
  'a b c d e f g h i j k l m',
  'line1-abcdef\nline2-ghijkl',
  '  padded-secret  ',
  'p"a\\s s;w}d&+é%41=3D',
  'PasswordabcΣ',
  'x\u200by\u200bz-invisible-secret',
  'tab\tsecret\tvalue\v\f',
  'ﬁnal-ﬂag-secret',
  'AAAAAAAAAAAAAAAAAAAAAA',
  'aaaaaa',
  'Ǆungle-secret-12',
  'ǅ-title-case-secret'
]
const JUNK = [
  ' ',
  '\n',
  '\r\n',
  '\t',
  '\v',
  '\f',
  '...',
  '. . .',
  ' "',
  '"',
  "'",
  '(',
  ')',
  '[',
  ']',
  ':',
  ';',
  ',',
  '-',
  '_',
  '=',
  '==',
  '=\r',
  '=8F',
  '=9a',
  '%',
  '%2',
  '%zz',
  'x',
  '0',
  '  ',
  '\n\n',
  '…'
]

function setup(): { m: Masker; used: string[] } {
  const m = new Masker({ setSecret: () => undefined })
  const used: string[] = []
  for (let n = int(1, 4); n > 0; n--) {
    const s = pick(SECRETS)
    used.push(s)
    if (r() < 0.2) m.addComposite(s)
    else m.add(s)
  }
  if (r() < 0.3) {
    m.addComposite(CS)
    for (const s of connectionStringSecrets(CS)) m.add(s)
    used.push('Bench pa55;word')
  }
  return { m, used }
}
function variant(s: string): string {
  let t = s
  if (r() < 0.3) t = t.toUpperCase()
  else if (r() < 0.2) t = t.toLowerCase()
  if (r() < 0.3) {
    const a = int(0, t.length)
    t = t.slice(a, int(a, t.length))
  }
  if (r() < 0.3) {
    const i = int(0, t.length)
    t = t.slice(0, i) + pick([' ', '\n', '\t', '\r\n', '  ']) + t.slice(i)
  }
  if (r() < 0.2) t = t.normalize('NFD')
  return t
}
function text(used: string[]): string {
  const parts: string[] = []
  for (let n = int(1, 6); n > 0; n--) {
    parts.push(r() < 0.6 ? variant(pick(used)) : pick(JUNK) + pick(['word', 'abc', 'ok', 'Pass']))
    if (r() < 0.7) parts.push(pick(JUNK))
  }
  const t = parts.join('')
  return r() < 0.7 ? [...t].map((c) => ((c.codePointAt(0) ?? 0) < 128 ? c : '')).join('') : t
}

describe('the fast paths equal the full algorithm', () => {
  it('redact === redactFully and redactOutput === redactOutputFully over 3,000 texts', () => {
    const diffs: string[] = []
    let fast = 0
    for (let i = 0; i < 600; i++) {
      const { m, used } = setup()
      for (let j = 0; j < 5; j++) {
        const t = text(used)
        const opts: RedactOptions[] = [
          {},
          { joins: false },
          { joins: [int(-2, t.length + 2), int(0, t.length)] },
          { joins: [int(0, t.length) + 0.5, Number.NaN, Infinity] }
        ]
        for (const o of opts) {
          if (m.cannotHold(t, o)) fast++
          if (m.redact(t, o) !== m.redactFully(t, o)) diffs.push(JSON.stringify({ used, t, o }))
        }
        if (m.redactOutput(t) !== m.redactOutputFully(t)) diffs.push(JSON.stringify({ used, t }))
      }
    }
    expect(diffs.slice(0, 5)).toEqual([])
    expect(fast).toBeGreaterThan(1000)
  })
})
