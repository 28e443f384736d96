import { describe, it, expect, beforeAll } from '@jest/globals'
import { decodeHTML } from 'entities/decode'
import {
  ASCII_WRAPPING,
  DECODABLE,
  DECODERS,
  decodeHtmlEntities,
  loadHtmlDecoder,
  normalise,
  WRAPPING
} from '../src/platform/masking.js'

/*
 * The decoders held to the contract DECODABLE states, over seeded random text: ASCII text it does
 * not match has no decoded views, so redacting it needs no decoding.
 */

/** mulberry32: a small seeded PRNG, so every run sees the same corpus. */
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Random = () => number
const int = (r: Random, min: number, max: number) => min + Math.floor(r() * (max - min + 1))
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)] as T

const bytesOf = (s: string) => [...Buffer.from(s, 'utf8')]
const hex2 = (b: number) => b.toString(16).padStart(2, '0')
const cp = (c: string) => c.codePointAt(0) ?? 0

const TOKENS = [
  '=',
  '%',
  '&',
  '\\',
  '#',
  ';',
  'x',
  'u',
  'U',
  'amp',
  'lt',
  'quot',
  'copy',
  'nbsp',
  '\n',
  '\r',
  '\r\n',
  ' ',
  '\t',
  ...'0123456789abcdefABCDEF',
  ...'ghxyzGHXYZ',
  ...'.,:!?()[]{}<>"\'/-_+*@$^|~`'
]
/** Characters whose escapes the decoders undo: ASCII, 2-, 3- and 4-byte UTF-8. */
const ESCAPED = ['A', 'z', '0', ' ', '\n', 'ä', 'é', '€', '\u{1f600}', '\u00ad']

/** An escape of a random character or byte, as one decoder or another undoes it. */
function escape(r: Random): string {
  const c = pick(r, ESCAPED)
  const byte = hex2(int(r, 0, 255))
  return pick(r, [
    () =>
      bytesOf(c)
        .map((b) => `=${hex2(b)}`)
        .join(''),
    () =>
      bytesOf(c)
        .map((b) => `%${hex2(b)}`)
        .join(''),
    () =>
      bytesOf(c)
        .map((b) => `\\x${hex2(b)}`)
        .join(''),
    () => `=${byte}`,
    () => `%${byte}`,
    () => `\\x${byte}`,
    () => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    () => `\\U${cp(c).toString(16).padStart(8, '0')}`,
    () => `&#${cp(c)};`,
    () => `&#x${cp(c).toString(16)}`,
    () =>
      `&${pick(r, ['amp', 'lt', 'gt', 'quot', 'apos', 'copy', 'nbsp', 'not'])}${pick(r, [';', ''])}`,
    () => `=${pick(r, ['\n', '\r\n'])}`
  ])()
}

/** Random ASCII over an alphabet chosen to set decoders off: escapes, references, hex digits. */
function hostile(r: Random): string {
  let s = ''
  for (let n = int(r, 1, 16); n > 0; n--) s += r() < 0.2 ? escape(r) : pick(r, TOKENS)
  return s
}

describe('the decoders act only where DECODABLE matches', () => {
  beforeAll(async () => {
    await loadHtmlDecoder()
  })

  it('every decoder, the full HTML decoder and normalise return such text as it is', () => {
    const r = prng(0xdec0de)
    let checked = 0
    for (let n = 0; n < 30000; n++) {
      const s = hostile(r)
      if (DECODABLE.test(s)) continue
      checked++
      for (const decode of [...DECODERS, decodeHtmlEntities, decodeHTML, normalise])
        if (decode(s) !== s) throw new Error(`${decode.name} changes ${JSON.stringify(s)}`)
    }
    expect(checked).toBeGreaterThan(5000)
  })

  it('WRAPPING matches exactly ASCII_WRAPPING among ASCII characters', () => {
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c)
      expect([c, WRAPPING.test(ch)]).toEqual([c, ASCII_WRAPPING.test(ch)])
    }
  })
})
