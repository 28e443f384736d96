/**
 * A recorder standing in for @actions/core, for running src/main.ts in-process through its
 * `Deps` seam. Inputs are read the way core.getInput reads INPUT_* variables (missing -> '',
 * trimmed unless trimWhitespace is false). Not a test file.
 */
import type { CoreLike } from '../../src/connection/main.js'
import type { SummaryLike } from '../../src/platform/output.js'

export interface CoreCall {
  kind: 'info' | 'warning' | 'error' | 'debug' | 'setFailed' | 'setSecret' | 'group' | 'endgroup'
  text: string
}

export interface FakeCore extends CoreLike {
  calls: CoreCall[]
  outputs: Record<string, string>
  secrets: string[]
  /** the summary rows written, as plain text, when a summary was written */
  summaryText: string[]
  /** every printed line of one kind */
  lines(kind: CoreCall['kind']): string[]
  failed(): string | undefined
}

export function fakeCore(inputs: Record<string, string>): FakeCore {
  const calls: CoreCall[] = []
  const outputs: Record<string, string> = {}
  const secrets: string[] = []
  const summaryText: string[] = []
  const pending: string[] = []
  const record = (kind: CoreCall['kind']) => (message: string | Error) => {
    calls.push({ kind, text: message instanceof Error ? message.message : message })
  }
  const summary: SummaryLike = {
    addHeading(text) {
      pending.push(text)
      return summary
    },
    addTable(rows) {
      for (const row of rows)
        pending.push(row.map((cell) => (typeof cell === 'string' ? cell : cell.data)).join(' | '))
      return summary
    },
    addLink(text, href) {
      pending.push(`${text}: ${href}`)
      return summary
    },
    addRaw(text) {
      pending.push(text)
      return summary
    },
    async write() {
      summaryText.push(...pending.splice(0))
      return summary
    }
  }
  const core: FakeCore = {
    getInput(name, options) {
      const value = inputs[name] ?? ''
      if (options?.required && !value) throw new Error(`Input required and not supplied: ${name}`)
      return options?.trimWhitespace === false ? value : value.trim()
    },
    setSecret(secret) {
      secrets.push(secret)
      calls.push({ kind: 'setSecret', text: '(registered)' })
    },
    setOutput(name, value) {
      outputs[name] = String(value)
    },
    setFailed: record('setFailed'),
    info: (message: string) => record('info')(message),
    warning: record('warning'),
    error: record('error'),
    debug: (message: string) => record('debug')(message),
    startGroup: (name: string) => record('group')(name),
    endGroup: () => record('endgroup')(''),
    summary,
    calls,
    outputs,
    secrets,
    summaryText,
    lines: (kind) => calls.filter((c) => c.kind === kind).map((c) => c.text),
    failed: () => calls.find((c) => c.kind === 'setFailed')?.text
  }
  return core
}
