// Checks the `with:` keys of every step that uses this action against action.yml:
//   - every `uses: ./` step in .github/workflows/*.yml
//   - every `uses: <owner>/aep-postgresql-connection-action@<ref>` step in README.md's yaml blocks
//     (``` or ~~~ fences, indented ones in lists too)
// A key action.yml does not declare (a typo such as connection_name) is an error, and so is a
// required input the step leaves out. The runner itself only warns about an unexpected input
// and then runs the step without it.
//
//   node scripts/check-inputs.js [--root DIR]   one line per problem (file:line), exit 1 when any
//
// Pure functions first; the caller passes the texts and the parsed action.yml.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, visit } from 'yaml'

/**
 * `uses:` values that mean this action: the local checkout (`./`, `.`, `./.`), or the published
 * repository, whose owner/name GitHub resolves case-insensitively.
 */
export function usesThisAction(uses, { local }) {
  if (typeof uses !== 'string') return false
  const u = uses.trim()
  if (local) return u === './' || u === '.' || u === './.'
  return /^[\w.-]+\/aep-postgresql-connection-action@\S+$/i.test(u)
}

/**
 * The yaml code blocks of a markdown text: [{ text, line }] with the block's first line (1-based).
 * Fences of ``` or ~~~, indented (inside a list item) or not, whose info string starts with yaml
 * or yml in any case, attributes after it allowed (```yaml title="x"). The fence's indentation is
 * taken off every line of the block, as markdown does.
 */
export function yamlBlocks(markdown) {
  const blocks = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^([ \t]*)(`{3,}|~{3,})[ \t]*([^\s`]*)[^`\r]*\r?$/.exec(lines[i])
    if (!open) continue
    const [, indent, fence, info] = open
    const close = new RegExp(`^[ \\t]*${fence[0]}{${fence.length},}[ \\t]*\\r?$`)
    let end = i + 1
    while (end < lines.length && !close.test(lines[end])) end++
    if (/^\{?\.?ya?ml\b/i.test(info)) {
      const strip = (l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart())
      const body = lines.slice(i + 1, end).map(strip)
      blocks.push({ text: body.length ? `${body.join('\n')}\n` : '', line: i + 2 })
    }
    i = end
  }
  return blocks
}

/** A YAML problem with the line it is on, reported like any other problem rather than thrown. */
class YamlError extends Error {
  constructor(message, line) {
    super(message)
    this.line = line
  }
}

/**
 * The steps in one YAML text that use this action: [{ uses, line, with: [{ key, line }] }].
 * `lineOffset` is added to every line (for blocks inside a markdown file). Several documents
 * (`---`) are all read; aliases (`with: *common`) and merge keys (`<<: *common`) are resolved,
 * as Actions resolves them.
 */
export function actionSteps(text, { local, lineOffset = 0 }) {
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(text, { lineCounter })
  const lineOf = (node) => lineOffset + lineCounter.linePos(node?.range?.[0] ?? 0).line
  const steps = []
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const error = doc.errors[0]
    if (error)
      throw new YamlError(
        `YAML error: ${error.message.split('\n')[0]}`,
        lineOffset + (error.linePos?.[0]?.line ?? 1)
      )
    const resolve = (node) => (isAlias(node) ? node.resolve(doc) : node)
    /** The pairs of a map, merge keys expanded (later keys win, as in YAML). */
    const pairsOf = (map) => {
      const out = new Map()
      for (const p of map.items) {
        const key = String(isScalar(p.key) ? p.key.value : p.key)
        if (key === '<<') {
          const value = resolve(p.value)
          const sources = isSeq(value) ? value.items.map(resolve) : [value]
          for (const m of sources.reverse())
            if (isMap(m)) for (const [k, q] of pairsOf(m)) if (!out.has(k)) out.set(k, q)
        } else out.set(key, p)
      }
      return out
    }
    visit(doc, {
      Map(_, node) {
        const pairs = pairsOf(node)
        const usesPair = pairs.get('uses')
        const uses = resolve(usesPair?.value)
        if (!usesPair || !isScalar(uses) || !usesThisAction(uses.value, { local })) return
        const withNode = resolve(pairs.get('with')?.value)
        const keys = isMap(withNode)
          ? [...pairsOf(withNode)].map(([key, p]) => ({ key, line: lineOf(p.key) }))
          : []
        steps.push({ uses: uses.value, line: lineOf(usesPair.key), with: keys })
      }
    })
  }
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
  // The runner matches input names without regard to case (Client-Id is client-id).
  const declared = new Set(names.map((n) => n.toLowerCase()))
  const given = new Set(step.with.map((w) => w.key.toLowerCase()))
  for (const { key, line } of step.with)
    if (!declared.has(key.toLowerCase())) {
      const near = suggestion(key, names)
      problems.push({
        line,
        message: `"${key}" is not an input of action.yml${near ? ` (did you mean "${near}"?)` : ''}`
      })
    }
  for (const [name, meta] of Object.entries(inputs))
    if (meta?.required === true && !given.has(name.toLowerCase()))
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
  for (const s of sources) {
    let found
    try {
      found = actionSteps(s.text, s)
    } catch (e) {
      if (!(e instanceof YamlError)) throw e
      problems.push({ file: s.name, line: e.line, message: e.message })
      continue
    }
    for (const step of found) {
      steps++
      for (const p of stepProblems(action, step)) problems.push({ file: s.name, ...p })
    }
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
