import { InputError, type InputProblem } from '../platform/errors.js'
import { CONNECTION_ID } from '../platform/flow-api.js'
import {
  adobeSettings,
  ADOBE_INPUT_NAMES,
  ADOBE_SECRET_INPUTS,
  also,
  bool,
  credentialProblems,
  dedupe,
  inputsSchema,
  objectName,
  problem,
  problemsOf,
  rule,
  RUN_INPUT_NAMES,
  sharedChecks,
  SHARED_DEFAULTS,
  descriptionText,
  text,
  withDefaults,
  type Check,
  type Checked
} from '../platform/inputs.js'
import { FREQUENCIES, type DataflowSettings, type Frequency } from './settings.js'

/** Every input dataflow/action.yml declares, in its order. */
export const INPUT_NAMES = [
  ...ADOBE_INPUT_NAMES,
  'dataflow-name',
  'description',
  'base-connection-id',
  'table',
  'dataset-id',
  'dataset-name',
  'mapping',
  'delta-column',
  'frequency',
  'interval',
  'start-time',
  'backfill',
  'enabled',
  ...RUN_INPUT_NAMES
] as const
export type InputName = (typeof INPUT_NAMES)[number]
export type RawInputs = Record<InputName, string>

export const SECRET_INPUTS = [...ADOBE_SECRET_INPUTS] as const satisfies readonly InputName[]

/** Defaults, mirrored from dataflow/action.yml. interval and backfill default in code (see below). */
export const DEFAULTS: Partial<Record<InputName, string>> = {
  ...SHARED_DEFAULTS,
  frequency: 'day',
  enabled: 'true'
}

/** The source and target connections are named after the dataflow: room for the longer suffix. */
const SUFFIX = ' target'
const NAME_MAX = 255 - SUFFIX.length

/** An id as Flow Service and Catalog write them: letters, digits, - and _. */
const idInput = (name: InputName): Check<string> =>
  rule(
    (v) => !v || CONNECTION_ID.test(v),
    `${name} must be an id (letters, digits, - and _, at most 128), as the ${name === 'dataset-id' ? 'dataset' : 'connection action'} gives it`
  )

/** A column or table name: printable, one line. */
const identifier = (name: InputName, max = 255) => text(name, max, false)

/** epoch seconds from "1735689600" or an ISO-8601 date-time with a zone; undefined when not one. */
export function epochSeconds(v: string): number | undefined {
  if (/^\d{1,12}$/.test(v)) return Number(v)
  // A date-time with an explicit zone: a bare local time would depend on the runner's zone.
  const m =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.exec(v)
  if (!m) return undefined
  // Date.parse rolls a day the month does not have (February 30th) into the next month: each
  // field must name a real moment.
  const n = (i: number) => Number(m[i] ?? 0)
  const days = new Date(Date.UTC(n(1), n(2), 0)).getUTCDate()
  if (n(2) < 1 || n(2) > 12 || n(3) < 1 || n(3) > days || n(4) > 23 || n(5) > 59 || n(7) > 59)
    return undefined
  const ms = Date.parse(v)
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined
}

const frequency: Check<Frequency> = (v) => {
  const f = v.toLowerCase()
  return (FREQUENCIES as readonly string[]).includes(f)
    ? (f as Frequency)
    : problem(`frequency must be one of: ${FREQUENCIES.join(', ')}`)
}

const checks = () => ({
  ...sharedChecks(),
  'dataflow-name': also(objectName('dataflow-name'), (v) =>
    v.length <= NAME_MAX
      ? undefined
      : `dataflow-name must be at most ${NAME_MAX} characters (its connections add "${SUFFIX}")`
  ),
  description: descriptionText('description', 1000),
  'base-connection-id': idInput('base-connection-id'),
  table: identifier('table'),
  'dataset-id': idInput('dataset-id'),
  'dataset-name': identifier('dataset-name'),
  mapping: identifier('mapping', 1024),
  'delta-column': identifier('delta-column'),
  frequency,
  interval: rule((v) => v === '' || /^\d{1,6}$/.test(v), 'interval must be a whole number'),
  'start-time': rule(
    (v) => v === '' || epochSeconds(v) !== undefined,
    'start-time must be epoch seconds or an ISO-8601 date-time with a zone (e.g. 2027-01-31T06:00:00Z)'
  ),
  backfill: rule((v) => /^(true|false|)$/i.test(v), 'backfill must be true or false'),
  enabled: bool('enabled')
})
type Fields = Checked<ReturnType<typeof checks>>

/**
 * Validates the raw inputs and derives the settings: every problem at once, each naming its
 * input; nothing is read or sent before. The mapping file is read afterwards (mapping-file.ts).
 */
export function parseInputs(partial: Partial<RawInputs>): DataflowSettings {
  const raw = withDefaults(INPUT_NAMES, DEFAULTS, partial)
  const parsed = inputsSchema(checks()).safeParse(raw)
  const problems: InputProblem[] = parsed.success ? [] : problemsOf(parsed.error)
  problems.push(...crossFieldProblems(raw))
  if (problems.length > 0 || !parsed.success) throw new InputError(dedupe(problems))
  return toSettings(parsed.data)
}

function crossFieldProblems(raw: RawInputs): InputProblem[] {
  const problems: InputProblem[] = credentialProblems(raw)
  const add = (input: InputName, message: string) => problems.push({ input, message })
  // Deleting needs only the name; the rest, if given, is not used.
  if (raw.state === 'absent') return problems
  for (const name of ['base-connection-id', 'table', 'mapping'] as const)
    if (!raw[name]) add(name, `${name} is required with state present`)
  if (raw['dataset-id'] && raw['dataset-name'])
    add('dataset-name', 'give either dataset-id or dataset-name, not both')
  else if (!raw['dataset-id'] && !raw['dataset-name'])
    add('dataset-id', 'dataset-id or dataset-name is required with state present')
  const frequency = raw.frequency.toLowerCase()
  // A frequency that is none of them is reported on its own: the rules below would repeat it.
  if (!(FREQUENCIES as readonly string[]).includes(frequency)) return problems
  if (frequency === 'once') {
    if (raw.interval) add('interval', 'interval is not allowed with frequency once')
    if (raw.backfill) add('backfill', 'backfill is not allowed with frequency once')
  } else {
    const interval = raw.interval === '' ? 1 : Number(raw.interval)
    const min = frequency === 'minute' ? 15 : 1
    if (/^\d+$/.test(raw.interval || '1') && interval < min)
      add(
        'interval',
        `interval must be at least ${min} with frequency ${frequency}${raw.interval ? '' : ' (it defaults to 1)'}`
      )
    // Adobe: dataflows from databases need a column that orders new rows.
    if (!raw['delta-column'])
      add(
        'delta-column',
        `delta-column is required with frequency ${frequency} (only once runs without one)`
      )
  }
  return problems
}

function toSettings(f: Fields): DataflowSettings {
  const once = f.frequency === 'once'
  const startTime = f['start-time'] ? epochSeconds(f['start-time']) : undefined
  return {
    ...adobeSettings(f),
    dataflowName: f['dataflow-name'],
    description: f.description || undefined,
    baseConnectionId: f['base-connection-id'] || undefined,
    table: f.table || undefined,
    dataset: f['dataset-id']
      ? { id: f['dataset-id'] }
      : f['dataset-name']
        ? { name: f['dataset-name'] }
        : undefined,
    mappingPath: f.mapping || undefined,
    deltaColumn: f['delta-column'] || undefined,
    schedule: once
      ? { frequency: 'once', ...(startTime !== undefined ? { startTime } : {}) }
      : {
          frequency: f.frequency,
          interval: f.interval === '' ? 1 : Number(f.interval),
          backfill: f.backfill === '' ? true : f.backfill.toLowerCase() === 'true',
          ...(startTime !== undefined ? { startTime } : {})
        },
    enabled: f.enabled
  }
}
