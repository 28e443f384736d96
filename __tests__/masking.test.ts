import { describe, it, expect } from '@jest/globals'
import {
  base64Forms,
  connectionStringSecrets,
  decodeByteEscapes,
  decodedViews,
  decodeHtmlEntities,
  decodeJsonEscapes,
  decodeMojibake,
  decodePercent,
  decodePythonEscapes,
  decodeQuotedPrintable,
  derivedForms,
  loadHtmlDecoder,
  lowerKeepingPositions,
  Masker,
  MIN_DERIVED_LENGTH,
  MIN_FRAGMENT,
  WINDOW
} from '../src/platform/masking.js'

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

  it('a short plain secret has only itself and its base64', () => {
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

  it(`each line of a multi-line secret from ${MIN_FRAGMENT} characters on`, () => {
    const forms = derivedForms('line1-Alpha\nBrav06\nsh0rt\nline4-Delta')
    expect(forms).toContain('Brav06')
    expect(forms).not.toContain('sh0rt')
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
    // Shorter runs are pieces: redacted only where text is joined or cut (see below).
    expect(m.redact(`short ${secret.slice(0, WINDOW - 1)} here`)).toBe(
      `short ${secret.slice(0, WINDOW - 1)} here`
    )
  })

  describe(`pieces of a secret (${MIN_FRAGMENT} to ${WINDOW - 1} characters) where text is joined or cut`, () => {
    const PW = 'Tr0ub4dor-Horse-Battery-77'
    const m = new Masker(new RecordingSink())
    m.add(PW)

    it.each([
      [
        'at the end (a server cut it)',
        `Invalid password ${PW.slice(0, 11)}`,
        'Invalid password ***'
      ],
      ['at the start', `${PW.slice(14, 24)} does not meet policy`, '*** does not meet policy'],
      ['before an ellipsis', `Invalid password '${PW.slice(0, 11)}…'`, "Invalid password '***…'"],
      ['after three dots', `value ...${PW.slice(-8)} rejected`, 'value ...*** rejected'],
      [
        'around a middle ellipsis',
        `password ${PW.slice(0, 10)}…${PW.slice(-10)} rejected`,
        'password ***…*** rejected'
      ],
      [
        'either side of a line break',
        `bad ${PW.slice(0, 9)}\n${PW.slice(12, 20)} here`,
        'bad ***\n*** here'
      ],
      // Put back together across the break, the pieces make a window: redacted whole.
      ['one piece each side', `bad ${PW.slice(0, 9)}\n${PW.slice(9, 17)} here`, 'bad *** here'],
      ['quoted, with a full stop', `password "${PW.slice(0, 8)}".`, 'password "***".']
    ])('%s', (_what, text, want) => {
      expect(m.redact(text)).toBe(want)
    })

    it(`leaves pieces in the middle of a text, pieces under ${MIN_FRAGMENT} characters, and other case`, () => {
      for (const text of [
        `password ${PW.slice(0, 11)} rejected`,
        `password ${PW.slice(0, 5)}`,
        `${PW.slice(0, 10).toUpperCase()} at the start`
      ])
        expect(m.redact(text)).toBe(text)
    })

    it('at the joins it is told of (lines joined into one), and none when told so', () => {
      const text = `bad ${PW.slice(0, 9)} ${PW.slice(12, 20)} here`
      expect(m.redact(text, { joins: [13] })).toBe('bad *** *** here')
      expect(m.redact(text)).toBe(text)
      expect(m.redact(`x ${PW.slice(0, 9)}`, { joins: false })).toBe(`x ${PW.slice(0, 9)}`)
    })
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

  // Echo forms an attack found printed in clear: each case is a server's message echoing the
  // password in another form; the action's redaction must leave no 12-character run of it.
  const PW = 'Pa55w0rd-Secret-Value-42'
  const ACCENTED = 'Gehe1m-P&ss<wört>"Zürich"-42'
  it.each([
    ['upper case', PW, PW.toUpperCase()],
    ['lower case', PW, PW.toLowerCase()],
    ['wrapped every 10 characters', PW, 'Pa55w0rd-S\necret-Valu\ne-42'],
    ['wrapped with CRLF', PW, 'Pa55w0rd-Se\r\ncret-Value-\r\n42'],
    ['zero-width spaces inside', PW, 'Pa55w0rd-S\u200becret-Valu\u200be-42'],
    ['soft hyphens inside', PW, 'Pa55w0rd-S\u00adecret-Valu\u00ade-42'],
    ['base64 at offset 1', PW, Buffer.from(`x${PW}`).toString('base64')],
    ['base64 at offset 2', PW, Buffer.from(`xy${PW}yz`).toString('base64')],
    [
      'base64 wrapped every 16',
      PW,
      Buffer.from(PW)
        .toString('base64')
        .replace(/(.{16})/g, '$1\n')
    ],
    ['HTML entities', ACCENTED, 'Gehe1m-P&amp;ss&lt;w&#xf6;rt&gt;&quot;Z&#xfc;rich&quot;-42'],
    ['numeric HTML entities', ACCENTED, 'Gehe1m-P&#38;ss&#x3C;wört>"Zürich"-42'],
    ['Unicode NFD', ACCENTED, ACCENTED.normalize('NFD')],
    ['accents stripped', ACCENTED, 'Gehe1m-P&ss<wort>"Zurich"-42'],
    ['Latin-1 percent-encoding', ACCENTED, 'Gehe1m-P%26ss%3Cw%F6rt%3E%22Z%FCrich%22-42'],
    ['Python byte escapes', ACCENTED, 'Gehe1m-P&ss<w\\xc3\\xb6rt>"Z\\xc3\\xbcrich"-42']
  ])('an echo %s is redacted', (_l, secret, echoed) => {
    const m = new Masker(new RecordingSink())
    m.add(secret)
    const out = m.redact(`Invalid password ${echoed} — check it`)
    expect(out).toContain('***')
    // No 12-character run of the secret (in any case, with any inserted characters removed) is left.
    const plain = out.replace(/[\u00ad\u200b\s]/g, '').toLowerCase()
    for (let i = 0; i + WINDOW <= secret.length; i++)
      expect(plain).not.toContain(secret.slice(i, i + WINDOW).toLowerCase())
  })

  it('the Basic form of client id and secret is caught through its base64 forms', () => {
    const m = new Masker(new RecordingSink())
    m.addComposite('client123:ClientSecretValue-0000-XYZ')
    const b64 = Buffer.from('client123:ClientSecretValue-0000-XYZ').toString('base64')
    expect(m.redact(`bad Authorization: Basic ${b64}`)).toBe('bad Authorization: Basic ***')
  })

  it('a secret wrapped across lines is redacted in place: the rest keeps its spaces', () => {
    const m = new Masker(new RecordingSink())
    m.add(PW)
    expect(
      m.redact('Bad Request: invalid password Pa55w0rd-S\necret-Valu\ne-42 for user svc')
    ).toBe('Bad Request: invalid password *** for user svc')
  })

  it('İ (which lower-cases to two characters) anywhere in the text leaves any case matched', () => {
    const m = new Masker(new RecordingSink())
    m.add('Secret-Passw0rd-42')
    expect(lowerKeepingPositions('İx SECRET')).toBe('İx secret')
    expect(m.redact('İstanbul office: SECRET-PASSW0RD-42 rejected')).toBe(
      'İstanbul office: *** rejected'
    )
  })

  it('a secret shorter than a window matches only as written, not in another case', () => {
    const m = new Masker(new RecordingSink())
    m.add('LOOKING')
    expect(m.redact('Looking up connection')).toBe('Looking up connection')
    expect(m.redact('pw LOOKING')).toBe('pw ***')
  })

  it('ordinary text stays as it is, whatever the views', () => {
    const m = new Masker(new RecordingSink())
    m.add(PW)
    m.add(ACCENTED)
    const text = 'HTTP 400 Bad Request: the value at $.port is not an integer (x&amp;y %F6 \\xc3)'
    expect(m.redact(text)).toBe(text)
  })

  it('reveals() tells whether a value holds part of a secret', () => {
    const m = new Masker(new RecordingSink())
    m.add('eyJhbGciOiJSUzI1NiJ9.TOKENBODYabcdefghijklmnop0123456789.SIGxyz')
    expect(m.reveals('TOKENBODYabcdefghijklmnop0123456789')).toBe(true)
    expect(m.catches('TOKENBODYabcdefghijklmnop0123456789')).toBe(false)
    expect(m.reveals('5bcbb59c-e4e9-4000-b0f4-3514d3226342')).toBe(false)
  })
})

describe('base64Forms', () => {
  it.each([
    'Pa55w0rd-Secret-Value-42',
    'ClientSecretValue-0000-XYZ',
    'Gehe1m-P&ss<wört>"Zürich"-42'
  ])('one of the forms of %s is inside any base64 text that holds it', (secret) => {
    const forms = base64Forms(secret)
    for (const before of ['', 'a', 'ab', 'abc', 'client123:'])
      for (const after of ['', 'z', 'zz', 'zzz']) {
        const b64 = Buffer.from(before + secret + after).toString('base64')
        expect(forms.some((f) => b64.includes(f))).toBe(true)
      }
  })
})

describe('connectionStringSecrets', () => {
  it.each([
    [
      'a segment without =',
      'Server=db;UID=svc;Password=Trailing-Junk-Secret-99;junk',
      'Trailing-Junk-Secret-99'
    ],
    [
      'an unclosed brace',
      'Server=db;Database={analytics;UID=svc;Password=Unbraced-Secret-77',
      'Unbraced-Secret-77'
    ],
    [
      'a ; inside the password',
      'Server=db;UID=svc;Password=Semi;Colon-Secret-Pass-88',
      'Semi;Colon-Secret-Pass-88'
    ],
    [
      'another password key',
      'Server=db;Password=Main-11;KeyStorePassword=KeyStoreSecret-22-XYZ',
      'KeyStoreSecret-22-XYZ'
    ],
    ['PWD and braces', 'Server=db;PWD={pass;word}}1234};Port=5432', 'pass;word}1234']
  ])('finds the password in a string with %s', (_l, cs, secret) => {
    expect(connectionStringSecrets(cs).some((v) => v.includes(secret))).toBe(true)
    const m = new Masker(new RecordingSink())
    for (const v of connectionStringSecrets(cs)) m.add(v)
    const out = m.redact(`authentication failed: Password=${secret} end`)
    expect(out).not.toContain(secret.slice(-WINDOW))
  })

  it('does not take the keys and values after the password for secrets', () => {
    const cs =
      'Server=db.example.com;Port=5432;Database=analytics;UID=svc;Password=Xy7-Sup3r-S3cret;EncryptionMethod=1;ValidateServerCertificate=0'
    expect(connectionStringSecrets(cs)).toEqual(['Xy7-Sup3r-S3cret'])
    const m = new Masker(new RecordingSink())
    for (const v of connectionStringSecrets(cs)) m.add(v)
    const text = 'encryption-method conflicts with EncryptionMethod; use ValidateServerCertificate'
    expect(m.redact(text)).toBe(text)
  })

  it('finds nothing in a string without a password key', () => {
    expect(connectionStringSecrets('Server=db;Database=orders;UID=svc')).toEqual([])
  })
})

describe('more decoding views', () => {
  it('decodes HTML entities, named and numeric, and leaves unknown ones', () => {
    expect(decodeHtmlEntities('a&amp;b&lt;&#62;&#x26;&quot;&nbsp;&#99999999;')).toBe(
      'a&b<>&"&nbsp;&#99999999;'
    )
  })

  it('decodes byte escapes: \\x runs as UTF-8, %XX runs that are not UTF-8 as Latin-1', () => {
    expect(decodeByteEscapes('w\\xc3\\xb6rt')).toBe('wört')
    expect(decodeByteEscapes('w%F6rt')).toBe('wört')
    expect(decodeByteEscapes('w%C3%B6rt')).toBe('w%C3%B6rt')
  })

  it('every HTML named reference once the full decoder is loaded (before: only five)', async () => {
    expect(decodeHtmlEntities('p&auml;&szlig;w&ouml;rd &amp;')).toBe('p&auml;&szlig;w&ouml;rd &')
    await loadHtmlDecoder()
    expect(decodeHtmlEntities('p&auml;&szlig;w&ouml;rd &amp; &NotNestedLessLess; &#x1F600;')).toBe(
      'päßwörd & \u2aa1\u0338 😀'
    )
  })

  it('undoes Windows-1252 and Latin-1 mojibake of UTF-8, sequence by sequence', () => {
    expect(decodeMojibake('pÃ¤ÃŸwÃ¶rd')).toBe('päßwörd')
    expect(decodeMojibake('ðŸ˜€ and Ã\u009f')).toBe('😀 and ß')
    // Text that is not mojibake stays: a lone accented letter, a lead without its continuation.
    for (const t of ['café', 'Ã alone', 'naïve']) expect(decodeMojibake(t)).toBe(t)
  })

  it('decodes quoted-printable: soft line breaks, =HH runs that are UTF-8', () => {
    expect(decodeQuotedPrintable('p=C3=A4ss=3Dw=\r\nord')).toBe('päss=word')
    expect(decodeQuotedPrintable('x =FF y')).toBe('x =FF y')
  })

  it("decodes Python's 8-digit \\U escapes", () => {
    expect(decodePythonEscapes('smile \\U0001f600 \\U00110000')).toBe('smile 😀 \\U00110000')
  })

  it('decodedViews: each encoding alone, and encodings over each other, level by level', () => {
    const secret = 'p&ss"wörd'
    let json = secret
    for (let i = 0; i < 4; i++) json = JSON.stringify(json).slice(1, -1)
    expect([...decodedViews(`x ${json} y`)]).toContain(`x ${secret} y`)
    const html = secret.replace(/&/g, '&amp;').replace(/"/g, '&quot;')
    expect([...decodedViews(encodeURIComponent(html))]).toContain(secret)
    expect([...decodedViews('Looking up connection "orders" in sandbox prod')]).toEqual([])
  })
})

describe('encodings a server applied to an echo', () => {
  const PW = 'pässwörd-😀-Ümlaut'
  const m = new Masker(new RecordingSink())
  m.add(PW)

  it.each([
    ['mojibake', 'Password pÃ¤sswÃ¶rd-ðŸ˜€-Ãœmlaut rejected'],
    ['quoted-printable', 'Password p=C3=A4ssw=C3=B6rd-=F0=9F=98=80-=C3=9Cmlaut rejected'],
    ['Python escapes', "Password 'p\\xe4ssw\\xf6rd-\\U0001f600-\\xdcmlaut' rejected"],
    ['left-to-right marks', `Password ${[...PW].join('\u200e')} rejected`],
    ['a tag character', `Password ${[...PW].join('\u{e0020}')} rejected`]
  ])('%s', (_what, text) => {
    expect(m.redact(text)).toMatch(/^Password '?\*\*\*'? rejected$/)
  })

  it('JSON escaped four levels deep, and percent-encoding of HTML-escaped text', () => {
    const html = 'p&ss<w>rd\'"-Q7x+amp'
    const h = new Masker(new RecordingSink())
    h.add(html)
    let json = html
    for (let i = 0; i < 4; i++) json = JSON.stringify(json).slice(1, -1)
    expect(h.redact(`Password ${json} rejected`)).toBe('Password *** rejected')
    const escaped = html.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
    expect(h.redact(`Password ${encodeURIComponent(escaped)} rejected`)).toBe(
      'Password *** rejected'
    )
  })

  it('base64url of a secret whose base64 has + and /: registered, so the runner masks it too', () => {
    const secret = 'ab?>?~secret-value-???-x'
    const sink = new RecordingSink()
    new Masker(sink).add(secret)
    expect(sink.secrets).toContain(Buffer.from(secret).toString('base64url'))
    expect(base64Forms(secret)).toContain(Buffer.from(secret).toString('base64url'))
  })
})
