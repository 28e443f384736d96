/**
 * The layout rule in eslint.config.js: src/platform/ imports neither action, and each action
 * imports only the platform and its own folder. Planted imports must fail the lint.
 */
import { describe, it, expect } from '@jest/globals'
import { ESLint } from 'eslint'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const eslint = new ESLint({ cwd: root })

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) })
  // Only the layout rule: the planted lines leave their imports unused, which is not the point.
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.fatal)
    .map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`)
}

describe('the import rule between src/platform/ and the actions', () => {
  it.each([
    ['src/platform/planted.ts', "import { run } from '../connection/main.js'"],
    ['src/platform/planted.ts', "import { run } from '../dataflow/main.js'"],
    ['src/connection/planted.ts', "import { run } from '../dataflow/main.js'"],
    ['src/dataflow/planted.ts', "import { apply } from '../connection/apply.js'"],
    ['src/connection/planted.ts', "import { startSimulator } from '../../simulator/server.js'"]
  ])('%s may not %s', async (file, line) => {
    expect(await problems(file, `${line}\nexport const x = 1\n`)).toEqual([
      expect.stringMatching(/^no-restricted-imports: /)
    ])
  })

  it.each([
    ['src/connection/planted.ts', "import { Output } from '../platform/output.js'"],
    ['src/connection/planted.ts', "import { apply } from './apply.js'"],
    ['src/dataflow/planted.ts', "import { Output } from '../platform/output.js'"],
    ['src/platform/planted.ts', "import pkg from '../../package.json' with { type: 'json' }"]
  ])('%s may %s', async (file, line) => {
    expect(await problems(file, `${line}\nexport const x = 1\n`)).toEqual([])
  })
})
