import { CONNECTIONS } from '../platform/collections.js'
import { FlowObjects } from '../platform/flow-service.js'
import type { Output } from '../platform/output.js'
import { openSession, type Session, type SessionDeps } from '../platform/session.js'
import { connectionTestCalls, type ConnectionTestCalls } from './connection-test.js'
import { inputNotes } from './inputs.js'
import { LazyReferee } from './referee.js'
import { specText } from './spec-text.js'
import type { Settings } from './settings.js'

/** The connection action's side of a session: its collection, the spec referee, the test calls. */
export interface ConnectionSession extends Omit<Session, 'signIn'> {
  connections: FlowObjects
  /** Flow Service's live connection spec, read only when it can help (see connection-spec.ts). */
  referee: LazyReferee
  tests: ConnectionTestCalls
  /** Fetches the token, then says how hosts are reached and which inputs were ignored. */
  signIn(): Promise<void>
}

/** Opens the platform session and adds what the connection action works with. */
export function openConnectionSession(
  settings: Settings,
  deps: SessionDeps,
  out: Output
): ConnectionSession {
  const session = openSession(settings, deps, out)
  return {
    ...session,
    connections: new FlowObjects(session.api, CONNECTIONS),
    referee: new LazyReferee({
      api: session.api,
      log: (line) => out.info(line),
      warn: (message) => out.warning(message),
      describe: (e) => out.describe(e),
      // Line breaks and hidden characters in a served value are shown as \uXXXX, not collapsed
      // into spaces: an allowed value must be printed as what it is.
      shorten: (text, max) => out.shorten(specText(text), max),
      timeLeft: () => session.deadline.remaining()
    }),
    tests: connectionTestCalls(session.api),
    signIn: () => session.signIn(inputNotes(settings))
  }
}
