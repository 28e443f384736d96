// Preloaded (`node -r bench/rusage.cjs ENTRY`) by the bench's pair mode: when the process exits,
// writes its CPU time (user and system, microseconds, from process.resourceUsage()) as JSON to
// the file BENCH_RUSAGE_FILE names. Adds a few hundred microseconds, the same to every build.
'use strict'
const file = process.env.BENCH_RUSAGE_FILE
if (file) {
  const { writeFileSync } = require('node:fs')
  process.on('exit', () => {
    const u = process.resourceUsage()
    writeFileSync(file, JSON.stringify({ userUs: u.userCPUTime, systemUs: u.systemCPUTime }))
  })
}
