import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { parseDocument } from 'yaml'
import { InputError } from '../platform/errors.js'
import type { MappingItem } from './settings.js'

/*
 * The mapping file: a YAML or JSON list of {source, destination, type?} items, read from the
 * workspace before anything is sent. Everything wrong with it is an input error naming
 * `mapping`: a path outside the workspace, a file that is missing, too large or not a list, an
 * item with a misspelled key, a type that is not attribute or expression, two items for one
 * destination.
 */

/** The most a mapping file may hold: far more than a table's columns need. */
export const MAX_MAPPING_BYTES = 1024 * 1024
export const MAX_MAPPINGS = 2000

/** The file system edge: tests pass their own. */
export interface FileReader {
  /**
   * A regular file's first `max` + 1 bytes at most; throws with `code` ENOENT, EISDIR, ... as
   * node:fs does, and NOTREGULAR for a FIFO, socket or device.
   */
  read(file: string, max: number): Buffer
  /** The path with every symbolic link resolved (node:fs realpathSync). */
  realpath(file: string): string
}

/**
 * node:fs, read so that nothing can hold the step: opened without blocking (a FIFO with no
 * writer would block the whole process, deaf to the deadline and the runner's signals), only a
 * regular file read, and never more than `max` + 1 bytes of it (a huge file is refused unread).
 */
export const nodeFileReader: FileReader = {
  read(file, max) {
    const fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
    try {
      const st = fstatSync(fd)
      if (st.isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' })
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'NOTREGULAR' })
      const buf = Buffer.alloc(Math.min(st.size, max) + 1)
      let got = 0
      for (let n = 1; got < buf.length && n > 0; got += n)
        n = readSync(fd, buf, got, buf.length - got, null)
      return buf.subarray(0, got)
    } finally {
      closeSync(fd)
    }
  },
  realpath: (f) => realpathSync(f)
}

const fail = (message: string): never => {
  throw new InputError([{ input: 'mapping', message }])
}

/** Where the file is: inside the workspace (GITHUB_WORKSPACE, else the working directory). */
export function mappingFilePath(given: string, workspace: string, files: FileReader): string {
  if (path.isAbsolute(given))
    fail('mapping must be a path relative to the workspace, e.g. aep/orders-mapping.yml')
  let root: string
  try {
    root = files.realpath(workspace)
  } catch (e) {
    const code = (e as { code?: string }).code
    return fail(
      `mapping names ${given}, but the workspace it is read from cannot be read (${code ?? 'error'}): did the job check out the repository first?`
    )
  }
  const file = path.resolve(root, given)
  const inside = (p: string) => p === root || p.startsWith(root + path.sep)
  if (!inside(file))
    fail(`mapping must name a file inside the workspace (${given} leads out of it)`)
  let real: string
  try {
    real = files.realpath(file)
  } catch (e) {
    const code = (e as { code?: string }).code
    return fail(
      code === 'ENOENT'
        ? `mapping names ${given}, which does not exist in the workspace (did the job check out the repository first?)`
        : `mapping names ${given}, which cannot be read (${code ?? 'error'})`
    )
  }
  // A link inside the workspace must not lead out of it either.
  if (!inside(real))
    fail(`mapping must name a file inside the workspace (${given} links out of it)`)
  return real
}

const KEYS = new Set(['source', 'destination', 'type'])
const TYPES = { attribute: 'attribute', expression: 'expression' } as const

/** The items of a mapping file's text; `name` says which file in messages. */
export function parseMapping(text: string, name: string): MappingItem[] {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  const err = doc.errors[0]
  if (err) {
    const at = err.linePos?.[0]
    fail(
      `${name} is not valid YAML or JSON${at ? ` (line ${at.line}, column ${at.col})` : ''}: ${err.code}`
    )
  }
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: 50 })
  } catch {
    // The yaml package refuses a document whose aliases would expand without bound.
    return fail(`${name} uses YAML aliases (*name) too many times; write the mappings out`)
  }
  // A list, or an object whose only key is mappings (a common way to write it).
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const keys = Object.keys(data)
    if (keys.length === 1 && keys[0] === 'mappings') data = (data as { mappings: unknown }).mappings
  }
  if (!Array.isArray(data))
    fail(`${name} must hold a list of {source, destination} items (a YAML or JSON list)`)
  const list = data as unknown[]
  if (list.length === 0) fail(`${name} holds no mappings: give at least one {source, destination}`)
  if (list.length > MAX_MAPPINGS) fail(`${name} holds more than ${MAX_MAPPINGS} mappings`)
  const seen = new Map<string, number>()
  return list.map((raw, i) => {
    const where = `${name}, item ${i + 1}`
    if (!raw || typeof raw !== 'object' || Array.isArray(raw))
      fail(`${where} must be an object with source and destination`)
    const item = raw as Record<string, unknown>
    for (const key of Object.keys(item))
      if (!KEYS.has(key))
        fail(
          `${where} has an unknown key "${key.slice(0, 40)}" (the keys are source, destination and type)`
        )
    const field = (key: 'source' | 'destination') => {
      const v = item[key]
      if (typeof v !== 'string' || !v.trim())
        return fail(`${where} needs a ${key} (a non-empty string)`)
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(v) && key === 'destination')
        fail(`${where}: destination must not contain control characters`)
      if (v.length > 4096) fail(`${where}: ${key} is longer than 4096 characters`)
      return v
    }
    const source = field('source')
    const destination = field('destination')
    const t = item.type === undefined ? 'attribute' : item.type
    const type = typeof t === 'string' ? TYPES[t.toLowerCase() as keyof typeof TYPES] : undefined
    if (!type) fail(`${where}: type must be attribute or expression`)
    const earlier = seen.get(destination)
    if (earlier !== undefined)
      fail(`${where} maps to ${destination.slice(0, 200)} again (item ${earlier} does too)`)
    seen.set(destination, i + 1)
    return { source, destination, type: type as MappingItem['type'] }
  })
}

/** Reads and checks the mapping file named by the `mapping` input. */
export function readMapping(given: string, workspace: string, files: FileReader): MappingItem[] {
  const file = mappingFilePath(given, workspace, files)
  let bytes: Buffer
  try {
    bytes = files.read(file, MAX_MAPPING_BYTES)
  } catch (e) {
    const code = (e as { code?: string }).code
    return fail(
      code === 'EISDIR'
        ? `mapping names ${given}, which is a directory, not a file`
        : code === 'NOTREGULAR'
          ? `mapping names ${given}, which is not a regular file (a FIFO, socket or device)`
          : `mapping names ${given}, which cannot be read (${code ?? 'error'})`
    )
  }
  if (bytes.length > MAX_MAPPING_BYTES)
    fail(`mapping names ${given}, which is larger than ${MAX_MAPPING_BYTES / 1024} KiB`)
  return parseMapping(decodeText(bytes, given), given)
}

/**
 * The file's text. UTF-8, with or without a byte-order mark (Windows editors and PowerShell write
 * one); UTF-16 with its mark (PowerShell 5's `>`) is read too. Bytes that are not UTF-8 fail
 * naming the encoding, rather than as a file that holds no list.
 */
export function decodeText(bytes: Buffer, given: string): string {
  const refuse = (): never =>
    fail(
      `mapping names ${given}, which is not text in UTF-8 (or UTF-16 with a byte-order mark): save it as UTF-8`
    )
  // UTF-32's marks (FF FE 00 00 starts like UTF-16LE's): refused, not read as UTF-16.
  const b = [...bytes.subarray(0, 4)].join(',')
  if (b === '255,254,0,0' || b === '0,0,254,255') return refuse()
  const utf16 =
    bytes[0] === 0xff && bytes[1] === 0xfe
      ? 'utf-16le'
      : bytes[0] === 0xfe && bytes[1] === 0xff
        ? 'utf-16be'
        : undefined
  let text: string
  try {
    text = utf16
      ? new TextDecoder(utf16, { fatal: true }).decode(bytes.subarray(2))
      : // ignoreBOM false: the decoder drops a leading UTF-8 byte-order mark.
        new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return refuse()
  }
  // NUL is valid UTF-8 but no mapping file holds one: UTF-16 or UTF-32 without a mark.
  return text.includes('\u0000') ? refuse() : text
}
