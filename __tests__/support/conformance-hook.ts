/**
 * Suite-wide check (jest setupFilesAfterEnv): after every test, each request the action sent to a
 * running simulator must conform to Adobe's published API description of Flow Service (see
 * flow-service-api.ts). Requests a test sends itself are not the action's and are left out.
 */
import { afterEach } from '@jest/globals'
import { liveSimulators } from '../../simulator/server.js'
import { conformanceProblems, sentByAction } from './flow-service-api.js'

afterEach(() => {
  const problems = liveSimulators().flatMap((sim) =>
    sim.requests.filter(sentByAction).flatMap(conformanceProblems)
  )
  if (problems.length > 0)
    throw new Error(
      `${problems.length} request(s) depart from Flow Service's published API description:\n  ${problems.slice(0, 10).join('\n  ')}`
    )
})
