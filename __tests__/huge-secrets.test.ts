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
/** Not periodic: a piece of it matches at one offset only. */
const huge = (n: number) =>
  Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (((i * 7919) % 104729) % 26))).join(
    ''
  )
/**
 * Secrets V8 would refuse as one pattern: one character repeated ("Regular expression too
 * large" from some 32,000), and words between many spaces (a stack overflow from some 4,500).
 */
const repeated = (n: number) => 'b'.repeat(n)
const wordy = (n: number) =>
  Array.from({ length: Math.ceil(n / 8) }, (_, i) => `w${String(i).padStart(6, '0')}`)
    .join(' ')
    .slice(0, n)

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
  it('no source starts or ends with whitespace (a pattern starting \\s+ scans a run of spaces quadratically)', () => {
    const form = `${huge(808)} ${huge(MAX_PATTERN - 1)} ${huge(20)}`
    for (const source of patternSources([form, ' lead', 'trail\t']))
      expect(source).toBe(source.trim())
  })
  it('leaves out a piece that is mostly whitespace, and repeats no piece', () => {
    expect(patternSources([`x${' '.repeat(20_000)}y`])).toEqual([])
    expect(patternSources([repeated(100_000)])).toEqual([repeated(MAX_PATTERN)])
  })
})

describe('a secret too long for one pattern', () => {
  it('one character repeated 40,000 times: its echo is redacted, nothing throws', () => {
    const m = new Masker(sink)
    m.add(repeated(40_000))
    const echo = `before ${repeated(40_000)} after`
    expect(m.redact(echo)).toBe('before *** after')
  })
  it('100,000 characters of words and spaces: its echo is redacted, also reflowed', () => {
    const secret = wordy(100_000)
    const m = new Masker(sink)
    m.addComposite(secret)
    const echo = `before ${secret} after`
    expect(m.redact(echo)).not.toMatch(/w\d{6} w\d{6}/)
    expect(m.redact(echo)).toBe(m.redactFully(echo))
    const reflowed = `x ${secret.replace(/ /g, '\n  ')} y`
    expect(m.redactFully(reflowed)).not.toMatch(/w\d{6}\s+w\d{6}/)
  })
  it('a piece that is mostly whitespace does not redact ordinary words', () => {
    const m = new Masker(sink)
    m.addComposite(`x${' '.repeat(20_000)}y`)
    const line = 'listing connections by name: found 2 in sandbox prod'
    expect(m.redact(line)).toBe(line)
  })
})

const w = useSimWorkspace('huge-secrets-')

describe('a step given a 100,000-character access-token (Flow Service refuses it)', () => {
  const token = repeated(100_000)
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
    expect(shown).not.toMatch(/b{13}/)
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
