/** A small typed client for tests that talk to the simulator's Flow Service directly. */
import type { Simulator } from '../../simulator/server.js'

export const PG_SPEC = { id: '74a1c565-4e59-48d7-9d67-7c03b8a13137', version: '1.0' }

export interface Reply {
  status: number
  headers: Headers
  text: string
  /** the parsed body, undefined when it is not JSON */
  json: unknown
}

/** An item as GET /connections lists it (the fields these tests read). */
export interface ListedItem {
  id: string
  name: string
  state: string
  etag: string
  createdAt?: number | string
  updatedAt?: number
}

export interface CallOptions {
  body?: unknown
  headers?: Record<string, string>
  sandbox?: string
}

/**
 * Requests against one simulator with one token; `send` may wrap each request (e.g. to track it
 * on a virtual clock), `headers` go with every request.
 */
export function simClient(
  sim: Simulator,
  token: string,
  send: (work: () => Promise<Reply>) => Promise<Reply> = (work) => work(),
  headers: Record<string, string> = {}
) {
  const call = (method: string, path: string, o: CallOptions = {}): Promise<Reply> =>
    send(async () => {
      const r = await fetch(path.startsWith('http') ? path : sim.flowBase + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          'x-api-key': sim.clientId,
          'x-gw-ims-org-id': sim.orgId,
          'x-sandbox-name': o.sandbox ?? 'dev',
          'content-type': 'application/json',
          ...headers,
          ...o.headers
        },
        body: o.body === undefined ? undefined : JSON.stringify(o.body)
      })
      const text = await r.text()
      let json: unknown
      try {
        json = text ? JSON.parse(text) : undefined
      } catch {
        json = undefined
      }
      return { status: r.status, headers: r.headers, text, json }
    })
  return {
    call,
    create: (name: string, o: CallOptions = {}) =>
      call('POST', '/connections', {
        ...o,
        body: {
          name,
          auth: {
            specName: 'Connection String Based Authentication',
            params: {
              connectionString: 'Server=db.example.com;Database=d;Port=5432;UID=u;Password=p'
            }
          },
          connectionSpec: PG_SPEC
        }
      }),
    /** every item GET /connections lists on its first page */
    list: async (query = '', o: CallOptions = {}): Promise<ListedItem[]> =>
      itemsOf(await call('GET', `/connections${query ? `?${query}` : ''}`, o)),
    get: async (id: string, o: CallOptions = {}): Promise<ListedItem | undefined> => {
      const r = await call('GET', `/connections/${encodeURIComponent(id)}`, o)
      return r.status === 200 ? itemsOf(r)[0] : undefined
    }
  }
}

export function itemsOf(r: Reply): ListedItem[] {
  const body = r.json as { items?: ListedItem[] } | undefined
  if (r.status !== 200 || !Array.isArray(body?.items))
    throw new Error(`expected a listing, got ${r.status} ${r.text.slice(0, 200)}`)
  return body.items
}

export const idOf = (r: Reply): string => {
  const id = (r.json as { id?: unknown } | undefined)?.id
  if (typeof id !== 'string') throw new Error(`no id in ${r.status} ${r.text.slice(0, 200)}`)
  return id
}
