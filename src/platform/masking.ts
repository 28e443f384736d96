import { quoteValue } from './connection-string.js'

/** What the masker needs from @actions/core. */
export interface SecretSink {
  setSecret(secret: string): void
}

/**
 * Derived forms shorter than this (one line of a multi-line secret, the whitespace-collapsed
 * form) are not registered on their own: a short line such as `{` or `end` would mask ordinary
 * words all over the log. The secret as given is always registered, whatever its length.
 */
export const MIN_DERIVED_LENGTH = 8

/**
 * A run of this many characters of one secret is redacted wherever it appears, so a server that
 * cut a secret short in its message cannot show its start either.
 */
export const WINDOW = 12

/**
 * The shortest piece of a secret redacted where text is joined or cut: at the start and end of a
 * text (a field of a server's body, a printed line), at a line break and at an ellipsis. A server
 * that echoes a secret in pieces shorter than WINDOW (split between two fields or lines, around
 * an ellipsis, truncated) leaves them there. Why 6: what may remain on each side of one join is
 * then at most 5 characters, and 5 + 5 < WINDOW, so no WINDOW-long run of the secret can be put
 * back together across a join; a shorter limit would redact ordinary words at line ends that
 * happen to occur in a secret. The lines of a multi-line secret are registered from this length
 * too, as they are such pieces.
 */
export const MIN_FRAGMENT = 6

const LINE_BREAK = /\r\n|\r|\n|\u2028|\u2029|\u0085/

/** Runs of whitespace squeezed to one space, as a server that reflows its message writes them. */
const collapse = (s: string) => s.replace(/\s+/g, ' ').trim()

/**
 * Every printable form a secret can take in this action or in a server's echo of it: as given,
 * trimmed, JSON-escaped (request bodies, error texts), URL-encoded the JS way and the form-encoded
 * way (IMS token request, postgres-url), brace-quoted (inside a connection string), base64; and,
 * for a secret with line breaks or runs of whitespace, each line and the whitespace-collapsed
 * form (at least MIN_FRAGMENT long). The runner masks each log line on its own and only exact
 * registered strings (plus a few encodings of them), so each form must be registered.
 */
export function derivedForms(secret: string): string[] {
  if (!secret) return []
  const forms = new Set<string>([secret])
  const trimmed = secret.trim()
  if (trimmed) forms.add(trimmed)
  forms.add(JSON.stringify(secret).slice(1, -1))
  forms.add(encodeURIComponent(secret))
  forms.add(new URLSearchParams({ v: secret }).toString().slice(2))
  forms.add(quoteValue(secret))
  forms.add(JSON.stringify(quoteValue(secret)).slice(1, -1))
  for (const b64 of base64Forms(secret)) forms.add(b64)
  // Escaped for a regular expression, as a served spec's pattern may quote it (with and without
  // `-` and `/` escaped, as escapers differ).
  forms.add(secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  forms.add(secret.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))
  // Accents stripped, as a server that folds to ASCII writes it.
  const folded = foldAccents(secret)
  if (folded !== secret && folded.length >= MIN_DERIVED_LENGTH) forms.add(folded)
  const lines = LINE_BREAK.test(secret) ? secret.split(LINE_BREAK).map((l) => l.trim()) : []
  for (const derived of [collapse(secret), ...lines])
    if (derived.length >= MIN_FRAGMENT) forms.add(derived)
  // The runner refuses whitespace-only masks; they would hide nothing anyway.
  return [...forms].filter((f) => f.trim().length > 0)
}

/** Letters without their combining marks (ö -> o). */
const foldAccents = (s: string) =>
  NON_ASCII.test(s) ? s.normalize('NFD').replace(/\p{M}/gu, '') : s

/**
 * Any character beyond ASCII: ASCII text has no accents, no other normal form, no invisible
 * characters and only ASCII whitespace, so the Unicode-aware steps can skip it.
 */
const NON_ASCII = /[\u0080-\uffff]/

/**
 * base64 of the secret as it appears inside a longer base64 text, at each of the three byte
 * alignments (as the runner's own base64 masks do): the characters that depend on neighbouring
 * bytes are trimmed off. Alignments that leave fewer than MIN_DERIVED_LENGTH characters are skipped.
 * Each also in base64url.
 */
export function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8')
  const forms = [bytes.toString('base64')]
  for (const shift of [1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64')
    // The first ceil(shift*4/3) characters carry the padding bytes; the tail may carry the next ones.
    const start = shift === 1 ? 2 : 3
    const whole = Math.floor((shift + bytes.length) / 3) * 4
    const form = b64.slice(start, whole)
    if (form.length >= MIN_DERIVED_LENGTH) forms.push(form)
  }
  const tailless = forms[0]?.replace(/=+$/, '').slice(0, Math.floor(bytes.length / 3) * 4)
  if (tailless && tailless.length >= MIN_DERIVED_LENGTH) forms.push(tailless)
  // base64url (- and _ for + and /, no padding), as IMS and JWTs write it.
  for (const form of [...forms]) {
    const url = form.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    if (url !== form && url.length >= MIN_DERIVED_LENGTH) forms.push(url)
  }
  return forms
}

/**
 * The secrets inside a connection string, found without parsing it strictly (it may not split:
 * a segment without `=`, an unclosed brace, a `;` inside an unquoted password): for every key
 * naming a password (`Password`, `PWD`, `KeyStorePassword`, ...), its value up to the next `;`
 * (or closing brace), and that value joined with the segments without `=` that follow it (an
 * unquoted `;` inside the password). Keys and values after it are not secrets.
 */
export function connectionStringSecrets(cs: string): string[] {
  const found: string[] = []
  const key = /(?:^|;)\s*[^=;]*?(?:pass|pwd)[^=;]*=/gi
  for (let m = key.exec(cs); m; m = key.exec(cs)) {
    const rest = cs.slice(m.index + m[0].length)
    const end = rest.startsWith('{') ? closingBrace(rest) : rest.indexOf(';')
    const value = end > 0 ? rest.slice(0, end) : rest
    found.push(value)
    if (value.startsWith('{') && value.endsWith('}'))
      found.push(value.slice(1, -1).replace(/}}/g, '}'))
    if (end > 0) {
      const loose = [value]
      for (const segment of rest.slice(end + 1).split(';')) {
        if (segment.includes('=')) break
        loose.push(segment)
      }
      if (loose.length > 1) found.push(loose.join(';'), ...loose.slice(1))
    }
  }
  // Derived forms: too short a candidate would mask ordinary words (the parsed password itself
  // is registered elsewhere whatever its length).
  return [...new Set(found)].filter((v) => v.trim().length >= MIN_DERIVED_LENGTH)
}

/** The end (exclusive) of a brace-quoted value (`}}` is an escaped brace), or -1. */
function closingBrace(text: string): number {
  for (let i = 1; i < text.length; i++)
    if (text[i] === '}') {
      if (text[i + 1] !== '}') return i + 1
      i++
    }
  return -1
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * The longest text one pattern is built from. V8 refuses a regular expression of some 32,000
 * characters ("Regular expression too large"), and a 100,000-character token is a valid input.
 */
export const MAX_PATTERN = 8192

/**
 * What the patterns are built from: each form, or a longer one cut into pieces of MAX_PATTERN
 * characters, the last one taken from the form's end, so an echo of the form holds every piece and
 * all of it is redacted. Each without whitespace at its ends: a pattern starting with `\s+` would
 * match at every position of a long run of spaces a server sent (a quadratic scan), and a piece
 * that is mostly whitespace would leave a short word to match ordinary text; a piece with fewer
 * than MIN_DERIVED_LENGTH other characters is left out (a form as given never is). Each once.
 */
export function patternSources(forms: Iterable<string>): string[] {
  const sources = new Set<string>()
  for (const form of forms) {
    if (form.length <= MAX_PATTERN) {
      const trimmed = form.trim()
      if (trimmed) sources.add(trimmed)
      continue
    }
    const pieces: string[] = []
    for (let at = 0; at + MAX_PATTERN < form.length; at += MAX_PATTERN)
      pieces.push(form.slice(at, at + MAX_PATTERN))
    pieces.push(form.slice(-MAX_PATTERN))
    for (const piece of pieces) {
      const trimmed = piece.trim()
      if (trimmed.replace(/\s+/g, '').length >= MIN_DERIVED_LENGTH) sources.add(trimmed)
    }
  }
  return [...sources]
}

/** A form as a pattern in which every run of whitespace matches any run of whitespace. */
function flexible(form: string): RegExp {
  const pattern = form
    .split(/(\s+)/)
    .map((part, i) => (i % 2 === 1 ? '\\s+' : escapeRegExp(part)))
    .join('')
  return new RegExp(pattern, 'g')
}

/** One level of JSON string escapes decoded: \uXXXX (surrogate pairs too), \" \\ \/ \b \f \n \r \t. */
export function decodeJsonEscapes(text: string): string {
  const simple: Record<string, string> = {
    '"': '"',
    '\\': '\\',
    '/': '/',
    b: '\b',
    f: '\f',
    n: '\n',
    r: '\r',
    t: '\t'
  }
  return text.replace(/\\(u[0-9a-fA-F]{4}|["\\/bfnrt])/g, (_, e: string) =>
    e.length === 5 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (simple[e] ?? e)
  )
}

/** Percent-escapes decoded where they form valid UTF-8; anything else is left as it is. */
export function decodePercent(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run
    }
  })
}

const HTML_NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/**
 * HTML's full decoder (2,231 named references, and the legacy ones without `;`), from the
 * `entities` package. Loaded only when a server's error reply arrives (loadHtmlDecoder), so a run
 * that prints nothing a server wrote never loads it.
 */
let htmlDecoder: ((text: string) => string) | undefined

/** Loads the full HTML decoder; resolves at once once loaded. */
export async function loadHtmlDecoder(): Promise<void> {
  htmlDecoder ??= (await import('entities/decode')).decodeHTML
}

/**
 * HTML character references decoded: every named one once loadHtmlDecoder() has run, and
 * &amp; &lt; &gt; &quot; &apos; &#NN; &#xHH; always.
 */
export function decodeHtmlEntities(text: string): string {
  if (!text.includes('&')) return text
  if (htmlDecoder) return htmlDecoder(text)
  // Numeric references also without their `;`, as HTML reads them.
  return text.replace(
    /&(?:(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});?|([a-zA-Z]+);)/g,
    (whole, n: string | undefined, named: string | undefined) => {
      const e = n ?? named ?? ''
      if (!e.startsWith('#')) return HTML_NAMED[e.toLowerCase()] ?? whole
      const code = /^#[xX]/.test(e) ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
  )
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
function strictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * Quoted-printable decoded (as mail and some HTTP stacks write text): soft line breaks (`=` at a
 * line end) joined, and `=HH` runs that form valid UTF-8.
 */
export function decodeQuotedPrintable(text: string): string {
  if (!text.includes('=')) return text
  return text.replace(/=\r?\n/g, '').replace(/(?:=[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = Uint8Array.from(run.slice(1).split('='), (h) => parseInt(h, 16))
    return strictUtf8(bytes) ?? run
  })
}

/** Python's \UXXXXXXXX and \N{...}-free escapes: the 8-digit form (\u and \x are decoded elsewhere). */
export function decodePythonEscapes(text: string): string {
  if (!text.includes('\\U')) return text
  return text.replace(/\\U([0-9a-fA-F]{8})/g, (whole, hex: string) => {
    const code = parseInt(hex, 16)
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole
  })
}

/** The characters Windows-1252 puts at bytes 0x80-0x9f (where Latin-1 has C1 controls). */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ'
const CP1252_BYTE = new Map([...CP1252_HIGH].map((c, i) => [c, 0x80 + i]))
/** A UTF-8 sequence read as Windows-1252 or Latin-1: a lead byte, then its continuation bytes. */
const CONT = `[\\u0080-\\u00bf${CP1252_HIGH.replace(/[\u0080-\u009f]/g, '')}]`
const MOJIBAKE = new RegExp(
  `[\\u00c2-\\u00df]${CONT}|[\\u00e0-\\u00ef]${CONT}{2}|[\\u00f0-\\u00f4]${CONT}{3}`,
  'g'
)

/**
 * Mojibake undone: UTF-8 text that a server read as Windows-1252 or Latin-1 (`pÃ¤ÃŸwÃ¶rd` for
 * `päßwörd`), sequence by sequence, where the bytes form valid UTF-8.
 */
export function decodeMojibake(text: string): string {
  if (!/[\u00c2-\u00f4]/.test(text)) return text
  return text.replace(MOJIBAKE, (seq) => {
    const bytes = Uint8Array.from(seq, (c) => CP1252_BYTE.get(c) ?? c.charCodeAt(0))
    return strictUtf8(bytes) ?? seq
  })
}

/** Byte escapes decoded: `\xHH` runs (as Python writes bytes) and `%HH` runs that are not UTF-8 (Latin-1). */
export function decodeByteEscapes(text: string): string {
  const bytes = (run: string) =>
    Buffer.from(run.match(/[0-9A-Fa-f]{2}/g)?.map((h) => parseInt(h, 16)) ?? [])
  return text
    .replace(/(?:\\x[0-9A-Fa-f]{2})+/g, (run) => {
      const b = bytes(run)
      const utf8 = b.toString('utf8')
      return utf8.includes('\ufffd') ? b.toString('latin1') : utf8
    })
    .replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      const b = bytes(run)
      return b.toString('utf8').includes('\ufffd') ? b.toString('latin1') : run
    })
}

/** Unicode composed (NFC), then accents folded: an echo re-normalised by the server. */
export const normalise = (text: string) => foldAccents(text.normalize('NFC'))

/** Replaces each of the (merged) ranges with ***. */
function replaceRanges(text: string, ranges: Array<[number, number]>): string {
  if (ranges.length === 0) return text
  ranges.sort((a, b) => a[0] - b[0])
  let out = ''
  let at = 0
  let [start, end] = ranges[0] as [number, number]
  for (const [s, e] of ranges.slice(1)) {
    if (s <= end) end = Math.max(end, e)
    else {
      out += `${text.slice(at, start)}***`
      at = end
      ;[start, end] = [s, e]
    }
  }
  return `${out}${text.slice(at, start)}***${text.slice(end)}`
}

/** One level of one encoding undone; the text itself when there is nothing to undo. */
type Decoder = (text: string) => string

/**
 * What any decoder needs to change a text: a non-ASCII character (mojibake, and normalise's
 * Unicode forms), `\` (JSON, byte and Python escapes), `&` (HTML references, the full decoder's
 * too), `%HH` (percent and byte escapes), `=` before a line break (quoted-printable's soft break)
 * or before a byte that can start UTF-8 (a `=HH` run is decoded only as valid UTF-8, whose first
 * byte is below 0x80 or from 0xC2). A contract every decoder and normalise keep (tested): text
 * this does not match is returned as it is, so it has no decoded views. A new decoder widens it
 * to what makes it act.
 */
export const DECODABLE = /[\u0080-\uffff]|[\\&]|%[0-9A-Fa-f]{2}|=(?:\r?\n|[0-7C-Fc-f][0-9A-Fa-f])/

/** The encodings a server may have applied to what it echoes, one level each. */
export const DECODERS: readonly Decoder[] = [
  decodeJsonEscapes,
  decodePercent,
  decodeHtmlEntities,
  decodeByteEscapes,
  decodeQuotedPrintable,
  decodePythonEscapes,
  decodeMojibake
]
/**
 * How many times redactFully() adopts a decoded view that reveals a secret (each round one
 * encoding of one echo, or one level of a nested one): far more than any server's echo needs.
 */
const MAX_ROUNDS = 64

/** Encodings applied one over another, at most this many levels deep (JSON escaped 4 times). */
const MAX_DECODE_DEPTH = 6

/**
 * The decoded views of a text: each encoding undone alone (and Unicode re-normalised); then all
 * of them, one after another, level after level (percent-encoding of HTML-escaped text, JSON escaped four times), every
 * intermediate text a view. Each distinct view once; text no decoder changes (almost every line)
 * has none. Linear in the decoders and levels, not a search over their combinations.
 */
export function* decodedViews(text: string): Generator<string> {
  const seen = new Set([text])
  const fresh = (view: string) => !seen.has(view) && !!seen.add(view)
  for (const decode of [...DECODERS, normalise]) {
    const view = decode(text)
    if (fresh(view)) yield view
  }
  let t = text
  for (let depth = 0; depth < MAX_DECODE_DEPTH; depth++) {
    const before = t
    for (const decode of DECODERS) {
      t = decode(t)
      if (fresh(t)) yield t
    }
    if (t === before) break
  }
  // Re-normalised by the server after it decoded (or before it encoded) the echo.
  const folded = normalise(t)
  if (fresh(folded)) yield folded
}

/**
 * What unwrap() drops: invisible characters a server may insert (soft hyphen, zero-width and
 * bidi marks, other default-ignorable and format characters), and whitespace.
 */
export const WRAPPING = /[\p{Default_Ignorable_Code_Point}\p{Cf}]|\s/u
/** What WRAPPING matches among ASCII characters (tested): whitespace only. */
export const ASCII_WRAPPING = /[\t\n\v\f\r ]/
const ASCII_UNWRAP = new RegExp(ASCII_WRAPPING.source, 'g')

/**
 * Every WINDOW-long run of a text holds a run this long starting at a multiple of it (the first
 * at or after the run's start, as 2 * BLOCK - 1 <= WINDOW): what cannotHold() looks up first.
 */
const BLOCK = WINDOW / 2

/** Where text is joined or cut: a line break or an ellipsis (besides the text's own ends). */
const JOIN = /\r\n|[\r\n\u0085\u2028\u2029]|…|\.{3}/g
/** What may stand between a join and a piece of a secret: quotes, brackets, punctuation, space. */
const DECORATION = /^[\s"'`.,;:!?()[\]{}<>]$/
/** At most this many DECORATION characters are skipped between a join and a piece. */
const MAX_DECORATION = 2

/**
 * Lower case that keeps every position: where lower-casing changes a character's length (`İ`
 * becomes `i̇`), that character is kept as written, so the rest of the text is still matched in
 * any case.
 */
export function lowerKeepingPositions(text: string): string {
  // Σ lowers to ς at a word's end and to σ elsewhere, by context: both are σ here, so a secret
  // and an echo of it lower alike whatever follows them.
  const lower = text.toLowerCase().replace(/ς/g, 'σ')
  if (lower.length === text.length) return lower
  let out = ''
  for (const c of text) {
    const l = c.toLowerCase()
    out += l.length === c.length ? l.replace(/ς/g, 'σ') : c
  }
  return out
}

/** How redact() treats pieces of a secret shorter than WINDOW. */
export interface RedactOptions {
  /**
   * Positions where the text was joined from parts (lines joined into one), besides its ends,
   * line breaks and ellipses: pieces of a secret there are redacted. `false`: no pieces at all,
   * for a text that is joined and redacted again (a piece redacted now would hide the whole
   * secret the joined text shows).
   */
  joins?: readonly number[] | false
}

type Range = [number, number]

/**
 * Registers secrets (and their derived forms) with the runner, and redacts them from any text
 * the action prints, so output is safe even where the runner does not mask (local runs, tests)
 * and where a server echoed a secret in a form the runner does not know.
 */
export class Masker {
  private readonly forms = new Set<string>()
  private patterns: RegExp[] | undefined
  /** WINDOW-long runs of the single secrets (not of composite values such as a connection string). */
  private readonly windows = new Set<string>()
  /** MIN_FRAGMENT-long runs of the single secrets, as written: the pieces looked for at joins. */
  private readonly pieces = new Set<string>()
  /** The single secrets' forms: where a piece found at a join is extended. */
  private readonly singles: string[] = []
  /** Runs of the forms, one of which any match of a form's pattern holds (see cannotHold). */
  private needles: string[] | undefined
  /** The BLOCK-long runs of the windows: where a window may stand (see cannotHold). */
  private readonly blocks = new Set<string>()

  constructor(private readonly sink: SecretSink) {}

  /**
   * A single secret (a password, a token): every form is registered, and any WINDOW-long run of
   * it is redacted too, as is any piece of MIN_FRAGMENT or more characters where text is joined.
   */
  add(secret: string | undefined): void {
    if (!secret) return
    this.addComposite(secret)
    const forms = [secret, collapse(secret), JSON.stringify(secret).slice(1, -1)]
    const unwrapped = NON_ASCII.test(secret)
      ? secret.replace(new RegExp(WRAPPING.source, 'gu'), '')
      : secret.replace(ASCII_UNWRAP, '')
    forms.push(foldAccents(secret), unwrapped)
    for (const form of forms) {
      if (this.singles.includes(form)) continue
      this.singles.push(form)
      const lower = lowerKeepingPositions(form)
      for (let i = 0; i + WINDOW <= form.length; i++) {
        this.windows.add(lower.slice(i, i + WINDOW))
      }
      for (let i = 0; i + BLOCK <= form.length && form.length >= WINDOW; i++)
        this.blocks.add(lower.slice(i, i + BLOCK))
      for (let i = 0; i + MIN_FRAGMENT <= form.length; i++)
        this.pieces.add(form.slice(i, i + MIN_FRAGMENT))
    }
  }

  /**
   * A value built from other values (a connection string, a URL, an auth block): every form is
   * registered, but runs of it are not redacted on their own (they hold host and user names).
   */
  addComposite(value: string | undefined): void {
    if (!value) return
    for (const form of derivedForms(value)) {
      if (this.forms.has(form)) continue
      this.forms.add(form)
      this.patterns = undefined
      this.needles = undefined
      this.sink.setSecret(form)
    }
  }

  /**
   * The ranges to redact: every registered form (exact, whitespace-flexible), and every
   * WINDOW-long run of a single secret in any letter case (a server may upper- or lower-case what
   * it echoes); and, given `joins`, every piece of one at a join (pieces, like forms shorter than
   * a window, only as written, so a short secret cannot eat ordinary words in another case).
   */
  private ranges(text: string, joins?: readonly number[]): Range[] {
    this.patterns ??= patternSources(this.forms).map(flexible)
    const ranges: Range[] = []
    for (const re of this.patterns) {
      re.lastIndex = 0
      for (let m = re.exec(text); m; m = re.exec(text)) {
        ranges.push([m.index, m.index + m[0].length])
        // Overlapping occurrences too: the union of all of them is redacted.
        re.lastIndex = m.index + 1
      }
    }
    if (this.pieces.size === 0) return ranges
    if (text.length >= WINDOW) {
      const view = lowerKeepingPositions(text)
      for (let i = 0; i + WINDOW <= view.length; i++)
        if (this.windows.has(view.slice(i, i + WINDOW))) ranges.push([i, i + WINDOW])
    }
    if (joins) ranges.push(...this.pieceRanges(text, joins))
    return ranges
  }

  /**
   * Pieces of a single secret (MIN_FRAGMENT up to WINDOW - 1 characters; longer ones are windows)
   * that end or start where the text is joined or cut: its ends, line breaks, ellipses and
   * `joins`, with at most MAX_DECORATION quotes or punctuation in between.
   */
  private pieceRanges(text: string, extra: readonly number[]): Range[] {
    if (text.length < MIN_FRAGMENT) return []
    const joins = [0, text.length, ...extra]
    JOIN.lastIndex = 0
    for (let m = JOIN.exec(text); m; m = JOIN.exec(text)) joins.push(m.index, m.index + m[0].length)
    const isPiece = (from: number, to: number) =>
      from >= 0 && to <= text.length && this.singles.some((f) => f.includes(text.slice(from, to)))
    const ranges: Range[] = []
    for (const join of joins)
      for (const dir of [-1, 1]) {
        // A piece ending at the join (dir -1), or starting there (dir 1).
        for (let skip = 0, at = join; skip <= MAX_DECORATION; skip++) {
          const from = dir < 0 ? at - MIN_FRAGMENT : at
          if (from >= 0 && this.pieces.has(text.slice(from, from + MIN_FRAGMENT))) {
            let len = MIN_FRAGMENT
            while (
              len < WINDOW - 1 &&
              (dir < 0 ? isPiece(at - len - 1, at) : isPiece(at, at + len + 1))
            )
              len++
            ranges.push(dir < 0 ? [at - len, at] : [at, at + len])
            break
          }
          const next = dir < 0 ? text[at - 1] : text[at]
          if (next === undefined || !DECORATION.test(next)) break
          at += dir
        }
      }
    return ranges
  }

  /**
   * Everything to redact in one text, as written and with wrapping and invisible characters
   * taken out (mapped back to where it stands), in the text's own positions.
   */
  private allRanges(text: string, joins?: readonly number[]): Range[] {
    return [...this.ranges(text, joins), ...this.unwrappedRanges(text, joins)]
  }

  /**
   * Replaces every registered form in text with ***: whitespace runs inside a form match any
   * whitespace run, overlapping matches are redacted as their union, WINDOW-long runs of a single
   * secret count as a match, in any letter case, and so do pieces of MIN_FRAGMENT or more
   * characters at the text's joins (its ends, line breaks, ellipses; see RedactOptions). A server
   * may also echo a value encoded its own way (JSON with \u0026 or \", percent-encoding, HTML
   * entities, byte, Python or quoted-printable escapes, mojibake, another Unicode normal form,
   * invisible characters or line wrapping inside it), even several ways one over another: where a
   * decoded view of the text reveals a secret, that view is used, redacted. Text that
   * cannotHold() a secret is returned at once.
   */
  redact(text: string, opts: RedactOptions = {}): string {
    return this.cannotHold(text, opts) ? text : this.redactFully(text, opts)
  }

  /**
   * True when redact(text, opts) returns text as it is, known cheaply (almost every line the
   * action prints); false says nothing. For ASCII text that DECODABLE does not match, the full
   * algorithm has no decoded views and looks at two texts: text, and text without its ASCII
   * whitespace (all WRAPPING matches in ASCII) with the joins mapped as unwrappedRanges() maps
   * them. True only when ranges() finds nothing in either: no form (holdsForm, on the unwrapped
   * text only: its runs hold no whitespace, so text holds one only where that does), no window
   * and no piece (holdsRun).
   */
  cannotHold(text: string, opts: RedactOptions = {}): boolean {
    if (DECODABLE.test(text)) return false
    const joins = opts.joins === false ? undefined : (opts.joins ?? [])
    const view = text.replace(ASCII_UNWRAP, '')
    if (this.holdsForm(view) || this.holdsRun(text, joins)) return false
    if (view === text) return true
    let viewJoins = joins
    if (joins?.length) {
      const kept: number[] = []
      for (let i = 0; i < text.length; i++) if (!ASCII_WRAPPING.test(text[i] ?? '')) kept.push(i)
      viewJoins = joins.map((j) => {
        const at = kept.findIndex((k) => k >= j)
        return at < 0 ? view.length : at
      })
    }
    return !this.holdsRun(view, viewJoins)
  }

  /**
   * Whether text holds one of needles. When not, no form's pattern matches it: a match holds the
   * form's whitespace-free runs as written, and for every form needles has one (or a run of it).
   */
  private holdsForm(text: string): boolean {
    this.needles ??= needles(patternSources(this.forms))
    for (const needle of this.needles) if (text.includes(needle)) return true
    return false
  }

  /**
   * For ASCII text: whether ranges() finds a window or, given joins, a piece in it. A window
   * there holds the BLOCK-long run of text that starts at the first multiple of BLOCK at or after
   * the window's start, so it is looked for only where that run is one of blocks. Pieces are
   * looked for as ranges() does.
   */
  private holdsRun(text: string, joins?: readonly number[]): boolean {
    if (this.pieces.size === 0) return false
    const lower = text.toLowerCase()
    for (let b = 0; b + BLOCK <= lower.length; b += BLOCK)
      if (this.blocks.has(lower.slice(b, b + BLOCK)))
        for (let s = Math.max(0, b + 1 - BLOCK); s <= b && s + WINDOW <= lower.length; s++)
          if (this.windows.has(lower.slice(s, s + WINDOW))) return true
    return !!joins && this.pieceRanges(text, joins).length > 0
  }

  /** redact() without its shortcut for text that cannot hold a secret: what redact() must equal. */
  redactFully(text: string, opts: RedactOptions = {}): string {
    const joins = opts.joins === false ? undefined : (opts.joins ?? [])
    let out = replaceRanges(text, this.allRanges(text, joins))
    // Each round adopts the first view revealing a secret; another may hide in another encoding,
    // or in the same one nested deeper: rounds go on until no view reveals one. A text that still
    // does after MAX_ROUNDS (built to outlast them) is not shown at all.
    // A view's positions are its own: only its ends, line breaks and ellipses are joins there.
    const viewJoins = joins && []
    for (let round = 0; ; round++) {
      let next: string | undefined
      for (const view of decodedViews(out)) {
        const redacted = replaceRanges(view, this.allRanges(view, viewJoins))
        if (redacted !== view) {
          next = redacted
          break
        }
      }
      if (next === undefined) return out
      if (round === MAX_ROUNDS) return '***'
      out = next
    }
  }

  /**
   * A secret a server wrapped across lines or broke up with invisible characters: found in the
   * text with those removed, and redacted where it stands in the text as written (the rest of
   * the text keeps its spaces).
   */
  private unwrappedRanges(text: string, joins?: readonly number[]): Range[] {
    if (!WRAPPING.test(text)) return []
    const kept: number[] = []
    let view = ''
    for (let i = 0; i < text.length;) {
      // By code point: some invisible characters (tags) lie beyond U+FFFF.
      const c = String.fromCodePoint(text.codePointAt(i) ?? 0)
      if (!WRAPPING.test(c)) {
        for (let k = 0; k < c.length; k++) kept.push(i + k)
        view += c
      }
      i += c.length
    }
    // A join in the text is where the first character kept after it stands in the view.
    const viewJoins = joins?.map((j) => {
      const at = kept.findIndex((k) => k >= j)
      return at < 0 ? view.length : at
    })
    return this.ranges(view, viewJoins).map(([s, e]): Range => [
      kept[s] ?? 0,
      (kept[e - 1] ?? text.length - 1) + 1
    ])
  }

  /** True when a value (an output) holds any registered form, so the runner would mask it. */
  catches(value: string): boolean {
    for (const form of this.forms) if (value.includes(form)) return true
    return false
  }

  /**
   * True when a value (an output) holds a WINDOW-long run of a single secret, in any letter case
   * as in the log (a server may upper-case a secret it echoes into a table name), which the
   * runner would not mask.
   */
  reveals(value: string): boolean {
    return this.redactOutput(value) !== value
  }

  /** An output value with the runs reveals() finds replaced by ***. */
  redactOutput(value: string): string {
    if (!/[\u0080-\uffff]/.test(value) && !this.holdsForm(value) && !this.holdsRun(value))
      return value
    return this.redactOutputFully(value)
  }

  /** redactOutput() without its shortcut: what redactOutput() must equal. */
  redactOutputFully(value: string): string {
    return replaceRanges(value, this.ranges(value))
  }
}

/**
 * Per pattern source (patternSources), its longest whitespace-free run (any match of its pattern
 * holds it as written),
 * left out where it holds a shorter one kept: text without that one cannot hold it either.
 */
function needles(sources: readonly string[]): string[] {
  const longest = (form: string) =>
    form.split(/\s+/).reduce((a, b) => (b.length > a.length ? b : a), '')
  const kept: string[] = []
  for (const run of [...new Set(sources.map(longest))].sort((a, b) => a.length - b.length))
    if (!kept.some((k) => run.includes(k))) kept.push(run)
  return kept
}
