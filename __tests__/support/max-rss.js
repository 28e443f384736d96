// Preload (node --import) for end-to-end runs that measure memory: at exit, writes the process's
// own peak resident set size in kB to $MAX_RSS_FILE. Nothing else.
// VmHWM from /proc/self/status, not process.resourceUsage().maxRSS: on Linux the latter keeps the
// peak of the process that spawned this one (it survives fork and exec), so a large test runner
// would be measured instead of the action. Elsewhere (no /proc) maxRSS is the only measure.
import { readFileSync, writeFileSync } from 'node:fs'

function ownPeakKb() {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m) return Number(m[1])
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS
}

const file = process.env.MAX_RSS_FILE
if (file) process.on('exit', () => writeFileSync(file, String(ownPeakKb())))
