import { describe, it, expect } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ACTION_NAME, VERSION } from '../src/platform/version.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
}

describe('version', () => {
  it('VERSION and ACTION_NAME come from package.json, the one source of the version', () => {
    expect(VERSION).toBe(pkg.version)
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/)
    expect(ACTION_NAME).toBe(pkg.name)
    expect(readFileSync(path.join(root, 'src', 'platform', 'version.ts'), 'utf8')).not.toMatch(
      /\d+\.\d+\.\d+/
    )
  })

  it('the bundle inlines the name and version of package.json, and nothing else of it', () => {
    const bundle = readFileSync(path.join(root, 'dist', 'index.js'), 'utf8')
    // ncc tree-shakes the JSON import down to the fields that are used.
    const inlined = [
      ...bundle.matchAll(/JSON\.parse\('(\{[^']*"aep-postgresql-connection-action"[^']*\})'\)/g)
    ]
    expect(inlined).toHaveLength(1)
    const values = Object.values(JSON.parse(inlined[0]![1]!) as Record<string, string>)
    expect(values.sort()).toEqual([pkg.name, pkg.version].sort())
    expect(bundle).not.toContain('"devDependencies"')
  })
})
