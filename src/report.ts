import { POSTGRES_SPEC_ID } from './connection.js'
import type { Operation } from './plan.js'

export interface TestResult {
  /** false only when the test ran and failed */
  ok: boolean
  tables?: number
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

export interface OutputSink {
  setOutput(name: string, value: string): void
}

/** The four step outputs. The id is never a secret, so job outputs can carry it on. */
export function setOutputs(core: OutputSink, r: Result): void {
  core.setOutput('connection-id', r.connectionId)
  core.setOutput('etag', r.etag)
  core.setOutput('operation', r.operation)
  core.setOutput('connection-spec-id', POSTGRES_SPEC_ID)
}

/**
 * At most this many table paths go into the `tables` output: enough for a later job to pick its
 * tables, and far below the runner's 1 MB limit for a job's outputs.
 */
export const MAX_TABLES_OUTPUT = 1000

/**
 * The `tables` output: a JSON array of the table paths the connection test listed, in Flow
 * Service's order, cut to MAX_TABLES_OUTPUT; `omitted` says how many were left out.
 */
export function tablesOutput(
  paths: readonly string[],
  max = MAX_TABLES_OUTPUT
): { value: string; omitted: number } {
  return { value: JSON.stringify(paths.slice(0, max)), omitted: Math.max(0, paths.length - max) }
}

/**
 * Sets `tables` after a passed connection test; it stays unset (empty) otherwise. A cut list is
 * said in a warning, so a later job does not take it for the whole database.
 */
export function setTablesOutput(
  core: OutputSink,
  paths: readonly string[],
  warn: (message: string) => void
): void {
  const { value, omitted } = tablesOutput(paths)
  if (omitted > 0)
    warn(
      `the tables output lists the first ${MAX_TABLES_OUTPUT} of the ${paths.length} tables Flow Service sees; ${omitted} are left out`
    )
  core.setOutput('tables', value)
}

/** The slice of core.summary used here, so tests can pass a recorder. */
export interface SummaryLike {
  addHeading(text: string, level?: number): SummaryLike
  addTable(rows: Array<Array<string | { data: string; header?: boolean }>>): SummaryLike
  addLink(text: string, href: string): SummaryLike
  addRaw(text: string, addEOL?: boolean): SummaryLike
  write(): Promise<unknown>
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c
  )

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

/** Job summary rows; every value is escaped, none is secret. */
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

/**
 * Writes the job summary. A summary is a convenience: failing to write one (no
 * GITHUB_STEP_SUMMARY, a full disk) is reported as a warning and never fails the step.
 */
export async function writeSummary(
  summary: SummaryLike,
  r: Result,
  warn: (message: string) => void
): Promise<void> {
  try {
    let s = summary.addHeading('AEP PostgreSQL connection', 3).addTable([
      [
        { data: 'Field', header: true },
        { data: 'Value', header: true }
      ],
      ...summaryRows(r).map(([k, v]) => [k, escapeHtml(v)])
    ])
    if (r.runUrl) s = s.addLink('Workflow run', r.runUrl)
    await s.write()
  } catch (e) {
    warn(`could not write the job summary: ${(e as Error).message}`)
  }
}
