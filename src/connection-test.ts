import { ActionError } from './errors.js'
import type { FlowService } from './flow-service.js'

export interface ConnectionTestResult {
  /** Tables the explore listed. */
  tables: number
  /** Their paths (`schema.table`), in Flow Service's order. */
  paths: string[]
}

/**
 * The connection test, the documented way first: GET /connections/{id}/test (Adobe's API
 * description). `false` fails; a refusal as unsupported leaves the verdict to explore. Explore
 * runs after a passing /test too, for the tables, and its failure still fails.
 */
export async function testConnection(
  flow: Pick<FlowService, 'test' | 'explore'>,
  id: string,
  log: (line: string) => void
): Promise<ConnectionTestResult> {
  const t = await flow.test(id)
  if ('unsupported' in t) {
    log(
      `Flow Service's connection test did not answer for this connection (${t.unsupported}); listing the database root instead`
    )
  } else if (!t.result) {
    throw new ActionError(
      `testing the connection failed: Flow Service could not connect to the database with the stored credentials (GET /connections/${id}/test answered result false); check server, port, database, username, password and the SSL settings, and that the database accepts connections from Adobe's IP addresses for your region`
    )
  } else {
    log('Flow Service connected to the database with the stored credentials')
  }
  return flow.explore(id)
}
