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

const LINE_BREAK = /\r\n|\r|\n|\u2028|\u2029|\u0085/

/** Runs of whitespace squeezed to one space, as a server that reflows its message writes them. */
const collapse = (s: string) => s.replace(/\s+/g, ' ').trim()

/**
 * Every printable form a secret can take in this action or in a server's echo of it: as given,
 * trimmed, JSON-escaped (request bodies, error texts), URL-encoded the JS way and the form-encoded
 * way (IMS token request, postgres-url), brace-quoted (inside a connection string), base64; and,
 * for a secret with line breaks or runs of whitespace, each line and the whitespace-collapsed
 * form (at least MIN_DERIVED_LENGTH long). The runner masks each log line on its own and only
 * exact registered strings (plus a few encodings of them), so each form must be registered.
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
  // Accents stripped, as a server that folds to ASCII writes it.
  const folded = foldAccents(secret)
  if (folded !== secret && folded.length >= MIN_DERIVED_LENGTH) forms.add(folded)
  const lines = LINE_BREAK.test(secret) ? secret.split(LINE_BREAK).map((l) => l.trim()) : []
  for (const derived of [collapse(secret), ...lines])
    if (derived.length >= MIN_DERIVED_LENGTH) forms.add(derived)
  // The runner refuses whitespace-only masks; they would hide nothing anyway.
  return [...forms].filter((f) => f.trim().length > 0)
}

/** Letters without their combining marks (ö -> o). */
const foldAccents = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '')

/**
 * base64 of the secret as it appears inside a longer base64 text, at each of the three byte
 * alignments (as the runner's own base64 masks do): the characters that depend on neighbouring
 * bytes are trimmed off. Alignments that leave fewer than MIN_DERIVED_LENGTH characters are skipped.
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

/** HTML character references decoded: &amp; &lt; &gt; &quot; &apos; &#NN; &#xHH;. */
export function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);/g, (whole, e: string) => {
    if (!e.startsWith('#')) return HTML_NAMED[e.toLowerCase()] ?? whole
    const code = /^#[xX]/.test(e) ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole
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

/** The views of a text that redact() also tries, in order. */
const VIEWS = [decodeJsonEscapes, decodePercent, decodeHtmlEntities, decodeByteEscapes, normalise]

/** What unwrap() drops: invisible characters a server may insert, and whitespace. */
const WRAPPING = /[\u00ad\u200b-\u200d\u2060\ufeff]|\s/

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
  /** The same runs as written (for the case-sensitive check of outputs). */
  private readonly exactWindows = new Set<string>()

  constructor(private readonly sink: SecretSink) {}

  /**
   * A single secret (a password, a token): every form is registered, and any WINDOW-long run of
   * it is redacted too.
   */
  add(secret: string | undefined): void {
    if (!secret) return
    this.addComposite(secret)
    const forms = [secret, collapse(secret), JSON.stringify(secret).slice(1, -1)]
    forms.push(foldAccents(secret), secret.replace(/\s+/g, ''))
    for (const form of forms)
      for (let i = 0; i + WINDOW <= form.length; i++) {
        this.windows.add(form.slice(i, i + WINDOW).toLowerCase())
        this.exactWindows.add(form.slice(i, i + WINDOW))
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
      this.sink.setSecret(form)
    }
  }

  /**
   * The ranges to redact: every registered form (exact, whitespace-flexible), and every
   * WINDOW-long run of a single secret, in any letter case when `anyCase` (a server may upper- or
   * lower-case what it echoes; a form shorter than a window is matched exactly only, so a short
   * secret cannot eat ordinary words written in another case).
   */
  private ranges(text: string, anyCase = true): Array<[number, number]> {
    this.patterns ??= [...this.forms].map(flexible)
    const ranges: Array<[number, number]> = []
    for (const re of this.patterns) {
      re.lastIndex = 0
      for (let m = re.exec(text); m; m = re.exec(text)) {
        ranges.push([m.index, m.index + m[0].length])
        // Overlapping occurrences too: the union of all of them is redacted.
        re.lastIndex = m.index + 1
      }
    }
    if (this.windows.size > 0) {
      const lower = text.toLowerCase()
      // Lower-casing keeps positions for almost all text; where it does not, the original is used.
      const view = lower.length === text.length ? lower : text
      for (let i = 0; i + WINDOW <= view.length; i++) {
        const run = view.slice(i, i + WINDOW)
        if (!this.windows.has(run)) continue
        // Case-sensitive: the run must also appear as written in one of the secret's forms.
        if (anyCase || this.exactWindows.has(text.slice(i, i + WINDOW)))
          ranges.push([i, i + WINDOW])
      }
    }
    return ranges
  }

  private redactOnce(text: string, anyCase = true): string {
    return replaceRanges(text, this.ranges(text, anyCase))
  }

  /**
   * Replaces every registered form in text with ***: whitespace runs inside a form match any
   * whitespace run, overlapping matches are redacted as their union, and WINDOW-long runs of a
   * single secret count as a match, in any letter case. A server may also echo a value escaped
   * its own way (JSON with \u0026 or \", nested JSON, percent-encoding, HTML entities, byte
   * escapes, another Unicode normal form, invisible characters or line wrapping inside it):
   * where such a view of the text reveals a secret, that view is used, redacted.
   */
  redact(text: string): string {
    let out = this.redactOnce(text)
    for (let round = 0; round < 3; round++) {
      let changed = false
      for (const decode of VIEWS) {
        const view = decode(out)
        if (view === out) continue
        const redacted = this.redactOnce(view)
        if (redacted !== view) {
          out = redacted
          changed = true
        }
      }
      if (!changed) break
    }
    return this.redactUnwrapped(out)
  }

  /**
   * A secret a server wrapped across lines or broke up with invisible characters: found in the
   * text with those removed, and redacted where it stands in the text as written (the rest of
   * the text keeps its spaces).
   */
  private redactUnwrapped(text: string): string {
    if (!WRAPPING.test(text)) return text
    const kept: number[] = []
    let view = ''
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string
      if (WRAPPING.test(c)) continue
      kept.push(i)
      view += c
    }
    const ranges = this.ranges(view).map(([s, e]): [number, number] => [
      kept[s] ?? 0,
      (kept[e - 1] ?? text.length - 1) + 1
    ])
    return replaceRanges(text, ranges)
  }

  /** True when a value (an output) holds any registered form, so the runner would mask it. */
  catches(value: string): boolean {
    for (const form of this.forms) if (value.includes(form)) return true
    return false
  }

  /**
   * True when a value (an output) holds a WINDOW-long run of a single secret as written, which
   * the runner would not mask. Exact and case-sensitive, as the runner matches: an id or a table
   * name that only resembles a secret is left alone.
   */
  reveals(value: string): boolean {
    return this.redactOnce(value, false) !== value
  }

  /** An output value with the runs reveals() finds replaced by ***. */
  redactOutput(value: string): string {
    return this.redactOnce(value, false)
  }
}
