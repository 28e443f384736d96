import { ApiError } from '../platform/errors.js'

/*
 * Which refusals of a create or update the live connection spec may explain (connection-spec.ts):
 * apart from the spec referee, so that the step knows without loading it (referee.ts).
 */

/** Flow Service 400 codes whose cause is known and is not the params: the spec cannot help there. */
const EXPLAINED_400 = new Set([
  '1401',
  '1403',
  '1405',
  '1413',
  '1414',
  '1416',
  '1417',
  '1418',
  '1434',
  '1445',
  '1453',
  '1457',
  '2105',
  '2110',
  '2112',
  '2113',
  '2114',
  '2115',
  '400003'
])

/** A 400 the action cannot otherwise explain: perhaps the params, so worth asking the spec. */
export function isUnexplained400(e: unknown): e is ApiError {
  if (!(e instanceof ApiError) || e.status !== 400) return false
  const code = e.code?.split('-')[0]
  return code === undefined || !EXPLAINED_400.has(code)
}
