import { describe, it, expect } from '@jest/globals'
import {
  decodeJsonEscapes,
  decodePercent,
  derivedForms,
  Masker,
  MIN_DERIVED_LENGTH,
  WINDOW
} from '../src/masking.js'

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

  it.each([
    ['LF', 'line1-Alpha\nline2-Bravo'],
    ['CRLF', 'line1-Alpha\r\nline2-Bravo'],
    ['CR', 'line1-Alpha\rline2-Bravo']
  ])('a multi-line secret (%s): each line and the collapsed form', (_l, secret) => {
    const forms = derivedForms(secret)
    expect(forms).toContain('line1-Alpha')
    expect(forms).toContain('line2-Bravo')
    expect(forms).toContain('line1-Alpha line2-Bravo')
  })

  it('tabs and double spaces: the collapsed form', () => {
    expect(derivedForms('tab\tsep\tPassw0rd')).toContain('tab sep Passw0rd')
    expect(derivedForms('two  spaces  here')).toContain('two spaces here')
  })

  it(`derived forms shorter than ${MIN_DERIVED_LENGTH} characters are not registered`, () => {
    const forms = derivedForms('{\n  "k": "long-value-here"\n}')
    expect(forms).toContain('"k": "long-value-here"')
    expect(forms).not.toContain('{')
    expect(forms).not.toContain('}')
    expect(derivedForms('ab\ncd')).not.toContain('ab cd')
    // The secret as given is always registered, however short.
    expect(derivedForms('ab\ncd')).toContain('ab\ncd')
    expect(derivedForms('x')).toContain('x')
  })

  it('never a whitespace-only form', () => {
    expect(derivedForms(' \n ').every((f) => f.trim().length > 0)).toBe(true)
  })
})

describe('decoding views', () => {
  it('decodes one level of JSON escapes, surrogate pairs included', () => {
    expect(decodeJsonEscapes('p\\u0026ss \\ud83d\\ude00 \\"q\\" a\\\\b \\n')).toBe(
      'p&ss 😀 "q" a\\b \n'
    )
    expect(decodeJsonEscapes('\\\\u0041')).toBe('\\u0041')
  })

  it('decodes valid percent-escapes and leaves broken ones', () => {
    expect(decodePercent('a%20b%C3%A4 %zz %E2')).toBe('a bä %zz %E2')
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

  it('matches a form whatever whitespace separates its parts', () => {
    const m = new Masker(new RecordingSink())
    m.add('line1-Alpha\nline2-Bravo')
    expect(m.redact('pw=line1-Alpha line2-Bravo;')).toBe('pw=***;')
    expect(m.redact('pw=line1-Alpha\r\n\t line2-Bravo;')).toBe('pw=***;')
    // (a run of the collapsed form, " line2-Bravo", takes the space with it)
    expect(m.redact('only line2-Bravo here')).toMatch(/^only ?\*\*\* here$/)
  })

  it('redacts overlapping occurrences of different secrets as their union', () => {
    const m = new Masker(new RecordingSink())
    m.add('abcd')
    m.add('cdef')
    expect(m.redact('x abcdef y')).toBe('x *** y')
  })

  it(`redacts any ${WINDOW}-character run of a single secret (a server cut it short)`, () => {
    const m = new Masker(new RecordingSink())
    const secret = 'Zq7-KKKKKKKKKKKKKKKK-tail'
    m.add(secret)
    expect(m.redact(`Password=${secret.slice(0, WINDOW + 3)}… (cut)`)).toBe('Password=***… (cut)')
    expect(m.redact(`end ${secret.slice(-WINDOW)}`)).toBe('end ***')
    expect(m.redact(`short ${secret.slice(0, WINDOW - 1)}`)).toBe(
      `short ${secret.slice(0, WINDOW - 1)}`
    )
  })

  it('a composite value is redacted whole, never run by run', () => {
    const m = new Masker(new RecordingSink())
    m.addComposite('Server=db.example.com;Password=pw')
    expect(m.redact('host Server=db.example.com;Password=pw')).toBe('host ***')
    expect(m.redact('host Server=db.example.com')).toBe('host Server=db.example.com')
  })

  it.each([
    [
      '\\u-escaped HTML-sensitive characters',
      'p\\u0026ss\\u003cw\\u003erd\\u0027\\u0022-Q7x',
      `p&ss<w>rd'"-Q7x`
    ],
    ['\\u-escaped non-ASCII', 'p\\u00e4ssw\\u00f6rd-Umlaut', 'pässwörd-Umlaut'],
    ['\\u-escaped surrogate pair', 'emoji-\\ud83d\\ude00-Secret', 'emoji-😀-Secret'],
    ['JSON nested twice', 'x \\\\\\"in\\\\\\"-Quoted-42', 'x \\"in\\"-Quoted-42'],
    ['percent-encoded the .NET way', 'p%21ss%28w%29rd%2A-99', 'p!ss(w)rd*-99']
  ])('finds a secret echoed with %s', (_l, echoed, secret) => {
    const m = new Masker(new RecordingSink())
    m.add(secret)
    const out = m.redact(`Invalid params {"password":"${echoed}"} end`)
    expect(out).toContain('***')
    expect(out).not.toContain(echoed)
    expect(out).toMatch(/ end$/)
  })

  it('keeps escapes as written when decoding reveals no secret', () => {
    const m = new Masker(new RecordingSink())
    m.add('zz-secret-zz')
    const text = '{"a":"x\\u0026y","b":"%41"}'
    expect(m.redact(text)).toBe(text)
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
