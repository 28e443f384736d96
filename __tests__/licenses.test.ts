// dist/licenses.txt must name every package bundled into dist/, in every chunk (ncc's own
// --license keeps only the last chunk's list, so scripts/licenses.js writes it).
import { describe, it, expect } from '@jest/globals'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundledPackages, renderLicenses } from '../scripts/licenses.js'

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const committed = readFileSync(path.join(dist, 'licenses.txt'), 'utf8')

describe('dist/licenses.txt', () => {
  it('covers the main bundle and the lazily loaded ajv chunk', () => {
    const names = [...bundledPackages(dist).keys()]
    for (const name of ['@actions/core', 'undici', 'zod', 'ajv', 'fast-uri'])
      expect(names).toContain(name)
    for (const name of names)
      expect(committed).toMatch(
        new RegExp(`^${name.replace(/[/.]/g, '\\$&')}\\n[^\\n]+\\n\\S`, 'm')
      )
  })

  it('is what scripts/licenses.js renders from the committed source maps', () => {
    expect(committed).toBe(renderLicenses(bundledPackages(dist)))
  })
})
