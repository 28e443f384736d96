import { afterAll, beforeAll, beforeEach } from '@jest/globals'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startSimulator, type Simulator } from '../../simulator/server.js'

/**
 * For a test file's in-process runs of both actions: one simulator, started before the file's
 * tests and reset before each, and a workspace holding the mapping file `aep/orders.json`
 * (orders' `id` to `_id`), removed afterwards.
 */
export function useSimWorkspace(prefix: string): { readonly sim: Simulator; readonly dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  mkdirSync(path.join(dir, 'aep'))
  writeFileSync(
    path.join(dir, 'aep', 'orders.json'),
    JSON.stringify([{ source: 'id', destination: '_id' }])
  )
  let sim: Simulator | undefined
  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(async () => {
    await sim?.close()
    rmSync(dir, { recursive: true, force: true })
  })
  beforeEach(() => sim?.reset())
  return {
    dir,
    get sim(): Simulator {
      if (!sim) throw new Error('the simulator is used outside a test')
      return sim
    }
  }
}
