/**
 * The one way out. Every line the step prints (info, debug, warning, error, group titles, the
 * failure, the job summary) and every output it sets goes through this module, which
 *   1. redacts every registered secret form from the raw text (masking.ts), before anything
 *      else touches it;
 *   2. neutralises workflow commands inside text the action did not author: `##[` becomes `## [`
 *      anywhere, a line that would start with `::` starts with `: :` instead, and control and
 *      invisible format characters are written as \uXXXX, so neither a line break nor a
 *      zero-width character can smuggle a command past these rules;
 *   3. only then collapses whitespace and shortens, so a cut never leaves part of a secret behind.
 * The action's own commands (::add-mask::, ::error:: ...) are written by @actions/core around the
 * guarded text. Nothing else in the action prints.
 */
import { ActionError, InputError } from './errors.js'
import { DeadlineError } from './http.js'
import { loadHtmlDecoder, Masker, type RedactOptions } from './masking.js'

/** The slice of core.summary used here, so tests can pass a recorder. */
export interface SummaryLike {
  addHeading(text: string, level?: number): SummaryLike
  addTable(rows: Array<Array<string | { data: string; header?: boolean }>>): SummaryLike
  addLink(text: string, href: string): SummaryLike
  addRaw(text: string, addEOL?: boolean): SummaryLike
  write(): Promise<unknown>
}

/** Where the step's output goes: @actions/core, or a recorder in tests. */
export interface OutputSink {
  setSecret(value: string): void
  info(message: string): void
  debug(message: string): void
  warning(message: string): void
  error(message: string): void
  setFailed(message: string): void
  setOutput(name: string, value: string): void
  startGroup(name: string): void
  endGroup(): void
  summary: SummaryLike
}

/** Longest one-line message (warning, error, failure, summary cell), in characters. */
export const MAX_MESSAGE = 1000
/** Longest server-supplied text inside a message. */
export const MAX_DETAIL = 300
/** Longest log line. */
export const MAX_LOG_LINE = 2000

const LINE_BREAK = /\r\n|\r|\n|\u2028|\u2029|\u0085/
/** What .NET's TrimStart() skips before the runner looks for "::". */
const LEADING_SPACE = /^[\s\u0085]*/
/** Control characters (but tab) and invisible format characters (zero-width space, bidi marks, ...). */
// eslint-disable-next-line no-control-regex
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\p{Cf}]/gu

/** A line of printable ASCII and tabs only. */
const PRINTABLE = /^[\t\x20-\x7e]*$/

const hex = (c: string) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`

/**
 * Makes one line inert for the runner's command parser: `##[` (the legacy form, read anywhere
 * in a line) gets a space, and `::` at the start of the line (after whitespace) becomes `: :`.
 * Hidden characters are made visible first, since the runner may ignore them when matching.
 */
export function neutralise(line: string): string {
  // Printable ASCII and tabs hold nothing HIDDEN matches (the common case, without its
  // Unicode-aware pattern).
  let out = (PRINTABLE.test(line) ? line : line.replace(HIDDEN, hex)).replace(/##\[/g, '## [')
  const lead = LEADING_SPACE.exec(out)?.[0] ?? ''
  if (out.startsWith('::', lead.length)) out = `${lead}: :${out.slice(lead.length + 2)}`
  return out
}

/**
 * True when text, printed by a later step (`echo ${{ steps.x.outputs.y }}`), would hold a workflow
 * command: `##[` anywhere, or `::` at the start of a line, hidden characters ignored.
 */
export function carriesCommand(text: string): boolean {
  return text.split(LINE_BREAK).some((line) => {
    const visible = line.replace(HIDDEN, '')
    return visible.includes('##[') || visible.replace(LEADING_SPACE, '').startsWith('::')
  })
}

/** Cuts to max characters with an ellipsis, never between the halves of a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text
  let end = max - 1
  const last = text.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${text.slice(0, end)}…`
}

/** How much of a one-line text is redacted and kept: far more than any message shows. */
export const REDACTED_HEAD = 64 * 1024

/**
 * The start of a text holding `keep` characters that are not whitespace (whitespace collapses
 * before a line is cut, so it does not count): everything that can reach a printed line.
 */
export function headOf(text: string, keep: number): string {
  if (text.length <= keep) return text
  let shown = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const space = c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(text[i] as string))
    if (!space && ++shown > keep) return text.slice(0, i)
  }
  return text
}

/**
 * The guarded path for one piece of text: redact the raw text, split it into lines and neutralise
 * each, then either join them into one collapsed line or keep them, and cut to `max` (per line).
 */
export function guard(
  text: string,
  redact: (raw: string, opts?: RedactOptions) => string,
  opts: { oneLine: boolean; max: number }
): string[] {
  if (!opts.oneLine)
    return redact(text)
      .split(LINE_BREAK)
      .map((l) => cut(neutralise(l).trimEnd(), opts.max))
  // One line is cut to at most `max` characters: text far past that is never shown, so it is
  // dropped before the (costly) redaction, so a 10 MB error body costs no more than a short one.
  // Pieces of a secret are left for the joined line: redacted now, they would hide the whole
  // secret that joining the lines may show.
  const lines = redact(headOf(text, REDACTED_HEAD), { joins: false }).split(LINE_BREAK)
  // Joining may bring a secret's parts together again: redact once more before cutting, with the
  // places where lines met as joins (a piece of a secret left at a line's end).
  const joins: number[] = []
  let joined = ''
  for (const line of lines) {
    const l = neutralise(line).replace(/\s+/g, ' ').trim()
    if (!l) continue
    if (joined) {
      joins.push(joined.length)
      joined += ' '
    }
    joined += l
  }
  // The redaction may adopt a decoded view of the text (masking.ts), in which an escaped line
  // break is a real one again: the result is made one inert line once more (its breaks are
  // whitespace to every check, so no secret can form across them), and redacted again until
  // nothing changes.
  let line = joined
  for (let pass = 0; pass < 4; pass++) {
    // Later passes: the text's own ends and line breaks are its joins (positions moved).
    const next = oneLine(redact(line, { joins: pass === 0 ? joins : [] }))
    if (next === line) break
    line = next
  }
  return [cut(line, opts.max)]
}

/** Lines made one: each neutralised, whitespace collapsed, joined by single spaces. */
function oneLine(text: string): string {
  return text
    .split(LINE_BREAK)
    .map((l) => neutralise(l).replace(/\s+/g, ' ').trim())
    .filter((l) => l.length > 0)
    .join(' ')
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c
  )

/** A job summary: a heading, a two-column table and an optional link. */
export interface SummaryContent {
  heading: string
  rows: Array<[string, string]>
  /** A second table, one row per object the step manages (the dataflow action's). */
  objects?: { header: string[]; rows: string[][] }
  link?: { text: string; href: string }
}

/** An error that can say which parts of its message a server wrote (see errors.ts). */
interface Renderable {
  render(shorten: (serverText: string, fields?: readonly string[]) => string): string
}

/** The step's printer: secrets registered here, every line guarded (see the module comment). */
export class Output {
  private readonly masker: Masker

  constructor(private readonly sink: OutputSink) {
    this.masker = new Masker(sink)
  }

  /** A single secret (password, token, client secret): registered, and redacted from all text. */
  secret(value: string | undefined): void {
    this.masker.add(value)
  }

  /**
   * Loads what redacting a server's text needs beyond the common case (every HTML named
   * reference): called when a server's error reply arrives and before a failure is reported, so
   * a run that gets none never loads it. A decoder that cannot be loaded leaves the built-in one.
   */
  async prepareForServerText(): Promise<void> {
    await loadHtmlDecoder().catch(() => undefined)
  }

  /** A secret built from other values (connection string, URL, auth block). */
  compositeSecret(value: string | undefined): void {
    this.masker.addComposite(value)
  }

  private one(text: string, max = MAX_MESSAGE): string {
    return guard(text, (t, o) => this.masker.redact(t, o), { oneLine: true, max })[0] ?? ''
  }

  /**
   * Server-supplied text to embed in a message: guarded and cut to MAX_DETAIL. Given the fields
   * of the server's body it joins (`title: message`), each is redacted on its own first: a secret
   * split between two fields leaves a piece at each field's edge, which the joined text no longer
   * shows as an edge.
   */
  detail(serverText: string, fields?: readonly string[]): string {
    if (!fields || fields.length < 2) return this.one(serverText, MAX_DETAIL)
    const each = fields.map((f) => this.masker.redact(headOf(f, REDACTED_HEAD)))
    return this.one(each.join(': '), MAX_DETAIL)
  }

  /** Text to embed in a message within `max` characters: redacted, neutralised, then cut. */
  shorten(text: string, max: number): string {
    return this.one(text, max)
  }

  /** An error's message with each server-supplied part shortened here, after redaction. */
  describe(e: unknown): string {
    if (e && typeof (e as Partial<Renderable>).render === 'function')
      return (e as Renderable).render((t, fields) => this.detail(t, fields))
    return e instanceof Error ? e.message : String(e)
  }

  /** One log line: whatever line breaks the text holds (a server's, say) become spaces. */
  info(text: string): void {
    this.sink.info(this.one(text, MAX_LOG_LINE))
  }

  /** Text the action laid out on several lines (the dry-run plan): each line kept and guarded. */
  block(text: string): void {
    for (const line of guard(text, (t) => this.masker.redact(t), {
      oneLine: false,
      max: MAX_LOG_LINE
    }))
      this.sink.info(line)
  }

  debug(text: string): void {
    this.sink.debug(this.one(text))
  }

  warning(text: string): void {
    this.sink.warning(this.one(text))
  }

  error(text: string): void {
    this.sink.error(this.one(text))
  }

  /** Runs `fn` with what it prints folded into one collapsible group of the log. */
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.sink.startGroup(this.one(title))
    try {
      return await fn()
    } finally {
      this.sink.endGroup()
    }
  }

  /** The step's failure: one ::error line and exit code 1. */
  fail(text: string): void {
    this.sink.setFailed(this.one(text))
  }

  /**
   * When reporting a failure fails in turn: a fixed line, passed through nothing that could fail
   * again, and exit code 1. The error itself is not shown: its text is what could not be made
   * safe to print (and Node would print it raw, stack and all, were it left uncaught).
   */
  failedToReport(): void {
    this.sink.setFailed(
      'the step failed, and reporting why failed too; the lines above say what was done'
    )
  }

  /**
   * Reports the error that ended the step: one clear ::error per problem, exit code 1. Returns
   * what the failure summary shows: the error as printed and, for invalid inputs, the inputs to
   * fix. `outOfTime`: the step's deadline had run out when it failed; `cancelled`: the signal the
   * runner cancelled the step with.
   */
  failWith(
    e: unknown,
    outOfTime: boolean,
    cancelled?: string
  ): { error: string; inputs?: string[] } {
    if (e instanceof InputError) {
      const lines = e.problems.map((p) => `Invalid input '${p.input}': ${p.message}`)
      for (const line of lines.slice(0, -1)) this.error(line)
      const suffix = ' (nothing was sent to Adobe)'
      this.fail(`${lines.at(-1) ?? 'invalid input'}${suffix}`)
      return {
        error: `${lines.join('; ')}${suffix}`,
        inputs: [...new Set(e.problems.map((p) => p.input))]
      }
    }
    let error = this.describe(e)
    // A cancelled step runs out of its grace period, not of timeout-seconds.
    if (cancelled) {
      if (!/cancel/.test(error)) error += ` (the runner cancelled the step: ${cancelled})`
    } else {
      if (outOfTime && !(e instanceof DeadlineError))
        error += " (the step's timeout-seconds ran out)"
      if (outOfTime || e instanceof DeadlineError)
        error += '; raise timeout-seconds or check the network path to Adobe'
    }
    this.fail(error)
    return { error }
  }

  /**
   * Sets an output exactly as given (outputs are data, not log text), warning by name when it
   * holds a registered secret form: the runner would mask it and drop it from job outputs. A
   * value holding only part of a secret (which the runner would not mask) is written redacted.
   * A value that would relay a workflow command to a later step printing it is not written at
   * all: every output is validated or escaped where it is made, so this is the last line only.
   */
  setOutput(name: string, value: string): void {
    if (carriesCommand(value)) {
      this.warning(
        `the ${name} output is left empty: its value (as Flow Service returned it) holds text a later step printing it would run as a workflow command`
      )
      value = ''
    } else if (value && this.masker.catches(value))
      this.warning(
        `the ${name} output holds a secret value, so the runner will mask it and drop it from job outputs; use a longer, distinct secret`
      )
    else if (value && this.masker.reveals(value)) {
      // Part of a secret (a server's id or table name echoing it): the runner would not mask it.
      this.warning(
        `the ${name} output holds part of a secret value (as Flow Service returned it), so it is written with that part replaced by ***`
      )
      value = this.masker.redactOutput(value)
    }
    try {
      this.sink.setOutput(name, value)
    } catch (e) {
      // The runner's output file could not be written: a failure of the step, said in one line.
      throw new ActionError(`could not write the ${name} output: ${(e as Error).message}`)
    }
  }

  /**
   * Writes the job summary, every cell guarded and HTML-escaped. A summary is a convenience:
   * failing to write one is a warning, never a failure.
   */
  async summary(content: SummaryContent): Promise<void> {
    const cell = (t: string) => escapeHtml(this.one(t))
    try {
      let s = this.sink.summary.addHeading(cell(content.heading), 3).addTable([
        [
          { data: 'Field', header: true },
          { data: 'Value', header: true }
        ],
        ...content.rows.map(([k, v]) => [cell(k), cell(v)])
      ])
      if (content.objects)
        s = s.addTable([
          content.objects.header.map((h) => ({ data: cell(h), header: true })),
          ...content.objects.rows.map((row) => row.map(cell))
        ])
      if (content.link) s = s.addLink(cell(content.link.text), cell(content.link.href))
      await s.write()
    } catch (e) {
      this.warning(`could not write the job summary: ${(e as Error).message}`)
    }
  }
}
