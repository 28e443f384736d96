// Every step that uses one of this repository's actions, by any reference (`uses: ./` in the
// workflows, the published action in the README's and docs' examples, or another repository's
// workflows checked with --root), passes only inputs its action.yml declares, and every required
// one.
import { describe, it, expect } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import {
  REPOSITORY,
  actionDirOf,
  actionSteps,
  checkSources,
  loadActions,
  repositorySources,
  yamlBlocks,
  type Actions
} from '../scripts/check-inputs.js'
import type { ActionMetadata } from '../scripts/readme-tables.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8')
const action = parse(read('action.yml')) as ActionMetadata
const actions: Actions = { '': action }
const repoNames = [REPOSITORY]
const sources = await repositorySources(root, { local: true })
const smoke = sources.find((s) => s.name === '.github/workflows/action-smoke.yml')!
const stepsOf = (name: RegExp) =>
  sources.filter((s) => name.test(s.name)).flatMap((s) => actionSteps(s.text, { ...s, repoNames }))

describe('input names of the steps that use the action', () => {
  it('all workflow, README and docs/ steps pass only declared inputs, and all required ones', async () => {
    expect(await loadActions(root)).toEqual(expect.objectContaining({ '': action }))
    const { steps, problems } = checkSources(await loadActions(root), sources)
    expect(problems).toEqual([])
    // Three `uses: ./` runs in the smoke workflow, and the examples of the README and docs/.
    const workflows = stepsOf(/^\.github\//)
    const readme = stepsOf(/^README\.md$/)
    const docs = stepsOf(/^docs\//)
    expect(workflows.length).toBeGreaterThanOrEqual(3)
    expect(readme.length).toBeGreaterThanOrEqual(3)
    expect(docs.length).toBeGreaterThanOrEqual(5)
    expect(steps).toBe(workflows.length + readme.length + docs.length)
  })

  it("REPOSITORY is package.json's name", () => {
    expect(REPOSITORY).toBe((JSON.parse(read('package.json')) as { name: string }).name)
  })

  it('catches the connection_name typo under uses: ./ (actionlint does not)', async () => {
    const typo = smoke.text.replace('connection-name: smoke-', 'connection_name: smoke-')
    expect(typo).not.toBe(smoke.text)
    // Both actions: the smoke workflow runs uses: ./dataflow too.
    const { problems } = checkSources(await loadActions(root), [{ ...smoke, text: typo }])
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

  it('catches an unknown key and a missing required input in a README example', async () => {
    const readme = read('README.md')
    const first = yamlBlocks(readme).find((b) => /aep-postgresql-connection-action@/.test(b.text))!
    // The first step of the action in the example is the connection step.
    const broken = first.text
      .replace(/^(\s*)sandbox-name:.*$/m, '$1sandbox: prod')
      .replace(/^(\s*)client-id:/m, '$1Client-Id:')
    const { problems } = checkSources(await loadActions(root), [
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

  it("checks the README's dataflow steps against dataflow/action.yml", async () => {
    const all = await loadActions(root)
    expect(Object.keys(all).sort()).toEqual(['', 'dataflow'])
    const readme = read('README.md')
    const first = yamlBlocks(readme).find((b) => /\/dataflow@/.test(b.text))!
    const steps = actionSteps(first.text, { local: false, repoNames })
    expect(steps.map((s) => s.dir)).toEqual(['', 'dataflow'])
    // A typo in the dataflow step: the key is not an input of dataflow/action.yml, and the
    // connection action's name for it is not one either.
    const at = first.text.indexOf('dataflow-name:')
    const broken = `${first.text.slice(0, at)}connection-name:${first.text.slice(at + 'dataflow-name:'.length)}`
    const { problems } = checkSources(all, [
      { name: 'README.md', text: broken, local: false, lineOffset: first.line - 1 }
    ])
    expect(problems.map((p) => p.message)).toEqual([
      '"connection-name" is not an input of dataflow/action.yml',
      'required input "dataflow-name" is missing'
    ])
    expect(readme.split('\n')[problems[0]!.line - 1]).toMatch(/^\s*dataflow-name:/)
    // Every README and docs/ example step of the dataflow action is checked.
    const dataflowSteps = [...stepsOf(/^README\.md$/), ...stepsOf(/^docs\//)].filter(
      (s) => s.dir === 'dataflow'
    )
    expect(dataflowSteps.length).toBeGreaterThanOrEqual(8)
  })

  it('a step without with: misses every required input', () => {
    const { problems } = checkSources(actions, [
      { name: 'x.yml', text: 'steps:\n  - uses: ./\n', local: true }
    ])
    expect(problems.map((p) => p.message)).toEqual([
      'required input "client-id" is missing',
      'required input "ims-org-id" is missing',
      'required input "sandbox-name" is missing',
      'required input "connection-name" is missing'
    ])
  })

  it('recognises the actions by any reference, and nothing else', () => {
    const dir = (uses: string, local = false, names = repoNames) =>
      actionDirOf(uses, { local, repoNames: names })
    // Local forms, only in this repository itself.
    expect(['./', '.', './.', './dataflow', './dataflow/'].map((u) => dir(u, true))).toEqual([
      '',
      '',
      '',
      'dataflow',
      'dataflow'
    ])
    expect(dir('./', false)).toBeUndefined()
    // Any owner, any ref (tag, branch, SHA); owner/repo without regard to case.
    for (const ref of ['v1', 'v1.0.0', 'main', '0123456789abcdef0123456789abcdef01234567'])
      expect(dir(`acme/aep-postgresql-connection-action@${ref}`)).toBe('')
    expect(dir('Your-Org/AEP-PostgreSQL-Connection-Action@v1')).toBe('')
    expect(dir('acme/aep-postgresql-connection-action/dataflow@v1')).toBe('dataflow')
    // Other actions, docker images and reusable workflows are not this repository's actions.
    expect(dir('actions/checkout@v5')).toBeUndefined()
    expect(dir('acme/other-action@v1')).toBeUndefined()
    expect(dir('docker://postgres:16')).toBeUndefined()
    expect(
      dir('acme/aep-postgresql-connection-action/.github/workflows/deploy.yml@v1')
    ).toBeUndefined()
    // A local reusable workflow (a job's uses:, as in the README's promotion) is not an action.
    expect(dir('./.github/workflows/aep-pipeline.yml', true)).toBeUndefined()
    expect(dir('./.github/workflows/aep-pipeline.yaml', true)).toBeUndefined()
    expect(dir('acme/aep-postgresql-connection-action')).toBeUndefined()
    // A fork under another name, given with --repo.
    expect(dir('acme/aep-conn@v1')).toBeUndefined()
    expect(dir('acme/aep-conn@v1', false, [...repoNames, 'aep-conn'])).toBe('')
  })

  it('checks a step of the action in a subdirectory against that action.yml', () => {
    const withDataflow: Actions = {
      ...actions,
      dataflow: { inputs: { table: { description: 'x', required: true } } }
    }
    const text = [
      'steps:',
      '  - uses: acme/aep-postgresql-connection-action/dataflow@v1',
      '    with:',
      '      tabel: public.orders',
      '  - uses: acme/aep-postgresql-connection-action/nothing-here@v1',
      ''
    ].join('\n')
    const { steps, problems } = checkSources(withDataflow, [{ name: 'w.yml', text, local: false }])
    expect(steps).toBe(2)
    expect(problems).toEqual([
      { file: 'w.yml', line: 4, message: '"tabel" is not an input of dataflow/action.yml' },
      { file: 'w.yml', line: 2, message: 'required input "table" is missing' },
      {
        file: 'w.yml',
        line: 5,
        message: '"nothing-here" holds no action of this repository (its actions: ., dataflow)'
      }
    ])
  })

  it('finds the actions of a repository: action.yml and <dir>/action.yml beside it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'check-inputs-actions-'))
    try {
      writeFileSync(path.join(dir, 'action.yml'), 'inputs:\n  a:\n    description: x\n')
      for (const d of ['dataflow', 'node_modules', '.github'])
        mkdirSync(path.join(dir, d), { recursive: true })
      writeFileSync(
        path.join(dir, 'dataflow', 'action.yaml'),
        'inputs:\n  b:\n    description: y\n'
      )
      writeFileSync(path.join(dir, 'node_modules', 'action.yml'), 'inputs: {}\n')
      const found = await loadActions(dir)
      expect(Object.keys(found).sort()).toEqual(['', 'dataflow'])
      expect(Object.keys(found.dataflow?.inputs ?? {})).toEqual(['b'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
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
        actions,
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
      const { steps, problems } = checkSources(actions, [
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
      const { steps, problems } = checkSources(actions, [{ name: 'w.yml', text, local: true }])
      expect(steps).toBe(4)
      expect(problems).toEqual([
        { file: 'w.yml', line: 17, message: '"conection-name" is not an input of action.yml' }
      ])
    })

    it('input names are compared without regard to case, as the runner does', () => {
      const text = step('./').replace('connection_name', 'Connection-Name')
      expect(checkSources(actions, [{ name: 'w.yml', text, local: true }]).problems).toEqual([])
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

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(root, 'scripts/check-inputs.js'), ...args], {
      cwd: tmpdir(),
      encoding: 'utf8'
    })

  it('npm run check:inputs passes on this repository', () => {
    const ok = cli()
    expect(ok.stdout).toMatch(/check-inputs: \d+ step\(s\) using the action, 0 problem\(s\)\n/)
    expect(ok.status).toBe(0)
  })

  it("--root checks another repository's workflows, composite actions and docs, by any reference", () => {
    // A user's repository: no action.yml of ours, the action used by tag, SHA and from a fork.
    const dir = mkdtempSync(path.join(tmpdir(), 'check-inputs-user-'))
    try {
      const wf = path.join(dir, '.github', 'workflows')
      const composite = path.join(dir, '.github', 'actions', 'aep')
      mkdirSync(wf, { recursive: true })
      mkdirSync(composite, { recursive: true })
      const good = [
        '        with:',
        '          client-id: a',
        '          client-secret: b',
        '          ims-org-id: c',
        '          sandbox-name: d',
        '          connection-name: e'
      ]
      writeFileSync(
        path.join(wf, 'deploy.yml'),
        [
          'on: push',
          'jobs:',
          '  a:',
          '    runs-on: ubuntu-latest',
          '    steps:',
          '      - uses: ./', // the user's own local action: not ours
          '      - uses: acme/aep-postgresql-connection-action@v1',
          ...good,
          '      - uses: acme/aep-postgresql-connection-action@0123456789abcdef0123456789abcdef01234567',
          ...good.map((l) => l.replace('connection-name', 'connection_name')),
          ''
        ].join('\n')
      )
      writeFileSync(
        path.join(composite, 'action.yml'),
        [
          'runs:',
          '  using: composite',
          '  steps:',
          '    - uses: acme/aep-conn@main',
          ...good.map((l) => l.slice(2).replace('sandbox-name', 'sandbox')),
          ''
        ].join('\n')
      )
      const plain = cli('--root', dir)
      expect(plain.status).toBe(1)
      expect(plain.stderr.split('\n').filter(Boolean)).toEqual([
        '.github/workflows/deploy.yml:20: "connection_name" is not an input of action.yml (did you mean "connection-name"?)',
        '.github/workflows/deploy.yml:14: required input "connection-name" is missing'
      ])
      expect(plain.stdout).toMatch(
        /^check-inputs: 2 step\(s\) using the action, 2 problem\(s\) in /
      )

      // With --repo, the fork's name counts too: the composite action's step is checked.
      const fork = cli('--root', dir, '--repo', 'acme/aep-conn')
      expect(fork.stderr).toMatch(
        /^\.github\/actions\/aep\/action\.yml:9: "sandbox" is not an input of action\.yml$/m
      )
      expect(fork.stdout).toMatch(/3 step\(s\) using the action, 4 problem\(s\)/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('--root on a directory with nothing to check is not an error', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'check-inputs-empty-'))
    try {
      const r = cli('--root', dir)
      expect(r.status).toBe(0)
      expect(r.stdout).toMatch(/0 step\(s\) using the action, 0 problem\(s\)/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
