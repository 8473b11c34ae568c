/**
 * `npm run bench -- <name>` runs one benchmark; without a name it lists them. Each benchmark is a
 * standalone script (its own signal handling, scope and exit code), loaded here in the same process.
 */
const benchmarks: Readonly<Record<string, { readonly file: string; readonly about: string }>> = {
  "index-build": { file: "indexBuild.ts", about: "CREATE INDEX vs CREATE INDEX CONCURRENTLY under write load (bench/results/index-build.md)" },
  "connect-work": { file: "notifications/connectWork.ts", about: "one connect's service work without sockets: the project's Effect services beside the peers' jose + pg (bench/results/connect-work.md)" },
  auth: { file: "auth.ts", about: "token verifications, logins and refresh rotations per second (bench/results/auth.md)" },
  http: { file: "http.ts", about: "cost of an HTTP request: the project beside bare node:http and Fastify (bench/results/http.md)" },
  notifications: { file: "notifications.ts", about: "realtime notifications: the project's /ws/notifications beside Socket.IO and bare ws (bench/results/notifications.md)" },
  reads: { file: "reads.ts", about: "Cases.List with its tree: resolvers beside naive N+1, dataloader, set-based and one json_agg statement (bench/results/reads.md)" }
}

const list = () =>
  `usage: npm run bench -- <name>\n\nbenchmarks:\n${Object.entries(benchmarks)
    .map(([name, { about }]) => `  ${name.padEnd(12)} ${about}`)
    .join("\n")}\n`

const [name, ...rest] = process.argv.slice(2)
const benchmark = name === undefined ? undefined : benchmarks[name]

if (name === undefined) {
  process.stdout.write(list())
} else if (benchmark === undefined || rest.length > 0) {
  process.stderr.write(`${benchmark === undefined ? `unknown benchmark: ${name}` : `unexpected argument: ${rest[0]}`}\n${list()}`)
  process.exitCode = 2
} else {
  await import(new URL(`./${benchmark.file}`, import.meta.url).href)
}
