/**
 * The in-process stand-in for @actions/core (support/in-process.ts) writes what the real one
 * writes: the same calls, made on the real @actions/core in a child process, give the same stdout,
 * the same outputs and the same job summary. The in-process matrices rely on this.
 */
import { describe, it, expect } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseOutputFile, repoRoot } from '../simulator/run-action.js'
import { runnerCore } from './support/in-process.js'

/** Calls as [method, ...args]; both sides make exactly these. */
type Call =
  | ['info' | 'debug' | 'warning' | 'error' | 'setFailed' | 'setSecret' | 'startGroup', string]
  | ['endGroup']
  | ['setOutput', string, string]
  | ['summary', string]

const HOSTILE = [
  'plain line',
  '100% done: a%0Ab',
  'line one\nline two\r\nthree',
  '::error::forged',
  '##[warning]forged',
  'tab\there, unicode é ü 😀, zero\u200bwidth',
  ''
]

const CALLS: Call[] = [
  ...HOSTILE.map((t): Call => ['info', t]),
  ...HOSTILE.map((t): Call => ['debug', t]),
  ...HOSTILE.map((t): Call => ['warning', t]),
  ...HOSTILE.map((t): Call => ['error', t]),
  ['setSecret', 'p%ss\nword'],
  ['startGroup', 'Group: 50%\nnext'],
  ['info', 'inside'],
  ['endGroup'],
  ['setOutput', 'connection-id', '5f0c6a3e-1111'],
  ['setOutput', 'tables', '["public.orders","a\\nb"]'],
  ['setOutput', 'multi', 'line 1\nline 2'],
  ['setOutput', 'empty', ''],
  ['summary', 'Heading <b>&</b>'],
  ['setFailed', 'failed: 100%\nsecond line']
]

/** The same calls on the real @actions/core, in a child process with the runner's files. */
function realCore(calls: Call[]): {
  stdout: string
  output: string
  summary: string
  code: number
} {
  const dir = mkdtempSync(path.join(tmpdir(), 'runner-core-'))
  try {
    const output = path.join(dir, 'output')
    const summary = path.join(dir, 'summary')
    writeFileSync(output, '')
    writeFileSync(summary, '')
    const script = `
      import * as core from '@actions/core'
      const calls = JSON.parse(process.env.CALLS)
      for (const [m, ...a] of calls) {
        if (m === 'summary') await core.summary.addHeading(a[0], 3).addTable([[{ data: 'Field', header: true }, { data: 'Value', header: true }], ['a', a[0]]]).addLink(a[0], 'https://example.com/?a=1&b=2').write()
        else core[m](...a)
      }`
    let stdout = ''
    let code = 0
    try {
      stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: repoRoot,
        env: {
          PATH: process.env.PATH,
          CALLS: JSON.stringify(calls),
          GITHUB_OUTPUT: output,
          GITHUB_STEP_SUMMARY: summary
        },
        encoding: 'utf8'
      })
    } catch (e) {
      const err = e as { status: number; stdout: string }
      stdout = err.stdout
      code = err.status
    }
    return {
      stdout,
      output: readFileSync(output, 'utf8'),
      summary: readFileSync(summary, 'utf8'),
      code
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The same calls on the stand-in. */
async function standIn(calls: Call[]) {
  const c = runnerCore({})
  for (const call of calls) {
    switch (call[0]) {
      case 'summary':
        await c.summary
          .addHeading(call[1], 3)
          .addTable([
            [
              { data: 'Field', header: true },
              { data: 'Value', header: true }
            ],
            ['a', call[1]]
          ])
          .addLink(call[1], 'https://example.com/?a=1&b=2')
          .write()
        break
      case 'setOutput':
        c.setOutput(call[1], call[2])
        break
      case 'endGroup':
        c.endGroup()
        break
      default:
        c[call[0]](call[1])
    }
  }
  return c.files
}

describe('the in-process stand-in for @actions/core', () => {
  it('writes the same stdout, outputs, summary and exit code as the real one', async () => {
    const real = realCore(CALLS)
    const fake = await standIn(CALLS)
    expect(fake.stdout).toBe(real.stdout)
    // Heredoc delimiters are random; the values they carry must be the same.
    expect(parseOutputFile(fake.output)).toEqual(parseOutputFile(real.output))
    expect(fake.output.replace(/ghadelimiter_[0-9a-f-]+/g, 'D')).toBe(
      real.output.replace(/ghadelimiter_[0-9a-f-]+/g, 'D')
    )
    expect(fake.summary).toBe(real.summary)
    expect(fake.exitCode ?? 0).toBe(real.code)
    expect(real.code).toBe(1)
  })

  it('reads inputs as core.getInput does: trimmed unless asked not to, required enforced', () => {
    const c = runnerCore({ 'INPUT_CONNECTION-NAME': '  orders  ', INPUT_PASSWORD: ' pw \n' })
    expect(c.getInput('connection-name')).toBe('orders')
    expect(c.getInput('password', { trimWhitespace: false })).toBe(' pw \n')
    expect(c.getInput('missing')).toBe('')
    expect(() => c.getInput('missing', { required: true })).toThrow(
      'Input required and not supplied: missing'
    )
  })
})
