import { describe, it, expect, beforeAll } from '@jest/globals'
import { decodeHTML } from 'entities/decode'
import {
  ASCII_WRAPPING,
  connectionStringSecrets,
  DECODABLE,
  DECODERS,
  decodeHtmlEntities,
  loadHtmlDecoder,
  Masker,
  normalise,
  WINDOW,
  WRAPPING,
  type RedactOptions
} from '../src/platform/masking.js'
import { mulberry32 as prng } from './support/seeded-random.js'

/*
 * Masker.redact() returns text unchanged without running the full algorithm when the text cannot
 * hold a secret. These tests hold it to the full algorithm (redactFully) over a seeded random
 * corpus of secrets' pieces, encodings, wrappings and ordinary log lines, and hold the decoders
 * to the contract the shortcut relies on (DECODABLE).
 */

type Random = () => number
const int = (r: Random, min: number, max: number) => min + Math.floor(r() * (max - min + 1))
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)] as T

const CONNECTION_STRING =
  'Server=db.example.com;Database=analytics;Port=5432;UID=aep_reader;Password=Bench-pa55word'
const TOKEN =
  'eyJhbGciOiJSUzI1NiIsIng1dSI6Imltc19uYTEta2V5LWF0LTEuY2VyIn0.eyJpZCI6IjE2OTk5NzQ2ODA4NTZfN2Q5'

/** Masker set-ups: single secrets (add) and composite values (addComposite). */
const SETUPS: Array<{ name: string; singles: string[]; composites: string[] }> = [
  { name: 'a 3-character secret', singles: ['k9Z'], composites: [] },
  {
    name: 'secrets with whitespace and line breaks',
    singles: ['correct horse  battery staple', 'line-one-KEY\nline-two-KEY\r\n  end-of-key'],
    composites: []
  },
  {
    name: 'non-ASCII secrets',
    singles: ['pä55wörd-Ünïcode', 'İstanbul-ßecret-Σ42', 'naïve\u00a0café-crème'],
    composites: []
  },
  {
    name: 'a connection string',
    singles: ['Bench-pa55word', ...connectionStringSecrets(CONNECTION_STRING)],
    composites: [CONNECTION_STRING, 'client-id-1234:s3cr3t-Client_Value']
  },
  { name: 'a long token', singles: [TOKEN], composites: [] },
  {
    name: 'all of them, and a secret full of escapes',
    singles: [
      'k9Z',
      'correct horse  battery staple',
      'pä55wörd-Ünïcode',
      TOKEN,
      'p"a\\s s;w}d&+é%41=3D'
    ],
    composites: [CONNECTION_STRING]
  }
]

const WORDS = [
  'connection',
  'sandbox',
  'dev',
  'prod',
  'lookup',
  'created',
  'updated',
  'POST',
  'GET',
  'PATCH',
  'https://platform.adobe.io/data/foundation/flowservice/connections',
  'bench-postgres',
  'PostgreSQL',
  'etag',
  '"3f00a1b2-0000-0200-0000-65f1c0de0000"',
  '(201, 143 ms)',
  'in 143 ms',
  'id',
  '3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b',
  'ok',
  'retrying',
  'in',
  '2s',
  'the',
  'step',
  'timeout-seconds',
  'limit=10',
  '50%',
  '->'
]

/** Words that set a decoder off, or are pieces of the set-ups' secrets. */
const TRICKY = [
  'Password',
  'Server=db.example.com',
  'a&b',
  '&amp;',
  'C:\\temp',
  '%20',
  '::warning',
  '##[group]',
  'KEY',
  'line',
  'secret',
  'word',
  'pass',
  'Bench',
  'staple',
  'horse',
  'eyJhbGciOi',
  'k9',
  'Z',
  'café'
]

/** A log line: ordinary words, and tricky ones too unless `ordinary`. */
function plainLine(r: Random, ordinary = false): string {
  const words: string[] = []
  for (let n = int(r, 1, 12); n > 0; n--)
    words.push(pick(r, !ordinary && r() < 0.3 ? TRICKY : WORDS))
  return words.join(pick(r, [' ', ' ', ', ', ': ', '\t']))
}

const bytesOf = (s: string) => [...Buffer.from(s, 'utf8')]
const hex2 = (b: number) => b.toString(16).padStart(2, '0')
const cp = (c: string) => c.codePointAt(0) ?? 0
const swapCase = (s: string) =>
  [...s].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('')

/** The encodings a server may apply to what it echoes. */
const ENCODINGS: Array<(s: string) => string> = [
  (s) => JSON.stringify(s).slice(1, -1),
  (s) => [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  (s) => encodeURIComponent(s),
  (s) =>
    bytesOf(s)
      .map((b) => `%${hex2(b).toUpperCase()}`)
      .join(''),
  (s) =>
    s.replace(
      /[&<>"']/g,
      (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot' }[c] ?? 'apos'};`
    ),
  (s) => [...s].map((c) => `&#${cp(c)};`).join(''),
  (s) => [...s].map((c) => `&#x${cp(c).toString(16)};`).join(''),
  (s) =>
    bytesOf(s)
      .map((b) => `=${hex2(b).toUpperCase()}`)
      .join(''),
  (s) => s.replace(/.{1,5}/gs, '$&=\n'),
  (s) => s.replace(/.{1,4}/gs, '$&=\r\n'),
  (s) =>
    bytesOf(s)
      .map((b) => `\\x${hex2(b)}`)
      .join(''),
  (s) => [...s].map((c) => `\\U${cp(c).toString(16).padStart(8, '0')}`).join(''),
  (s) => Buffer.from(s, 'utf8').toString('base64'),
  (s) => Buffer.from(s, 'utf8').toString('latin1'),
  (s) => s.normalize('NFD'),
  (s) => s.toUpperCase()
]

/** What a server may wrap a secret with: spaces, line breaks, invisible characters. */
const WRAPS = [' ', '\n', '\r\n', '\t', '\u00ad', '\u200b', '\u2060', '  ']

function wrap(r: Random, s: string): string {
  const w = pick(r, WRAPS)
  const every = int(r, 1, 6)
  let out = ''
  for (let i = 0; i < s.length; i += every) out += (i ? w : '') + s.slice(i, i + every)
  return out
}

/**
 * A secret as a server may echo it (whole or in pieces, case-changed, encoded, wrapped), or
 * nearly.
 */
function echo(r: Random, secret: string): string {
  const len = secret.length
  const size = pick(r, [len, int(r, 6, 11), WINDOW, int(r, 12, 20), int(r, 3, 5)])
  const from = pick(r, [0, Math.max(0, len - size), int(r, 0, Math.max(0, len - size))])
  let s = secret.slice(from, from + size)
  if (r() < 0.2) s = pick(r, [s.toUpperCase(), s.toLowerCase(), swapCase(s)])
  // A near miss: one character changed, or the piece inside a word.
  if (r() < 0.15) {
    const at = int(r, 0, Math.max(0, s.length - 1))
    s = `${s.slice(0, at)}${pick(r, ['q', '_', '.', '7'])}${s.slice(at + 1)}`
  } else if (r() < 0.1) s = `x${s}x`
  for (let n = pick(r, [0, 0, 1, 1, 2]); n > 0; n--) s = pick(r, ENCODINGS)(s)
  if (r() < 0.25) s = wrap(r, s)
  return s
}

const SEPARATORS = [' ', ': ', '\n', '...', '…', ', ', '"', '', ' - ', '\r\n', '. ']

/**
 * A text: ordinary words and echoes of the set-up's secrets, joined or cut here and there; and
 * where its parts meet (as output.ts passes joins).
 */
function text(r: Random, secrets: readonly string[]): { t: string; meets: number[] } {
  let t = ''
  const meets: number[] = []
  for (let n = int(r, 1, 3); n > 0; n--) {
    if (t) {
      meets.push(t.length)
      t += pick(r, SEPARATORS)
      meets.push(t.length)
    }
    t += r() < 0.5 ? plainLine(r) : echo(r, pick(r, secrets))
  }
  if (r() < 0.1) t = `${pick(r, ['"', "'", '(', '...'])}${t}${pick(r, ['"', '.', '…', ')'])}`
  return { t, meets }
}

/**
 * No joins but the text's own ({} is { joins: [] }), no pieces at all, and joins where parts
 * meet or anywhere.
 */
function optionsFor(r: Random, t: string, meets: readonly number[] = []): RedactOptions[] {
  const joins = meets.filter(() => r() < 0.7)
  for (let n = int(r, 0, 2); n > 0; n--) joins.push(int(r, 0, t.length))
  return [{}, { joins: false }, { joins }]
}

function maskerFor(setup: (typeof SETUPS)[number]): Masker {
  const masker = new Masker({ setSecret: () => undefined })
  for (const c of setup.composites) masker.addComposite(c)
  for (const s of setup.singles) masker.add(s)
  return masker
}

const TEXTS = 300
const PLAIN = 200

describe('redact() with its shortcut is redact() without it', () => {
  it.each(SETUPS.map((s, i) => [s.name, i] as const))('%s', (_, i) => {
    const setup = SETUPS[i] as (typeof SETUPS)[number]
    const masker = maskerFor(setup)
    const secrets = [...setup.singles, ...setup.composites]
    const r = prng(0x5eed + i)
    /** Compares, and says whether the full algorithm redacted and whether the shortcut was taken. */
    const check = (t: string, opts: RedactOptions) => {
      const full = masker.redactFully(t, opts)
      if (masker.redact(t, opts) !== full)
        throw new Error(`redact differs for ${JSON.stringify(t)} ${JSON.stringify(opts)}`)
      return { redacted: full !== t, short: masker.cannotHold(t, opts) }
    }
    let redacted = 0
    let shortcuts = 0
    for (let n = 0; n < TEXTS; n++) {
      const { t, meets } = text(r, secrets)
      for (const opts of optionsFor(r, t, meets)) {
        const c = check(t, opts)
        if (c.redacted) redacted++
        if (c.short) shortcuts++
      }
      if (masker.redactOutput(t) !== masker.redactOutputFully(t))
        throw new Error(`redactOutput differs for ${JSON.stringify(t)}`)
    }
    // The corpus shows secrets, and near misses that take the shortcut.
    expect(redacted).toBeGreaterThan(TEXTS / 2)
    expect(shortcuts).toBeGreaterThan(TEXTS / 4)

    // Ordinary lines mostly take the shortcut.
    let short = 0
    for (let n = 0; n < PLAIN; n++) {
      const line = plainLine(r, true)
      for (const opts of optionsFor(r, line)) if (check(line, opts).short) short++
    }
    expect(short).toBeGreaterThan(PLAIN)
  })

  it('takes the shortcut only where nothing would be redacted', () => {
    const masker = maskerFor(SETUPS[5] as (typeof SETUPS)[number])
    expect(masker.cannotHold('Looking up connection bench-postgres in sandbox dev')).toBe(true)
    // A form, a window in another case, a piece at the end, a wrapped piece, an encoded one.
    for (const t of [
      'k9Z',
      'token EYJHBGCIOIJSUZI1 here',
      'ends with staple',
      'correct  horse\nbattery staple',
      'b a t t e r y',
      'p%C3%A455w',
      'naïve'
    ])
      expect(masker.cannotHold(t)).toBe(false)
    // A piece counts only at a join.
    expect(masker.cannotHold('ends with staple', { joins: false })).toBe(true)
    expect(masker.redactFully('ends with staple', { joins: false })).toBe('ends with staple')
    expect(masker.cannotHold('the staple of it')).toBe(true)
    expect(masker.cannotHold('the staple of it', { joins: [4] })).toBe(false)
    expect(masker.redactFully('the staple of it', { joins: [4] })).toBe('the *** of it')
  })

  it('redactOutput() takes no shortcut for non-ASCII values', () => {
    // İ lower-cases to two characters: a window holding it is found only as ranges() looks.
    const masker = maskerFor(SETUPS[2] as (typeof SETUPS)[number])
    const value = 'x İstanbul-ßec x'
    expect(masker.redactOutputFully(value)).not.toBe(value)
    expect(masker.redactOutput(value)).toBe(masker.redactOutputFully(value))
  })
})

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
