/**
 * The work of one authenticated connect without the sockets, split into its parts and measured beside the
 * bare peers' code for the same part (bench/notifications/PeerWork.ts: jose, pg), in one process, variants
 * alternating round after round. It says where the project's extra CPU per connect goes:
 *
 *   verify+summary  Auth.verify(token, { graceSeconds }) then Notifications.summary: the project's handshake
 *                   work, against PeerWork.authenticate then PeerWork.unreadCount (same token, same checks,
 *                   two statements each; every token and session is fresh, so no cache helps either side)
 *   statement       the summary statement alone: through @effect/sql (SqlClient), through pg's pool, and through
 *                   pg's pool wrapped in one Effect (Effect.promise run on the application's runtime: the floor
 *                   of any Effect code)
 *   jwt             Jwt.verify (the project's) against the peers' jose verification
 *
 *   npm run bench -- connect-work   (or npx tsx bench/notifications/connectWork.ts; BENCH_DATABASE_URL, else an embedded PostgreSQL;
 *                                                 BENCH_CONNECT_OPS per variant and round, 2,000; BENCH_ROUNDS, 3;
 *                                                 BENCH_PARTS, a comma-separated subset of the parts)
 *
 * Each variant runs `ops` operations at each level of BENCH_CONNECT_CONCURRENCY ("20,60") in flight; CPU is this process's user+system time (PostgreSQL's
 * own time is not in it), so the figures are the client-side cost of each part. Writes bench/results/connect-work.md.
 */
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Effect, Layer } from "effect"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import * as Url from "node:url"
import { MainLive } from "../../layers/Main.ts"
import { Auth } from "../../services/Auth.ts"
import { Jwt as ProjectJwt } from "../../services/Jwt.ts"
import { Notifications } from "../../services/Notifications.ts"
import * as Jwt from "../http/Jwt.ts"
import { openPool } from "../http/Peer.ts"
import { benchClient, benchDatabase, intFromEnv, machineLine, runBenchmark, writeResults } from "../Support.ts"
import { makePeerWork } from "./PeerWork.ts"
import { seed } from "./Seed.ts"

const log = (message: string) => console.log(`[connectWork] ${message}`)
const ops = intFromEnv("BENCH_CONNECT_OPS", 2_000, 100)
const rounds = intFromEnv("BENCH_ROUNDS", 3, 1)
/** Operations in flight: 20 (fewer than the pool's 10 connections can serve at once, a little queueing), and 60 (many waiting). */
const concurrencies = (process.env.BENCH_CONNECT_CONCURRENCY ?? "20,60").split(",").map((n) => Number(n.trim())).filter((n) => Number.isInteger(n) && n > 0)
const parts = new Set((process.env.BENCH_PARTS ?? "verify+summary,statement,jwt").split(",").map((part) => part.trim()))

const summarySql = `SELECT (SELECT count(*)::int FROM notifications WHERE user_id = $1 AND organization_id = $2 AND read_at IS NULL) AS "unreadCount",
       (SELECT max(id)::text FROM notifications WHERE user_id = $3 AND organization_id = $4) AS "latestId"`

/** CPU ms of this process per op, and ops/s, for `ops` runs of `op` (`concurrency` in flight). */
const measure = async (concurrency: number, op: (i: number) => Promise<unknown>) => {
  let next = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < ops) await op(next++)
  }))
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  return { cpuMs: (used.user + used.system) / 1000 / ops, perSecond: ops / seconds }
}

const main = Effect.gen(function* () {
  const key = yield* Effect.promise(() => Jwt.generateSigningKey("ES256"))
  const loadAtStart = Os.loadavg()
  const { url, database } = yield* benchDatabase(log)
  const provider = ConfigProvider.fromMap(new Map(Object.entries({
    DATABASE_URL: url, JWT_PRIVATE_KEY: key.pem, JWT_KEY_ID: key.kid, JWT_ALGORITHM: "ES256", SEED_DEMO: "false", LOG_LEVEL: "warn", HOST: "127.0.0.1", PORT: "0"
  }))).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
  const app = yield* Layer.build(MainLive).pipe(Effect.withConfigProvider(provider))
  const { auth, jwt, notifications, sql } = yield* Effect.all({ auth: Auth, jwt: ProjectJwt, notifications: Notifications, sql: SqlClient.SqlClient }).pipe(Effect.provide(app))
  const client = yield* benchClient(url, "bench-connect-work", log)
  const sessionsNeeded = ops * rounds * 2 * concurrencies.length
  log(`seeding ${sessionsNeeded.toLocaleString("en")} sessions`)
  const seeded = yield* Effect.promise(() => seed(client, { large: 2, small: 2, targeted: 2, churnUsers: Math.ceil(sessionsNeeded / 10), churnSessions: 10 }))
  process.env.DATABASE_URL = url
  process.env.JWT_PRIVATE_KEY = key.pem
  process.env.JWT_KEY_ID = key.kid
  process.env.JWT_ALGORITHM = "ES256"
  const peer = yield* Effect.promise(() => makePeerWork("bench-connect-work-peer", "bench_connect_work"))
  const pool = yield* Effect.acquireRelease(Effect.promise(() => openPool(url, "bench-connect-work-pool")), (p) => Effect.promise(() => p.end()))
  const keys = yield* Effect.promise(() => Jwt.loadKeys(key.pem, "ES256", key.kid))
  let cursor = 0
  const freshTokens = () =>
    Effect.promise(() => Promise.all(seeded.churn.slice(cursor, (cursor += ops)).map((c) => Jwt.sign(keys, c).then((t) => t.token))))
  // As in the server with OTEL_EXPORTER_OTLP_ENDPOINT unset (layers/TracingLive.ts): no spans.
  const run = <A>(effect: Effect.Effect<A, unknown>) => Effect.runPromise(Effect.withTracerEnabled(Effect.orDie(effect), false))

  type Row = { readonly part: string; readonly variant: string; readonly concurrency: number; cpuMs: Array<number>; perSecond: Array<number> }
  const rows: Array<Row> = []
  let concurrency = concurrencies[0]!
  const record = (part: string, variant: string, result: { cpuMs: number; perSecond: number }) => {
    let row = rows.find((r) => r.part === part && r.variant === variant && r.concurrency === concurrency)
    if (row === undefined) rows.push((row = { part, variant, concurrency, cpuMs: [], perSecond: [] }))
    row.cpuMs.push(result.cpuMs)
    row.perSecond.push(result.perSecond)
  }

  for (let round = 0; round < rounds; round++) for (concurrency of concurrencies) {
    // verify+summary: fresh tokens of fresh sessions on both sides.
    const projectTokens = parts.has("verify+summary") ? yield* freshTokens() : []
    const peerTokens = parts.has("verify+summary") ? yield* freshTokens() : []
    const variants = [
      ["project", () => measure(concurrency, (i) => run(Effect.flatMap(auth.verify(projectTokens[i]!, { graceSeconds: 300 }), (user) => notifications.summary(user))))],
      ["peer", () => measure(concurrency, async (i) => peer.unreadCount((await peer.authenticate(peerTokens[i]!)).userId))]
    ] as const
    if (parts.has("verify+summary")) for (const [variant, go] of round % 2 === 0 ? variants : [...variants].reverse()) record("verify+summary", variant, yield* Effect.promise(go))
    const users = seeded.churn.slice(0, ops)
    if (parts.has("statement")) record("statement", "@effect/sql", yield* Effect.promise(() =>
      measure(concurrency, (i) => run(sql.unsafe(summarySql, [users[i]!.userId, users[i]!.organizationId, users[i]!.userId, users[i]!.organizationId])))))
    if (parts.has("statement")) record("statement", "Effect + pg pool", yield* Effect.promise(() =>
      measure(concurrency, (i) => run(Effect.promise(() => pool.query(summarySql, [users[i]!.userId, users[i]!.organizationId, users[i]!.userId, users[i]!.organizationId]))))))
    if (parts.has("statement")) record("statement", "pg pool", yield* Effect.promise(() =>
      measure(concurrency, (i) => pool.query(summarySql, [users[i]!.userId, users[i]!.organizationId, users[i]!.userId, users[i]!.organizationId]))))
    const tokens = !parts.has("jwt") ? [] : yield* Effect.promise(() => Promise.all(users.map((c) => Jwt.sign(keys, c).then((t) => t.token))))
    if (parts.has("jwt")) record("jwt", "Jwt.verify", yield* Effect.promise(() => measure(concurrency, (i) => run(jwt.verify(tokens[i]!)))))
    if (parts.has("jwt")) record("jwt", "jose", yield* Effect.promise(() => measure(concurrency, (i) => Jwt.verify(keys, tokens[i]!))))
    log(`round ${round + 1}, ${concurrency} in flight: done`)
  }
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const table = `| part | variant | in flight | CPU ms / op (median of rounds) | ops/s (median) |\n|---|---|---:|---:|---:|\n${[...rows]
    .sort((a, b) => a.concurrency - b.concurrency)
    .map((row) => `| ${row.part} | ${row.variant} | ${row.concurrency} | ${median(row.cpuMs).toFixed(3)} | ${Math.round(median(row.perSecond)).toLocaleString("en")} |`)
    .join("\n")}`
  const markdown = `# The work of one connect, without the sockets

Generated by \`npm run bench -- connect-work\` (\`bench/notifications/connectWork.ts\`) on ${new Date().toISOString()}.

- Machine: ${machineLine()}; load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(" / ")}, at the end ${Os.loadavg().map((l) => l.toFixed(2)).join(" / ")}
- Database: ${database}
- ${ops.toLocaleString("en")} operations per variant, round and level (${concurrencies.join(" and ")} in flight; the pool has DB_POOL_MAX = 10 connections), ${rounds} rounds, variants alternating; CPU is this process's user + system time per operation (PostgreSQL's own time is not in it)

${table}

What each row is:
- **verify+summary / project**: \`Auth.verify(token, { graceSeconds })\` then \`Notifications.summary\` from \`MainLive\` (the handshake's service work on \`/ws/notifications\`), tracing off as in a server without \`OTEL_EXPORTER_OTLP_ENDPOINT\`.
- **verify+summary / peer**: \`PeerWork.authenticate\` then \`PeerWork.unreadCount\`, the code the bare ws and Socket.IO peers of \`bench/notifications\` run: jose with the same checks, pg, the same two statements. Every token is of a fresh session on both sides, so no cache helps.
- **statement**: the summary statement alone, through @effect/sql (\`SqlClient.unsafe\`, the project's pool with its patch: a FIFO of DB_POOL_MAX permits), through pg's pool in one \`Effect.promise\` (the floor of running anything as an Effect), and through pg's pool alone.
- **jwt**: the project's \`Jwt.verify\` against the peers' jose verification of the same tokens.
`
  writeResults(Path.join(Path.dirname(Url.fileURLToPath(import.meta.url)), "..", "results", "connect-work.md"), { table, markdown }, log)
  yield* Effect.promise(() => peer.close())
}).pipe(Effect.scoped)

runBenchmark(main, log)
