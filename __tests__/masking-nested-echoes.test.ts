/**
 * redactFully() adopts one decoded view per round, each a single decoder's: a text echoing a
 * secret in more encodings, or nested deeper, than a fixed number of rounds once kept the rest
 * encoded. Rounds now go on until no view reveals a secret.
 */
import { describe, it, expect } from '@jest/globals'
import { Masker } from '../src/platform/masking.js'
import { Output, type OutputSink } from '../src/platform/output.js'

const SECRET = 'Zq7-vault-Passphrase-2024'
const bytes = [...Buffer.from(SECRET)]
const hex2 = (x: number) => x.toString(16).toUpperCase().padStart(2, '0')
const ENCODED = {
  uJson: [...SECRET].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  pct: bytes.map((x) => `%${hex2(x)}`).join(''),
  html: [...SECRET].map((c) => `&#${c.codePointAt(0)};`).join(''),
  hex: bytes.map((x) => `\\x${hex2(x)}`).join(''),
  qp: bytes.map((x) => `=${hex2(x)}`).join(''),
  py: [...SECRET].map((c) => `\\U${(c.codePointAt(0) ?? 0).toString(16).padStart(8, '0')}`).join('')
}

function recorder(): { sink: OutputSink; lines: string[] } {
  const lines: string[] = []
  const none = () => undefined
  const sink = {
    setSecret: none,
    info: (m: string) => lines.push(m),
    debug: none,
    warning: none,
    error: none,
    setFailed: none,
    setOutput: none,
    startGroup: none,
    endGroup: none,
    summary: {} as OutputSink['summary']
  } as OutputSink
  return { sink, lines }
}

describe('echoes in more encodings, or nested deeper, than a few rounds', () => {
  it('Masker.redact(): six one-level echoes in one text, every one redacted', () => {
    const m = new Masker({ setSecret: () => undefined })
    m.add(SECRET)
    const text = Object.entries(ENCODED)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')
    const r = m.redact(text)
    for (const v of Object.values(ENCODED)) expect(r.includes(v)).toBe(false)
  })

  it('Output.block() (the dry-run plan): six one-level echoes in one line, every one redacted', () => {
    const { sink, lines } = recorder()
    const out = new Output(sink)
    out.secret(SECRET)
    out.block(`description: ${Object.values(ENCODED).join(' ')}`)
    for (const v of Object.values(ENCODED)) expect(lines.join('\n').includes(v)).toBe(false)
  })

  it('Output.info(): an error body nesting the echo 9 levels deep (JSON in JSON), no level left', () => {
    const { sink, lines } = recorder()
    const out = new Output(sink)
    out.secret(SECRET)
    const levels: string[] = []
    let e = ENCODED.uJson
    for (let k = 0; k < 9; k++) {
      levels.push(e)
      e = JSON.stringify(e).slice(1, -1)
    }
    out.info(levels.join(' | '))
    // One level of \u escapes is the secret spelt out.
    expect(lines.join('\n').includes(ENCODED.uJson)).toBe(false)
  })
})
