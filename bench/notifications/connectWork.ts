/**
 * The work of one authenticated connect without the sockets, split into its parts and measured beside the
 * bare peers' code for the same part (bench/notifications/PeerWork.ts: jose, pg), in one process, variants
 * alternating round after round. It says where the project's extra CPU per connect goes:
 *
 *   verify+summary  Auth.verify(token, { graceSeconds }) then Notifications.summary: the project's handshake
 *                   work, against PeerWork.authenticate then PeerWork.unreadCount (same token, same checks,
 *                   two statements each; every token and session is fresh, so no cache helps either side)
 *   statement       the summary statement alone through @effect/sql (SqlClient), against the same text
 *                   through pg's pool
 *   jwt             Jwt.verify (the project's) against the peers' jose verification
 *
 *   npx tsx bench/notifications/connectWork.ts   (BENCH_DATABASE_URL, else an embedded PostgreSQL;
 *                                                 BENCH_CONNECT_OPS per variant and round, 2,000; BENCH_ROUNDS, 3;
 *                                                 BENCH_PARTS, a comma-separated subset of the parts)
 *
 * Each variant runs `ops` operations, 20 at a time; CPU is this process's user+system time (PostgreSQL's
 * own time is not in it), so the figures are the client-side cost of each part.
 */
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Effect, Layer } from "effect"
import { performance } from "node:perf_hooks"
import { MainLive } from "../../layers/Main.ts"
import { Auth } from "../../services/Auth.ts"
import { Jwt as ProjectJwt } from "../../services/Jwt.ts"
import { Notifications } from "../../services/Notifications.ts"
import * as Jwt from "../http/Jwt.ts"
import { openPool } from "../http/Peer.ts"
import { benchClient, benchDatabase, intFromEnv, runBenchmark } from "../Support.ts"
import { makePeerWork } from "./PeerWork.ts"
import { seed } from "./Seed.ts"

const log = (message: string) => console.log(`[connectWork] ${message}`)
const ops = intFromEnv("BENCH_CONNECT_OPS", 2_000, 100)
const rounds = intFromEnv("BENCH_ROUNDS", 3, 1)
const concurrency = 20
const parts = new Set((process.env.BENCH_PARTS ?? "verify+summary,statement,jwt").split(",").map((part) => part.trim()))

const summarySql = `SELECT (SELECT count(*)::int FROM notifications WHERE user_id = $1 AND organization_id = $2 AND read_at IS NULL) AS "unreadCount",
       (SELECT max(id)::text FROM notifications WHERE user_id = $3 AND organization_id = $4) AS "latestId"`

/** CPU ms of this process per op, and ops/s, for `ops` runs of `op` (20 in flight). */
const measure = async (op: (i: number) => Promise<unknown>) => {
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
  const { url } = yield* benchDatabase(log)
  const provider = ConfigProvider.fromMap(new Map(Object.entries({
    DATABASE_URL: url, JWT_PRIVATE_KEY: key.pem, JWT_KEY_ID: key.kid, JWT_ALGORITHM: "ES256", SEED_DEMO: "false", LOG_LEVEL: "warn", HOST: "127.0.0.1", PORT: "0"
  }))).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
  const app = yield* Layer.build(MainLive).pipe(Effect.withConfigProvider(provider))
  const { auth, jwt, notifications, sql } = yield* Effect.all({ auth: Auth, jwt: ProjectJwt, notifications: Notifications, sql: SqlClient.SqlClient }).pipe(Effect.provide(app))
  const client = yield* benchClient(url, "bench-connect-work", log)
  const sessionsNeeded = ops * rounds * 2
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

  type Row = { readonly part: string; readonly variant: string; cpuMs: Array<number>; perSecond: Array<number> }
  const rows: Array<Row> = []
  const record = (part: string, variant: string, result: { cpuMs: number; perSecond: number }) => {
    let row = rows.find((r) => r.part === part && r.variant === variant)
    if (row === undefined) rows.push((row = { part, variant, cpuMs: [], perSecond: [] }))
    row.cpuMs.push(result.cpuMs)
    row.perSecond.push(result.perSecond)
  }

  for (let round = 0; round < rounds; round++) {
    // verify+summary: fresh tokens of fresh sessions on both sides.
    const projectTokens = parts.has("verify+summary") ? yield* freshTokens() : []
    const peerTokens = parts.has("verify+summary") ? yield* freshTokens() : []
    const variants = [
      ["project", () => measure((i) => run(Effect.flatMap(auth.verify(projectTokens[i]!, { graceSeconds: 300 }), (user) => notifications.summary(user))))],
      ["peer", () => measure(async (i) => peer.unreadCount((await peer.authenticate(peerTokens[i]!)).userId))]
    ] as const
    if (parts.has("verify+summary")) for (const [variant, go] of round % 2 === 0 ? variants : [...variants].reverse()) record("verify+summary", variant, yield* Effect.promise(go))
    const users = seeded.churn.slice(0, ops)
    if (parts.has("statement")) record("statement", "@effect/sql", yield* Effect.promise(() =>
      measure((i) => run(sql.unsafe(summarySql, [users[i]!.userId, users[i]!.organizationId, users[i]!.userId, users[i]!.organizationId])))))
    if (parts.has("statement")) record("statement", "pg pool", yield* Effect.promise(() =>
      measure((i) => pool.query(summarySql, [users[i]!.userId, users[i]!.organizationId, users[i]!.userId, users[i]!.organizationId]))))
    const tokens = !parts.has("jwt") ? [] : yield* Effect.promise(() => Promise.all(users.map((c) => Jwt.sign(keys, c).then((t) => t.token))))
    if (parts.has("jwt")) record("jwt", "Jwt.verify", yield* Effect.promise(() => measure((i) => run(jwt.verify(tokens[i]!)))))
    if (parts.has("jwt")) record("jwt", "jose", yield* Effect.promise(() => measure((i) => Jwt.verify(keys, tokens[i]!))))
    log(`round ${round + 1} done`)
  }
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  console.log("\n| part | variant | CPU ms / op (median) | ops/s (median) |\n|---|---|---:|---:|")
  for (const row of rows) console.log(`| ${row.part} | ${row.variant} | ${median(row.cpuMs).toFixed(3)} | ${Math.round(median(row.perSecond)).toLocaleString("en")} |`)
  yield* Effect.promise(() => peer.close())
}).pipe(Effect.scoped)

runBenchmark(main, log)
