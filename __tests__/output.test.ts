import { describe, it, expect } from '@jest/globals'
import { ActionError, apiError } from '../src/platform/errors.js'
import {
  carriesCommand,
  cut,
  guard,
  headOf,
  MAX_DETAIL,
  MAX_MESSAGE,
  neutralise,
  Output,
  REDACTED_HEAD,
  type SummaryContent
} from '../src/platform/output.js'
import { RecordingSink, RecordingSummary } from './unit-fakes.js'

const id = (t: string) => t

describe('neutralise', () => {
  it.each([
    ['x ##[set-output name=id;]evil', 'x ## [set-output name=id;]evil'],
    ['###[a]##[b]', '### [a]## [b]'],
    ['::error title=x::forged', ': :error title=x::forged'],
    ['  \t::add-mask::x', '  \t: :add-mask::x'],
    ['\u00a0::warning::x', '\u00a0: :warning::x'],
    ['a::b::c', 'a::b::c'],
    ['plain text', 'plain text']
  ])('%j -> %j', (line, expected) => {
    expect(neutralise(line)).toBe(expected)
  })

  it('writes control and invisible format characters as \\uXXXX, so none hides a command', () => {
    expect(neutralise('#\u200b#[x]')).toBe('#\\u200b#[x]')
    expect(neutralise('\u00ad::error::x')).toBe('\\u00ad::error::x')
    expect(neutralise('a\u0000b\u001bc\u007fd\u0085e')).toBe('a\\u0000b\\u001bc\\u007fd\\u0085e')
    expect(neutralise('tab\tkept')).toBe('tab\tkept')
  })

  it('no output of it contains ##[ or starts with :: after whitespace', () => {
    const hostile = ['##[', '#\u200b#[', '::', ' ::x::y', '##[##[', '#', '[', ':']
    for (const a of hostile)
      for (const b of hostile) {
        const out = neutralise(a + b)
        expect(out).not.toContain('##[')
        expect(out.trimStart().startsWith('::')).toBe(false)
      }
  })
})

describe('neutralise, character by character', () => {
  // Lines of printable ASCII and tabs skip the Unicode-aware pattern: they must hold nothing it
  // rewrites, and every other character must still be rewritten where the pattern says so.
  it('leaves every printable ASCII character and the tab as it is, and writes every other control character as \\uXXXX', () => {
    for (let c = 0; c < 0x80; c++) {
      const ch = String.fromCharCode(c)
      const line = `a${ch}b`
      const printable = ch === '\t' || (c >= 0x20 && c <= 0x7e)
      const lineBreak = ch === '\n' || ch === '\r'
      if (printable) expect(neutralise(line)).toBe(line)
      else if (!lineBreak) expect(neutralise(line)).toBe(`a\\u${c.toString(16).padStart(4, '0')}b`)
    }
    // Beyond ASCII: C1 controls and format characters too.
    expect(neutralise('a\u0085b\u200bc\u00adz')).toBe('a\\u0085b\\u200bc\\u00adz')
  })
})

describe('cut', () => {
  it('keeps short text, cuts long text with an ellipsis', () => {
    expect(cut('abc', 3)).toBe('abc')
    expect(cut('abcdef', 4)).toBe('abc…')
  })

  it('never splits a surrogate pair', () => {
    expect(cut('ab😀cd', 4)).toBe('ab…')
  })
})

describe('guard', () => {
  const redactPw = (t: string) => t.split('pw line').join('***')

  it('redacts the raw text before collapsing, neutralising or cutting', () => {
    // Collapsed first, "pw\nline" would no longer be the registered "pw line"... and cut first,
    // half of it would stay.
    const redact = (t: string) => t.replace(/pw\s+line/g, '***')
    expect(guard('x pw\n  line y', redact, { oneLine: true, max: 100 })).toEqual(['x *** y'])
    expect(guard(`${'a'.repeat(8)} pw\nline`, redact, { oneLine: true, max: 11 })).toEqual([
      'aaaaaaaa *…'
    ])
  })

  it('one line: line breaks of every kind become spaces, commands neutralised', () => {
    expect(guard('a\r\n::error::x\rb\u2028##[c]', id, { oneLine: true, max: 100 })).toEqual([
      'a : :error::x b ## [c]'
    ])
  })

  it('several lines: each kept, neutralised and cut', () => {
    expect(
      guard('a\n::add-mask::x\n' + 'y'.repeat(20), redactPw, { oneLine: false, max: 14 })
    ).toEqual(['a', ': :add-mask::x', 'yyyyyyyyyyyyy…'])
  })
})

describe('Output', () => {
  const setup = () => {
    const sink = new RecordingSink()
    return { sink, out: new Output(sink) }
  }

  it('registers secrets with the runner', () => {
    const { sink, out } = setup()
    out.secret('line1-Alpha\nline2-Bravo')
    out.compositeSecret('Server=h;Password=p')
    const masks = sink.of('setSecret').map(([v]) => v)
    expect(masks).toContain('line1-Alpha')
    expect(masks).toContain('line1-Alpha line2-Bravo')
    expect(masks).toContain('Server=h;Password=p')
  })

  it('every printing method redacts, neutralises and keeps to its line', () => {
    const { sink, out } = setup()
    out.secret('s3cret-Value')
    out.info('a s3cret-Value\n##[error]x')
    out.block('b s3cret-Value\n::add-mask::x')
    out.debug('d s3cret-Value\n::warning::y')
    out.warning('w s3cret-Value')
    out.error('e s3cret-Value')
    out.fail('f s3cret-Value\n::error::z')
    expect(sink.printed()).toEqual([
      'a *** ## [error]x',
      'b ***',
      ': :add-mask::x',
      'd *** : :warning::y',
      'w ***',
      'e ***',
      'f *** : :error::z'
    ])
  })

  it('redacts again after joining lines: a short secret split by a line break \\s does not match', () => {
    // U+0085 ends a line for the splitter but is not whitespace to a JavaScript regular
    // expression: only the redaction of the joined line sees "pw1 pw2xyz" whole.
    const { sink, out } = setup()
    out.secret('pw1 pw2xyz')
    out.warning('rejected: pw1\u0085pw2xyz here')
    expect(sink.of('warning')).toEqual([['rejected: *** here']])
  })

  it('group(): a guarded title, the group closed even when the work throws', async () => {
    const { sink, out } = setup()
    out.secret('s3cret-Value')
    expect(await out.group('plan s3cret-Value\n::error::x', async () => 42)).toBe(42)
    await expect(
      out.group('failing', async () => {
        out.info('inside')
        throw new Error('boom')
      })
    ).rejects.toThrow('boom')
    expect(sink.calls.filter((c) => c[0] !== 'setSecret')).toEqual([
      ['startGroup', 'plan *** : :error::x'],
      ['endGroup'],
      ['startGroup', 'failing'],
      ['info', 'inside'],
      ['endGroup']
    ])
  })

  it('shortens one-line messages to MAX_MESSAGE', () => {
    const { sink, out } = setup()
    out.fail('x'.repeat(MAX_MESSAGE * 2))
    expect(sink.of('setFailed')[0]?.[0]).toHaveLength(MAX_MESSAGE)
  })

  it('describe(): the server part of an API error is redacted, then cut to MAX_DETAIL', () => {
    const { out } = setup()
    const password = 'Zq7' + 'K'.repeat(50) + '-end'
    out.secret(password)
    const e = apiError('creating the connection', {
      kind: 'response',
      res: {
        status: 400,
        headers: {},
        text: JSON.stringify({
          title: 'Bad request',
          errorMessage: `${'padding '.repeat(40)}Password=${password}\n${'more '.repeat(100)}`
        })
      }
    })
    const text = out.describe(e)
    expect(text).toMatch(/^creating the connection failed: HTTP 400 Bad request: padding/)
    expect(text).not.toContain('Zq7K')
    expect(text).not.toContain('\n')
    // Head and tail stay whole; only the detail was cut.
    expect(text.length).toBeLessThan(
      'creating the connection failed: HTTP 400 '.length + MAX_DETAIL + 5
    )
    expect(text).toMatch(/…$/)
  })

  it('describe(): each field of the server body redacted on its own, then the joined message again', () => {
    const { out } = setup()
    const password = 'Fr4gment-Pa55w0rd-Secret-9'
    out.secret(password)
    const e = apiError('creating the connection', {
      kind: 'response',
      res: {
        status: 400,
        headers: { 'x-request-id': 'r-1' },
        text: JSON.stringify({
          type: 'x/FLOW-1400-400',
          title: `Invalid password ${password.slice(0, 10)}`,
          report: { 'detailed-message': `${password.slice(10, 20)} does not meet policy` }
        })
      }
    })
    expect(out.describe(e)).toBe(
      'creating the connection failed: HTTP 400 1400-400 Invalid password ***: *** does not meet policy (request id r-1)'
    )
  })

  it('describe(): other errors by their message, anything else as a string', () => {
    const { out } = setup()
    expect(out.describe(new ActionError('plain'))).toBe('plain')
    expect(out.describe(new Error('err'))).toBe('err')
    expect(out.describe(42)).toBe('42')
  })

  it('setOutput warns by name when a value would be masked, and sets it anyway', () => {
    const { sink, out } = setup()
    out.secret('created')
    out.setOutput('operation', 'created')
    out.setOutput('connection-id', 'abc-123')
    expect(sink.of('setOutput')).toEqual([
      ['operation', 'created'],
      ['connection-id', 'abc-123']
    ])
    const warnings = sink.of('warning').map(([w]) => w)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/the operation output holds a secret value/)
  })

  it('setOutput writes a value holding part of a secret redacted, and warns by name', () => {
    const { sink, out } = setup()
    out.secret('eyJhbGciOiJSUzI1NiJ9.TOKENBODYabcdefghijklmnop0123456789.SIGxyz')
    out.secret('Pa55w0rd-Secret-Value-42')
    out.setOutput('connection-id', 'TOKENBODYabcdefghijklmnop0123456789')
    out.setOutput('tables', '["public.Pa55w0rd-Secret-Valu","public.orders"]')
    // In any letter case, as in the log: a server may upper-case what it echoes.
    out.setOutput('etag', '"PA55W0RD-SECRET-VALU"')
    out.setOutput('tables', '["İ.pa55w0rd-secret-valu"]')
    out.setOutput('operation', 'created')
    expect(sink.of('setOutput')).toEqual([
      ['connection-id', '***'],
      ['tables', '["public.***","public.orders"]'],
      ['etag', '"***"'],
      ['tables', '["İ.***"]'],
      ['operation', 'created']
    ])
    const part = (name: string) =>
      `the ${name} output holds part of a secret value (as Flow Service returned it), so it is written with that part replaced by ***`
    expect(sink.of('warning').map(([w]) => w)).toEqual([
      part('connection-id'),
      part('tables'),
      part('etag'),
      part('tables')
    ])
  })

  it.each([
    '"e1 ##[error title=Security]Credentials leaked, rotate now"',
    '::error::X',
    'ok\n  ::warning::X',
    'ok\u2028::notice::X',
    'x #\u200b#[error]X'
  ])('setOutput leaves a value that would relay a command (%j) empty, and warns by name', (v) => {
    const { sink, out } = setup()
    out.setOutput('etag', v)
    expect(sink.of('setOutput')).toEqual([['etag', '']])
    expect(sink.of('warning').map(([w]) => w)).toEqual([
      'the etag output is left empty: its value (as Flow Service returned it) holds text a later step printing it would run as a workflow command'
    ])
  })

  it('carriesCommand: ##[ anywhere, :: at a line start, hidden characters ignored', () => {
    for (const v of ['"e1"', 'public.a::b', '["a","b"]', 'x #[y]', ': :error::x', ''])
      expect([v, carriesCommand(v)]).toEqual([v, false])
    for (const v of ['a##[b', '::x', ' \t::x', 'a\r::x', 'a\u0085::x', '\u200b::x', '#\u200d#[x'])
      expect([v, carriesCommand(v)]).toEqual([v, true])
  })

  it('a huge one-line text is redacted only as far as it can be shown (headOf)', () => {
    expect(headOf('abc', 2)).toBe('abc'.slice(0, 2))
    expect(headOf('a b  c d', 3)).toBe('a b  c ')
    expect(headOf(`${' '.repeat(100)}x`, 1)).toBe(`${' '.repeat(100)}x`)
    // The redaction sees only the head of a 10 MB text, whatever its size.
    const seen: number[] = []
    const huge = `Invalid pw ${'&amp; %41 x\u200b'.repeat(600_000)}`
    guard(huge, (t) => (seen.push(t.length), t), { oneLine: true, max: MAX_DETAIL })
    expect(Math.max(...seen)).toBeLessThanOrEqual(REDACTED_HEAD * 2)
    const { sink, out } = setup()
    out.secret('Pa55w0rd-Secret-Value-42')
    out.error(`Invalid Pa55w0rd-Secret-Value-42 ${'&amp; %41 x\u200b'.repeat(600_000)}`)
    const [line] = sink.of('error').map(([l]) => l)
    expect(line?.startsWith('Invalid *** ')).toBe(true)
    expect(line?.length).toBeLessThanOrEqual(MAX_MESSAGE)
  })

  const content: SummaryContent = {
    heading: 'AEP PostgreSQL connection',
    rows: [
      ['Connection name', `<b>"x" & 'y'</b> ##[z]`],
      ['Error', 'pw=line1-Alpha\nline2-Bravo']
    ],
    link: { text: 'Workflow run', href: 'https://github.com/o/r/actions/runs/1' }
  }

  it('summary: every cell redacted, neutralised and HTML-escaped; the link last', async () => {
    const { sink, out } = setup()
    out.secret('line1-Alpha\nline2-Bravo')
    await out.summary(content)
    const s = sink.summary
    expect(s.calls[0]).toEqual(['heading', 'AEP PostgreSQL connection', 3])
    expect(s.table()).toEqual([
      [
        { data: 'Field', header: true },
        { data: 'Value', header: true }
      ],
      ['Connection name', '&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt; ## [z]'],
      ['Error', 'pw=***']
    ])
    expect(s.calls[2]).toEqual(['link', 'Workflow run', 'https://github.com/o/r/actions/runs/1'])
    expect(s.written).toBe(1)
    expect(sink.of('warning')).toEqual([])
  })

  it('summary: no link when none is given', async () => {
    const { sink, out } = setup()
    await out.summary({ heading: 'h', rows: [] })
    expect(sink.summary.calls.map((c) => c[0])).toEqual(['heading', 'table'])
  })

  it('summary: a failing write or builder only warns', async () => {
    const sink = new RecordingSink(
      new RecordingSummary(
        new Error('Unable to find environment variable for $GITHUB_STEP_SUMMARY')
      )
    )
    const out = new Output(sink)
    await expect(out.summary(content)).resolves.toBeUndefined()
    const sink2 = new RecordingSink()
    sink2.summary.addHeading = () => {
      throw new Error('boom')
    }
    await new Output(sink2).summary(content)
    expect(sink.of('warning')).toEqual([
      [
        'could not write the job summary: Unable to find environment variable for $GITHUB_STEP_SUMMARY'
      ]
    ])
    expect(sink2.of('warning')).toEqual([['could not write the job summary: boom']])
  })
})
