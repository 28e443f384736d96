import { describe, it, expect } from '@jest/globals'
import { derivedForms, Masker } from '../src/masking.js'

class RecordingSink {
  readonly secrets: string[] = []
  setSecret(secret: string): void {
    this.secrets.push(secret)
  }
}

describe('derivedForms', () => {
  it('is empty for an empty secret', () => {
    expect(derivedForms('')).toEqual([])
  })

  it('a plain secret has only itself and its base64', () => {
    expect(derivedForms('abc123')).toEqual(['abc123', Buffer.from('abc123').toString('base64')])
  })

  it('covers raw, JSON-escaped, URI-encoded, form-encoded and brace-quoted forms', () => {
    const secret = 'p"a\\s s;w}d&+é'
    const forms = derivedForms(secret)
    expect(forms).toContain(secret)
    expect(forms).toContain('p\\"a\\\\s s;w}d&+é') // JSON-escaped
    expect(forms).toContain('p%22a%5Cs%20s%3Bw%7Dd%26%2B%C3%A9') // encodeURIComponent
    expect(forms).toContain('p%22a%5Cs+s%3Bw%7Dd%26%2B%C3%A9') // form-encoded
    expect(forms).toContain('{p"a\\s s;w}}d&+é}') // brace-quoted
    expect(forms).toContain('{p\\"a\\\\s s;w}}d&+é}') // brace-quoted, then JSON-escaped
    expect(forms).toContain(Buffer.from(secret, 'utf8').toString('base64'))
    expect(new Set(forms).size).toBe(forms.length)
  })

  it('adds the trimmed form of a secret with surrounding spaces', () => {
    const forms = derivedForms('  padded  ')
    expect(forms).toContain('  padded  ')
    expect(forms).toContain('padded')
    expect(forms).toContain('{  padded  }')
  })

  it('JSON-escapes control characters', () => {
    expect(derivedForms('a\nb')).toContain('a\\nb')
  })
})

describe('Masker', () => {
  it('registers each form once, even when added twice', () => {
    const sink = new RecordingSink()
    const m = new Masker(sink)
    m.add('a;b c')
    m.add('a;b c')
    m.add(undefined)
    m.add('')
    expect(sink.secrets).toEqual(derivedForms('a;b c'))
    expect(new Set(sink.secrets).size).toBe(sink.secrets.length)
  })

  it('does not register a form shared with an earlier secret again', () => {
    const sink = new RecordingSink()
    const m = new Masker(sink)
    m.add('same')
    m.add(' same ')
    expect(sink.secrets.filter((s) => s === 'same')).toHaveLength(1)
    expect(sink.secrets).toContain(' same ')
  })

  it('redacts every form', () => {
    const m = new Masker(new RecordingSink())
    const secret = 'p"w;d }x'
    m.add(secret)
    const text = [
      `raw ${secret}`,
      `json ${JSON.stringify({ password: secret })}`,
      `uri ${encodeURIComponent(secret)}`,
      `form ${new URLSearchParams({ client_secret: secret })}`,
      `braced Password={p"w;d }}x}`
    ].join('\n')
    const out = m.redact(text)
    expect(out).toBe(
      [
        'raw ***',
        'json {"password":"***"}',
        'uri ***',
        'form client_secret=***',
        'braced Password=***'
      ].join('\n')
    )
  })

  it('replaces the longest form first, so no fragment of it is left', () => {
    const m = new Masker(new RecordingSink())
    m.add('ab')
    m.add('abc;d')
    // '{abc;d}' is the brace-quoted form; 'ab' alone would leave 'c;d}' behind.
    expect(m.redact('x={abc;d} y=ab')).toBe('x=*** y=***')
  })

  it('replaces every occurrence', () => {
    const m = new Masker(new RecordingSink())
    m.add('tok')
    expect(m.redact('tok tok-tok')).toBe('*** ***-***')
  })

  it('leaves text without secrets unchanged', () => {
    const m = new Masker(new RecordingSink())
    m.add('zzz-secret')
    expect(m.redact('nothing here')).toBe('nothing here')
  })

  it('catches() tells whether a value holds any registered form', () => {
    const m = new Masker(new RecordingSink())
    expect(m.catches('anything')).toBe(false)
    m.add('s e')
    expect(m.catches('id-s e-1')).toBe(true)
    expect(m.catches('id-s%20e')).toBe(true)
    expect(m.catches('id-s+e')).toBe(true)
    expect(m.catches('4f0b-11')).toBe(false)
  })
})
