// `npm run bundle`: one bundle per action, the way actions/cache ships restore/ and save/: the
// connection action (action.yml) runs dist/index.js, each sub-path action dist/<name>/index.js.
// dist/ is emptied first, so a chunk the sources no longer produce cannot linger; then
// licenses.txt is written for everything bundled (scripts/licenses.js).
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const ncc = path.join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')

/** Each action's entry and where its bundle goes. */
export const BUNDLES = [
  { entry: 'src/connection/index.ts', out: 'dist' },
  { entry: 'src/dataflow/index.ts', out: 'dist/dataflow' }
]

/**
 * One ncc build into its own directory (ncc empties the directory it writes to). The source map
 * is written for whoever debugs a bundle, but not registered at start-up (ncc's default loads
 * source-map-support, some 4 ms of every step): the actions never print a stack trace.
 */
function build(entry, out) {
  return new Promise((resolve, reject) => {
    const args = [ncc, 'build', entry, '-o', out, '--source-map', '--no-source-map-register']
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: 'inherit'
    })
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`bundle: ncc build ${entry} exited ${code}`))
    )
  })
}

rmSync(path.join(root, 'dist'), { recursive: true, force: true })
const staging = path.join(root, '.tmp', 'bundle')
rmSync(staging, { recursive: true, force: true })
for (const { entry } of BUNDLES)
  if (!existsSync(path.join(root, entry))) throw new Error(`bundle: ${entry} does not exist`)
// The builds run side by side, each into a directory of its own, then move into dist/ (a build
// into dist/ itself would empty it under the other).
await Promise.all(BUNDLES.map(({ entry }, i) => build(entry, path.join(staging, String(i)))))
for (const [i, { out }] of BUNDLES.entries()) {
  mkdirSync(path.dirname(path.join(root, out)), { recursive: true })
  renameSync(path.join(staging, String(i)), path.join(root, out))
}
rmSync(staging, { recursive: true, force: true })
execFileSync(process.execPath, [path.join(root, 'scripts', 'licenses.js')], {
  cwd: root,
  stdio: 'inherit'
})
