// Prints the totals of coverage/coverage-summary.json (written by `npm run test:coverage`):
//   node scripts/coverage-summary.js              one line, for logs
//   node scripts/coverage-summary.js --markdown   a table, for the job summary
// Exit code 1 when there is no summary (the tests did not run with --coverage).
import { existsSync, readFileSync } from 'node:fs'

const file = new URL('../coverage/coverage-summary.json', import.meta.url)
if (!existsSync(file)) {
  console.error('no coverage/coverage-summary.json: run npm run test:coverage')
  process.exit(1)
}
const total = JSON.parse(readFileSync(file, 'utf8')).total
const kinds = ['lines', 'branches', 'statements', 'functions']
if (process.argv.includes('--markdown')) {
  console.log('### Coverage of src/\n\n|  | % | covered |\n| --- | --- | --- |')
  for (const k of kinds)
    console.log(`| ${k} | ${total[k].pct}% | ${total[k].covered}/${total[k].total} |`)
} else {
  const parts = kinds.map((k) => `${k} ${total[k].pct}% (${total[k].covered}/${total[k].total})`)
  console.log(`coverage of src: ${parts.join(', ')}`)
}
