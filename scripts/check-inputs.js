// Checks the `with:` keys of every step that uses this action against action.yml:
//   - every `uses: ./` step in .github/workflows/*.yml
//   - every `uses: <owner>/aep-postgresql-connection-action@<ref>` step in README.md's yaml blocks
// A key action.yml does not declare (a typo such as connection_name) is an error, and so is a
// required input the step leaves out. The runner itself only warns about an unexpected input
// and then runs the step without it.
//
//   node scripts/check-inputs.js [--root DIR]   one line per problem (file:line), exit 1 when any
//
// Pure functions first; the caller passes the texts and the parsed action.yml.
import { LineCounter, isMap, isScalar, parseDocument, visit } from 'yaml'

/** `uses:` values that mean this action: the local checkout, or the published repository. */
export function usesThisAction(uses, { local }) {
  if (typeof uses !== 'string') return false
  const u = uses.trim()
  if (local) return u === './' || u === '.'
  return /^[\w.-]+\/aep-postgresql-connection-action@\S+$/.test(u)
}

/** The yaml code blocks of a markdown text: [{ text, line }] with the block's first line (1-based). */
export function yamlBlocks(markdown) {
  const blocks = []
  const re = /^```ya?ml[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/gm
  for (let m; (m = re.exec(markdown));)
    blocks.push({ text: m[1] ?? '', line: markdown.slice(0, m.index).split('\n').length + 1 })
  return blocks
}

/**
 * The steps in one YAML text that use this action: [{ uses, line, with: [{ key, line }] }].
 * `lineOffset` is added to every line (for blocks inside a markdown file).
 */
export function actionSteps(text, { local, lineOffset = 0 }) {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter })
  if (doc.errors.length)
    throw new Error(
      `YAML error at line ${lineOffset + (doc.errors[0].linePos?.[0]?.line ?? 1)}: ${doc.errors[0].message}`
    )
  const lineOf = (node) => lineOffset + lineCounter.linePos(node.range?.[0] ?? 0).line
  const steps = []
  visit(doc, {
    Map(_, node) {
      const usesPair = node.items.find((p) => isScalar(p.key) && p.key.value === 'uses')
      if (!usesPair || !usesThisAction(usesPair.value?.value, { local })) return
      const withNode = node.get('with', true)
      const keys = isMap(withNode)
        ? withNode.items.map((p) => ({ key: String(p.key?.value ?? p.key), line: lineOf(p.key) }))
        : []
      steps.push({ uses: usesPair.value.value, line: lineOf(usesPair.key), with: keys })
    }
  })
  return steps
}

/** The declared input nearest to a typo, if an obvious one exists (case, _ for -). */
function suggestion(key, names) {
  const norm = (s) => s.toLowerCase().replace(/[_\s.]/g, '-')
  return names.find((n) => norm(n) === norm(key))
}

/** Problems of one step: undeclared keys and missing required inputs. */
export function stepProblems(action, step) {
  const inputs = action?.inputs ?? {}
  const names = Object.keys(inputs)
  const problems = []
  const given = new Set(step.with.map((w) => w.key))
  for (const { key, line } of step.with)
    if (!(key in inputs)) {
      const near = suggestion(key, names)
      problems.push({
        line,
        message: `"${key}" is not an input of action.yml${near ? ` (did you mean "${near}"?)` : ''}`
      })
    }
  for (const [name, meta] of Object.entries(inputs))
    if (meta?.required === true && !given.has(name))
      problems.push({ line: step.line, message: `required input "${name}" is missing` })
  return problems
}

/**
 * Checks every source: [{ name, text, local, lineOffset? }]. Returns
 * { steps: number, problems: [{ file, line, message }] }.
 */
export function checkSources(action, sources) {
  let steps = 0
  const problems = []
  for (const s of sources)
    for (const step of actionSteps(s.text, s)) {
      steps++
      for (const p of stepProblems(action, step)) problems.push({ file: s.name, ...p })
    }
  return { steps, problems }
}

/** The repository's sources: workflows (uses: ./) and README yaml blocks (the published action). */
export async function repositorySources(root) {
  const { existsSync, readdirSync, readFileSync } = await import('node:fs')
  const path = await import('node:path')
  const sources = []
  const dir = path.join(root, '.github', 'workflows')
  if (existsSync(dir))
    for (const f of readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort())
      sources.push({
        name: `.github/workflows/${f}`,
        text: readFileSync(path.join(dir, f), 'utf8'),
        local: true
      })
  for (const b of yamlBlocks(readFileSync(path.join(root, 'README.md'), 'utf8')))
    sources.push({ name: 'README.md', text: b.text, local: false, lineOffset: b.line - 1 })
  return sources
}

const { pathToFileURL, fileURLToPath } = await import('node:url')
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { readFileSync } = await import('node:fs')
  const { parse } = await import('yaml')
  const path = await import('node:path')
  const at = process.argv.indexOf('--root')
  const root =
    at > 0 ? path.resolve(process.argv[at + 1]) : fileURLToPath(new URL('../', import.meta.url))
  const action = parse(readFileSync(path.join(root, 'action.yml'), 'utf8'))
  const { steps, problems } = checkSources(action, await repositorySources(root))
  for (const p of problems) console.error(`${p.file}:${p.line}: ${p.message}`)
  console.log(`check-inputs: ${steps} step(s) using the action, ${problems.length} problem(s)`)
  process.exit(problems.length ? 1 : 0)
}
