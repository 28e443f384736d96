// The floor for `npm run bench`: a bare Node process that sends the seed's single POST
// /connections with the built-in fetch, the same headers and body as the curl variant, and exits.
// Everything comes from the environment (bench/run.js sets it); exit 1 unless HTTP 200/201.
const { BENCH_URL, BENCH_TOKEN, BENCH_API_KEY, BENCH_ORG, BENCH_SANDBOX, BENCH_BODY } = process.env

const res = await fetch(BENCH_URL, {
  method: 'POST',
  headers: {
    authorization: `Bearer ${BENCH_TOKEN}`,
    'x-api-key': BENCH_API_KEY,
    'x-gw-ims-org-id': BENCH_ORG,
    'x-sandbox-name': BENCH_SANDBOX,
    'content-type': 'application/json'
  },
  body: BENCH_BODY
})
await res.text()
if (res.status !== 200 && res.status !== 201) {
  console.error(`node-floor: HTTP ${res.status}`)
  process.exitCode = 1
}
