/**
 * Echoes that differ from a secret only in how Σ lowers by context (σ or ς) or in a numeric
 * HTML reference without its `;` (read before the full HTML decoder is loaded) are redacted.
 */
import { describe, it, expect } from '@jest/globals'
import { Masker } from '../src/platform/masking.js'

const masker = (...secrets: string[]) => {
  const m = new Masker({ setSecret: () => undefined })
  for (const s of secrets) m.add(s)
  return m
}

describe('echoes that differ in how Σ lowers, or in a reference without its semicolon', () => {
  // Windows are lowered per form (final sigma: ς), the text in its own context (σ before a
  // letter), or a server lower-cased it char by char (σ).
  it.each(['PASSWORDABCΣx', 'passwordabcσ'])(
    'a 12-character secret ending in Σ, echoed case-changed as %j, is redacted',
    (t) => {
      const m = masker('PasswordabcΣ')
      expect(m.redact(t)).not.toContain('ASSWORDABC')
      expect(m.redact(t).toLowerCase()).not.toContain('asswordabc')
    }
  )

  // HTML numeric references without ';' are decoded only once loadHtmlDecoder() has run (an
  // error reply arrived); a log line from a 200 reply before that keeps them.
  it('numeric HTML references without semicolons are decoded without the full decoder loaded', () => {
    const secret = 'Zq7-vault-Pass'
    const m = masker(secret)
    const t = [...secret].map((c) => `&#${c.codePointAt(0)}`).join('')
    expect(m.redact(t)).toBe('***')
  })
})
