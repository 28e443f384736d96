/**
 * The leak matrix: a careless server echoes secrets back in its error messages, in every form a
 * secret can take (multi-line with LF and CRLF, tabs, double spaces, long values past any cut,
 * HTML-sensitive and non-ASCII characters), written raw, \u-escaped (the whole body, and JSON
 * embedded in the message) or squashed and cut by the server itself, through every failure path
 * (create, update, connection test, IMS token request, 403 from the gateway, create retried to
 * exhaustion, delete). Each case runs the action's run() in-process (support/in-process.ts),
 * every other one with RUNNER_DEBUG=1, and is judged as the runner would show it: log lines and
 * summary masked with the registered strings only, outputs as written; no form of any secret and
 * no 12-character run of one may survive, and no workflow command may appear that the action did
 * not write.
 */
import { describe, it, expect } from '@jest/globals'
import { unicodeJson, type Fault, type Simulator } from '../simulator/server.js'
import { flowTokens, forgedCommands, runnerLeaks } from './support/leaks.js'
import {
  dataflowInputs,
  expectNoMalformedIdSent,
  expectOneError,
  LIST_PATH,
  parts,
  RUN_URL,
  runDataflowHostile,
  runHostile,
  SANDBOX,
  withSim
} from './support/hostile.js'

const BY_ID = /^\/data\/foundation\/flowservice\/connections\/[^/]+$/
const CLIENT_SECRET = 'cs-MATRIX-8h3f+/=Wq~secret'

/** The shapes a secret takes. Each is long enough that its lines are registered on their own. */
const SHAPES = {
  lf: 'line1-Alpha\nline2-Bravo-LF',
  crlf: 'line1-Alpha\r\nline2-Bravo-CR',
  tabs: 'tab\tsep\tPassw0rd-Zulu',
  spaces: 'double  space  Passw0rd-Yank',
  long: `Zq7${'K'.repeat(20)}${'-x9Lm'.repeat(70)}`,
  html: `p&ss<w>rd'"-Q7x+amp`,
  unicode: 'pässwörd-😀-Ümlaut'
} as const
type Shape = keyof typeof SHAPES

/** How the server writes its echo. */
type Escape = 'raw' | 'unicode' | 'squashed'
const ESCAPES: Escape[] = ['raw', 'unicode', 'squashed']

/** The echo fault for a path: `{x}` in the template becomes `{x:json}` when unicode-escaped. */
function echo(
  status: number,
  template: string,
  escape: Escape,
  extra: Partial<Extract<Fault['action'], { type: 'echo' }>> = {}
): Fault['action'] {
  return {
    type: 'echo',
    status,
    message:
      escape === 'unicode'
        ? template.replace(/\{(\w+)\}/g, (_, n: string) => `{${n}:json}`)
        : template,
    ...(escape === 'unicode' ? { escape: 'unicode' as const } : {}),
    ...(escape === 'squashed' ? { collapse: true, cut: 300 } : {}),
    ...extra
  }
}

interface Case {
  title: string
  /** what the secret under test is: a database password, the client secret, or none (tokens) */
  shape?: Shape
  /** a secret of the case's own (not one of SHAPES) */
  secret?: string
  /** what the server echoes of it: pieces (none may show) or an encoding of it (no run may show) */
  echoed?: { pieces?: string[]; encoded?: string }
  /** the run succeeds (what the server echoed lands in an output, not an error) */
  succeeds?: boolean
  /** prepares the simulator, returns the inputs beyond the defaults */
  arrange: (sim: Simulator, secret: string) => Record<string, string>
}

/** Words before an echo, so that a long secret reaches past character 300 of the message. */
const PAD = 'The request was rejected by validation rule 17 of the connection policy. '.repeat(2)

const PATHS: Record<string, { shapes: Shape[]; arrange: (e: Escape) => Case['arrange'] }> = {
  'create 400 echoing the connection string': {
    shapes: Object.keys(SHAPES) as Shape[],
    arrange: (e) => (sim, secret) => {
      sim.inject({
        match: { method: 'POST', path: LIST_PATH },
        action: echo(400, 'Invalid connection string: {connectionString}', e)
      })
      return parts(secret)
    }
  },
  'update 400 echoing the raw PATCH body': {
    shapes: ['lf', 'crlf', 'long', 'unicode'],
    arrange: (e) => (sim, secret) => {
      sim.seedConnection(SANDBOX, { name: 'leak-matrix' })
      sim.inject({
        match: { method: 'PATCH', path: BY_ID },
        action: echo(400, 'Patch rejected: {body}', e)
      })
      return parts(secret)
    }
  },
  'connection test echoing the stored connection string': {
    shapes: ['lf', 'crlf', 'long', 'html'],
    arrange: (e) => (sim, secret) => {
      sim.inject({
        match: { method: 'GET', path: /\/explore$/ },
        action: echo(400, 'Could not connect with {stored}', e)
      })
      return { ...parts(secret), 'test-connection': 'true' }
    }
  },
  'IMS rejecting the client secret it echoes': {
    shapes: Object.keys(SHAPES) as Shape[],
    arrange: (e) => (sim, secret) => {
      sim.inject({
        match: { service: 'ims' },
        action: echo(401, `${PAD}invalid client_secret {clientSecret}`, e, { shape: 'ims' })
      })
      return { ...parts('pw-Matrix-Ims-1'), 'client-secret': secret }
    }
  }
}

const TOKEN_PATHS: Record<string, (e: Escape) => Case['arrange']> = {
  'gateway 403 echoing the IMS token': (e) => (sim) => {
    sim.inject({
      match: { method: 'GET', path: LIST_PATH },
      action: echo(403, `${PAD}Denied for {authorization}`, e, {
        shape: 'gateway',
        code: '403003'
      })
    })
    return parts('pw-Matrix-Gw-1')
  },
  'gateway 403 echoing a given access token': (e) => (sim) => {
    sim.inject({
      match: { method: 'GET', path: LIST_PATH },
      action: echo(403, `${PAD}Denied for {token}`, e, { shape: 'gateway', code: '403003' })
    })
    return { ...parts('pw-Matrix-Gw-2'), 'client-secret': '', 'access-token': sim.issueToken() }
  },
  'create 503 echoing the auth params until max-attempts': (e) => (sim) => {
    sim.inject({
      match: { method: 'POST', path: LIST_PATH },
      times: Infinity,
      action: echo(503, 'Upstream failed for {authParams}', e)
    })
    return { ...parts(SHAPES.lf), 'max-attempts': '2' }
  },
  'delete 400 echoing the bearer token': (e) => (sim) => {
    sim.seedConnection(SANDBOX, { name: 'leak-matrix' })
    sim.inject({
      match: { method: 'DELETE', path: BY_ID },
      action: echo(400, `${PAD}cannot delete for {authorization}`, e)
    })
    return { state: 'absent' }
  }
}

/** A Flow Service error body as Adobe writes it: a title and a detailed message. */
const flowErrorBody = (title: string, detail: string, status = 400): string =>
  JSON.stringify({
    type: `https://ns.adobe.com/aep/errors/FLOW-1400-${status}`,
    title,
    status,
    report: { 'detailed-message': detail, 'request-id': 'req-leak-matrix' }
  })

/** A server answering a path with this body: what it echoes is fixed by the case. */
const answer = (
  sim: Simulator,
  path: string | RegExp,
  method: string,
  body: string,
  status = 400
) =>
  sim.inject({
    match: { method, path },
    action: { type: 'status', status, body, contentType: 'application/json' }
  })

/** The password inside a postgres-url, percent-encoded there, echoed decoded by the server. */
const URL_PASSWORD = 'Pa@ss-Url-Secret-42'

/** A password a server echoes in pieces, each shorter than a 12-character window. */
const FRAGMENTED = 'Fr4gment-Pa55w0rd-Secret-9'
const FRAG = [FRAGMENTED.slice(0, 10), FRAGMENTED.slice(10, 20)] as const
/** A client secret whose base64 holds both + and /, so its base64url differs. */
const B64_SECRET = 'ab?>?~secret-value-???-x'
const SPEC_PATH = /^\/data\/foundation\/flowservice\/connectionSpecs\//

/** The bytes of a UTF-8 text read as Windows-1252 (mojibake). */
const CP1252 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ'
const mojibake = (t: string) =>
  [...Buffer.from(t, 'utf8')]
    .map((b) => (b >= 0x80 && b < 0xa0 ? CP1252[b - 0x80] : String.fromCharCode(b)))
    .join('')
const hex = (n: number, w: number) => n.toString(16).padStart(w, '0')
/** As Python's ascii() writes a str: \xHH, \uHHHH, \UHHHHHHHH. */
const pythonAscii = (t: string) =>
  [...t]
    .map((c) => {
      const n = c.codePointAt(0) ?? 0
      return n < 0x80
        ? c
        : n <= 0xff
          ? `\\x${hex(n, 2)}`
          : n <= 0xffff
            ? `\\u${hex(n, 4)}`
            : `\\U${hex(n, 8)}`
    })
    .join('')
/** Quoted-printable: = and every byte outside printable ASCII as =HH. */
const quotedPrintable = (t: string) =>
  [...Buffer.from(t, 'utf8')]
    .map((b) =>
      b === 0x3d || b < 0x20 || b > 0x7e ? `=${hex(b, 2).toUpperCase()}` : String.fromCharCode(b)
    )
    .join('')
/** HTML with named references for the letters that have one here, numeric ones for the rest. */
const NAMED: Record<string, string> = { ä: '&auml;', ö: '&ouml;', Ü: '&Uuml;', '&': '&amp;' }
const htmlNamed = (t: string) =>
  [...t]
    .map(
      (c) =>
        NAMED[c] ?? ((c.codePointAt(0) ?? 0) > 0x7e ? `&#x${hex(c.codePointAt(0) ?? 0, 4)};` : c)
    )
    .join('')
const escapeHtml = (t: string) =>
  t.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c
  )
/** JSON string contents, \u-escaped (as the simulator's unicode escape writes them), `levels` deep. */
const jsonDeep = (t: string, levels: number) => {
  let out = unicodeJson(t).slice(1, -1)
  for (let i = 1; i < levels; i++) out = JSON.stringify(out).slice(1, -1)
  return out
}

/** A password echoed by the create's 400 in an encoding of the server's own. */
const encodedEcho = (title: string, shape: Shape, encode: (t: string) => string): Case => ({
  title: `create 400 echoing the password ${title}`,
  secret: SHAPES[shape],
  echoed: { encoded: encode(SHAPES[shape]) },
  arrange: (sim, secret) => {
    answer(
      sim,
      LIST_PATH,
      'POST',
      flowErrorBody('Bad request', `Password ${encode(secret)} is not accepted`)
    )
    return parts(secret)
  }
})

/** Secrets of their own, echoed by a server in exactly the text each case gives. */
const OWN: Case[] = [
  {
    title: 'create 400 echoing the password decoded from postgres-url',
    secret: URL_PASSWORD,
    arrange: (sim) => {
      answer(
        sim,
        LIST_PATH,
        'POST',
        flowErrorBody('Invalid password', `${URL_PASSWORD} is not accepted`)
      )
      return {
        'postgres-url': `postgresql://user:${encodeURIComponent(URL_PASSWORD)}@db.example.com:5432/app`
      }
    }
  },
  // Pieces, each shorter than a window.
  {
    title: 'create 400 echoing the password split between title and detailed message',
    secret: FRAGMENTED,
    echoed: { pieces: [...FRAG] },
    arrange: (sim, secret) => {
      answer(
        sim,
        LIST_PATH,
        'POST',
        flowErrorBody(`Invalid password ${FRAG[0]}`, `${FRAG[1]} does not meet policy`)
      )
      return parts(secret)
    }
  },
  {
    title: 'create 400 echoing the password around a middle ellipsis',
    secret: FRAGMENTED,
    echoed: { pieces: [FRAG[0], FRAGMENTED.slice(-10)] },
    arrange: (sim, secret) => {
      answer(
        sim,
        LIST_PATH,
        'POST',
        flowErrorBody('Bad request', `Invalid password ${FRAG[0]}…${secret.slice(-10)} (shortened)`)
      )
      return parts(secret)
    }
  },
  {
    title: 'create 400 echoing the password across two lines',
    secret: FRAGMENTED,
    echoed: { pieces: [...FRAG] },
    arrange: (sim, secret) => {
      answer(
        sim,
        LIST_PATH,
        'POST',
        flowErrorBody('Bad request', `Invalid password ${FRAG[0]}\n${FRAG[1]} does not meet policy`)
      )
      return parts(secret)
    }
  },
  {
    title: 'the password in a warning (spec read 404) and an error (create 400)',
    secret: FRAGMENTED,
    echoed: { pieces: [...FRAG] },
    arrange: (sim, secret) => {
      answer(
        sim,
        LIST_PATH,
        'POST',
        flowErrorBody('Bad request', `${FRAG[1]} does not meet policy`)
      )
      answer(
        sim,
        SPEC_PATH,
        'GET',
        flowErrorBody('Not found', `No spec for password ${FRAG[0]}`, 404),
        404
      )
      return parts(secret)
    }
  },
  {
    title: 'create 400 echoing the password truncated by the server to 11 characters',
    secret: FRAGMENTED,
    echoed: { pieces: [FRAGMENTED.slice(0, 11)] },
    arrange: (sim, secret) => {
      answer(
        sim,
        LIST_PATH,
        'POST',
        flowErrorBody('Bad request', `Invalid password '${secret.slice(0, 11)}...'`)
      )
      return parts(secret)
    }
  },
  {
    title: 'IMS 401 echoing the client secret truncated to 11 characters',
    secret: FRAGMENTED,
    echoed: { pieces: [FRAGMENTED.slice(0, 11)] },
    arrange: (sim, secret) => {
      sim.inject({
        match: { service: 'ims' },
        action: {
          type: 'status',
          status: 401,
          contentType: 'application/json',
          body: JSON.stringify({
            error: 'invalid_client',
            error_description: `invalid client_secret ${secret.slice(0, 11)}`
          })
        }
      })
      return { ...parts('pw-Matrix-Ims-2'), 'client-secret': secret }
    }
  },
  {
    title: 'create 400 echoing a 6-character line of a multi-line password',
    secret: 'line1-Alpha\nBrav06\nline3-Charlie',
    arrange: (sim, secret) => {
      answer(
        sim,
        LIST_PATH,
        'POST',
        flowErrorBody('Bad request', 'Line Brav06 of the password is too short')
      )
      return parts(secret)
    }
  },
  {
    title: 'create 400 echoing the password upper-cased, after an İ',
    secret: FRAGMENTED,
    echoed: { encoded: FRAGMENTED.toUpperCase() },
    arrange: (sim, secret) => {
      answer(
        sim,
        LIST_PATH,
        'POST',
        flowErrorBody('Bad request', `İstanbul region: password ${secret.toUpperCase()} rejected`)
      )
      return parts(secret)
    }
  },
  {
    title: 'explore listing a table named after the password, upper-cased, after an İ',
    secret: FRAGMENTED,
    echoed: { encoded: FRAGMENTED.toUpperCase() },
    arrange: (sim, secret) => {
      sim.seedConnection(SANDBOX, {
        name: 'leak-matrix',
        tables: ['public.orders', `İ.${secret.toUpperCase()}`]
      })
      return { ...parts(secret), 'if-exists': 'reuse', 'test-connection': 'true' }
    },
    succeeds: true
  },
  // Encodings a server applied to what it echoes.
  encodedEcho('as Windows-1252 mojibake of its UTF-8', 'unicode', mojibake),
  encodedEcho('with HTML named references', 'unicode', htmlNamed),
  encodedEcho('quoted-printable', 'unicode', quotedPrintable),
  encodedEcho('as Python writes it (\\x, \\u, \\U escapes)', 'unicode', pythonAscii),
  encodedEcho('with a left-to-right mark between its characters', 'unicode', (t) =>
    [...t].join('\u200e')
  ),
  encodedEcho('JSON-escaped 4 levels deep', 'html', (t) => jsonDeep(t, 4)),
  encodedEcho('HTML-escaped, then percent-encoded', 'html', (t) =>
    encodeURIComponent(escapeHtml(t))
  ),
  {
    title: 'IMS 401 echoing the client secret in base64url',
    secret: B64_SECRET,
    echoed: { encoded: Buffer.from(B64_SECRET).toString('base64url') },
    arrange: (sim, secret) => {
      sim.inject({
        match: { service: 'ims' },
        action: {
          type: 'status',
          status: 401,
          contentType: 'application/json',
          body: JSON.stringify({
            error: 'invalid_client',
            error_description: `credentials rejected: ${Buffer.from(secret).toString('base64url')}`
          })
        }
      })
      return { ...parts('pw-Matrix-Ims-3'), 'client-secret': secret }
    }
  }
]

const CASES: Case[] = [
  ...OWN,
  ...Object.entries(PATHS).flatMap(([path, p]) =>
    p.shapes.flatMap((shape) =>
      ESCAPES.map((e) => ({ title: `${path}, ${shape}, ${e}`, shape, arrange: p.arrange(e) }))
    )
  ),
  ...Object.entries(TOKEN_PATHS).flatMap(([path, arrange]) =>
    ESCAPES.map((e) => ({ title: `${path}, ${e}`, arrange: arrange(e) }))
  )
]

/** The secrets of a run: the shape under test, the client secret and every token in play. */
function secretsOf(sim: Simulator, secret: string | undefined, echoed: Case['echoed'] = {}) {
  const stored = sim.connections().flatMap((c) => {
    const v = c.auth.params.connectionString
    return typeof v === 'string' ? [v] : []
  })
  return {
    atomic: [secret, echoed.encoded, CLIENT_SECRET, ...flowTokens(sim)],
    pieces: echoed.pieces ?? [],
    composite: [
      ...stored,
      ...sim.requests.flatMap((q) => (q.service === 'flow' && q.body ? [q.body] : []))
    ]
  }
}

// RUNNER_DEBUG only adds the request groups' lines (debug lines are written either way), so each
// case runs once, every other one in debug mode: both modes meet every path and every escape.
const RUNS = CASES.map((c, i) => ({
  ...c,
  debug: i % 2 === 1,
  title: `${c.title}${i % 2 === 1 ? ', RUNNER_DEBUG=1' : ''}`
}))

describe('leak matrix', () => {
  it.concurrent.each(RUNS)('$title', ({ shape, secret: own, echoed, succeeds, arrange, debug }) =>
    withSim({ clientSecret: CLIENT_SECRET }, async (sim) => {
      const secret = own ?? (shape ? SHAPES[shape] : undefined)
      // The IMS path takes the secret as the client secret: the simulator must expect it.
      const extra = arrange(sim, secret ?? '')
      const r = await runHostile(sim, 'leak-matrix', extra, { debug })
      expect(runnerLeaks(r, secretsOf(sim, secret, echoed))).toEqual([])
      expect(forgedCommands(r)).toEqual([])
      if (succeeds) {
        expect(r.code).toBe(0)
        return
      }
      expectOneError(r)
      expect(r.summary).toMatch(/failed/)
      expect(r.summary).toContain(RUN_URL)
      expectNoMalformedIdSent(sim)
    })
  )
})

// The dataflow action: a server echoing the access token or the client secret in Flow Service,
// Data Prep, Catalog and IMS errors.
const FLOW = '/data/foundation/flowservice'
const DATAFLOW_PATHS: Record<string, (e: Escape) => (sim: Simulator) => void> = {
  'Flow Service: source connection create 400 echoing the bearer token': (e) => (sim) =>
    sim.inject({
      match: { method: 'POST', path: `${FLOW}/sourceConnections` },
      action: echo(400, `${PAD}rejected for {authorization}`, e)
    }),
  'Flow Service: dataflow create 400 echoing the token': (e) => (sim) =>
    sim.inject({
      match: { method: 'POST', path: `${FLOW}/flows` },
      action: echo(400, `${PAD}flow refused for {token}`, e)
    }),
  'Data Prep: mapping set create 400 echoing the bearer token': (e) => (sim) =>
    sim.inject({
      match: { method: 'POST', service: 'dataprep' },
      action: echo(400, `${PAD}mapping refused for {authorization}`, e)
    }),
  'Catalog: dataset read 403 echoing the bearer token': (e) => (sim) =>
    sim.inject({
      match: { service: 'catalog' },
      action: echo(403, `${PAD}Denied for {authorization}`, e, { shape: 'gateway', code: '403003' })
    }),
  'IMS: token request 401 echoing the client secret': (e) => (sim) =>
    sim.inject({
      match: { service: 'ims' },
      action: echo(401, `${PAD}invalid client_secret {clientSecret}`, e, { shape: 'ims' })
    })
}

const DATAFLOW_RUNS = Object.entries(DATAFLOW_PATHS).flatMap(([path, arrange]) =>
  ESCAPES.map((e, i) => ({
    title: `${path}, ${e}${i % 2 ? ', RUNNER_DEBUG=1' : ''}`,
    arrange: arrange(e),
    debug: i % 2 === 1
  }))
)

/** Every bearer token a run sent, to any service. */
const bearerTokens = (sim: Simulator) => [
  ...new Set(
    sim.requests.flatMap((q) => {
      const t = /^Bearer\s+(\S+)/i.exec(q.headers.authorization ?? '')?.[1]
      return t ? [t] : []
    })
  )
]

describe('leak matrix, dataflow action', () => {
  it.concurrent.each(DATAFLOW_RUNS)('$title', ({ arrange, debug }) =>
    withSim({ clientSecret: CLIENT_SECRET }, async (sim) => {
      const inputs = dataflowInputs(sim)
      arrange(sim)
      const r = await runDataflowHostile(sim, 'leak-matrix', inputs, { debug })
      expect(runnerLeaks(r, { atomic: [CLIENT_SECRET, ...bearerTokens(sim)] })).toEqual([])
      expect(forgedCommands(r)).toEqual([])
      // The server's echo is there, redacted.
      expect(expectOneError(r)).toContain('***')
      expect(r.summary).toMatch(/failed/)
      expect(r.summary).toContain(RUN_URL)
    })
  )
})

describe('the leak matrix itself', () => {
  it('covers every shape on the create and IMS paths, every escape on every path', () => {
    expect(CASES).toHaveLength(78 + OWN.length)
    expect(OWN).toHaveLength(18)
    expect(OWN.filter((c) => c.echoed?.pieces)).toHaveLength(6)
    expect(OWN.filter((c) => c.echoed?.encoded)).toHaveLength(10)
    for (const shape of Object.keys(SHAPES))
      expect(CASES.filter((c) => c.shape === shape).length).toBeGreaterThanOrEqual(6)
    for (const e of ESCAPES)
      expect(CASES.filter((c) => c.title.endsWith(`, ${e}`))).toHaveLength(26)
    expect(DATAFLOW_RUNS).toHaveLength(15)
  })
})
