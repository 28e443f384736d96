// Checks the repository's metadata: action.yml against a JSON schema, the workflows with
// actionlint, and the README's input/output tables against action.yml (both ways).
import { describe, it, expect } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import { parse } from 'yaml'
import {
  DOCUMENTED_ACTIONS,
  isSecretInput,
  parseReadmeTables,
  splitRow,
  tableDrift,
  type ActionMetadata
} from '../scripts/readme-tables.js'
import { DEFAULTS, INPUT_NAMES, SECRET_INPUTS } from '../src/connection/inputs.js'
import { parseMapping } from '../src/dataflow/mapping-file.js'
import { exampleWorkflows, jobsWithoutEnvironment, markdownFiles } from '../scripts/actionlint.js'
import { yamlBlocks } from '../scripts/check-inputs.js'
import { DEPARTURES, type Departure } from './support/adobe-api.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8')

const actionYml = read('action.yml')
const action = parse(actionYml) as ActionMetadata & {
  runs: { using: string; main: string }
  inputs: Record<string, { description: string; required?: boolean; default?: unknown }>
  outputs: Record<string, { description: string }>
}
const readme = read('README.md')
const clone = <T>(v: T): T => structuredClone(v)

function validator() {
  const schema = JSON.parse(read('schemas/github-action.schema.json')) as object
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true })
  return ajv.compile(schema)
}

describe('action.yml', () => {
  const validate = validator()

  it('is valid against schemas/github-action.schema.json', () => {
    const ok = validate(action)
    expect(validate.errors ?? []).toEqual([])
    expect(ok).toBe(true)
  })

  it('runs dist/index.js on node24, and the bundle exists', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
    expect(existsSync(path.join(root, action.runs.main))).toBe(true)
  })

  it('gives every default as a string, the way the runner passes it', () => {
    for (const [name, meta] of Object.entries(action.inputs))
      if (meta.default !== undefined) expect([name, typeof meta.default]).toEqual([name, 'string'])
  })

  it('is mirrored by the input names, defaults and secrets in src/inputs.ts', () => {
    expect(Object.keys(action.inputs)).toEqual([...INPUT_NAMES])
    const defaults = Object.fromEntries(
      Object.entries(action.inputs)
        .filter(([, m]) => m.default !== undefined)
        .map(([n, m]) => [n, String(m.default)])
    )
    expect(defaults).toEqual(DEFAULTS)
    const secret = Object.keys(action.inputs).filter((n) => isSecretInput(action.inputs[n]))
    expect(secret.sort()).toEqual([...SECRET_INPUTS].sort())
  })

  it('is checked by a schema that rejects what the runner would reject', () => {
    const unknownRuntime = clone(action)
    unknownRuntime.runs.using = 'node22'
    expect(validate(unknownRuntime)).toBe(false)

    const noDescription = clone(action)
    delete (noDescription.inputs['client-id'] as { description?: string }).description
    expect(validate(noDescription)).toBe(false)

    const unknownKey = clone(action) as unknown as { inputs: Record<string, object> }
    unknownKey.inputs['client-id'] = { description: 'x', requried: true }
    expect(validate(unknownKey)).toBe(false)

    const badColor = clone(action) as unknown as { branding: { color: string } }
    badColor.branding.color = 'pink'
    expect(validate(badColor)).toBe(false)

    const noMain = clone(action) as unknown as { runs: Record<string, string> }
    delete noMain.runs.main
    expect(validate(noMain)).toBe(false)
  })
})

type LintResult = {
  files: string[]
  findings: Array<{ file: string; line: number; column: number; kind: string; message: string }>
}

/** Runs scripts/actionlint.js (actionlint compiled to WebAssembly) and parses its JSON. */
function actionlint(...files: string[]): { code: number | null; result: LintResult } {
  const r = spawnSync(process.execPath, ['scripts/actionlint.js', '--json', ...files], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000
  })
  if (!r.stdout.trim()) throw new Error(`actionlint printed nothing: ${r.stderr}`)
  return { code: r.status, result: JSON.parse(r.stdout) as LintResult }
}

const workflowFiles = readdirSync(path.join(root, '.github', 'workflows')).filter((f) =>
  /\.ya?ml$/.test(f)
)

describe('workflows', () => {
  it('pass actionlint: .github/workflows and every YAML example in the README and docs/', () => {
    const { code, result } = actionlint()
    const report = result.findings.map(
      (f) => `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`
    )
    expect(report).toEqual([])
    expect(code).toBe(0)
    for (const f of workflowFiles) expect(result.files).toContain(`.github/workflows/${f}:1`)
    // Every YAML block of every markdown file is linted, snippets included (wrapped).
    for (const file of markdownFiles(root)) {
      const blocks = yamlBlocks(read(file)).map((b) => `${file}:${b.line}`)
      expect([file, result.files.filter((f) => f.startsWith(`${file}:`))]).toEqual([file, blocks])
    }
    expect(result.files.filter((f) => f.startsWith('README.md:')).length).toBeGreaterThanOrEqual(3)
    expect(result.files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThanOrEqual(5)
  })

  it('wraps snippets: a list of steps into a job, a jobs: fragment under on:', () => {
    const md = [
      '# x',
      '',
      '```yaml',
      '- uses: actions/checkout@v5',
      '```',
      '',
      '```yaml',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo hi',
      '```',
      '',
      '```yaml',
      'version: 2',
      '```',
      ''
    ].join('\n')
    const examples = exampleWorkflows(md)
    expect(examples.map((e) => [e.kind, e.line])).toEqual([
      ['steps', 4],
      ['jobs', 8],
      ['other', 16]
    ])
    // A line of the wrapped text maps back to the markdown line.
    const steps = examples[0]!
    const usesLine = steps.text.split('\n').findIndex((l) => l.includes('actions/checkout')) + 1
    expect(usesLine + steps.lineOffset).toBe(4)
    expect(examples[1]!.text.startsWith('on: workflow_dispatch\njobs:')).toBe(true)
  })

  it('reports, at its markdown line, a broken snippet, a non-workflow block and a job without environment', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'actionlint-md-'))
    try {
      const file = path.join(dir, 'example.md')
      writeFileSync(
        file,
        [
          '# x',
          '',
          '```yaml',
          '- run: echo ${{ github.nope( }}',
          '```',
          '',
          '```yaml',
          'version: 2',
          '```',
          '',
          '```yaml',
          'jobs:',
          '  a:',
          '    runs-on: ubuntu-latest',
          '    steps:',
          '      - run: echo "$S"',
          '        env:',
          '          S: ${{ secrets.S }}',
          '```',
          ''
        ].join('\n')
      )
      const { code, result } = actionlint(file)
      expect(code).toBe(1)
      expect(result.findings.map((f) => [f.line, f.kind])).toEqual([
        [4, 'expression'],
        [8, 'example'],
        [13, 'example-environment']
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('every example job that reads secrets names its environment', () => {
    for (const file of markdownFiles(root))
      for (const e of exampleWorkflows(read(file)))
        expect([file, e.line, jobsWithoutEnvironment(e.text)]).toEqual([file, e.line, []])
    expect(
      jobsWithoutEnvironment('jobs:\n  a:\n    steps:\n      - run: ${{ secrets.X }}\n')
    ).toEqual([{ job: 'a', line: 2 }])
  })

  it('actionlint reports a broken workflow (the linter really runs)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'actionlint-'))
    try {
      const file = path.join(dir, 'broken.yml')
      writeFileSync(
        file,
        'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope( }}\n'
      )
      const { code, result } = actionlint(file)
      expect(code).toBe(1)
      expect(result.findings).toEqual([expect.objectContaining({ line: 6, kind: 'expression' })])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.each(['ci.yml', 'check-dist.yml', 'action-smoke.yml', 'release.yml', 'codeql.yml'])(
    '%s: read-only token, actions pinned by commit SHA, Node from .node-version or the matrix',
    (name) => {
      const text = read(`.github/workflows/${name}`)
      const wf = parse(text) as {
        permissions: unknown
        jobs: Record<
          string,
          {
            permissions?: Record<string, string>
            strategy?: { matrix?: { node?: number[] } }
            steps: Array<{ uses?: string; with?: Record<string, unknown> }>
          }
        >
      }
      expect(wf.permissions).toEqual({ contents: 'read' })
      // A job may widen the token only for what it publishes.
      for (const job of Object.values(wf.jobs))
        for (const [scope, level] of Object.entries(job.permissions ?? {}))
          if (level === 'write') expect(['contents', 'security-events']).toContain(scope)
      // Third-party actions: a full commit SHA, the version it is in a comment (Dependabot
      // updates both).
      const uses = text.split('\n').filter((l) => /^\s*-?\s*uses:/.test(l))
      for (const line of uses.filter((l) => !/uses: \.\//.test(l)))
        expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/)
      for (const job of Object.values(wf.jobs)) {
        const setupNode = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'))
        if (!setupNode) continue
        const matrix = job.strategy?.matrix?.node
        if (matrix) expect(setupNode.with?.['node-version']).toBe('${{ matrix.node }}')
        else expect(setupNode.with?.['node-version-file']).toBe('.node-version')
      }
    }
  )

  it('each action is pinned to one commit across the workflows', () => {
    const pins = new Map<string, Set<string>>()
    for (const f of workflowFiles)
      for (const [, action, pin] of read(`.github/workflows/${f}`).matchAll(
        /uses: ([\w.-]+\/[\w.-]+)[\w./-]*@([0-9a-f]{40} # v[\d.]+)/g
      ))
        pins.set(action!, new Set([...(pins.get(action!) ?? []), pin!]))
    expect(pins.size).toBeGreaterThanOrEqual(3)
    for (const [action, set] of pins) expect([action, set.size]).toEqual([action, 1])
  })

  it('ci.yml tests on every Node major that package.json engines accepts, and on Windows and macOS', () => {
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string } }
    const majors = [...pkg.engines.node.matchAll(/(\d+)(?=\.\d+\.\d+|$)|>=(\d+)/g)].map((m) =>
      Number(m[1] ?? m[2])
    )
    const ci = parse(read('.github/workflows/ci.yml')) as {
      jobs: Record<
        string,
        {
          'runs-on': string
          strategy?: { matrix?: { node?: number[]; os?: string[] } }
          steps: Array<{ run?: string }>
        }
      >
    }
    expect(ci.jobs.test?.strategy?.matrix?.node).toEqual(majors)
    expect(majors).toEqual([20, 22, 24])
    const os = ci.jobs['process-tests']!
    expect(os.strategy?.matrix?.os).toEqual(['windows-latest', 'macos-latest'])
    expect(os.steps.some((s) => s.run === 'npm test -- --testPathPatterns e2e-')).toBe(true)
  })

  it('.node-version names the runtime action.yml runs on (node24)', () => {
    expect(read('.node-version').trim()).toBe('24')
    expect(action.runs.using).toBe(`node${read('.node-version').trim()}`)
  })

  it('action-smoke.yml runs the local action against the simulator twice', () => {
    const wf = parse(read('.github/workflows/action-smoke.yml')) as {
      jobs: { smoke: { steps: Array<{ id?: string; uses?: string; run?: string }> } }
    }
    const steps = wf.jobs.smoke.steps
    expect(steps.some((s) => s.run?.includes('simulator/cli.js --port 8787 --ready-file'))).toBe(
      true
    )
    expect(steps.filter((s) => s.uses === './').map((s) => s.id)).toEqual(
      expect.arrayContaining(['create', 'update'])
    )
  })

  it('action-smoke.yml runs the dataflow action on the connection made, and deletes it before the connection', () => {
    const wf = parse(read('.github/workflows/action-smoke.yml')) as {
      jobs: {
        smoke: {
          steps: Array<{ id?: string; uses?: string; with?: Record<string, string> }>
        }
      }
    }
    const steps = wf.jobs.smoke.steps
    const order = steps.filter((s) => s.uses === './' || s.uses === './dataflow')
    expect(order.map((s) => [s.uses, s.id])).toEqual([
      ['./', 'create'],
      ['./', 'update'],
      ['./dataflow', 'dataflow-create'],
      ['./dataflow', 'dataflow-again'],
      ['./dataflow', 'dataflow-delete'],
      ['./', 'delete']
    ])
    const created = steps.find((s) => s.id === 'dataflow-create')!
    expect(created.with).toMatchObject({
      'base-connection-id': '${{ steps.create.outputs.connection-id }}',
      'dataset-name': 'orders-dataset',
      mapping: '.tmp/smoke-mapping.yml'
    })
    expect(steps.find((s) => s.id === 'dataflow-delete')?.with?.state).toBe('absent')
  })
})

describe('README tables', () => {
  it('match action.yml both ways (names, required, defaults, secrets)', () => {
    expect(tableDrift(action, readme)).toEqual([])
    const tables = parseReadmeTables(readme)
    expect(tables.inputs?.map((r) => r.name)).toEqual(Object.keys(action.inputs))
    expect(tables.outputs?.map((r) => r.name)).toEqual(Object.keys(action.outputs))
  })

  it('drift check fails when an input is added to action.yml but not to the README', () => {
    const changed = clone(action)
    changed.inputs['proxy-url'] = { description: 'An HTTPS proxy.', required: false }
    expect(tableDrift(changed, readme)).toEqual([
      'input proxy-url is in action.yml but not in the README inputs table'
    ])
  })

  it('drift check fails on a changed default, required flag or secret marking', () => {
    const changed = clone(action)
    changed.inputs['timeout-seconds']!.default = '300'
    changed.inputs['sandbox-name']!.required = false
    changed.inputs['username']!.description = 'Secret. The database user.'
    expect(tableDrift(changed, readme)).toEqual([
      'input sandbox-name: README says required "yes", action.yml says "no"',
      'input username: is secret in action.yml but the README does not mark it (secret)',
      'input timeout-seconds: README default "120", action.yml default "300"'
    ])
  })

  it('drift check fails when the README has rows action.yml lacks, or misses an output', () => {
    const changed = clone(action)
    delete changed.inputs['max-attempts']
    changed.outputs['dataflow-id'] = { description: 'x' }
    delete changed.outputs['etag']
    expect(tableDrift(changed, readme)).toEqual([
      'input max-attempts is in the README inputs table but not in action.yml',
      'output dataflow-id is in action.yml but not in the README outputs table',
      'output etag is in the README outputs table but not in action.yml'
    ])
  })

  it('drift check reports missing tables', () => {
    expect(tableDrift(action, '# README\n')).toEqual([
      'README has no inputs table (inputs-table markers missing)',
      'README has no outputs table (outputs-table markers missing)'
    ])
  })

  it('reads escaped pipes inside cells', () => {
    expect(splitRow('| `a` | no | — | x \\| y |')).toEqual(['`a`', 'no', '—', 'x | y'])
  })
})

describe('docs/dataflow.md tables (the dataflow action)', () => {
  const dataflowAction = parse(read('dataflow/action.yml')) as ActionMetadata & {
    inputs: Record<string, { description: string; required?: boolean; default?: unknown }>
    outputs: Record<string, { description: string }>
  }
  const doc = read('docs/dataflow.md')
  const labels = { doc: 'docs/dataflow.md', action: 'dataflow/action.yml' }
  const drift = (text = doc, meta: ActionMetadata = dataflowAction) =>
    tableDrift(meta, text, labels)
  /**
   * The document with table rows edited: each named row's cells replaced by what its function
   * returns, or the row removed when it returns undefined.
   */
  const withRows = (edits: Record<string, (cells: string[]) => string[] | undefined>) => {
    const lines = doc.split('\n')
    for (const [name, edit] of Object.entries(edits)) {
      const at = lines.findIndex((l) => l.startsWith(`| \`${name}\``))
      expect([name, at > 0]).toEqual([name, true])
      const cells = edit(splitRow(lines[at]!))
      if (cells) lines[at] = `| ${cells.join(' | ')} |`
      else lines.splice(at, 1)
    }
    return lines.join('\n')
  }

  it('the checker knows both actions and their documents', () => {
    expect(DOCUMENTED_ACTIONS.map((d) => [d.doc, d.action])).toEqual([
      ['README.md', 'action.yml'],
      ['docs/dataflow.md', 'dataflow/action.yml']
    ])
    for (const d of DOCUMENTED_ACTIONS) expect(existsSync(path.join(root, d.doc))).toBe(true)
  })

  it('match dataflow/action.yml both ways (names in order, required, defaults, secrets)', () => {
    expect(drift()).toEqual([])
    const tables = parseReadmeTables(doc)
    expect(tables.inputs?.map((r) => r.name)).toEqual(Object.keys(dataflowAction.inputs))
    expect(tables.outputs?.map((r) => r.name)).toEqual(Object.keys(dataflowAction.outputs))
  })

  it('npm run check:readme checks both documents and passes', () => {
    const r = spawnSync(process.execPath, ['scripts/readme-tables.js'], {
      cwd: root,
      encoding: 'utf8'
    })
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe(
      'README.md: the input and output tables match action.yml\n' +
        'docs/dataflow.md: the input and output tables match dataflow/action.yml\n'
    )
    expect(r.status).toBe(0)
  })

  it('fails when a row is missing from the document', () => {
    expect(drift(withRows({ 'delta-column': () => undefined }))).toEqual([
      'input delta-column is in dataflow/action.yml but not in the docs/dataflow.md inputs table'
    ])
    expect(drift(withRows({ 'mapping-version': () => undefined }))).toEqual([
      'output mapping-version is in dataflow/action.yml but not in the docs/dataflow.md outputs table'
    ])
  })

  it('fails when a row differs: default, required flag, secret marking, a misspelt name', () => {
    const edited = withRows({
      frequency: ([name, required, , description]) => [name!, required!, '`hour`', description!],
      'dataflow-name': ([name, , def, description]) => [name!, 'no', def!, description!],
      'client-secret': ([, required, def, description]) => [
        '`client-secret`',
        required!,
        def!,
        description!
      ],
      table: ([, ...rest]) => ['`tabel`', ...rest]
    })
    expect(drift(edited)).toEqual([
      'input client-secret: is secret in dataflow/action.yml but the docs/dataflow.md does not mark it (secret)',
      'input dataflow-name: docs/dataflow.md says required "no", dataflow/action.yml says "yes"',
      'input table is in dataflow/action.yml but not in the docs/dataflow.md inputs table',
      'input frequency: docs/dataflow.md default "hour", dataflow/action.yml default "day"',
      'input tabel is in the docs/dataflow.md inputs table but not in dataflow/action.yml'
    ])
  })

  it('the example mapping files (```text blocks headed by their path) read as the action reads them', () => {
    const examples = markdownFiles(root).flatMap((file) =>
      [...read(file).matchAll(/^```text\n# (aep\/[\w.-]+\.ya?ml)\n([\s\S]*?)^```$/gm)].map((m) => ({
        file,
        path: m[1]!,
        text: m[2]!
      }))
    )
    expect(examples.map((e) => e.file)).toEqual(
      expect.arrayContaining(['README.md', 'docs/dataflow.md'])
    )
    for (const e of examples) {
      const items = parseMapping(e.text, e.path)
      expect([e.file, items.length > 0]).toEqual([e.file, true])
    }
  })

  it('fails when dataflow/action.yml changes and the document does not', () => {
    const changed = clone(dataflowAction)
    changed.inputs['schedule-timezone'] = { description: 'x', required: false }
    changed.inputs['interval']!.default = '1'
    delete changed.outputs['etag']
    expect(drift(doc, changed)).toEqual([
      'input interval: docs/dataflow.md default (none), dataflow/action.yml default "1"',
      'input schedule-timezone is in dataflow/action.yml but not in the docs/dataflow.md inputs table',
      'output etag is in the docs/dataflow.md outputs table but not in dataflow/action.yml'
    ])
  })
})

describe('README', () => {
  const lines = readme.split('\n')
  const lineOf = (text: string) => lines.findIndex((l) => l.includes(text)) + 1

  it('opens with what it does and a complete workflow to copy, on the first screen', () => {
    const firstYaml = lineOf('```yaml')
    expect(firstYaml).toBeGreaterThan(0)
    expect(firstYaml).toBeLessThan(15)
    expect(lines.slice(firstYaml, firstYaml + 32).join('\n')).toMatch(
      /environment: prod[\s\S]*uses: your-org\/aep-postgresql-connection-action@v1/
    )
  })

  it('stays a quick read: at most 450 lines, reference material in docs/', () => {
    expect(lines.length).toBeLessThanOrEqual(450)
  })

  it('keeps the two commands every evaluator runs near the top, and says the simulator is not Adobe', () => {
    // Right after the top example (both actions and the mapping file) and the contents.
    expect(lineOf('npm ci && npm start')).toBeLessThan(100)
    expect(lineOf('npm ci && npm test')).toBeLessThan(105)
    expect(readme).toMatch(/simulator of Flow Service and\s+Adobe IMS/i)
    expect(readme).toMatch(/No Adobe account is used/)
  })

  it('has a table of contents and the sections users look for, in order', () => {
    const headings = [
      '## Contents',
      '## Try it without an Adobe account; run the tests',
      '## What you need from Adobe',
      '## Secrets and variables',
      '## Inputs',
      '## Outputs',
      '## Workflows you can copy',
      '### Chaining: pass the connection id to later jobs',
      '### Promotion dev → stage → prod',
      '### More workflows',
      '## Troubleshooting',
      '## How it behaves',
      '## Permissions',
      '## Versions and pinning'
    ]
    const at = headings.map((h) => lines.indexOf(h))
    expect(headings.filter((_, i) => at[i]! < 0)).toEqual([])
    expect([...at].sort((a, b) => a - b)).toEqual(at)
  })

  it('links to docs/workflows.md for the other workflows, each a section there', () => {
    const workflows = read('docs/workflows.md').split('\n')
    for (const h of [
      '## The connection and the dataflow in two jobs',
      '## Promotion of the whole pipeline, in one file',
      '## A preview environment per pull request',
      '## Credential rotation',
      '## A plan on pull requests',
      '## Self-hosted runners and proxies',
      '## Pinning by commit SHA'
    ])
      expect(workflows).toContain(h)
    for (const [, anchor] of readme.matchAll(/\(docs\/workflows\.md#([\w-]+)\)/g))
      expect(
        workflows.map((l) =>
          l
            .replace(/^#+ /, '')
            .toLowerCase()
            .replace(/[^\w -]/g, '')
            .replace(/ /g, '-')
        )
      ).toContain(anchor)
  })

  it('leaves contributor material to CONTRIBUTING.md and docs/', () => {
    for (const heading of ['## Development', '## Releasing', '## Performance'])
      expect(lines).not.toContain(heading)
    expect(readme).not.toContain('INPUT_')
    // The id-is-never-masked note: once, in the outputs table.
    expect(readme.match(/never masked/gi)?.length).toBe(1)
    expect(read('CONTRIBUTING.md')).toContain('## Releasing')
    expect(read('docs/performance.md')).toContain('npm run bench')
  })

  it('chains jobs on connection-id being set, not on operation == created', () => {
    const workflows = read('docs/workflows.md')
    expect(readme).toContain("if: needs.connection.outputs.connection-id != ''")
    expect(workflows).toContain("if: needs.connection.outputs.connection-id != ''")
    for (const text of [readme, workflows]) {
      expect(text).not.toMatch(/operation\s*==\s*'created'\n/)
      expect(text).not.toMatch(/if: .*operation == 'created'/)
    }
  })

  it('runs the whole pipeline with uses: steps: the connection, then the dataflow on its id; no curl', () => {
    const first = yamlBlocks(readme)[0]!
    const wf = parse(first.text) as {
      jobs: Record<
        string,
        {
          environment?: string
          concurrency?: { group?: string; 'cancel-in-progress'?: boolean }
          steps: Array<{ id?: string; uses?: string; with?: Record<string, unknown> }>
        }
      >
    }
    const jobs = Object.values(wf.jobs)
    expect(jobs).toHaveLength(1)
    const job = jobs[0]!
    expect(job.environment).toBe('prod')
    expect(job.concurrency).toEqual({ group: 'aep-prod', 'cancel-in-progress': false })
    const ours = job.steps.filter((s) => s.uses?.startsWith('your-org/'))
    expect(ours.map((s) => s.uses)).toEqual([
      'your-org/aep-postgresql-connection-action@v1',
      'your-org/aep-postgresql-connection-action/dataflow@v1'
    ])
    const [connection, dataflow] = ours
    expect(dataflow!.with).toMatchObject({
      'base-connection-id': `\${{ steps.${connection!.id}.outputs.connection-id }}`,
      table: expect.any(String),
      'dataset-name': expect.any(String),
      mapping: 'aep/orders-mapping.yaml',
      'delta-column': expect.any(String)
    })
    // The mapping file is read from the workspace: the job checks the repository out first.
    expect(job.steps.findIndex((s) => s.uses?.startsWith('actions/checkout@'))).toBe(0)
    // The example mapping file follows, and the action's parser reads it.
    expect(readme).toMatch(/^```text\n# aep\/orders-mapping\.yaml\n/m)
    // The workflows hand users steps of these actions, never a script of their own.
    for (const text of [readme, read('docs/workflows.md')]) expect(text).not.toMatch(/\bcurl\b/)
  })

  it('the preview workflow deletes the dataflow before the connection (1418), and the promotion finds datasets by name', () => {
    type Step = { uses?: string; with?: Record<string, unknown> }
    type Wf = { on?: unknown; jobs: Record<string, { steps?: Step[] }> }
    const workflows = yamlBlocks(read('docs/workflows.md')).map((b) => parse(b.text) as Wf)
    const preview = workflows.find((w) => JSON.stringify(w.on).includes('closed'))!
    const cleanup = preview.jobs.cleanup!.steps!
    expect(cleanup.map((s) => [s.uses, s.with?.state])).toEqual([
      ['your-org/aep-postgresql-connection-action/dataflow@v1', 'absent'],
      ['your-org/aep-postgresql-connection-action@v1', 'absent']
    ])
    // Every dataflow step of a promotion (README and docs) names its dataset by name.
    const promotions = [
      ...yamlBlocks(readme).filter((b) => /AEP pipeline/.test(b.text)),
      ...yamlBlocks(read('docs/workflows.md')).filter((b) => /Promote AEP pipeline/.test(b.text))
    ].map((b) => parse(b.text) as Wf)
    const dataflowSteps = promotions.flatMap((w) =>
      Object.values(w.jobs).flatMap((j) =>
        (j.steps ?? []).filter((s) => /\/dataflow@/.test(s.uses ?? ''))
      )
    )
    expect(dataflowSteps.length).toBeGreaterThanOrEqual(4)
    for (const step of dataflowSteps) {
      expect(step.with?.['dataset-name']).toBe('orders')
      expect(step.with?.['dataset-id']).toBeUndefined()
    }
  })

  it('shows pinning by major tag and by full commit SHA, and the permissions the action needs', () => {
    expect(readme).toMatch(/aep-postgresql-connection-action@v1\b/)
    expect(read('docs/workflows.md')).toMatch(
      /aep-postgresql-connection-action@[0-9a-f]{40} # v\d+\.\d+\.\d+/
    )
    expect(readme).toMatch(/uses no `GITHUB_TOKEN`/)
  })

  it('states the Node versions package.json engines allows', () => {
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string } }
    expect(pkg.engines.node).toBe('^20.19.0 || ^22.13.0 || >=24')
    expect(readme).toContain('Node.js 20.19+, 22.13+ or 24+')
  })
})

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>()
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '')
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm))
    out.add(
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-')
    )
  return out
}

describe('links between the documents', () => {
  const docs = [
    'README.md',
    'CONTRIBUTING.md',
    'CHANGELOG.md',
    'SECURITY.md',
    'docs/how-it-works.md',
    'docs/performance.md',
    'docs/dataflow.md',
    'docs/workflows.md',
    'docs/troubleshooting.md'
  ]
  it.each(docs)('%s: every relative link and #anchor resolves', (doc) => {
    const text = read(doc).replace(/^```[\s\S]*?^```/gm, '')
    const broken: string[] = []
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!
      if (/^[a-z]+:/.test(target)) continue
      const [file, anchor] = target.split('#') as [string, string | undefined]
      const rel = file ? path.join(path.dirname(doc), file) : doc
      if (!existsSync(path.join(root, rel))) {
        broken.push(target)
        continue
      }
      if (anchor !== undefined && rel.endsWith('.md') && !anchors(read(rel)).has(anchor))
        broken.push(target)
    }
    expect(broken).toEqual([])
  })
})

describe("docs/how-it-works.md: the departures from Adobe's API description", () => {
  const text = read('docs/how-it-works.md')
  const section = text.slice(
    text.indexOf("## Where the action departs from Adobe's API description")
  )
  // The section's two tables: requests, then replies; each row split into cells.
  const tables = section
    .split(/\n\s*\n/)
    .filter((b) => b.trimStart().startsWith('|'))
    .map((b) =>
      b
        .trim()
        .split('\n')
        .slice(2)
        .map((l) => splitRow(l))
    )
  const isReply = (d: Departure) => d.problem.startsWith('reply ')
  /** The tutorial files a departure cites, as the docs write them (under help/). */
  const sourcesOf = (d: Departure) => [...d.source.matchAll(/help\/(\S+?\.md)/g)].map((m) => m[1]!)
  const rowFits = (row: string[], d: Departure) =>
    row[0]!.includes(`\`${d.operationId}\``) && sourcesOf(d).every((f) => row.at(-1)!.includes(f))
  /** A request row also says what kind of departure it is, in its words. */
  const formFits = (row: string[], d: Departure) => {
    const [, sends = '', declares = ''] = row
    const f = d.form
    switch (f.kind) {
      case 'path':
        return declares.includes('(with a slash)')
      case 'body-items':
        return sends.includes('array')
      case 'lower-case':
        return sends.includes('lower case')
      case 'type':
        return declares.includes(f.declared)
      case 'missing':
        return sends.includes(`no \`${f.name}\``) && declares.includes('required')
      default:
        return false
    }
  }

  it('has a table of requests and a table of replies', () => {
    expect(tables).toHaveLength(2)
  })

  it('lists each request departure once, with its operation, its kind and its source', () => {
    const requests = DEPARTURES.filter((d) => !isReply(d))
    const rows = tables[0]!
    expect(rows).toHaveLength(requests.length)
    // One row each: every departure takes the first row left that fits it.
    const left = new Set(rows.keys())
    const unlisted: string[] = []
    for (const d of requests) {
      const at = [...left].find((i) => rowFits(rows[i]!, d) && formFits(rows[i]!, d))
      if (at === undefined) unlisted.push(`${d.operationId}: ${d.problem}`)
      else left.delete(at)
    }
    expect(unlisted).toEqual([])
    expect(left.size).toBe(0)
  })

  it('lists each reply departure in a row of its operation, with its source; every row is one', () => {
    const replies = DEPARTURES.filter(isReply)
    const rows = tables[1]!
    expect(replies.filter((d) => !rows.some((r) => rowFits(r, d))).map((d) => d.problem)).toEqual(
      []
    )
    expect(rows.filter((r) => !replies.some((d) => rowFits(r, d))).map((r) => r[0])).toEqual([])
  })
})

describe('statements about the action that go stale', () => {
  it("SECURITY.md names every output and every secret input, both actions'", () => {
    const security = read('SECURITY.md')
    const dataflow = parse(read('dataflow/action.yml')) as ActionMetadata
    const outputs = [...Object.keys(action.outputs), ...Object.keys(dataflow.outputs ?? {})]
    expect(outputs).toContain('mapping-set-id')
    for (const name of outputs)
      expect([name, security]).toEqual([name, expect.stringContaining(`\`${name}\``)])
    const secretLine = security.split('\n').find((l) => l.startsWith('Secret inputs:')) ?? ''
    const dataflowSecrets = Object.keys(dataflow.inputs ?? {}).filter((n) =>
      isSecretInput(dataflow.inputs?.[n])
    )
    expect(dataflowSecrets).toEqual(['client-secret', 'access-token'])
    for (const name of [...SECRET_INPUTS, ...dataflowSecrets])
      expect(secretLine).toContain(`\`${name}\``)
  })

  it("docs/performance.md gives the bundle's size today (within 10 %)", () => {
    const stated = /`dist\/index\.js` is [\d.]+ MB \(([\d,]+) B\)/.exec(read('docs/performance.md'))
    expect(stated).not.toBeNull()
    const bytes = Number(stated![1]!.replace(/,/g, ''))
    const actual = statSync(path.join(root, 'dist', 'index.js')).size
    expect(Math.abs(bytes - actual) / actual).toBeLessThan(0.1)
  })
})
