import { describe, it, expect } from '@jest/globals'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  actionInputs,
  actionOutputs,
  inputEnvName,
  parseOutputFile,
  repoRoot,
  runAction
} from '../simulator/run-action.js'

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures')
const actionYml = path.join(fixtures, 'action.yml')
const entry = path.join(fixtures, 'entry.js')

/** KEY=value lines printed by the fixture entry. */
function printedEnv(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const l of lines) {
    const i = l.indexOf('=')
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1)
  }
  return out
}

describe('actionInputs / actionOutputs', () => {
  it('reads inputs with string defaults, as the runner sees them', () => {
    expect(actionInputs(actionYml)).toEqual([
      { name: 'client-id', description: 'hyphenated, required, no default', required: true },
      { name: 'scopes', description: 'has a default', default: 'openid,AdobeID' },
      {
        name: 'dry-run',
        description: "boolean-looking default must stay the string 'false'",
        default: 'false'
      },
      { name: 'port', description: 'number-looking default', default: '05432' },
      { name: 'display name', description: 'a space becomes an underscore', required: false },
      { name: 'exit-code', description: 'exit code of the fixture', default: '0' }
    ])
  })

  it('reads outputs', () => {
    expect(actionOutputs(actionYml).map((o) => o.name)).toEqual(['greeting', 'plain'])
  })

  it('maps names like the runner', () => {
    expect(inputEnvName('client-id')).toBe('INPUT_CLIENT-ID')
    expect(inputEnvName('display name')).toBe('INPUT_DISPLAY_NAME')
  })
})

describe('parseOutputFile', () => {
  it('parses name=value and heredoc forms', () => {
    const text = 'a=1\nb<<EOF_X\nline1\nline=2\n\nEOF_X\nc=x<<y\r\nd<<Z\nz\nZ\n'
    expect(parseOutputFile(text)).toEqual({ a: '1', b: 'line1\nline=2\n', c: 'x<<y', d: 'z' })
  })

  it('rejects an unterminated heredoc', () => {
    expect(() => parseOutputFile('a<<EOF\nvalue\n')).toThrow(/Matching delimiter not found/)
  })
})

describe('runAction', () => {
  it('sets INPUT_* for every declared input, a clean env, and collects outputs', async () => {
    process.env.INPUT_LEAK = 'parent'
    process.env.GITHUB_LEAK = 'parent'
    try {
      const run = await runAction({
        inputs: { 'client-id': 'abc', 'display name': 'Demo Name' },
        env: { GITHUB_REPOSITORY: 'octo/repo' },
        entry,
        actionYml
      })
      expect(run.code).toBe(0)
      expect(run.signal).toBeNull()
      const env = printedEnv(run.lines)
      const inputs = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('INPUT_')))
      expect(inputs).toEqual({
        'INPUT_CLIENT-ID': 'abc',
        INPUT_SCOPES: 'openid,AdobeID',
        'INPUT_DRY-RUN': 'false',
        INPUT_PORT: '05432',
        INPUT_DISPLAY_NAME: 'Demo Name',
        'INPUT_EXIT-CODE': '0'
      })
      expect(env.GITHUB_ACTIONS).toBe('true')
      expect(env.GITHUB_REPOSITORY).toBe('octo/repo')
      expect(env.GITHUB_LEAK).toBeUndefined()
      for (const k of ['GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY', 'GITHUB_STATE', 'GITHUB_ENV']) {
        expect(env[k]).toMatch(/run-action-/)
      }
      expect(env.RUNNER_TEMP).toMatch(/run-action-/)
      expect(env.cwd).toBe(repoRoot.replace(/[\\/]$/, ''))
      expect(run.lines).toContain('to-stderr')
      expect(run.stderr).toBe('to-stderr\n')
      expect(run.outputs).toEqual({ greeting: 'hello\nabc', plain: 'a=b' })
      expect(run.summary).toBe('### Fixture summary\n')
      expect(run.durationMs).toBeGreaterThan(0)
      // The temp directory is removed afterwards.
      expect(existsSync(path.dirname(env.GITHUB_OUTPUT ?? ''))).toBe(false)
    } finally {
      delete process.env.INPUT_LEAK
      delete process.env.GITHUB_LEAK
    }
  })

  it('reports a non-zero exit code', async () => {
    const run = await runAction({
      inputs: { 'client-id': 'x', 'exit-code': '3' },
      entry,
      actionYml
    })
    expect(run.code).toBe(3)
  })

  it('throws on inputs that action.yml does not declare', async () => {
    await expect(
      runAction({ inputs: { 'client-id': 'x', 'client-secrt': 'typo' }, entry, actionYml })
    ).rejects.toThrow(/not declared.*client-secrt/)
  })

  it('kills the process after timeoutMs', async () => {
    const run = await runAction({
      inputs: { 'client-id': 'x' },
      env: { FIXTURE_SLEEP_MS: '10000' },
      entry,
      actionYml,
      timeoutMs: 300
    })
    expect(run.signal).toBe('SIGKILL')
    expect(run.timedOut).toBe(true)
    if (process.platform === 'linux') expect(run.peakRssKb).toBeGreaterThan(1000)
  })
})
