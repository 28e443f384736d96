/**
 * Suite-wide check (jest setupFilesAfterEnv): after every test, each request the action sent to a
 * running simulator, and the simulator's reply, must conform to Adobe's published OpenAPI files
 * (see adobe-api.ts). Requests a test sends itself are not the action's and are left out.
 */
import { afterEach } from '@jest/globals'
import { liveSimulators } from '../../simulator/server.js'
import { conformanceProblems, sentByAction } from './adobe-api.js'

afterEach(async () => {
  const sent = liveSimulators().flatMap((sim) => sim.requests.filter(sentByAction))
  const problems = (await Promise.all(sent.map(conformanceProblems))).flat()
  if (problems.length > 0)
    throw new Error(
      `${problems.length} problem(s) against Adobe's published API description:\n  ${problems.slice(0, 10).join('\n  ')}`
    )
})
