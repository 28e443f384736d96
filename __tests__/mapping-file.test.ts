import { afterAll, describe, it, expect } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  nodeFileReader,
  parseMapping,
  readMapping,
  type FileReader
} from '../src/dataflow/mapping-file.js'
import { InputError } from '../src/platform/errors.js'

const files: FileReader = nodeFileReader

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof InputError) {
      expect(e.problems.map((p) => p.input)).toEqual(['mapping'])
      return e.problems[0]?.message ?? ''
    }
    throw e
  }
  throw new Error('expected an input error')
}

describe('parseMapping', () => {
  it('reads a YAML list, a JSON list, or {mappings: [...]}; type defaults to attribute', () => {
    const want = [
      { source: 'id', destination: '_id', type: 'attribute' },
      {
        source: "concat(first, ' ', last)",
        destination: 'person.name.fullName',
        type: 'expression'
      }
    ]
    const yaml =
      "- source: id\n  destination: _id\n- source: concat(first, ' ', last)\n  destination: person.name.fullName\n  type: Expression\n"
    expect(parseMapping(yaml, 'm.yml')).toEqual(want)
    expect(parseMapping(JSON.stringify(want), 'm.json')).toEqual(want)
    expect(parseMapping(`mappings:\n${yaml.replace(/^/gm, '  ')}`, 'm.yml')).toEqual(want)
  })

  it.each([
    ['', 'm.yml must hold a list of {source, destination} items (a YAML or JSON list)'],
    ['[]', 'm.yml holds no mappings: give at least one {source, destination}'],
    ['- source: id\n', 'm.yml, item 1 needs a destination (a non-empty string)'],
    [
      '- source: id\n  destinaton: _id\n',
      'm.yml, item 1 has an unknown key "destinaton" (the keys are source, destination and type)'
    ],
    [
      '- source: id\n  destination: _id\n  type: constant\n',
      'm.yml, item 1: type must be attribute or expression'
    ],
    [
      '- source: a\n  destination: x\n- source: b\n  destination: x\n',
      'm.yml, item 2 maps to x again (item 1 does too)'
    ],
    ['- [a, b]\n', 'm.yml, item 1 must be an object with source and destination'],
    [
      '- source: a\n  destination: x\n  source: b\n',
      'm.yml is not valid YAML or JSON (line 3, column 3): DUPLICATE_KEY'
    ],
    ['{"a": [', 'm.yml is not valid YAML or JSON (line 1, column 8): BAD_INDENT'],
    [
      // Aliases that would expand without bound (a "billion laughs" file): an input error too.
      'a: &a [x, x, x, x, x, x, x, x, x]\n' +
        Array.from({ length: 9 }, (_, i) => {
          const prev = i === 0 ? 'a' : `b${i - 1}`
          return `b${i}: &b${i} [${Array(9).fill(`*${prev}`).join(', ')}]`
        }).join('\n'),
      'm.yml uses YAML aliases (*name) too many times; write the mappings out'
    ]
  ])('%j: %s', (text, message) => {
    expect(messageOf(() => parseMapping(text, 'm.yml'))).toBe(message)
  })
})

describe('readMapping: a file inside the workspace', () => {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'mapping-')))
  const ws = path.join(root, 'ws')
  mkdirSync(path.join(ws, 'aep'), { recursive: true })
  writeFileSync(path.join(ws, 'aep', 'm.yml'), '- source: id\n  destination: _id\n')
  writeFileSync(path.join(root, 'outside.yml'), '- source: id\n  destination: _id\n')
  symlinkSync(path.join(root, 'outside.yml'), path.join(ws, 'aep', 'link.yml'))
  writeFileSync(path.join(ws, 'big.yml'), 'x'.repeat(1024 * 1024 + 1))
  // 4 GiB that take no disk: refused from its size, never read into memory.
  const sparse = openSync(path.join(ws, 'huge.yml'), 'w')
  ftruncateSync(sparse, 4 * 1024 ** 3)
  closeSync(sparse)
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('a workspace that does not exist: an input error naming mapping, not a file-system error', () => {
    expect(messageOf(() => readMapping('aep/m.yml', path.join(root, 'no-such-ws'), files))).toBe(
      'mapping names aep/m.yml, but the workspace it is read from cannot be read (ENOENT): did the job check out the repository first?'
    )
  })

  it('reads it relative to the workspace', () => {
    expect(readMapping('aep/m.yml', ws, files)).toHaveLength(1)
    expect(readMapping('./aep/../aep/m.yml', ws, files)).toHaveLength(1)
  })

  it.each([
    [
      '/etc/passwd',
      'mapping must be a path relative to the workspace, e.g. aep/orders-mapping.yml'
    ],
    [
      '../outside.yml',
      'mapping must name a file inside the workspace (../outside.yml leads out of it)'
    ],
    [
      'aep/link.yml',
      'mapping must name a file inside the workspace (aep/link.yml links out of it)'
    ],
    [
      'aep/missing.yml',
      'mapping names aep/missing.yml, which does not exist in the workspace (did the job check out the repository first?)'
    ],
    ['aep', 'mapping names aep, which is a directory, not a file'],
    ['big.yml', 'mapping names big.yml, which is larger than 1024 KiB']
  ])('%s: %s', (given, message) => {
    expect(messageOf(() => readMapping(given, ws, files))).toBe(message)
  })

  it('a file of 4 GiB: refused at once, from the first 1 MiB and a byte', () => {
    const started = performance.now()
    expect(messageOf(() => readMapping('huge.yml', ws, files))).toBe(
      'mapping names huge.yml, which is larger than 1024 KiB'
    )
    expect(performance.now() - started).toBeLessThan(5000)
  })

  // A FIFO with no writer blocks open(2) and read(2): the process would hang, deaf to its
  // deadline and the runner's signals. Windows has no mkfifo.
  const withFifo = process.platform === 'win32' ? it.skip : it
  withFifo('a FIFO (nothing writing to it): refused at once, not waited on', () => {
    execFileSync('mkfifo', [path.join(ws, 'aep', 'fifo.yml')])
    expect(messageOf(() => readMapping('aep/fifo.yml', ws, files))).toBe(
      'mapping names aep/fifo.yml, which is not a regular file (a FIFO, socket or device)'
    )
  })
})
