// `npm run bundle`: one bundle per action, the way actions/cache ships restore/ and save/: the
// connection action (action.yml) runs dist/index.js, each sub-path action dist/<name>/index.js.
// dist/ is emptied first, so a chunk the sources no longer produce cannot linger; then
// licenses.txt is written for everything bundled (scripts/licenses.js).
import { execFileSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const ncc = path.join(root, 'node_modules', '@vercel', 'ncc', 'dist', 'ncc', 'cli.js')

/** Each action's entry and where its bundle goes. */
export const BUNDLES = [
  { entry: 'src/connection/index.ts', out: 'dist' },
  { entry: 'src/dataflow/index.ts', out: 'dist/dataflow' }
]

rmSync(path.join(root, 'dist'), { recursive: true, force: true })
for (const { entry, out } of BUNDLES) {
  if (!existsSync(path.join(root, entry))) throw new Error(`bundle: ${entry} does not exist`)
  execFileSync(process.execPath, [ncc, 'build', entry, '-o', out, '--source-map'], {
    cwd: root,
    stdio: 'inherit'
  })
}
execFileSync(process.execPath, [path.join(root, 'scripts', 'licenses.js')], {
  cwd: root,
  stdio: 'inherit'
})
