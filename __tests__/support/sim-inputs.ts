import type { Simulator } from '../../simulator/server.js'

/** The Adobe-side inputs that point the action at the simulator, with one way to authenticate. */
export function adobeInputs(
  sim: Simulator,
  sandbox: string,
  auth: { 'access-token': string } | { 'client-secret': string }
): Record<string, string> {
  return {
    'client-id': sim.clientId,
    ...auth,
    'ims-org-id': sim.orgId,
    'sandbox-name': sandbox,
    'platform-url': sim.url,
    'ims-url': sim.url
  }
}
