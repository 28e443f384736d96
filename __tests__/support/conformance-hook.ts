/**
 * Suite-wide check (jest setupFilesAfterEnv): after every test, and after each file for the
 * concurrent tests whose hooks jest runs out of step, each request the action sent to a simulator
 * (running, or closed since the last check) and the simulator's reply must conform to Adobe's
 * published OpenAPI files (see adobe-api.ts). Requests a test sends itself are not the action's
 * and are left out.
 */
import { afterAll, afterEach } from '@jest/globals'
import { simulatorsToInspect, type RecordedRequest } from '../../simulator/server.js'
import { conformanceProblems, sentByAction } from './adobe-api.js'

/** Requests already checked (a simulator that lives through a file keeps its requests). */
const checked = new WeakSet<RecordedRequest>()

async function inspect(): Promise<void> {
  const sent = simulatorsToInspect()
    .flatMap((sim) => sim.requests)
    .filter((r) => !checked.has(r) && sentByAction(r))
  for (const r of sent) checked.add(r)
  const problems = (await Promise.all(sent.map(conformanceProblems))).flat()
  if (problems.length > 0)
    throw new Error(
      `${problems.length} problem(s) against Adobe's published API description:\n  ${problems.slice(0, 10).join('\n  ')}`
    )
}

afterEach(inspect)
afterAll(inspect)
