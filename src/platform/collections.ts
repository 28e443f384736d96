/**
 * The Flow Service collections the actions manage, and what identifies an object of each: the
 * spec its objects carry (a PostgreSQL base or source connection carries the PostgreSQL
 * connection spec; a Data Lake target connection the Data Lake's; a dataflow its flow spec).
 * An object with the name but another spec is someone else's, never this action's.
 */

/** The PostgreSQL source's connection spec (base and source connections). */
export const POSTGRES_SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
/** The Data Lake target's connection spec. */
export const DATA_LAKE_SPEC_ID = 'c604ff05-7f1a-43c0-8e18-33bf874cb11c'
/** CRMToAEP: the flow spec of table sources batch-ingested into the Data Lake. */
export const CRM_TO_AEP_FLOW_SPEC_ID = '14518937-270c-4525-bdec-c2ba7cce3860'
export const SPEC_VERSION = '1.0'

/**
 * A Flow Service collection as the shared client needs to know it: its path, the words that name
 * its objects in messages, the spec field and id that identify this action's objects, and the
 * states Flow Service documents for them.
 */
export interface Collection {
  /** The path segment under the Flow Service base path. */
  readonly path: 'connections' | 'sourceConnections' | 'targetConnections' | 'flows'
  /** One object, in messages: "connection". */
  readonly noun: string
  /** Several objects, in messages: "connections". */
  readonly plural: string
  /** One object of this action's kind, in messages: "PostgreSQL connection". */
  readonly kind: string
  /** The field holding the spec reference, and the spec id this action's objects carry. */
  readonly spec: { readonly field: 'connectionSpec' | 'flowSpec'; readonly id: string }
  /** States Flow Service is still working in: waited for before an object counts. */
  readonly inProgress: readonly string[]
  /** States in which Flow Service accepts an update or delete. */
  readonly updatable: readonly string[]
  /**
   * How to tell whether an object is in use (a base connection by source connections, a source
   * or target connection by dataflows): a collection and a filter that lists what uses it.
   */
  readonly usedBy?: {
    readonly path: 'sourceConnections' | 'flows'
    /** The field of those objects that holds this object's id. */
    readonly field: string
  }
  /**
   * Whether a run whose copy another run's outlasted marks its copy as giving way (exactly-one.ts):
   * a PATCH of the description, in the form Adobe's tutorials show for connections and dataflows.
   * Adobe shows none for source and target connections; the heal keeps the one a dataflow uses.
   */
  readonly mayGiveWay?: boolean
  /** What to add to Flow Service's message for a refusal code, per operation. */
  readonly notes?: {
    readonly update?: Readonly<Record<string, (id: string) => string>>
    readonly delete?: Readonly<Record<string, (id: string) => string>>
  }
}

/** PostgreSQL base connections: the connection action's object. */
export const CONNECTIONS: Collection = {
  path: 'connections',
  noun: 'connection',
  plural: 'connections',
  kind: 'PostgreSQL connection',
  spec: { field: 'connectionSpec', id: POSTGRES_SPEC_ID },
  inProgress: ['initializing'],
  updatable: ['enabled', 'disabled', 'initializing'],
  // Source connections name their base connection; a dataflow uses those.
  usedBy: { path: 'sourceConnections', field: 'baseConnectionId' },
  mayGiveWay: true,
  notes: {
    update: {
      '1445-400': (id) =>
        ` — PATCH is not enabled for connections in this org, so the connection (id ${id}) cannot be updated in place. ` +
        'Set if-exists: reuse to keep it with its stored credentials, or delete it (state: absent) and run again to create it with these credentials; it then gets a new id, so update whatever uses the old one'
    },
    delete: {
      '1418-400': () =>
        ' — the connection is still used by one or more dataflows: delete them first (the dataflow action with state: absent deletes a dataflow and its source and target connections), then run again'
    }
  }
}

/** States Flow Service works in on source and target connections (Adobe's API description). */
const WORKING = ['inProgress', 'updating', 'enabling', 'disabling', 'initializing']
const SETTLED = ['enabled', 'disabled', 'initializing']

/** PostgreSQL source connections: one table of a base connection. */
export const SOURCE_CONNECTIONS: Collection = {
  path: 'sourceConnections',
  noun: 'source connection',
  plural: 'source connections',
  kind: 'PostgreSQL source connection',
  spec: { field: 'connectionSpec', id: POSTGRES_SPEC_ID },
  inProgress: WORKING,
  updatable: SETTLED,
  usedBy: { path: 'flows', field: 'sourceConnectionIds[]' }
}

/** Data Lake target connections: one dataset. */
export const TARGET_CONNECTIONS: Collection = {
  path: 'targetConnections',
  noun: 'target connection',
  plural: 'target connections',
  kind: 'Data Lake target connection',
  spec: { field: 'connectionSpec', id: DATA_LAKE_SPEC_ID },
  inProgress: WORKING,
  updatable: SETTLED,
  usedBy: { path: 'flows', field: 'targetConnectionIds[]' }
}

/** Dataflows of table sources into the Data Lake (CRMToAEP). */
export const FLOWS: Collection = {
  path: 'flows',
  noun: 'dataflow',
  plural: 'dataflows',
  kind: 'dataflow',
  spec: { field: 'flowSpec', id: CRM_TO_AEP_FLOW_SPEC_ID },
  inProgress: WORKING,
  updatable: SETTLED,
  mayGiveWay: true
}
