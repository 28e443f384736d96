/**
 * Keeps src/platform/output.ts the one way out: no other source file prints, writes to stdout or
 * stderr, or calls @actions/core's printing functions itself.
 */
import { describe, it, expect } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const src = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src')
const files = (readdirSync(src, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.split(path.sep).join('/'))
  .sort()
const text = (f: string) => readFileSync(path.join(src, f), 'utf8')

describe('every printed line goes through src/platform/output.ts', () => {
  it.each(files.filter((f) => f !== 'platform/output.ts'))('%s prints nothing by itself', (f) => {
    const code = text(f)
    expect(code).not.toMatch(/\bconsole\.\w+\(/)
    expect(code).not.toMatch(/process\.(stdout|stderr)/)
    expect(code).not.toMatch(
      /\bcore\.(info|debug|warning|error|notice|setFailed|setOutput|setSecret|startGroup|group)\(/
    )
    expect(code).not.toMatch(/\bcore\.summary\b/)
  })

  it("@actions/core is imported only by each action's main.ts, which hands it to output.ts and, for getInput, to the platform's secrets.ts", () => {
    const mains = files.filter((f) => /from '@actions\/core'/.test(text(f)))
    expect(mains).toEqual(
      files.filter((f) => /^[a-z]+\/main\.ts$/.test(f) && f !== 'platform/main.ts')
    )
    expect(mains).toContain('connection/main.ts')
    // main.ts calls nothing on the core itself; secrets.ts only reads inputs through it.
    const calls = (f: string) => [
      ...new Set([...text(f).matchAll(/\bc\.(\w+)\(/g)].map((m) => m[1]))
    ]
    for (const main of mains) expect(calls(main)).toEqual([])
    expect(calls('platform/secrets.ts')).toEqual(['getInput'])
  })
})
