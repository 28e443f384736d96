// The bench's pair mode (`npm run bench -- --pair A B`): two builds run side by side, A and B
// alternating (A first in even pairs, B first in odd ones), each run a whole process against the
// local simulator. For each scenario it prints the median wall time and CPU time (user + system)
// of the process, both from bash's `time` (so they include V8's teardown at exit), their spread (min-max and interquartile range) and B/A: the ratio of the medians, and the
// median of the per-pair ratios. Writes bench/results/pair-latest.json (git-ignored).
//
// A side is a bundle, `[connection:|dataflow:]FILE` (connection when not said):
//   connection: `create` (no connection yet, access-token given; operation created) and
//               `re-run` (the connection seeded with another password; operation updated);
//   dataflow:   `create` (a seeded base connection with tables, the simulator's default dataset
//               and a mapping file in GITHUB_WORKSPACE; the four objects created) and `re-run`
//               (after an untimed first run; operation unchanged, nothing written).
// Sides of different kinds compare one action's start-up with the other's, scenario by scenario.
import { spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_DATASET, startSimulator } from '../simulator/server.js'
import { parseOutputFile, runnerEnv } from '../simulator/run-action.js'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const resultsDir = path.join(repoRoot, 'bench', 'results')
const SANDBOX = 'dev'

const KINDS = {
  connection: { actionYml: path.join(repoRoot, 'action.yml'), rerun: 'updated' },
  dataflow: { actionYml: path.join(repoRoot, 'dataflow', 'action.yml'), rerun: 'unchanged' }
}
const SCENARIOS = ['create', 're-run']

/** `[connection:|dataflow:]FILE` -> { kind, entry }. */
export function parseSide(spec) {
  const m = /^(connection|dataflow):(.*)$/.exec(spec)
  const kind = m ? m[1] : 'connection'
  const entry = path.resolve(m ? m[2] : spec)
  if (!existsSync(entry)) throw new Error(`bench --pair: ${entry} does not exist`)
  return { kind, entry }
}

// ---- statistics ----
const sorted = (xs) => [...xs].sort((a, b) => a - b)
/** The q-quantile, linear between the closest ranks. */
function quantile(xs, q) {
  const s = sorted(xs)
  if (s.length === 0) return undefined
  const at = (s.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return s[lo] + (s[hi] - s[lo]) * (at - lo)
}
const median = (xs) => quantile(xs, 0.5)
const round = (x, d = 1) => (x === undefined ? undefined : Math.round(x * 10 ** d) / 10 ** d)
function summarise(xs) {
  return {
    median: round(median(xs)),
    min: round(Math.min(...xs)),
    max: round(Math.max(...xs)),
    q1: round(quantile(xs, 0.25)),
    q3: round(quantile(xs, 0.75))
  }
}

// ---- one process, timed ----
/**
 * Bash's `time` around the process: wall and CPU time (user + system, from the rusage of the
 * child once it has been waited for, so V8's teardown at exit counts too), in ms.
 */
const TIME_SCRIPT = 'f=$1; shift; TIMEFORMAT="%3R %3U %3S"; { time "$@" 2>&3; } 3>&2 2>"$f"'

async function timed(bin, args, env) {
  const file = path.join(os.tmpdir(), `bench-time-${process.pid}-${Date.now()}`)
  try {
    const r = await new Promise((resolve, reject) => {
      let out = ''
      const keep = (d) => {
        if (out.length < 20_000) out += d
      }
      const child = spawn('bash', ['-c', TIME_SCRIPT, 'bench-time', file, bin, ...args], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe']
      })
      child.stdout.setEncoding('utf8').on('data', keep)
      child.stderr.setEncoding('utf8').on('data', keep)
      const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.once('error', reject)
      child.once('close', (code, signal) => {
        clearTimeout(killer)
        resolve({ code, signal, out })
      })
    })
    const [real, user, sys] = (await readFile(file, 'utf8')).trim().split(/\s+/).map(Number)
    return { ...r, wallMs: real * 1000, cpuMs: (user + sys) * 1000 }
  } finally {
    await rm(file, { force: true })
  }
}

/**
 * Runs the pairs and prints the comparison.
 * @param {{ sides: string[], pairs: number, warmup: number, node: { bin: string, version: string } }} opts
 */
export async function runPairs(opts) {
  const sides = opts.sides.map(parseSide).map((s, i) => ({ ...s, label: i === 0 ? 'A' : 'B' }))
  const { pairs, warmup, node } = opts
  const sim = await startSimulator({ latencyMs: 0 })
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'bench-ws-'))
  await writeFile(
    path.join(workspace, 'mapping.yml'),
    '- source: id\n  destination: _id\n- source: email\n  destination: personalEmail.address\n'
  )

  /** One run of a side in a scenario: the simulator prepared, the process timed and checked. */
  async function runOnce(side, scenario) {
    sim.reset()
    const token = sim.issueToken()
    const common = {
      'client-id': sim.clientId,
      'ims-org-id': sim.orgId,
      'sandbox-name': SANDBOX,
      'platform-url': sim.url,
      'ims-url': sim.url,
      'access-token': token
    }
    let inputs
    let env = {}
    if (side.kind === 'connection') {
      const connectionString =
        'Server=db.example.com;Database=analytics;Port=5432;UID=aep_reader;Password=Bench-pa55word'
      inputs = {
        ...common,
        'connection-name': 'bench-postgres',
        description: 'Test connection for PostgreSQL',
        'connection-string': connectionString
      }
      if (scenario === 're-run')
        sim.seedConnection(SANDBOX, {
          name: 'bench-postgres',
          description: 'seeded by the bench',
          auth: {
            specName: 'Connection String Based Authentication',
            params: { connectionString: connectionString.replace('Bench-pa55word', 'old-pa55') }
          }
        })
    } else {
      const base = sim.seedConnection(SANDBOX, { name: 'bench-base' })
      inputs = {
        ...common,
        'dataflow-name': 'bench-orders',
        'base-connection-id': base.id,
        table: 'public.orders',
        'dataset-name': DEFAULT_DATASET.name,
        mapping: 'mapping.yml',
        'delta-column': 'updated_at'
      }
      env = { GITHUB_WORKSPACE: workspace }
    }
    const actionYml = KINDS[side.kind].actionYml
    const start = () => runnerEnv({ inputs, actionYml, env })
    const operation = async (file) => parseOutputFile(await readFile(file, 'utf8')).operation
    // The dataflow's re-run: its objects made first, by an untimed run of the same build.
    if (side.kind === 'dataflow' && scenario === 're-run') {
      const first = await start()
      try {
        const r = await timed(node.bin, [side.entry], first.env)
        const op = await operation(first.files.GITHUB_OUTPUT)
        if (r.code !== 0 || op !== 'created')
          return { error: `untimed first run: exit ${r.code ?? r.signal}, operation ${op}` }
      } finally {
        await rm(first.dir, { recursive: true, force: true })
      }
    }
    const run = await start()
    const requestsBefore = sim.stats().requests
    try {
      const r = await timed(node.bin, [side.entry], run.env)
      const op = await operation(run.files.GITHUB_OUTPUT)
      const want = scenario === 'create' ? 'created' : KINDS[side.kind].rerun
      if (r.code !== 0 || op !== want)
        return {
          error: `exit ${r.code ?? r.signal}, operation ${op ?? '(none)'} (want ${want}): ${r.out.trim().split('\n').slice(-3).join(' | ')}`
        }
      return { wallMs: r.wallMs, cpuMs: r.cpuMs, requests: sim.stats().requests - requestsBefore }
    } finally {
      await rm(run.dir, { recursive: true, force: true })
    }
  }

  const load0 = os.loadavg()
  const describeSide = (s) =>
    `${s.label} = ${s.kind} ${path.relative(repoRoot, s.entry) || s.entry} (${statSync(s.entry).size.toLocaleString('en-US')} B)`
  console.log(
    `bench --pair: ${node.version}; ${warmup} warm-up + ${pairs} pairs, alternating; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`
  )
  for (const s of sides) console.log(`  ${describeSide(s)}`)

  const samples = Object.fromEntries(SCENARIOS.map((sc) => [sc, { A: [], B: [] }]))
  const failures = []
  const started = Date.now()
  for (let i = 0; i < warmup + pairs; i++) {
    const order = i % 2 === 0 ? sides : [...sides].reverse()
    for (const scenario of SCENARIOS)
      for (const side of order) {
        const r = await runOnce(side, scenario)
        if (r.error) failures.push(`${side.label} ${scenario}: ${r.error}`)
        else if (i >= warmup) samples[scenario][side.label].push({ ...r, pair: i - warmup })
      }
    process.stdout.write(
      `\r  pair ${i + 1}/${warmup + pairs}${i < warmup ? ' (warm-up)' : ''}, ${((Date.now() - started) / 1000).toFixed(0)} s`
    )
  }
  process.stdout.write('\n')
  const load1 = os.loadavg()
  await sim.close()
  await rm(workspace, { recursive: true, force: true })

  // ---- figures ----
  const figures = {}
  for (const scenario of SCENARIOS) {
    const { A, B } = samples[scenario]
    const f = (figures[scenario] = {})
    for (const [label, runs] of [
      ['A', A],
      ['B', B]
    ]) {
      if (!runs.length) continue
      f[label] = {
        runs: runs.length,
        requests: [...new Set(runs.map((r) => r.requests))],
        wallMs: summarise(runs.map((r) => r.wallMs)),
        cpuMs: summarise(runs.map((r) => r.cpuMs))
      }
    }
    if (!f.A || !f.B) continue
    // Per-pair ratios, matched by pair (a failed run drops its pair).
    const byPair = new Map(A.map((r) => [r.pair, r]))
    const paired = B.filter((r) => byPair.has(r.pair)).map((b) => [byPair.get(b.pair), b])
    const ratio = (key) => ({
      ofMedians: round(f.B[key].median / f.A[key].median, 3),
      pairedMedian: round(median(paired.map(([a, b]) => b[key] / a[key])), 3)
    })
    f.ratio = { wall: ratio('wallMs'), cpu: ratio('cpuMs') }
  }

  // ---- table ----
  const pad = (s, n, left = false) => (left ? String(s).padEnd(n) : String(s).padStart(n))
  const cell = (s) => (s ? `${s.median.toFixed(1)} (${s.min.toFixed(0)}-${s.max.toFixed(0)})` : '-')
  const iqr = (s) => (s ? `${s.q1.toFixed(1)}-${s.q3.toFixed(1)}` : '-')
  console.log(
    `\n${pad('scenario', 10, true)}${pad('side', 5, true)}${pad('runs', 5)}${pad('req', 5)}` +
      `${pad('wall ms median (min-max)', 27)}${pad('IQR', 14)}${pad('CPU ms median (min-max)', 26)}${pad('IQR', 14)}`
  )
  for (const scenario of SCENARIOS) {
    const f = figures[scenario]
    for (const label of ['A', 'B']) {
      const x = f[label]
      console.log(
        `${pad(scenario, 10, true)}${pad(label, 5, true)}${pad(x?.runs ?? 0, 5)}${pad(x?.requests.join('/') ?? '-', 5)}` +
          `${pad(cell(x?.wallMs), 27)}${pad(iqr(x?.wallMs), 14)}${pad(cell(x?.cpuMs), 26)}${pad(iqr(x?.cpuMs), 14)}`
      )
    }
    if (f.ratio)
      console.log(
        `${pad('', 10)}${pad('B/A', 5, true)}  wall ${f.ratio.wall.ofMedians.toFixed(3)}x (paired ${f.ratio.wall.pairedMedian.toFixed(3)}x)` +
          `   CPU ${f.ratio.cpu.ofMedians.toFixed(3)}x (paired ${f.ratio.cpu.pairedMedian.toFixed(3)}x)`
      )
  }
  console.log(
    `\nload average: ${load0.map((l) => l.toFixed(2)).join(' ')} at the start, ${load1.map((l) => l.toFixed(2)).join(' ')} at the end`
  )
  if (failures.length)
    console.log(`${failures.length} run(s) failed, e.g. ${failures.slice(0, 3).join('; ')}`)

  const report = {
    date: new Date().toISOString(),
    node: node.version,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model },
    loadavg: { start: load0.map((l) => round(l, 2)), end: load1.map((l) => round(l, 2)) },
    options: { pairs, warmup },
    sides: sides.map((s) => ({
      label: s.label,
      kind: s.kind,
      entry: path.relative(repoRoot, s.entry) || s.entry,
      bytes: statSync(s.entry).size
    })),
    figures,
    failures
  }
  await mkdir(resultsDir, { recursive: true })
  await writeFile(path.join(resultsDir, 'pair-latest.json'), JSON.stringify(report, null, 2))
  console.log('Wrote bench/results/pair-latest.json')
  return report
}
