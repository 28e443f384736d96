import { POSTGRES_SPEC_ID } from '../platform/collections.js'
import { ActionError, StoredObjectError } from '../platform/errors.js'
import type { Operation } from '../platform/operation.js'
import type { Output, SummaryContent } from '../platform/output.js'
import { reportError, setFailureOutputs, summarise, type StepBase } from '../platform/report.js'
import { testConnection, type ConnectionTestCalls } from './connection-test.js'
import type { Plan } from './plan.js'
import type { Settings } from './settings.js'

export interface TestResult {
  /** false only when the test ran and failed */
  ok: boolean
  tables?: number
  /** the failure as printed (already guarded by output.ts) */
  error?: string
  /** requested but not run: a dry run changes nothing, and a deleted connection has nothing to test */
  skipped?: 'dry run' | 'state absent'
}

/** What the step did: the outputs, and what the job summary shows. */
export interface Result {
  operation: Operation
  connectionId: string
  etag: string
  connectionName: string
  sandboxName: string
  dryRun: boolean
  test?: TestResult
  runUrl?: string
}

export interface OutputSetter {
  setOutput(name: string, value: string): void
}

/**
 * The four step outputs, set through output.ts (which warns about a value the runner would mask).
 * The id is never a secret, so job outputs can carry it on.
 */
export function setOutputs(out: OutputSetter, r: Result): void {
  out.setOutput('connection-id', r.connectionId)
  out.setOutput('etag', r.etag)
  out.setOutput('operation', r.operation)
  out.setOutput('connection-spec-id', POSTGRES_SPEC_ID)
}

/**
 * At most this many table paths go into the `tables` output: enough for a later job to pick its
 * tables, and far below the runner's 1 MB limit for a job's outputs.
 */
export const MAX_TABLES_OUTPUT = 1000

/**
 * Characters a table path may hold that a later step echoing the output could turn into a
 * workflow command (`[` of `##[`), a line break or a hidden character: written as \uXXXX (each
 * UTF-16 unit), which any JSON reader decodes to the same path. JSON.stringify already escapes
 * C0 controls and lone surrogates.
 */
const UNSAFE_IN_JSON = /[[\u007f-\u009f\u2028\u2029\p{Cf}]/gu

const jsonString = (s: string) =>
  JSON.stringify(s).replace(UNSAFE_IN_JSON, (c) =>
    Array.from(
      { length: c.length },
      (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`
    ).join('')
  )

/**
 * The `tables` output: a JSON array of the table paths the connection test listed, in Flow
 * Service's order, cut to MAX_TABLES_OUTPUT; `omitted` says how many were left out. Every path is
 * kept as Flow Service sent it; the text never holds `##[` or a line break (see UNSAFE_IN_JSON).
 */
export function tablesOutput(
  paths: readonly string[],
  max = MAX_TABLES_OUTPUT
): { value: string; omitted: number } {
  return {
    value: `[${paths.slice(0, max).map(jsonString).join(',')}]`,
    omitted: Math.max(0, paths.length - max)
  }
}

/**
 * Sets `tables` after a passed connection test; it stays unset (empty) otherwise. A cut list is
 * said in a warning, so a later job does not take it for the whole database.
 */
export function setTablesOutput(
  out: OutputSetter,
  paths: readonly string[],
  warn: (message: string) => void
): void {
  const { value, omitted } = tablesOutput(paths)
  if (omitted > 0)
    warn(
      `the tables output lists the first ${MAX_TABLES_OUTPUT} of the ${paths.length} tables Flow Service sees; ${omitted} are left out`
    )
  out.setOutput('tables', value)
}

export const SUMMARY_HEADING = 'AEP PostgreSQL connection'

/** The connection test's result in words; the log and the job summary both say it this way. */
export function testText(t: TestResult | undefined): string {
  if (!t) return 'not requested'
  if (t.skipped) return `skipped (${t.skipped})`
  if (t.ok) return `passed: Flow Service sees ${t.tables ?? 0} table(s)`
  return `failed: ${t.error ?? 'unknown error'}`
}

/**
 * The step's outcome in one log line, led by the operation output's value: the id it concerns, or
 * for `absent` and `would-create`, in words, that there is none.
 */
export function outcomeLine(r: Result): string {
  const dry = r.dryRun ? ' (dry run: nothing was changed)' : ''
  if (r.operation === 'absent')
    return `absent: no connection named "${r.connectionName}" exists in sandbox ${r.sandboxName}; nothing to delete`
  if (!r.connectionId)
    return `${r.operation}: no connection named "${r.connectionName}" exists yet${dry}`
  return `${r.operation}: connection ${r.connectionId}${dry}`
}

/** Job summary rows; none is secret, and output.ts guards and escapes each one anyway. */
export function summaryRows(r: Result): Array<[string, string]> {
  return [
    ['Operation', r.dryRun ? `${r.operation} (dry run)` : r.operation],
    ['Connection name', r.connectionName],
    ['Connection id', r.connectionId || '—'],
    ['Sandbox', r.sandboxName],
    ['Connection spec id', POSTGRES_SPEC_ID],
    ['Connection test', testText(r.test)]
  ]
}

const runLink = (url: string | undefined) =>
  url ? { link: { text: 'Workflow run', href: url } } : {}

/** The summary of a step that did its work. */
export function successSummary(r: Result): SummaryContent {
  return { heading: SUMMARY_HEADING, rows: summaryRows(r), ...runLink(r.runUrl) }
}

/**
 * The summary of a failed step: that it failed and why (the error as printed), what it had done
 * by then (when it set its outputs before failing), and, for invalid inputs, the inputs to fix.
 */
export function failureSummary(f: {
  error: string
  result?: Result
  inputs?: string[]
  runUrl?: string
}): SummaryContent {
  const rows: Array<[string, string]> = [['Status', 'failed']]
  if (f.inputs?.length) rows.push(['Inputs to fix', f.inputs.join(', ')])
  // A failed connection test is already its own row.
  if (f.result?.test?.ok !== false) rows.push(['Error', f.error])
  if (f.result) rows.push(...summaryRows(f.result))
  return {
    heading: `${SUMMARY_HEADING}: failed`,
    rows,
    ...runLink(f.result?.runUrl ?? f.runUrl)
  }
}

/** What the step did, before applying: the plan's connection, if any. */
export function resultOf(
  plan: Plan,
  operation: Operation,
  settings: Settings,
  runUrl: string | undefined
): Result {
  return {
    operation,
    connectionId: 'existing' in plan ? plan.existing.id : '',
    etag: 'existing' in plan ? (plan.existing.etag ?? '') : '',
    connectionName: settings.connectionName,
    sandboxName: settings.sandboxName,
    dryRun: settings.dryRun,
    runUrl
  }
}

/** What the outputs step needs from the session (see session.ts). */
export interface ReportSession {
  tests: ConnectionTestCalls
  phase<T>(title: string, fn: () => Promise<T>): Promise<T>
}

/**
 * The outputs step: outputs first, so a later step can inspect or clean up even if the test
 * fails; then the connection test when asked for (its failure fails the step); then the summary.
 */
export async function outputStep(
  r: Result,
  settings: Settings,
  session: ReportSession,
  out: Output,
  env: NodeJS.ProcessEnv,
  state: StepState
): Promise<void> {
  setOutputs(out, r)
  // From here a failure summary also shows what the step did (its outputs are set).
  state.result = r
  // A cancelled step stops here: its outputs say what it did, and it fails.
  state.cancel?.check()
  if (settings.testConnection && (settings.state === 'absent' || settings.dryRun)) {
    r.test = { ok: true, skipped: settings.dryRun ? 'dry run' : 'state absent' }
    out.info(`Connection test: ${testText(r.test)}`)
  } else if (settings.testConnection)
    r.test = await session.phase('testing the connection', () =>
      runConnectionTest(session.tests, r.connectionId, out)
    )
  if (r.test?.ok === false) throw new ActionError(r.test.error ?? 'the connection test failed')
  await summarise(out, env, () => successSummary(r))
}

/**
 * The connection test (connection-test.ts); a failure is a result, reported after the outputs.
 * A passed test also sets the `tables` output.
 */
async function runConnectionTest(
  flow: ConnectionTestCalls,
  id: string,
  out: Output
): Promise<TestResult> {
  try {
    const { tables, paths } = await testConnection(
      flow,
      id,
      (line) => out.info(line),
      (e) => out.describe(e)
    )
    out.info(`Connection test passed: Flow Service sees ${tables} table(s)`)
    setTablesOutput(out, paths, (message) => out.warning(message))
    return { ok: true, tables }
  } catch (e) {
    if (!(e instanceof ActionError)) throw e
    return { ok: false, error: out.describe(e) }
  }
}

/** How far a failed step got: what the failure summary can still show. */
export interface StepState extends StepBase {
  result?: Result
}

/**
 * The error that ended the step, reported once: a connection that exists is still named in the
 * outputs, the error goes through output.ts (one ::error, exit code 1), and the summary says it.
 */
export async function reportFailure(
  e: unknown,
  state: StepState,
  out: Output,
  env: NodeJS.ProcessEnv
): Promise<void> {
  await out.prepareForServerText()
  if (e instanceof StoredObjectError)
    setFailureOutputs(out, () => {
      out.setOutput('connection-id', e.id)
      out.setOutput('etag', e.etag)
    })
  const failure = reportError(e, state, out)
  await summarise(out, env, () =>
    failureSummary({ ...failure, result: state.result, runUrl: state.runUrl })
  )
}
