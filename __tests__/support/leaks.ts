/**
 * Secret-leak, mask-order and workflow-command checks for end-to-end runs of the action (see
 * run-action.js), with the runner's side emulated: how it splits lines, which commands it reads,
 * and how it masks. Not a test file: imported by the e2e tests.
 */
import type { ActionRun } from '../../simulator/run-action.js'
import { unicodeJson, type Simulator } from '../../simulator/server.js'

const MASK = '::add-mask::'
const DEBUG = '::debug::'
/**
 * Lines of a multi-line secret shorter than this are not registered on their own, and pieces of
 * a secret shorter than this may show where text is joined (MIN_FRAGMENT in masking.ts).
 */
export const MIN_LINE = 6
/** No run of this many characters of a secret may survive anywhere. */
export const WINDOW = 12

/** Every printable form of a secret that must never show up: raw, JSON, URI, form, base64. */
export function secretForms(secret: string): Array<{ form: string; text: string }> {
  const collapsed = secret.replace(/\s+/g, ' ').trim()
  const forms = [
    { form: 'raw', text: secret },
    { form: 'json-escaped', text: JSON.stringify(secret).slice(1, -1) },
    { form: 'unicode-escaped', text: unicodeJson(secret).slice(1, -1) },
    { form: 'encodeURIComponent', text: encodeURIComponent(secret) },
    { form: 'form-encoded', text: new URLSearchParams({ v: secret }).toString().slice(2) },
    { form: 'base64', text: Buffer.from(secret, 'utf8').toString('base64') },
    { form: 'base64url', text: Buffer.from(secret, 'utf8').toString('base64url') },
    ...(collapsed !== secret && collapsed.length >= MIN_LINE
      ? [{ form: 'whitespace-collapsed', text: collapsed }]
      : []),
    ...(/[\r\n]/.test(secret)
      ? secret
          .split(/\r\n|\r|\n/)
          .map((l) => l.trim())
          .filter((l) => l.length >= MIN_LINE)
          .map((text) => ({ form: 'one line', text }))
      : [])
  ]
  const seen = new Set<string>()
  return forms.filter((f) => f.text.length > 0 && !seen.has(f.text) && seen.add(f.text))
}

/**
 * Asserts that no secret (in any form of secretForms) appears in the run's stdout or stderr
 * (ignoring `::add-mask::` lines, whose job is to carry it to the runner), in the job summary,
 * or in any output. Empty or undefined secrets are skipped. The failure message names the
 * secret by index and shows the offending line with the secret replaced, never the secret.
 */
export function expectNoLeaks(run: ActionRun, secrets: ReadonlyArray<string | undefined>): void {
  const places: Array<[where: string, lines: string[]]> = [
    ['stdout', run.stdout.split(/\r?\n/).filter((l) => !l.startsWith(MASK))],
    ['stderr', run.stderr.split(/\r?\n/).filter((l) => !l.startsWith(MASK))],
    ['summary', run.summary.split(/\r?\n/)],
    ...Object.entries(run.outputs).map(
      ([name, value]) => [`output ${name}`, value.split(/\r?\n/)] as [string, string[]]
    )
  ]
  const leaks: string[] = []
  secrets.forEach((secret, index) => {
    if (!secret) return
    for (const { form, text } of secretForms(secret))
      for (const [where, lines] of places)
        for (const line of lines)
          if (line.includes(text))
            leaks.push(`secret #${index} (${form}) in ${where}: ${line.split(text).join('[LEAK]')}`)
  })
  if (leaks.length > 0)
    throw new Error(`${leaks.length} secret leak(s):\n  ${leaks.slice(0, 10).join('\n  ')}`)
}

/**
 * Asserts that every `::add-mask::` line comes before the first line that is neither a mask
 * nor a debug line, so the runner knows every secret before the step says anything.
 */
export function expectMasksFirst(run: ActionRun): void {
  const firstSaid = run.lines.findIndex((l) => !l.startsWith(MASK) && !l.startsWith(DEBUG))
  if (firstSaid === -1) return
  const late = run.lines
    .map((l, i) => ({ l, i }))
    .filter(({ l, i }) => i > firstSaid && l.startsWith(MASK))
  if (late.length > 0)
    throw new Error(
      `${late.length} ::add-mask:: line(s) after the first log line (line ${firstSaid + 1}: ` +
        `${JSON.stringify(run.lines[firstSaid])}); first late mask at line ${(late[0]?.i ?? 0) + 1}`
    )
}

/**
 * The secrets the simulator saw during a run: every bearer token sent to Flow Service or
 * issued by IMS, and every stored connection string and password.
 */
export function simulatorSecrets(sim: Simulator): string[] {
  const out = new Set<string>()
  for (const r of sim.requests) {
    const m = /^Bearer\s+(\S+)/i.exec(r.headers.authorization ?? '')
    if (m?.[1]) out.add(m[1])
  }
  for (const c of sim.connections()) {
    for (const key of ['connectionString', 'password']) {
      const v = c.auth.params[key]
      if (typeof v === 'string' && v) out.add(v)
    }
  }
  return [...out]
}

/** Bearer tokens (distinct, in order) carried by the Flow Service requests. */
export function flowTokens(sim: Simulator): string[] {
  const out: string[] = []
  for (const r of sim.requests)
    if (r.service === 'flow') {
      const t = /^Bearer\s+(\S+)/i.exec(r.headers.authorization ?? '')?.[1]
      if (t && !out.includes(t)) out.push(t)
    }
  return out
}

// ---- The runner's side, emulated ----

/** Splits output as the runner reads it: "\r\n", "\n" and a lone "\r" each end a line. */
export function runnerLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/)
  if (lines.at(-1) === '') lines.pop()
  return lines
}

/** The whitespace .NET's TrimStart() removes before the runner looks for "::". */
const LEADING_SPACE = /^[\s\u0085]+/

export interface Command {
  /** 0-based index in the runner's lines */
  line: number
  form: '::' | '##['
  name: string
  /** the properties as written ("" when none) */
  props: string
  data: string
  /** the command was preceded by whitespace (the runner trims it; core never writes it) */
  indented: boolean
}

/**
 * Every workflow command the runner would read from these lines: `::name props::data` at the
 * start of a line (after leading whitespace), and the legacy `##[name props]data` anywhere in a
 * line. Any name is reported, registered with the runner or not.
 */
export function parseCommands(lines: string[]): Command[] {
  const out: Command[] = []
  lines.forEach((raw, line) => {
    const trimmed = raw.replace(LEADING_SPACE, '')
    if (trimmed.startsWith('::')) {
      const end = trimmed.indexOf('::', 2)
      if (end > 2) {
        const info = trimmed.slice(2, end)
        const space = info.indexOf(' ')
        out.push({
          line,
          form: '::',
          name: space < 0 ? info : info.slice(0, space),
          props: space < 0 ? '' : info.slice(space + 1),
          data: unescapeData(trimmed.slice(end + 2)),
          indented: trimmed !== raw
        })
        return
      }
    }
    let at = raw.indexOf('##[')
    while (at !== -1) {
      const rb = raw.indexOf(']', at)
      const info = rb === -1 ? raw.slice(at + 3) : raw.slice(at + 3, rb)
      const space = info.indexOf(' ')
      out.push({
        line,
        form: '##[',
        name: space < 0 ? info : info.slice(0, space),
        props: space < 0 ? '' : info.slice(space + 1),
        data: rb === -1 ? '' : raw.slice(rb + 1),
        indented: false
      })
      at = raw.indexOf('##[', at + 3)
    }
  })
  return out
}

const unescapeData = (s: string) =>
  s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')

/** The commands @actions/core writes for this action, always without properties. */
const OWN_COMMANDS = new Set([
  'add-mask',
  'debug',
  'warning',
  'error',
  'notice',
  'group',
  'endgroup'
])

/**
 * Workflow commands the action did not author: any legacy `##[`, any `::` command that is not one
 * of the action's own (name, no properties, at the very start of the line), and (given a marker
 * that only injected text carries) a command whose data starts with the marker. A forged
 * `::add-mask::` of an output value shows up in runnerLeaks as an output the runner would drop;
 * the action's own masks may come late (a token fetched again), so their order is not judged here.
 */
export function forgedCommands(run: ActionRun, marker?: string): string[] {
  const lines = runnerLines(run.lines.join('\n'))
  const forged: string[] = []
  for (const c of parseCommands(lines)) {
    const show = `line ${c.line + 1}: ${JSON.stringify(lines[c.line]?.slice(0, 160))}`
    if (c.form === '##[') forged.push(`legacy ##[${c.name}] command, ${show}`)
    else if (!OWN_COMMANDS.has(c.name) || c.props !== '' || c.indented)
      forged.push(`::${c.name}${c.props ? ' ' + c.props : ''}:: command, ${show}`)
    else if (marker && c.data.trimStart().startsWith(marker))
      forged.push(`::${c.name}:: command carrying injected text, ${show}`)
  }
  return forged
}

/**
 * Workflow commands an output would relay to a later step that prints it (`echo ${{
 * steps.x.outputs.y }}`): any `##[`, or `::` at the start of any line of the value. Outputs are
 * data, so none may carry one, whatever the runner would read in the log.
 */
export function relayedCommands(run: ActionRun): string[] {
  const relayed: string[] = []
  for (const [name, value] of Object.entries(run.outputs))
    if (
      value.includes('##[') ||
      runnerLines(value).some((l) => l.replace(LEADING_SPACE, '').startsWith('::'))
    )
      relayed.push(`output ${name} relays a command: ${JSON.stringify(value.slice(0, 160))}`)
  return relayed
}

/** What the runner shows: each line masked with the values registered before it. */
export interface RunnerView {
  /** log lines after masking, the add-mask commands left out */
  lines: string[]
  summary: string[]
  /** every value registered with add-mask, in order */
  masks: string[]
}

function maskLine(line: string, masks: string[]): string {
  let out = line
  // Longest first, as the runner's masker replaces overlapping matches by their union.
  for (const m of [...masks].sort((a, b) => b.length - a.length))
    if (m && out.includes(m)) out = out.split(m).join('***')
  return out
}

/**
 * Emulates the runner's masking: only the exact strings registered with `::add-mask::`, applied
 * to each line on its own, from the line after the registration on (the summary file with all of
 * them, as the runner reads it at the end of the step). Stricter than the runner, which also
 * masks a few encodings of each value: the action must not rely on those.
 */
export function runnerView(run: ActionRun): RunnerView {
  const masks: string[] = []
  const lines: string[] = []
  const all = runnerLines(run.lines.join('\n'))
  const commands = new Map(parseCommands(all).map((c) => [c.line, c]))
  all.forEach((line, i) => {
    const c = commands.get(i)
    if (c?.name === 'add-mask') {
      if (c.data.trim()) masks.push(c.data)
      return
    }
    lines.push(maskLine(line, masks))
  })
  return { lines, summary: runnerLines(run.summary).map((l) => maskLine(l, masks)), masks }
}

/** Every distinct run of WINDOW characters of a text. */
function windows(text: string): Set<string> {
  const out = new Set<string>()
  for (let i = 0; i + WINDOW <= text.length; i++) out.add(text.slice(i, i + WINDOW))
  return out
}

export interface Secrets {
  /** single secrets (passwords, tokens, client secrets): no form and no WINDOW-long run may show */
  atomic: ReadonlyArray<string | undefined>
  /** secrets built from other values (connection strings, URLs, auth blocks): no form may show */
  composite?: ReadonlyArray<string | undefined>
  /** pieces of a secret a server echoed apart: none of MIN_LINE or more characters may show */
  pieces?: ReadonlyArray<string>
}

/** What a reader drops to put pieces back together: whitespace, ellipses, colons. */
const JOINERS = /\s|\u0085|…|\.\.\.|:/g
/** A command's own prefix, which is not the text it carries. */
const COMMAND_PREFIX = /^::[a-z-]+::/

/** Invisible characters, which a reader does not see (and the action writes as \uXXXX). */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu

/**
 * The whole log as a reader puts it together: one text, each line's command prefix dropped,
 * \uXXXX escapes read, invisible characters and JOINERS removed. A secret a server echoed in
 * pieces across fields, lines, a warning and an error, around an ellipsis, or with invisible
 * characters between its letters shows up here whole.
 */
function joinedLog(lines: readonly string[]): string {
  return lines
    .map((l) =>
      l
        .replace(COMMAND_PREFIX, '')
        .replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
        .replace(INVISIBLE, '')
        .replace(JOINERS, '')
    )
    .join('')
}

/**
 * Secrets the runner would show: any form of secretForms, in a log line or the summary after the
 * runner's masking, or in an output; and for atomic secrets any run of WINDOW characters (of the
 * secret as given or whitespace-collapsed), so no cut may leave the start of one behind. Also
 * outputs the runner would drop from job outputs because they hold a registered value.
 */
export function runnerLeaks(run: ActionRun, secrets: Secrets): string[] {
  const view = runnerView(run)
  const places: Array<[where: string, lines: string[]]> = [
    ['log', view.lines],
    ['summary', view.summary],
    ...Object.entries(run.outputs).map(
      ([name, value]) => [`output ${name}`, runnerLines(value)] as [string, string[]]
    )
  ]
  const leaks: string[] = []
  const check = (secret: string, index: number, withWindows: boolean) => {
    const found = (text: string, what: string) => {
      for (const [where, lines] of places)
        for (const line of lines)
          if (line.includes(text))
            leaks.push(
              `secret #${index} (${what}) in ${where}: ${line.split(text).join('[LEAK]').slice(0, 200)}`
            )
    }
    for (const { form, text } of secretForms(secret)) found(text, form)
    if (!withWindows) return
    const wins = new Set([...windows(secret), ...windows(secret.replace(/\s+/g, ' '))])
    for (const [where, lines] of places)
      for (const line of lines)
        for (let i = 0; i + WINDOW <= line.length; i++)
          if (wins.has(line.slice(i, i + WINDOW))) {
            leaks.push(`secret #${index} (${WINDOW} characters) in ${where}: ${line.slice(0, 200)}`)
            break
          }
  }
  secrets.atomic.forEach((s, i) => s && check(s, i, true))
  ;(secrets.composite ?? []).forEach((s, i) => s && check(s, 100 + i, false))
  // Pieces put back together across the places the log was joined or cut.
  const joined = joinedLog(view.lines)
  secrets.atomic.forEach((s, index) => {
    if (!s) return
    const bare = s.replace(JOINERS, '')
    for (let i = 0; i + WINDOW <= bare.length; i++)
      if (joined.includes(bare.slice(i, i + WINDOW))) {
        leaks.push(
          `secret #${index} (${WINDOW} characters, pieces joined) in the log: ${bare.slice(i, i + WINDOW).replace(/./g, '?')}`
        )
        break
      }
  })
  for (const piece of secrets.pieces ?? []) {
    if (piece.length < MIN_LINE) continue
    for (const [where, lines] of places)
      for (const line of lines)
        if (line.includes(piece))
          leaks.push(
            `a piece of a secret in ${where}: ${line.split(piece).join('[LEAK]').slice(0, 200)}`
          )
  }
  for (const [name, value] of Object.entries(run.outputs))
    if (view.masks.some((m) => value.includes(m)))
      leaks.push(`output ${name} holds a registered secret: the runner drops it from job outputs`)
  return leaks
}

/** Asserts that the runner would show no secret and read no command the action did not write. */
export function expectRunnerSafe(run: ActionRun, secrets: Secrets, marker?: string): void {
  const problems = [...runnerLeaks(run, secrets), ...forgedCommands(run, marker)]
  if (problems.length > 0)
    throw new Error(`${problems.length} problem(s):\n  ${problems.slice(0, 10).join('\n  ')}`)
}
