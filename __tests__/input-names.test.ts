// Every step that uses this action (`uses: ./` in the workflows, the published action in the
// README's examples) passes only inputs action.yml declares, and every required one.
import { describe, it, expect } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import {
  actionSteps,
  checkSources,
  repositorySources,
  usesThisAction,
  yamlBlocks
} from '../scripts/check-inputs.js'
import type { ActionMetadata } from '../scripts/readme-tables.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8')
const action = parse(read('action.yml')) as ActionMetadata
const sources = await repositorySources(root)
const smoke = sources.find((s) => s.name === '.github/workflows/action-smoke.yml')!

describe('input names of the steps that use the action', () => {
  it('all workflow and README steps pass only declared inputs, and all required ones', () => {
    const { steps, problems } = checkSources(action, sources)
    expect(problems).toEqual([])
    // Three `uses: ./` runs in the smoke workflow, and the README's examples.
    const local = sources.filter((s) => s.local).flatMap((s) => actionSteps(s.text, s))
    const readme = sources.filter((s) => !s.local).flatMap((s) => actionSteps(s.text, s))
    expect(local.length).toBeGreaterThanOrEqual(3)
    expect(readme.length).toBeGreaterThanOrEqual(3)
    expect(steps).toBe(local.length + readme.length)
  })

  it('catches the connection_name typo under uses: ./ (actionlint does not)', () => {
    const typo = smoke.text.replace('connection-name: smoke-', 'connection_name: smoke-')
    expect(typo).not.toBe(smoke.text)
    const { problems } = checkSources(action, [{ ...smoke, text: typo }])
    const line = typo.split('\n').findIndex((l) => l.includes('connection_name:')) + 1
    expect(problems).toEqual([
      {
        file: '.github/workflows/action-smoke.yml',
        line,
        message: '"connection_name" is not an input of action.yml (did you mean "connection-name"?)'
      },
      {
        file: '.github/workflows/action-smoke.yml',
        line: expect.any(Number),
        message: 'required input "connection-name" is missing'
      }
    ])
  })

  it('catches an unknown key and a missing required input in a README example', () => {
    const readme = read('README.md')
    const first = yamlBlocks(readme).find((b) => /aep-postgresql-connection-action@/.test(b.text))!
    const broken = first.text
      .replace(/^(\s*)sandbox-name:.*$/m, '$1sandbox: prod')
      .replace(/^(\s*)client-id:/m, '$1Client-Id:')
    const { problems } = checkSources(action, [
      { name: 'README.md', text: broken, local: false, lineOffset: first.line - 1 }
    ])
    // Client-Id is client-id to the runner, which compares input names without regard to case.
    expect(problems.map((p) => p.message)).toEqual([
      '"sandbox" is not an input of action.yml',
      'required input "sandbox-name" is missing'
    ])
    // Lines point into README.md itself.
    const lines = readme.split('\n')
    expect(lines[problems[0]!.line - 1]).toMatch(/^\s*sandbox-name:/)
  })

  it('a step without with: misses every required input', () => {
    const { problems } = checkSources(action, [
      { name: 'x.yml', text: 'steps:\n  - uses: ./\n', local: true }
    ])
    expect(problems.map((p) => p.message)).toEqual([
      'required input "client-id" is missing',
      'required input "ims-org-id" is missing',
      'required input "sandbox-name" is missing',
      'required input "connection-name" is missing'
    ])
  })

  it('recognises the action by its uses: value only', () => {
    expect(usesThisAction('./', { local: true })).toBe(true)
    expect(usesThisAction('actions/checkout@v5', { local: true })).toBe(false)
    expect(usesThisAction('your-org/aep-postgresql-connection-action@v1', { local: false })).toBe(
      true
    )
    expect(
      usesThisAction(
        'acme/aep-postgresql-connection-action@0123456789abcdef0123456789abcdef01234567',
        { local: false }
      )
    ).toBe(true)
    expect(usesThisAction('acme/other-action@v1', { local: false })).toBe(false)
    expect(usesThisAction('./', { local: false })).toBe(false)
    // GitHub resolves owner/repo without regard to case; ./. is the checkout too.
    expect(usesThisAction('Your-Org/AEP-PostgreSQL-Connection-Action@v1', { local: false })).toBe(
      true
    )
    expect(usesThisAction('./.', { local: true })).toBe(true)
  })

  describe('markdown and YAML forms that must not hide a typo', () => {
    const step = (uses = 'your-org/aep-postgresql-connection-action@v1', indent = '') =>
      [
        `- uses: ${uses}`,
        '  with:',
        '    connection_name: x',
        '    client-id: a',
        '    ims-org-id: b',
        '    sandbox-name: c'
      ]
        .map((l) => indent + l)
        .join('\n')
    const typo = '"connection_name" is not an input of action.yml (did you mean "connection-name"?)'
    const readmeProblems = (markdown: string) =>
      checkSources(
        action,
        yamlBlocks(markdown).map((b) => ({
          name: 'README.md',
          text: b.text,
          local: false,
          lineOffset: b.line - 1
        }))
      ).problems

    it.each([
      [
        'a fence indented in a list item',
        `1. Step:\n\n   \`\`\`yaml\n${step(undefined, '   ')}\n   \`\`\`\n`
      ],
      ['a ~~~ fence', `~~~yaml\n${step()}\n~~~\n`],
      ['an upper-case info string', `\`\`\`YAML\n${step()}\n\`\`\`\n`],
      ['an info string with attributes', `\`\`\`yaml title="ci.yml"\n${step()}\n\`\`\`\n`],
      ['a longer fence with yml', `\`\`\`\`yml\n${step()}\n\`\`\`\`\n`],
      [
        'owner/repo in another case',
        `\`\`\`yaml\n${step('Your-Org/AEP-PostgreSQL-Connection-Action@v1')}\n\`\`\`\n`
      ]
    ])('%s', (_label, markdown) => {
      const text = `# x\n\nintro\n\n${markdown}`
      const problems = readmeProblems(text)
      expect(problems.map((p) => p.message)).toEqual([
        typo,
        'required input "connection-name" is missing'
      ])
      expect(text.split('\n')[problems[0]!.line - 1]).toMatch(/^\s*connection_name: x$/)
    })

    it('a ```yaml block inside a ~~~ block is not a block of its own', () => {
      expect(yamlBlocks('~~~md\n```yaml\na: 1\n```\n~~~\n')).toEqual([])
    })

    it('uses: ./. is the checkout', () => {
      const { steps, problems } = checkSources(action, [
        { name: 'w.yml', text: `steps:\n${step('./.', '  ')}\n`, local: true }
      ])
      expect(steps).toBe(1)
      expect(problems.map((p) => p.message)[0]).toBe(typo)
    })

    it('aliases and merge keys are resolved, not reported', () => {
      const text = [
        'steps:',
        '  - uses: ./',
        '    with: &common',
        '      client-id: a',
        '      ims-org-id: b',
        '      sandbox-name: c',
        '      connection-name: d',
        '  - uses: ./',
        '    with: *common',
        '  - uses: ./',
        '    with:',
        '      <<: *common',
        '      dry-run: true',
        '  - uses: ./',
        '    with:',
        '      <<: [*common]',
        '      conection-name: x',
        ''
      ].join('\n')
      const { steps, problems } = checkSources(action, [{ name: 'w.yml', text, local: true }])
      expect(steps).toBe(4)
      expect(problems).toEqual([
        { file: 'w.yml', line: 17, message: '"conection-name" is not an input of action.yml' }
      ])
    })

    it('input names are compared without regard to case, as the runner does', () => {
      const text = step('./').replace('connection_name', 'Connection-Name')
      expect(checkSources(action, [{ name: 'w.yml', text, local: true }]).problems).toEqual([])
    })

    it('a block of several documents is read whole; a YAML error is a problem, not a crash', () => {
      const multi = `\`\`\`yaml\nname: a\n---\n${step()}\n\`\`\`\n`
      expect(readmeProblems(multi).map((p) => p.message)).toEqual([
        typo,
        'required input "connection-name" is missing'
      ])
      const broken = `# x\n\n\`\`\`yaml\nsteps:\n  - uses: [\n\`\`\`\n`
      const problems = readmeProblems(broken)
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatchObject({
        file: 'README.md',
        message: expect.stringMatching(/^YAML error: /)
      })
      expect(problems[0]!.line).toBeGreaterThanOrEqual(4)
    })
  })

  it('npm run check:inputs passes on the repository and fails with file:line on the typo', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['scripts/check-inputs.js', ...args], {
        cwd: root,
        encoding: 'utf8'
      })
    const ok = cli()
    expect(ok.stdout).toMatch(/check-inputs: \d+ step\(s\) using the action, 0 problem\(s\)\n/)
    expect(ok.status).toBe(0)

    const dir = mkdtempSync(path.join(tmpdir(), 'check-inputs-'))
    try {
      mkdirSync(path.join(dir, '.github', 'workflows'), { recursive: true })
      writeFileSync(path.join(dir, 'action.yml'), read('action.yml'))
      writeFileSync(path.join(dir, 'README.md'), read('README.md'))
      writeFileSync(
        path.join(dir, '.github', 'workflows', 'action-smoke.yml'),
        smoke.text.replace('connection-name: smoke-', 'connection_name: smoke-')
      )
      const bad = cli('--root', dir)
      expect(bad.status).toBe(1)
      expect(bad.stderr).toMatch(
        /^\.github\/workflows\/action-smoke\.yml:\d+: "connection_name" is not an input of action\.yml/m
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
