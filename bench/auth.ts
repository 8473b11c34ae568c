/**
 * Auth throughput: access-token verifications, logins and refresh rotations per second, each beside a
 * reference measured in the same run (raw jose, Argon2id alone, a bare write transaction of the same
 * shape as a rotation), because on a shared, noisy machine a ratio means more than an absolute rate.
 *
 *   npm run bench -- auth            (or: npx tsx bench/auth.ts)
 *
 * Environment: BENCH_DATABASE_URL (else an embedded, ephemeral PostgreSQL in a temp dir),
 * BENCH_CLIENTS (20), BENCH_LOGIN_CLIENTS (4), BENCH_VERIFY_SECONDS (3), BENCH_LOGIN_SECONDS (4),
 * BENCH_REFRESH_SECONDS (10), BENCH_TOKENS (32000 fresh access tokens signed up front), BENCH_ONLY (items
 * to run, e.g. "f" or "a,c"; unset: all), BENCH_PG_STATEMENTS=1 (load pg_stat_statements and report the
 * server time per statement of f0, f and g; embedded server, or an external one that preloads it).
 * Prints a markdown table and writes it, with the machine facts and the method, to bench/results/auth.md.
 */
import { HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Context, Effect, Layer, Option, Queue, Redacted } from "effect"
import * as Argon2 from "argon2"
import { exportPKCS8, generateKeyPair, importJWK, jwtVerify, type JWK } from "jose"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import * as Url from "node:url"
import { Worker } from "node:worker_threads"
import pg from "pg"
import { MainLive } from "../layers/Main.ts"
import type { ClientInfo } from "../src/domain/Auth.ts"
import { Auth } from "../services/Auth.ts"
import { Directory } from "../services/Directory.ts"
import { Jwt } from "../services/Jwt.ts"
import { Sessions } from "../services/Sessions.ts"
import { benchDatabase, intFromEnv, machineLine, runBenchmark, writeResults } from "./Support.ts"

// ---------------------------------------------------------------------------------------------
// Configuration

const config = {
  clients: intFromEnv("BENCH_CLIENTS", 20, 1),
  loginClients: intFromEnv("BENCH_LOGIN_CLIENTS", 4, 1),
  verifySeconds: intFromEnv("BENCH_VERIFY_SECONDS", 3, 1),
  loginSeconds: intFromEnv("BENCH_LOGIN_SECONDS", 4, 1),
  refreshSeconds: intFromEnv("BENCH_REFRESH_SECONDS", 10, 1),
  tokens: intFromEnv("BENCH_TOKENS", 32_000, 100),
  statements: process.env.BENCH_PG_STATEMENTS === "1",
  /** Items to run, e.g. "f" or "a,c,f0,f" (a side-by-side pair runs when either of its ids is named); unset: all. */
  only: process.env.BENCH_ONLY === undefined || process.env.BENCH_ONLY.trim() === ""
    ? undefined
    : new Set(process.env.BENCH_ONLY.split(",").map((item) => item.trim().toLowerCase())),
  /** Rounds of the side-by-side pairs (reference, subject), order alternating. */
  rounds: 3,
  warmupMs: 1_000,
  /** The refresh limiter must not throttle the benchmark (default 30 per session per minute). */
  refreshesPerMinute: 100_000_000
}

const runs = (...items: ReadonlyArray<string>) => config.only === undefined || items.some((item) => config.only!.has(item))

const targets = { freshVerify: 5_000, cachedVerify: 50_000, rotations: 1_000 } as const

const benchDir = Path.dirname(Url.fileURLToPath(import.meta.url))
const resultsFile = Path.join(benchDir, "results", "auth.md")
const password = "correct horse battery staple"
const clientInfo: ClientInfo = { ip: "127.0.0.1", userAgent: "bench-auth" }

// ---------------------------------------------------------------------------------------------
// Small helpers

const t0 = performance.now()
const log = (message: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}`)
const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const quantile = (sorted: Float64Array, q: number) => {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[index]!
}

const fmtLatency = (ms: number) =>
  Number.isNaN(ms) ? "–" : ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : ms < 1000 ? `${ms.toFixed(2)} ms` : `${(ms / 1000).toFixed(2)} s`
const fmtRate = (perSecond: number) => Math.round(perSecond).toLocaleString("en")
const fmtRatio = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "–")

/** Latencies in fixed chunks of doubles: no big array to regrow and copy while the load runs. */
class Recorder {
  private readonly full: Array<Float64Array> = []
  private chunk = new Float64Array(1 << 16)
  private used = 0
  count = 0

  push(ms: number) {
    if (this.used === this.chunk.length) {
      this.full.push(this.chunk)
      this.chunk = new Float64Array(1 << 16)
      this.used = 0
    }
    this.chunk[this.used++] = ms
    this.count++
  }

  sorted() {
    const all = new Float64Array(this.count)
    let offset = 0
    for (const chunk of this.full) {
      all.set(chunk, offset)
      offset += chunk.length
    }
    all.set(this.chunk.subarray(0, this.used), offset)
    return all.sort()
  }
}

const clockTicks = (() => {
  try {
    return Number(ChildProcess.execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** The embedded server's postmaster, whose processes' CPU time /proc shows (Linux); unknown for an external server. */
let postmasterPid: number | undefined

/** CPU time (user + system, ms) of the postmaster and its children (the backends, WAL writer, …), or NaN. */
const postgresCpuMs = () => {
  if (postmasterPid === undefined || process.platform !== "linux") return Number.NaN
  let ticks = 0
  for (const entry of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = Fs.readFileSync(`/proc/${entry}/stat`, "utf8")
    } catch {
      continue
    }
    // After the command name in parentheses: state, ppid, … utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    if (Number(entry) !== postmasterPid && Number(fields[1]) !== postmasterPid) continue
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return (ticks / clockTicks) * 1000
}

const nodeCpuMs = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

/** Driver-level round trips: every statement @effect/sql-pg sends goes through pg.Client#query. */
let roundTrips = 0
const countRoundTrips = Effect.acquireRelease(
  Effect.sync(() => {
    const original = pg.Client.prototype.query
    const counting = function (this: pg.Client, ...args: Array<unknown>) {
      roundTrips++
      return (original as (...args: Array<unknown>) => unknown).apply(this, args)
    }
    pg.Client.prototype.query = counting as typeof original
    return original
  }),
  (original) =>
    Effect.sync(() => {
      pg.Client.prototype.query = original
    })
)

/** A WAL position as a byte offset ("16/B374D848"). */
const lsnBytes = (lsn: string) => {
  const [high, low] = lsn.split("/")
  return Number((BigInt(`0x${high ?? "0"}`) << 32n) + BigInt(`0x${low ?? "0"}`))
}

const walPosition = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ lsn: string }>`SELECT pg_current_wal_lsn()::text AS lsn`).pipe(
  Effect.map((rows) => lsnBytes(rows[0]?.lsn ?? "0/0")),
  Effect.orDie
)

// ---------------------------------------------------------------------------------------------
// Load driver: `clients` fibers, each running its operation back to back; latency per operation.

interface Load<E, R> {
  readonly clients: number
  readonly op: (client: number) => Effect.Effect<unknown, E, R>
  /** Ends a phase early: the pool of fresh tokens ran out. */
  readonly exhausted?: () => boolean
}

/** What the measured phases of one item added up to. */
interface Sample {
  readonly latencies: Recorder
  seconds: number
  /** CPU time of this process (all threads) and of PostgreSQL over the measured phases (ms). */
  nodeCpuMs: number
  postgresCpuMs: number
  roundTrips: number
  walBytes: number
  /** Event-loop busy time of this process over the measured phases (ms). */
  busyMs: number
  /** Ops/s of each measured phase (the side-by-side rounds). */
  readonly rounds: Array<number>
  /** Server time per statement (BENCH_PG_STATEMENTS=1). */
  statements?: ReadonlyArray<StatementStats>
  /** Event-loop busy time of the HTTP clients' worker thread (ms), g only. */
  clientBusyMs?: number
}

interface StatementStats {
  readonly query: string
  readonly calls: number
  readonly execMs: number
  readonly planMs: number
  readonly toplevel: boolean
}

const statementsReset = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT pg_stat_statements_reset()`).pipe(Effect.orDie)

const statementsRead = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<{ query: string; calls: string; exec_ms: number; plan_ms: number; toplevel: boolean }>`
      SELECT query, calls::text, total_exec_time AS exec_ms, total_plan_time AS plan_ms, toplevel
        FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_current_wal_lsn%'
       ORDER BY total_exec_time + total_plan_time DESC
       LIMIT 15`
).pipe(
  Effect.map((rows) =>
    rows.map((row): StatementStats => ({
      query: row.query.replace(/\s+/g, " ").trim(),
      calls: Number(row.calls),
      execMs: row.exec_ms,
      planMs: row.plan_ms,
      toplevel: row.toplevel
    }))
  ),
  Effect.orDie
)

const emptySample = (): Sample => ({ latencies: new Recorder(), seconds: 0, nodeCpuMs: 0, postgresCpuMs: 0, roundTrips: 0, walBytes: 0, busyMs: 0, rounds: [] })

/** Runs the load for `ms`; with a sample, records every operation's latency and the phase's diagnostics. */
const drive = <E, R>(load: Load<E, R>, ms: number, sample?: Sample) =>
  Effect.gen(function* () {
    const walBefore = sample === undefined ? 0 : yield* walPosition
    const tripsBefore = roundTrips
    const cpuBefore = { node: nodeCpuMs(), postgres: sample === undefined ? 0 : postgresCpuMs() }
    const elu = performance.eventLoopUtilization()
    const start = performance.now()
    const stopAt = start + ms
    const done = load.exhausted ?? (() => false)
    const latencies = sample?.latencies
    const count = latencies?.count ?? 0
    yield* Effect.forEach(
      range(load.clients),
      (client) =>
        Effect.gen(function* () {
          while (performance.now() < stopAt && !done()) {
            const opStart = performance.now()
            yield* load.op(client)
            latencies?.push(performance.now() - opStart)
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    const seconds = (performance.now() - start) / 1000
    if (sample === undefined || latencies === undefined) return
    const busy = performance.eventLoopUtilization(elu)
    sample.nodeCpuMs += nodeCpuMs() - cpuBefore.node
    sample.postgresCpuMs += postgresCpuMs() - cpuBefore.postgres
    sample.roundTrips += roundTrips - tripsBefore
    sample.walBytes += (yield* walPosition) - walBefore
    sample.busyMs += busy.active
    sample.seconds += seconds
    sample.rounds.push((latencies.count - count) / seconds)
  })

/** Warm-up, then one measured phase (with the server time per statement when asked for). */
const measure = <E, R>(load: Load<E, R>, ms: number, options: { readonly warmupMs?: number; readonly statements?: boolean } = {}) =>
  Effect.gen(function* () {
    const warmupMs = options.warmupMs ?? config.warmupMs
    if (warmupMs > 0) yield* drive(load, warmupMs)
    const sample = emptySample()
    const statements = config.statements && options.statements === true
    if (statements) yield* statementsReset
    yield* drive(load, ms, sample)
    if (statements) sample.statements = yield* statementsRead
    return sample
  })

/** A reference and its subject side by side: both warmed up, then `rounds` phases each, order alternating. */
const sideBySide = <E1, R1, E2, R2>(reference: Load<E1, R1>, subject: Load<E2, R2>, phaseMs: number, rounds = config.rounds) =>
  Effect.gen(function* () {
    yield* drive(reference, config.warmupMs)
    yield* drive(subject, config.warmupMs)
    const ref = emptySample()
    const sub = emptySample()
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        yield* drive(reference, phaseMs, ref)
        yield* drive(subject, phaseMs, sub)
      } else {
        yield* drive(subject, phaseMs, sub)
        yield* drive(reference, phaseMs, ref)
      }
    }
    return { ref, sub }
  })

// ---------------------------------------------------------------------------------------------
// Rows of the report

interface Row {
  readonly id: string
  readonly item: string
  readonly clients: number
  readonly ops: number
  readonly seconds: number
  readonly rate: number
  readonly mean: number
  readonly p50: number
  readonly p99: number
  readonly roundTripsPerOp: number
  readonly walBytesPerOp: number
  readonly nodeCpuPerOp: number
  readonly postgresCpuPerOp: number
  /** Share of wall time this process's event loop was busy during the measured phases. */
  readonly busy: number
  readonly rounds: ReadonlyArray<number>
  readonly statements?: ReadonlyArray<StatementStats>
  /** Busy time of the load generator's own thread per op (g: the fetch worker). */
  readonly clientBusyPerOp?: number
  readonly target?: number
  readonly ratio?: { readonly to: string; readonly value: number }
}

const toRow = (
  id: string,
  item: string,
  clients: number,
  sample: Sample,
  extra: { readonly target?: number; readonly ratioTo?: Row } = {}
): Row => {
  const sorted = sample.latencies.sorted()
  const ops = sorted.length
  const rate = ops / sample.seconds
  const mean = ops === 0 ? Number.NaN : sorted.reduce((sum, ms) => sum + ms, 0) / ops
  const row: Row = {
    id,
    item,
    clients,
    ops,
    seconds: sample.seconds,
    rate,
    mean,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    roundTripsPerOp: ops === 0 ? 0 : sample.roundTrips / ops,
    walBytesPerOp: ops === 0 ? 0 : sample.walBytes / ops,
    nodeCpuPerOp: sample.nodeCpuMs / ops,
    postgresCpuPerOp: sample.postgresCpuMs / ops,
    busy: sample.seconds === 0 ? 0 : sample.busyMs / (sample.seconds * 1000),
    rounds: sample.rounds,
    ...(sample.statements === undefined ? {} : { statements: sample.statements }),
    ...(sample.clientBusyMs === undefined ? {} : { clientBusyPerOp: sample.clientBusyMs / ops }),
    ...(extra.target === undefined ? {} : { target: extra.target }),
    ...(extra.ratioTo === undefined ? {} : { ratio: { to: extra.ratioTo.id, value: rate / extra.ratioTo.rate } })
  }
  log(
    `${id}. ${item}: ${fmtRate(rate)}/s (${ops} ops in ${sample.seconds.toFixed(1)} s), mean ${fmtLatency(mean)}, p99 ${fmtLatency(row.p99)}` +
      (row.ratio === undefined ? "" : `, ${fmtRatio(row.ratio.value)} of ${row.ratio.to}`)
  )
  return row
}

// ---------------------------------------------------------------------------------------------
// The HTTP clients run in a worker thread: their own event loop, not the server's.

const httpClientSource = `
const { parentPort, workerData } = require("node:worker_threads")
const { url, tokens, warmupMs, durationMs } = workerData
const current = [...tokens]
const latencies = []
const rotate = async (i) => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "bench-auth" },
    body: JSON.stringify({ refreshToken: current[i] })
  })
  const body = await response.json()
  if (response.status !== 200 || typeof body.refreshToken !== "string") {
    throw new Error("POST /auth/refresh answered " + response.status + " " + JSON.stringify(body))
  }
  current[i] = body.refreshToken
}
const phase = async (ms, record) => {
  const stopAt = performance.now() + ms
  await Promise.all(current.map(async (_, i) => {
    while (performance.now() < stopAt) {
      const start = performance.now()
      await rotate(i)
      if (record) latencies.push(performance.now() - start)
    }
  }))
}
;(async () => {
  await phase(warmupMs, false)
  const go = new Promise((resolve) => parentPort.once("message", resolve))
  parentPort.postMessage({ type: "warm" })
  await go
  const start = performance.now()
  const elu = performance.eventLoopUtilization()
  await phase(durationMs, true)
  const busyMs = performance.eventLoopUtilization(elu).active
  parentPort.postMessage({ type: "done", latencies, seconds: (performance.now() - start) / 1000, busyMs, tokens: current })
})().catch((error) => parentPort.postMessage({ type: "error", message: String((error && error.stack) || error) }))
`

type WorkerMessage =
  | { readonly type: "warm" }
  | {
    readonly type: "done"
    readonly latencies: Array<number>
    readonly seconds: number
    readonly busyMs: number
    readonly tokens: Array<string>
  }
  | { readonly type: "error"; readonly message: string }

/** 20 fetch clients in a worker, each chaining its own refresh tokens; the worker ends with the scope. */
const httpRotations = (url: string, tokens: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const messages = yield* Queue.unbounded<WorkerMessage>()
    const worker = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const worker = new Worker(httpClientSource, {
          eval: true,
          workerData: { url, tokens, warmupMs: config.warmupMs, durationMs: config.refreshSeconds * 1000 }
        })
        worker.on("message", (message: WorkerMessage) => messages.unsafeOffer(message))
        worker.on("error", (error) => messages.unsafeOffer({ type: "error", message: error.message }))
        return worker
      }),
      (worker) => Effect.promise(() => worker.terminate())
    )
    const next = Effect.flatMap(Queue.take(messages), (message) =>
      message.type === "error" ? Effect.dieMessage(`HTTP client worker: ${message.message}`) : Effect.succeed(message)
    )
    const warm = yield* next
    if (warm.type !== "warm") return yield* Effect.dieMessage("HTTP client worker: unexpected message")
    if (config.statements) yield* statementsReset
    const walBefore = yield* walPosition
    const tripsBefore = roundTrips
    const cpuBefore = { node: nodeCpuMs(), postgres: postgresCpuMs() }
    const elu = performance.eventLoopUtilization()
    worker.postMessage("go")
    const done = yield* next
    if (done.type !== "done") return yield* Effect.dieMessage("HTTP client worker: unexpected message")
    const busy = performance.eventLoopUtilization(elu)
    const latencies = new Recorder()
    for (const ms of done.latencies) latencies.push(ms)
    const sample: Sample = {
      latencies,
      seconds: done.seconds,
      nodeCpuMs: nodeCpuMs() - cpuBefore.node,
      postgresCpuMs: postgresCpuMs() - cpuBefore.postgres,
      roundTrips: roundTrips - tripsBefore,
      walBytes: (yield* walPosition) - walBefore,
      busyMs: busy.active,
      rounds: [done.latencies.length / done.seconds],
      clientBusyMs: done.busyMs,
      ...(config.statements ? { statements: yield* statementsRead } : {})
    }
    return { sample, tokens: done.tokens }
  }).pipe(Effect.scoped)

// ---------------------------------------------------------------------------------------------
// The benchmark

interface Facts {
  readonly postgres: string
  readonly settings: ReadonlyArray<{ readonly name: string; readonly setting: string; readonly unit: string | null }>
  readonly database: string
  readonly poolSize: number
  readonly jwtLifetimeSeconds: number
  /** 1-minute load average when the measurements started: other work on a shared machine. */
  readonly loadBefore: number
}

/** The application as `npm start` builds it (MainLive: migrated database, services, HTTP on a free port). */
const bench = (database: string) =>
  Effect.gen(function* () {
    yield* countRoundTrips
    log("starting the application (MainLive: migrations, services, HTTP)")
    const app = yield* Layer.build(MainLive)
    return yield* measureAll(database, app).pipe(Effect.provide(app))
  })

const measureAll = (database: string, core: Context.Context<Layer.Layer.Success<typeof MainLive>>) =>
  Effect.gen(function* () {
    const sql = SqlClient.SqlClient.pipe(Effect.provide(core))
    if (config.statements) yield* SqlClient.SqlClient.pipe(Effect.flatMap((sql) => sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`))
    const services = Effect.all({ auth: Auth, jwt: Jwt, sessions: Sessions, directory: Directory, sql: SqlClient.SqlClient }).pipe(
      Effect.provide(core)
    )
    const { auth, jwt, sessions, directory } = yield* services
    const client = yield* sql

    const [version] = yield* client<{ version: string }>`SELECT version()`
    const facts: Facts = {
      postgres: version?.version ?? "unknown",
      settings: yield* client<{ name: string; setting: string; unit: string | null }>`
        SELECT name, setting, unit FROM pg_settings
         WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers', 'max_connections')
         ORDER BY name`,
      database,
      poolSize: Number(process.env.DB_POOL_MAX ?? 10),
      jwtLifetimeSeconds: jwt.lifetimeSeconds,
      loadBefore: Os.loadavg()[0] ?? Number.NaN
    }

    // One organization, one user per client; a random slug so an external database can be reused.
    const slug = `bench-${Crypto.randomBytes(4).toString("hex")}`
    const users = range(config.clients).map((i) => `client-${i}@${slug}.example`)
    log(`creating organization ${slug} with ${users.length} users`)
    yield* directory.createOrganization({ slug, name: "Auth benchmark" })
    yield* Effect.forEach(
      users,
      (email, i) =>
        directory.createUser({ organizationSlug: slug, email, role: "INVESTIGATOR", displayName: `Client ${i}`, password: Redacted.make(password) }),
      { concurrency: 2, discard: true }
    )
    const login = (client: number) =>
      sessions.login({ email: users[client % users.length]!, password: Redacted.make(password), organization: slug }, clientInfo)
    const pairs = yield* Effect.forEach(range(config.clients), login, { concurrency: config.loginClients })
    const claims = yield* Effect.forEach(pairs, (pair) => jwt.verify(pair.accessToken))
    const subjects = claims.map((c) => ({ userId: c.sub, organizationId: c.org, sessionId: c.sid, role: c.role }))

    const rows: Array<Row> = []
    const verifyMs = config.verifySeconds * 1000
    const needsFresh = runs("a", "b", "d")
    if (needsFresh) log(`signing ${config.tokens.toLocaleString("en")} fresh access tokens over ${subjects.length} sessions`)
    const fresh = needsFresh
      ? yield* Effect.forEach(range(config.tokens), (i) => Effect.map(jwt.sign(subjects[i % subjects.length]!), (s) => s.token), { concurrency: 8 })
      : []

    // a, b: raw jose against Jwt.verify, both on fresh tokens (neither caches), side by side.
    let a: Row | undefined
    if (runs("a", "b")) {
      const first = claims[0]!
      const publicKey = yield* Effect.promise(() => importJWK(jwt.jwks.keys[0] as JWK, "EdDSA"))
      const joseOptions = { algorithms: ["EdDSA"], issuer: first.iss, audience: typeof first.aud === "string" ? first.aud : [...first.aud], typ: "at+jwt" }
      let cursorA = 0
      let cursorB = 0
      log(`a/b: raw jose and Jwt.verify, ${config.rounds} rounds of ${(config.verifySeconds / config.rounds).toFixed(1)} s each`)
      const ab = yield* sideBySide(
        { clients: config.clients, op: () => Effect.promise(() => jwtVerify(fresh[cursorA++ % fresh.length]!, publicKey, joseOptions)) },
        { clients: config.clients, op: () => jwt.verify(fresh[cursorB++ % fresh.length]!) },
        verifyMs / config.rounds
      )
      a = toRow("a", "raw jose `jwtVerify`, fresh tokens (reference)", config.clients, ab.ref)
      rows.push(a, toRow("b", "`Jwt.verify`, fresh tokens", config.clients, ab.sub, { target: targets.freshVerify, ratioTo: a }))
    }

    // c: the cached path, beside the cost of the driver itself.
    if (runs("c", "c0")) {
      const seen = pairs.map((pair) => pair.accessToken)
      yield* Effect.forEach(seen, (token) => auth.verify(token), { discard: true })
      log(`c: Auth.verify of a token already seen, ${config.rounds} rounds beside the driver floor`)
      const c = yield* sideBySide(
        { clients: config.clients, op: () => Effect.void },
        { clients: config.clients, op: (client) => auth.verify(seen[client]!) },
        verifyMs / config.rounds
      )
      const floor = toRow("c0", "driver floor: `Effect.void` per op (reference)", config.clients, c.ref)
      rows.push(floor, toRow("c", "`Auth.verify`, token already seen (cached)", config.clients, c.sub, { target: targets.cachedVerify, ratioTo: floor }))
    }

    // d: fresh tokens through Auth.verify: each one once, never seen by Auth before.
    if (runs("d")) {
      let cursorD = 0
      log(`d: Auth.verify of fresh tokens (${config.verifySeconds} s or until the ${fresh.length} tokens run out)`)
      const d = yield* measure(
        { clients: config.clients, op: () => auth.verify(fresh[cursorD++]!), exhausted: () => cursorD >= fresh.length - config.clients },
        verifyMs,
        { warmupMs: 500 }
      )
      rows.push(toRow("d", "`Auth.verify`, fresh tokens (signature + session check)", config.clients, d, a === undefined ? {} : { ratioTo: a }))
    }

    // e: Argon2id alone against a whole login, side by side.
    if (runs("e", "e0")) {
      const [stored] = yield* client<{ password_hash: string }>`SELECT password_hash FROM users WHERE email = ${users[0]!}`
      const hash = stored!.password_hash
      log(`e: argon2.verify and Sessions.login, ${config.loginClients} clients, 2 rounds of ${(config.loginSeconds / 2).toFixed(1)} s each`)
      const e = yield* sideBySide(
        {
          clients: config.loginClients,
          op: () =>
            Effect.promise(() => Argon2.verify(hash, password)).pipe(
              Effect.flatMap((ok) => (ok ? Effect.void : Effect.dieMessage("argon2.verify rejected the password")))
            )
        },
        { clients: config.loginClients, op: login },
        (config.loginSeconds * 1000) / 2,
        2
      )
      const argon = toRow("e0", "`argon2.verify` alone, the stored hash (reference)", config.loginClients, e.ref)
      rows.push(argon, toRow("e", "`Sessions.login`", config.loginClients, e.sub, { ratioTo: argon }))
    }

    // f0: a write transaction of a rotation's shape (5 round trips, one commit), no application logic.
    let bare: Row | undefined
    if (runs("f0")) {
      yield* client`CREATE TABLE IF NOT EXISTS bench_auth_rows (id int PRIMARY KEY, n bigint NOT NULL, at timestamptz NOT NULL)`
      yield* client`CREATE TABLE IF NOT EXISTS bench_auth_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, row_id int NOT NULL, at timestamptz NOT NULL)`
      yield* Effect.addFinalizer(() => client`DROP TABLE IF EXISTS bench_auth_rows, bench_auth_log`.pipe(Effect.ignore))
      yield* client`INSERT INTO bench_auth_rows (id, n, at) SELECT i, 0, now() FROM generate_series(0, ${config.clients - 1}) AS i ON CONFLICT (id) DO NOTHING`
      log(`f0: bare write transactions, ${config.clients} clients, ${config.refreshSeconds / 2} s`)
      const f0 = yield* measure(
        {
          clients: config.clients,
          op: (id) =>
            client.withTransaction(
              Effect.gen(function* () {
                yield* client`SELECT n FROM bench_auth_rows WHERE id = ${id} FOR UPDATE`
                yield* client`UPDATE bench_auth_rows SET n = n + 1, at = now() WHERE id = ${id}`
                yield* client`INSERT INTO bench_auth_log (row_id, at) VALUES (${id}, now())`
              })
            )
        },
        (config.refreshSeconds * 1000) / 2,
        { statements: true }
      )
      bare = toRow("f0", "bare write transaction of a rotation's shape (reference)", config.clients, f0)
      rows.push(bare)
    }

    // f: rotations, each client chaining its own session's refresh tokens.
    const chains = pairs.map((pair) => pair.refreshToken)
    let rotations: Row | undefined
    if (runs("f")) {
      log(`f: Sessions.refresh, ${config.clients} clients each chaining its own session, ${config.refreshSeconds} s`)
      const f = yield* measure(
        {
          clients: config.clients,
          op: (i) => Effect.map(sessions.refresh(Redacted.make(chains[i]!), clientInfo), (next) => void (chains[i] = next.refreshToken))
        },
        config.refreshSeconds * 1000,
        { statements: true }
      )
      rotations = toRow("f", "`Sessions.refresh` rotations", config.clients, f, { target: targets.rotations, ...(bare === undefined ? {} : { ratioTo: bare }) })
      rows.push(rotations)
    }

    // g: the same chains over HTTP: the application's own server (MainLive) and fetch clients in a worker.
    if (runs("g")) {
      log(`g: POST /auth/refresh over HTTP, ${config.clients} clients in a worker thread, ${config.refreshSeconds} s`)
      const g = yield* Effect.gen(function* () {
        // Bound to port 0: ask the server that MainLive started where it listens.
        const server = Context.getOption(core, HttpServer.HttpServer)
        if (Option.isNone(server)) return yield* Effect.dieMessage("MainLive exposes no HttpServer: cannot find its port")
        return yield* httpRotations(`${HttpServer.formatAddress(server.value.address)}/auth/refresh`, chains)
      }).pipe(Effect.scoped)
      rows.push(toRow("g", "`POST /auth/refresh` over HTTP (fetch, keep-alive)", config.clients, g.sample, rotations === undefined ? {} : { ratioTo: rotations }))
    }

    return { rows, facts }
  })

// ---------------------------------------------------------------------------------------------
// Report

const report = (rows: ReadonlyArray<Row>, facts: Facts) => {
  const cores = Os.availableParallelism()
  const verdict = (row: Row) => (row.target === undefined ? "" : row.rate >= row.target ? "met" : "**missed**")
  const main =
    "| | item | clients | ops | ops/s | mean | p50 | p99 | target | | ratio |\n" +
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n" +
    rows
      .map(
        (r) =>
          `| ${r.id} | ${r.item} | ${r.clients} | ${r.ops.toLocaleString("en")} | **${fmtRate(r.rate)}** | ${fmtLatency(r.mean)} | ` +
          `${fmtLatency(r.p50)} | ${fmtLatency(r.p99)} | ${r.target === undefined ? "" : `≥ ${fmtRate(r.target)}/s`} | ${verdict(r)} | ` +
          `${r.ratio === undefined ? "" : `${fmtRatio(r.ratio.value)} ${r.ratio.to}`} |`
      )
      .join("\n")
  const diagnostics =
    "| | measured | ops/s per phase | DB round trips / op | WAL bytes / op | CPU / op: Node (all threads) | CPU / op: PostgreSQL | " +
    `CPU ceiling on ${cores} cores | main event loop busy |\n` +
    "|---|---:|---|---:|---:|---:|---:|---:|---:|\n" +
    rows
      .map(
        (r) =>
          `| ${r.id} | ${r.seconds.toFixed(1)} s | ${r.rounds.map(fmtRate).join(", ")} | ${r.roundTripsPerOp.toFixed(2)} | ` +
          `${Math.round(r.walBytesPerOp).toLocaleString("en")} | ${fmtLatency(r.nodeCpuPerOp)} | ${fmtLatency(r.postgresCpuPerOp)} | ` +
          `${fmtRate((cores * 1000) / (r.nodeCpuPerOp + (Number.isNaN(r.postgresCpuPerOp) ? 0 : r.postgresCpuPerOp)))}/s | ` +
          `${(r.busy * 100).toFixed(0)} %${r.clientBusyPerOp === undefined ? "" : ` (fetch worker: ${fmtLatency(r.clientBusyPerOp)} / op)`} |`
      )
      .join("\n")
  const statements = rows
    .filter((r) => r.statements !== undefined)
    .map((r) => {
      const list = r.statements!
      const perOp = (ms: number) => fmtLatency(ms / r.ops)
      const total = list.reduce((sum, s) => sum + s.execMs + s.planMs, 0)
      return (
        `${r.id} (${r.ops.toLocaleString("en")} ops; top-level and nested statements, pg_stat_statements):\n\n` +
        "| statement | calls / op | exec / op | plan / op | share |\n|---|---:|---:|---:|---:|\n" +
        list
          .map(
            (s) =>
              `| ${s.toplevel ? "" : "(nested) "}\`${s.query.length > 110 ? `${s.query.slice(0, 107)}…` : s.query}\` | ${(s.calls / r.ops).toFixed(2)} | ` +
              `${perOp(s.execMs)} | ${perOp(s.planMs)} | ${((100 * (s.execMs + s.planMs)) / total).toFixed(0)} % |`
          )
          .join("\n")
      )
    })
  const table =
    `${main}\n\nDiagnostics (measured phases only):\n\n${diagnostics}` +
    (statements.length === 0 ? "" : `\n\nServer time per statement:\n\n${statements.join("\n\n")}`)

  const markdown = `# Auth throughput

Generated by \`npm run bench -- auth\` (\`bench/auth.ts\`) on ${new Date().toISOString()}.

${table}

## Machine and settings

- ${machineLine()}
- 1-minute load average ${facts.loadBefore.toFixed(1)} when the measurements started, ${(Os.loadavg()[0] ?? Number.NaN).toFixed(1)} at the end
  (the benchmark itself keeps about 2 busy; more means other work shared the CPUs)${config.only === undefined ? "" : `
- Items run: ${[...config.only].join(", ")} (BENCH_ONLY)`}
- ${facts.postgres}
- Database: ${facts.database}
- Server settings: ${facts.settings.map((s) => `${s.name}=${s.setting}${s.unit !== null && s.unit !== "" ? ` (${s.unit})` : ""}`).join(", ")}
- Application: \`CoreLive\` from layers/Main.ts, pool of ${facts.poolSize} connections (\`DB_POOL_MAX\`), a freshly generated
  Ed25519 \`JWT_PRIVATE_KEY\`, access tokens of ${facts.jwtLifetimeSeconds} s, Argon2id at the configured parameters
  (defaults: m=19 MiB, t=2, p=1), \`REFRESHES_PER_SESSION_PER_MINUTE=${config.refreshesPerMinute}\` (so the limiter never
  throttles), \`LOG_LEVEL=warn\`; everything else from the environment or the defaults.
- Load: ${config.clients} clients (${config.loginClients} for logins), ${config.tokens.toLocaleString("en")} fresh access tokens signed up
  front over ${config.clients} sessions; the benchmark and the application share one Node process (one event loop),
  except the HTTP clients of g, which run in a worker thread.

## Method

1. An embedded PostgreSQL in a temporary directory (or \`BENCH_DATABASE_URL\`) is migrated with \`migrate()\`;
   \`CoreLive\` is built over it with the settings above. One organization with ${config.clients} users is created with
   \`Directory\`, and each user logs in once: one session per client.
2. A client is a fiber that runs its operation back to back (a closed loop: the next one starts when the last
   returns). The latency of each operation is taken with \`performance.now()\` around it, so under concurrency it
   includes waiting for the event loop, a pool connection or a lock. ops/s = operations completed in the measured
   phases / their wall time. Every item is first run untimed for ${config.warmupMs} ms (d: 500 ms) as a warm-up.
   With closed-loop clients the mean latency is about clients / throughput (Little's law): in c, a verification
   that the runtime preempts (Effect yields every 2,048 operations) waits for the other fibers, so read p50 as the
   cost of one operation and the mean as the queueing.
3. References are measured in the same run, in the same driver, on the same key, hash or pool, so that the ratio
   survives a noisy machine: a/b and c0/c run side by side in ${config.rounds} rounds of ${(config.verifySeconds / config.rounds).toFixed(1)} s
   each, order alternating; e0/e in 2 rounds of ${(config.loginSeconds / 2).toFixed(1)} s; "ops/s per phase" in the diagnostics shows the spread.
   - **a** calls jose's \`jwtVerify\` directly (the service's public key, \`algorithms\`, \`issuer\`, \`audience\`, \`typ\`);
     **b** calls \`Jwt.verify\` (the same plus the token shape check, a key resolver by \`kid\`, the claims schema
     decode and a span). Both cycle through the same pre-signed tokens; neither caches, so every call verifies a signature.
   - **c0** is the driver with an operation that does nothing (\`Effect.void\`): the floor of the harness.
     **c** verifies, again and again, a token each client had verified once before: the token cache and the
     session-status cache of \`Auth\` answer (no database round trip unless the status entry ages out).
   - **d** gives \`Auth.verify\` each pre-signed token exactly once (none was seen by \`Auth\` before): signature,
     claims, and the session check, whose status entries are cached from the logins (same ${config.clients} sessions).
     It stops early (shorter "measured") if the ${config.tokens.toLocaleString("en")} tokens run out.
   - **e0** is \`argon2.verify\` of the stored hash of a bench user; **e** is a whole \`Sessions.login\` (user lookup,
     Argon2id, session and refresh-token insert and audit row in one transaction, token signing).
   - **f0** is a write transaction of a rotation's shape, per client its own row, without application logic:
     \`BEGIN; SELECT … FOR UPDATE; UPDATE; INSERT; COMMIT\` (5 round trips, one commit) through the same pool.
     **f** is \`Sessions.refresh\`, each client chaining its own session's tokens (R1 → R2 → R3 …), for ${config.refreshSeconds} s.
   - **g** continues the same chains over HTTP: \`AppLive\` (its own \`CoreLive\` over the same pool, listening on
     127.0.0.1 port 0) and ${config.clients} \`fetch\` clients (keep-alive) in a worker thread doing \`POST /auth/refresh\`.
     The worker has its own event loop but shares the CPUs with the server and PostgreSQL.
4. Diagnostics: "DB round trips / op" counts calls of \`pg.Client#query\` (every statement, \`BEGIN\` and \`COMMIT\`
   included) during the measured phases; "WAL bytes / op" is the advance of \`pg_current_wal_lsn()\` over them (whole
   server); "event loop busy" is \`performance.eventLoopUtilization()\` of the main thread (100 % = the application's
   one JavaScript thread was the bottleneck). "CPU ceiling" is ${"`"}cores / (Node CPU + PostgreSQL CPU) per op${"`"}: the
   rate if every core did nothing else, a bound that the achieved rate approaches when the item is CPU-bound.
`
  return { table, markdown }
}

// ---------------------------------------------------------------------------------------------
// Entry point: everything lives in one scope that closes on success, failure and Ctrl-C.

const main = Effect.gen(function* () {
  const privateKey = yield* Effect.promise(async () => exportPKCS8((await generateKeyPair("EdDSA", { extractable: true })).privateKey))
  const provider = ConfigProvider.fromMap(
    new Map(
      Object.entries({
        JWT_PRIVATE_KEY: privateKey,
        JWT_ALGORITHM: "EdDSA",
        SEED_DEMO: "false",
        REFRESHES_PER_SESSION_PER_MINUTE: String(config.refreshesPerMinute),
        LOG_LEVEL: "warn",
        HOST: "127.0.0.1",
        PORT: "0"
      })
    )
  ).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))

  const { url, database, dataDir } = yield* benchDatabase(
    log,
    config.statements
      ? { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "all", "pg_stat_statements.track_planning": "on" }
      : undefined
  )
  if (dataDir !== undefined) postmasterPid = Number(Fs.readFileSync(Path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])
  const { rows, facts } = yield* bench(database).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", url]])).pipe(ConfigProvider.orElse(() => provider)))
  )
  writeResults(resultsFile, report(rows, facts), log)
}).pipe(Effect.scoped)

runBenchmark(main, log)
