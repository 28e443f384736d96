// Preload (node --import) for end-to-end runs that measure memory: at exit, writes the process's
// peak resident set size in kB (process.resourceUsage().maxRSS) to $MAX_RSS_FILE. Nothing else.
import { writeFileSync } from 'node:fs'

const file = process.env.MAX_RSS_FILE
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)))
