// Writes dist/licenses.txt: the license of every package bundled into dist/, across all chunks.
//
// ncc's --license option writes one file per chunk under the same name, so with a lazily loaded
// chunk (ajv) the last chunk's list replaces the main bundle's. This script rebuilds the file
// from the source maps (every node_modules package whose code is in a chunk), in ncc's format:
// name, license type, license text, a blank line; sorted by name. Run by `npm run bundle`.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = path.join(root, 'dist')

/** name -> package directory, from the sources of every .js.map under dist/ (every action's bundle) */
export function bundledPackages(distDir = dist) {
  const packages = new Map()
  const maps = readdirSync(distDir, { recursive: true }).filter((f) =>
    String(f).endsWith('.js.map')
  )
  for (const file of maps.map(String).sort()) {
    const map = JSON.parse(readFileSync(path.join(distDir, file), 'utf8'))
    for (const source of map.sources ?? []) {
      const at = source.lastIndexOf('node_modules/')
      if (at < 0) continue
      const parts = source.slice(at + 'node_modules/'.length).split('/')
      const name = parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
      if (!name) continue
      // Sources are written relative to dist/ ('.././node_modules/x/...') by every build, the
      // sub-path actions' too; the innermost copy wins.
      const dir = path.resolve(distDir, source.slice(0, at), 'node_modules', name)
      if (!packages.has(name)) packages.set(name, dir)
    }
  }
  return packages
}

function licenseOf(dir) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
  const type = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'UNKNOWN')
  const file = readdirSync(dir).find((f) => /^(licen[sc]e|copying)(\.(md|txt))?$/i.test(f))
  const text = file ? readFileSync(path.join(dir, file), 'utf8').trim() : ''
  return { type, text }
}

export function renderLicenses(packages) {
  return [...packages]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, dir]) => {
      const { type, text } = licenseOf(dir)
      return `${name}\n${type}\n${text}\n`
    })
    .join('\n')
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const packages = bundledPackages()
  const missing = [...packages].filter(([, dir]) => !existsSync(path.join(dir, 'package.json')))
  if (missing.length) {
    console.error(`licenses: cannot find ${missing.map(([n]) => n).join(', ')} in node_modules`)
    process.exit(1)
  }
  writeFileSync(path.join(dist, 'licenses.txt'), renderLicenses(packages))
  console.log(`licenses: ${packages.size} packages in dist/licenses.txt`)
}
