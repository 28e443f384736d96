// Keeps the documented input and output tables in step with each action's metadata: README.md
// with action.yml (the connection action), docs/dataflow.md with dataflow/action.yml (the
// dataflow action). See DOCUMENTED_ACTIONS.
//
// The tables sit between marker comments in each document:
//   <!-- inputs-table:start --> ... <!-- inputs-table:end -->
//   <!-- outputs-table:start --> ... <!-- outputs-table:end -->
// Inputs:  | Name | Required | Default | Description |
// Outputs: | Name | Description |
// Name cells hold the id in backticks, followed by "(secret)" for secret inputs. Required is
// "yes" or "no". Default is the action.yml default in backticks, or "—" when there is none.
//
// Pure functions only: the caller reads the files and parses action.yml.
//
// Usage as a script: node scripts/readme-tables.js   (exit code 1 and one line per problem,
// each starting with the document it is about)

const MARKERS = {
  inputs: ['<!-- inputs-table:start -->', '<!-- inputs-table:end -->'],
  outputs: ['<!-- outputs-table:start -->', '<!-- outputs-table:end -->']
}

/**
 * Each action and the document that holds its tables: `doc` and `action` are paths from the
 * repository root, and also how messages name them (the README keeps its short name).
 */
export const DOCUMENTED_ACTIONS = [
  { doc: 'README.md', label: 'README', action: 'action.yml' },
  { doc: 'docs/dataflow.md', label: 'docs/dataflow.md', action: 'dataflow/action.yml' }
]

/** An empty Default cell; "-" and "" are accepted too. */
export const NO_DEFAULT = '—'

/** Splits one markdown table row into trimmed cells, honouring escaped pipes (\|). */
export function splitRow(line) {
  const trimmed = line.trim().replace(/^\|/, '').replace(/\|$/, '')
  const cells = []
  let cell = ''
  for (let i = 0; i < trimmed.length; i++) {
    const ch = trimmed[i]
    if (ch === '\\' && trimmed[i + 1] === '|') {
      cell += '|'
      i++
    } else if (ch === '|') {
      cells.push(cell.trim())
      cell = ''
    } else cell += ch
  }
  cells.push(cell.trim())
  return cells
}

/** The rows of the first markdown table between two markers, header and divider excluded. */
export function tableBetween(markdown, start, end) {
  const from = markdown.indexOf(start)
  const to = markdown.indexOf(end, from + 1)
  if (from < 0 || to < 0) return undefined
  const lines = markdown
    .slice(from + start.length, to)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('|'))
  if (lines.length < 2) return []
  return lines.slice(2).map(splitRow)
}

/** `x` -> x; anything else unchanged. */
function unquote(cell) {
  const m = /^`([^`]*)`$/.exec(cell.trim())
  return m ? m[1] : cell.trim()
}

/** Reads the README tables into plain rows. Missing tables come back as undefined. */
export function parseReadmeTables(markdown) {
  const inputRows = tableBetween(markdown, ...MARKERS.inputs)
  const outputRows = tableBetween(markdown, ...MARKERS.outputs)
  return {
    inputs: inputRows?.map(([name = '', required = '', def = '', description = '']) => ({
      name: (/`([^`]+)`/.exec(name) ?? [])[1] ?? name,
      secret: /\(secret\)/i.test(name),
      required: required.toLowerCase(),
      default: def === NO_DEFAULT || def === '-' || def === '' ? undefined : unquote(def),
      description
    })),
    outputs: outputRows?.map(([name = '', description = '']) => ({
      name: (/`([^`]+)`/.exec(name) ?? [])[1] ?? name,
      description
    }))
  }
}

/** An input is secret when its action.yml description starts with "Secret." */
export function isSecretInput(input) {
  return /^secret\b/i.test(String(input?.description ?? '').trim())
}

/**
 * Compares a parsed action.yml object with a document's text (the README by default). Returns
 * one message per difference; an empty array means the tables match the metadata both ways.
 * `labels.doc` and `labels.action` say how messages name the document and the metadata file.
 */
export function tableDrift(action, markdown, labels = {}) {
  const README = labels.doc ?? 'README'
  const ACTION = labels.action ?? 'action.yml'
  const problems = []
  const readme = parseReadmeTables(markdown)
  const inputs = action?.inputs ?? {}
  const outputs = action?.outputs ?? {}

  if (!readme.inputs) problems.push(`${README} has no inputs table (inputs-table markers missing)`)
  else {
    const rows = new Map()
    for (const row of readme.inputs) {
      if (rows.has(row.name)) problems.push(`${README} lists input ${row.name} twice`)
      rows.set(row.name, row)
    }
    for (const [name, meta] of Object.entries(inputs)) {
      const row = rows.get(name)
      if (!row) {
        problems.push(`input ${name} is in ${ACTION} but not in the ${README} inputs table`)
        continue
      }
      const required = meta?.required === true ? 'yes' : 'no'
      if (row.required !== required)
        problems.push(
          `input ${name}: ${README} says required "${row.required}", ${ACTION} says "${required}"`
        )
      const def = meta?.default === undefined ? undefined : String(meta.default)
      if (row.default !== def)
        problems.push(
          `input ${name}: ${README} default ${row.default === undefined ? '(none)' : `"${row.default}"`}, ` +
            `${ACTION} default ${def === undefined ? '(none)' : `"${def}"`}`
        )
      if (row.secret !== isSecretInput(meta))
        problems.push(
          `input ${name}: ${isSecretInput(meta) ? 'is' : 'is not'} secret in ${ACTION} but the ${README} ` +
            `${row.secret ? 'marks' : 'does not mark'} it (secret)`
        )
      if (!row.description) problems.push(`input ${name}: ${README} description is empty`)
    }
    for (const name of rows.keys())
      if (!(name in inputs))
        problems.push(`input ${name} is in the ${README} inputs table but not in ${ACTION}`)
  }

  if (!readme.outputs)
    problems.push(`${README} has no outputs table (outputs-table markers missing)`)
  else {
    const names = readme.outputs.map((r) => r.name)
    for (const name of Object.keys(outputs))
      if (!names.includes(name))
        problems.push(`output ${name} is in ${ACTION} but not in the ${README} outputs table`)
    for (const row of readme.outputs) {
      if (!(row.name in outputs))
        problems.push(`output ${row.name} is in the ${README} outputs table but not in ${ACTION}`)
      else if (!row.description) problems.push(`output ${row.name}: ${README} description is empty`)
    }
    if (new Set(names).size !== names.length) problems.push(`${README} lists an output twice`)
  }
  return problems
}

// Run directly: compare each document of DOCUMENTED_ACTIONS with its action's metadata.
const { pathToFileURL } = await import('node:url')
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { readFileSync } = await import('node:fs')
  const { parse } = await import('yaml')
  const root = new URL('../', import.meta.url)
  let failed = false
  for (const { doc, label, action: file } of DOCUMENTED_ACTIONS) {
    const action = parse(readFileSync(new URL(file, root), 'utf8'))
    const problems = tableDrift(action, readFileSync(new URL(doc, root), 'utf8'), {
      doc: label,
      action: file
    })
    for (const p of problems) console.error(`${doc}: ${p}`)
    if (problems.length) failed = true
    else console.log(`${doc}: the input and output tables match ${file}`)
  }
  if (failed) process.exit(1)
}
