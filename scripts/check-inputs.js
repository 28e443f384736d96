// Checks the `with:` keys of every step that uses one of this repository's actions (action.yml,
// and any <dir>/action.yml beside it, such as dataflow/action.yml) against that action's inputs,
// in any repository:
//   - every .yml/.yaml file under .github/ (workflows, and composite actions that use it)
//   - every YAML block of README.md and docs/**/*.md (``` or ~~~ fences, indented ones too)
// A step uses an action of this repository by any reference: `<owner>/<repo>@<ref>` (any owner,
// any tag, branch or commit SHA), `<owner>/<repo>/<dir>@<ref>` for the action in <dir>, and,
// only in this repository itself, the local forms `./`, `.` and `./<dir>`. <repo> is this
// repository's name (package.json's name), compared without regard to case as GitHub does;
// --repo OWNER/NAME adds another (a fork or mirror under another name).
// A key the action does not declare (a typo such as connection_name) is an error, and so is a
// required input the step leaves out, and a <dir> that holds no action. The runner itself only
// warns about an unexpected input and then runs the step without it.
//
//   node scripts/check-inputs.js                      this repository
//   node scripts/check-inputs.js --root ../my-repo    another repository's workflows and docs
//   node scripts/check-inputs.js --root DIR --repo acme/aep-connection
// One line per problem (file:line), exit code 1 when there is any.
//
// Pure functions first; the caller passes the texts and the parsed action metadata.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseAllDocuments, visit } from 'yaml'

/**
 * What a `uses:` value points at, when it is one of this repository's actions: the action's
 * directory ('' for the root action.yml, 'dataflow' for dataflow/action.yml), else undefined.
 * `local`: the text belongs to this repository, so `./` is its root action. `repoNames`: the
 * repository names that mean this repository (compared without regard to case).
 */
export function actionDirOf(uses, { local, repoNames }) {
  if (typeof uses !== 'string') return undefined
  const u = uses.trim()
  if (u.startsWith('./') || u === '.') {
    // ./.github/workflows/x.yml calls a local reusable workflow (a job), not an action.
    if (!local || /\.ya?ml$/i.test(u)) return undefined
    return u
      .replace(/^\.\/?/, '')
      .replace(/^\.(\/|$)/, '')
      .replace(/\/+$/, '')
  }
  const m = /^([\w.-]+)\/([\w.-]+)((?:\/[^@\s]+)?)@\S+$/.exec(u)
  if (!m) return undefined
  const [, , repo, sub] = m
  const names = repoNames.map((n) => n.toLowerCase())
  if (!names.includes(repo.toLowerCase())) return undefined
  const dir = (sub ?? '').replace(/^\/+/, '').replace(/\/+$/, '')
  // owner/repo/.github/workflows/x.yml@ref calls a reusable workflow (a job), not an action.
  if (/\.ya?ml$/i.test(dir)) return undefined
  return dir
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
 * The steps in one YAML text that use one of this repository's actions:
 * [{ uses, dir, line, with: [{ key, line }] }]. `lineOffset` is added to every line (for blocks
 * inside a markdown file). Several documents (`---`) are all read; aliases (`with: *common`) and
 * merge keys (`<<: *common`) are resolved, as Actions resolves them.
 */
export function actionSteps(text, { local, repoNames, lineOffset = 0 }) {
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
        if (!usesPair || !isScalar(uses)) return
        const dir = actionDirOf(uses.value, { local, repoNames })
        if (dir === undefined) return
        const withNode = resolve(pairs.get('with')?.value)
        const keys = isMap(withNode)
          ? [...pairsOf(withNode)].map(([key, p]) => ({ key, line: lineOf(p.key) }))
          : []
        steps.push({ uses: uses.value, dir, line: lineOf(usesPair.key), with: keys })
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

/** The metadata file of the action in `dir`, as messages name it. */
export const actionFile = (dir) => (dir ? `${dir}/action.yml` : 'action.yml')

/**
 * Problems of one step: an action directory that holds no action, undeclared keys, missing
 * required inputs. `actions` maps each action directory ('' for the root) to its metadata.
 */
export function stepProblems(actions, step) {
  const action = actions[step.dir]
  if (!action) {
    const known = Object.keys(actions)
      .map((d) => d || '.')
      .join(', ')
    return [
      {
        line: step.line,
        message: `"${step.dir}" holds no action of this repository (its actions: ${known})`
      }
    ]
  }
  const inputs = action.inputs ?? {}
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
        message: `"${key}" is not an input of ${actionFile(step.dir)}${near ? ` (did you mean "${near}"?)` : ''}`
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
export function checkSources(actions, sources, { repoNames = [REPOSITORY] } = {}) {
  let steps = 0
  const problems = []
  for (const s of sources) {
    let found
    try {
      found = actionSteps(s.text, { ...s, repoNames })
    } catch (e) {
      if (!(e instanceof YamlError)) throw e
      problems.push({ file: s.name, line: e.line, message: e.message })
      continue
    }
    for (const step of found) {
      steps++
      for (const p of stepProblems(actions, step)) problems.push({ file: s.name, ...p })
    }
  }
  return { steps, problems }
}

/** This repository's name, as users write it in `uses:` (package.json's name). */
export const REPOSITORY = 'aep-postgresql-connection-action'

/** Directories that hold no action of this repository's own. */
const NOT_ACTIONS = new Set(['node_modules', 'dist', 'coverage', '__tests__', 'bench', 'docs'])

/**
 * This repository's actions: { '': metadata of action.yml, dataflow: metadata of
 * dataflow/action.yml, ... } for action.yml (or action.yaml) at the root and one level below.
 */
export async function loadActions(dir) {
  const { existsSync, readdirSync, readFileSync } = await import('node:fs')
  const path = await import('node:path')
  const { parse } = await import('yaml')
  const actions = {}
  const read = (d) => {
    for (const f of ['action.yml', 'action.yaml']) {
      const file = path.join(dir, d, f)
      if (existsSync(file)) return parse(readFileSync(file, 'utf8')) ?? {}
    }
    return undefined
  }
  const root = read('')
  if (root) actions[''] = root
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory() && !e.name.startsWith('.') && !NOT_ACTIONS.has(e.name)) {
      const meta = read(e.name)
      if (meta) actions[e.name] = meta
    }
  return actions
}

/**
 * The texts to check in a repository: { name, text, local, lineOffset? } for every YAML file
 * under .github/ and every YAML block of README.md and docs/**\/*.md. Nothing is required to
 * exist. `local`: whether `./` in them means this repository's actions.
 */
export async function repositorySources(root, { local }) {
  const { existsSync, readdirSync, readFileSync } = await import('node:fs')
  const path = await import('node:path')
  const files = (dir, ext) => {
    if (!existsSync(dir)) return []
    const out = []
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1
    )) {
      const full = path.join(dir, e.name)
      if (e.isDirectory() && e.name !== 'node_modules') out.push(...files(full, ext))
      else if (e.isFile() && ext.test(e.name)) out.push(full)
    }
    return out
  }
  const rel = (f) => path.relative(root, f).split(path.sep).join('/')
  const sources = []
  for (const f of files(path.join(root, '.github'), /\.ya?ml$/i))
    sources.push({ name: rel(f), text: readFileSync(f, 'utf8'), local })
  const markdown = [
    ...(existsSync(path.join(root, 'README.md')) ? [path.join(root, 'README.md')] : []),
    ...files(path.join(root, 'docs'), /\.md$/i)
  ]
  for (const f of markdown)
    for (const b of yamlBlocks(readFileSync(f, 'utf8')))
      sources.push({ name: rel(f), text: b.text, local, lineOffset: b.line - 1 })
  return sources
}

const { pathToFileURL, fileURLToPath } = await import('node:url')
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = await import('node:path')
  const args = process.argv.slice(2)
  const valuesOf = (flag) =>
    args.flatMap((a, i) => (a === flag && args[i + 1] ? [args[i + 1]] : []))
  const own = path.resolve(fileURLToPath(new URL('../', import.meta.url)))
  const root = path.resolve(valuesOf('--root')[0] ?? own)
  const repoNames = [REPOSITORY, ...valuesOf('--repo').map((r) => r.split('/').pop())]
  // The actions come from this repository, whichever repository is checked.
  const actions = await loadActions(own)
  const sources = await repositorySources(root, { local: root === own })
  const { steps, problems } = checkSources(actions, sources, { repoNames })
  for (const p of problems) console.error(`${p.file}:${p.line}: ${p.message}`)
  console.log(
    `check-inputs: ${steps} step(s) using the action, ${problems.length} problem(s)` +
      (root === own ? '' : ` in ${root}`)
  )
  process.exit(problems.length ? 1 : 0)
}
