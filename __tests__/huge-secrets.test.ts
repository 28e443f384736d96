/**
 * A secret too long for one regular expression (V8 refuses one of some 32,000 characters): a
 * 100,000-character access token is a valid input, and an IMS token may be as long. Its echo is
 * still redacted, and the step fails cleanly, never with Node's raw error (a stack trace whose
 * message held the pattern built from the secret).
 */
import { describe, it, expect } from '@jest/globals'
import path from 'node:path'
import { run as runDataflow } from '../src/dataflow/main.js'
import { Masker, MAX_PATTERN, patternSources } from '../src/platform/masking.js'
import { repoRoot } from '../simulator/run-action.js'
import { runInProcess } from './support/in-process.js'
import { useSimWorkspace } from './support/sim-workspace.js'

const sink = { setSecret: () => undefined }
// Not one character repeated: a piece of it must not match at any offset of another.
const huge = (n: number, words = false) =>
  Array.from({ length: n }, (_, i) =>
    words && i % 50 === 49 && i < n - 1 ? ' ' : String.fromCharCode(97 + ((i * 7 + (i >> 5)) % 26))
  ).join('')

describe('patternSources', () => {
  it('keeps a form up to MAX_PATTERN whole', () => {
    const form = huge(MAX_PATTERN)
    expect(patternSources([form])).toEqual([form])
  })
  it('cuts a longer one into pieces that cover it, none shorter than MAX_PATTERN', () => {
    const form = huge(3 * MAX_PATTERN + 5)
    const pieces = patternSources([form])
    expect(pieces).toHaveLength(4)
    for (const p of pieces) expect(p).toHaveLength(MAX_PATTERN)
    expect(pieces.slice(0, 3).join('')).toBe(form.slice(0, 3 * MAX_PATTERN))
    expect(pieces[3]).toBe(form.slice(-MAX_PATTERN))
  })
})

describe('a 100,000-character secret', () => {
  for (const [kind, words] of [
    ['a token', false],
    ['a composite value with spaces', true]
  ] as const)
    it(`${kind}: its echo is redacted whole, also with its spaces reflowed, and nothing throws`, () => {
      const secret = huge(100_000, words)
      const m = new Masker(sink)
      if (words) m.addComposite(secret)
      else m.add(secret)
      const echo = `before ${secret} after`
      expect(m.redact(echo)).not.toMatch(/[a-z]{40}/)
      expect(m.redact(echo)).toMatch(/^before \*\*\*.* after$/)
      expect(m.redact(echo)).toBe(m.redactFully(echo))
      if (words) {
        const reflowed = `x ${secret.replace(/ /g, '\n  ')} y`
        expect(m.redactFully(reflowed).replace(/\*\*\*|\s/g, '')).toBe('xy')
      }
    })
})

const w = useSimWorkspace('huge-secrets-')

describe('a step given a 100,000-character access-token (Flow Service refuses it)', () => {
  const token = huge(100_000)
  const common = () => ({
    'client-id': w.sim.clientId,
    'access-token': token,
    'ims-org-id': w.sim.orgId,
    'sandbox-name': 'prod',
    'platform-url': w.sim.url,
    'ims-url': w.sim.url
  })
  const check = (r: { code: number | null; lines: string[] }) => {
    expect(r.code).toBe(1)
    const errors = r.lines.filter((l) => l.startsWith('::error::'))
    expect(errors).toHaveLength(1)
    // The runner is told the token (::add-mask::); no other line holds any of it.
    const shown = r.lines.filter((l) => !l.startsWith('::add-mask::')).join('\n')
    expect(shown).not.toContain(token.slice(0, 40))
    expect(shown).not.toMatch(/[a-z]{40}/)
  }
  it('connection action: one ::error, exit code 1, the token nowhere', async () => {
    check(
      await runInProcess({
        inputs: {
          ...common(),
          'connection-name': 'orders',
          'connection-string': 'Server=db.example.com;Database=d;UID=u;Password=Huge-Pw-1'
        }
      })
    )
  })
  it('dataflow action: one ::error, exit code 1, the token nowhere', async () => {
    check(
      await runInProcess({
        actionYml: path.join(repoRoot, 'dataflow', 'action.yml'),
        run: runDataflow,
        inputs: {
          ...common(),
          'dataflow-name': 'orders',
          'base-connection-id': 'abc',
          table: 'public.orders',
          'dataset-name': 'orders',
          mapping: 'aep/orders.json',
          'delta-column': 'updated_at'
        },
        env: { GITHUB_WORKSPACE: w.dir }
      })
    )
  })
})
