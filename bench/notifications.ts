/**
 * Realtime notifications: the project's /ws/notifications beside a Socket.IO 4.8 server and a bare `ws`
 * server doing the same job (JWT verification with the project's algorithm, the session check, rooms, the
 * unread count from the database at connect, notifications committed in PostgreSQL and fanned out through
 * LISTEN/NOTIFY). Each server is its own process (`node --import tsx`), driven in turn by the same load
 * generator processes (bench/notifications/load.ts) and HTTP writer (bench/notifications/writer.ts),
 * interleaved, 3 rounds. Only the project's public contract is used (PROTOCOL.md: /ws/notifications,
 * POST /notifications, GET /readyz, GET /metrics, the JWKS; environment variables), never its internals.
 *
 *   npm run bench -- notifications          (or: npx tsx bench/notifications.ts)
 *
 * Per round and server: idle sockets (RSS and heap per connection at 10,000 and 18,000), org-wide fan-out to
 * 1,000 and 10,000 sockets (commit-to-frame latency), targeted notifications at 1,000/s (send-to-frame), and
 * authenticated connects/s. Settings: BENCH_* variables (bench/README.md). Writes bench/results/notifications.md.
 */
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import { setTimeout as sleep } from "node:timers/promises"
import * as Url from "node:url"
import pg from "pg"
import * as Children from "./http/Children.ts"
import * as Jwt from "./http/Jwt.ts"
import { postgresCpuMs, processCpuMs } from "./http/Proc.ts"
import { probe } from "./notifications/Probe.ts"
import {
  type ClientKind,
  type Credential,
  type LoaderReply,
  type LoaderRequest,
  type Problem,
  type ServerName,
  serverNames,
  type Target,
  wallNow,
  type WriterReply,
  type WriterRequest
} from "./notifications/Protocol.ts"
import { type Burst, type Ceiling, type ConnectResult, type Facts, type Memory, report, type RoundResult, type TargetedResult } from "./notifications/Report.ts"
import { seed, type Seeded, type SeededOrg } from "./notifications/Seed.ts"
import { benchClient, benchDatabase, intFromEnv, postgresFacts, readPostmasterPid, runBenchmark, writeResults } from "./Support.ts"

// ---------------------------------------------------------------------------------------------
// Configuration

const allScenarios = ["idle", "fanout", "targeted", "connects"] as const
type Scenario = (typeof allScenarios)[number]

const config = (() => {
  const connections = intFromEnv("BENCH_CONNECTIONS", 18_000, 3)
  const fanoutLarge = intFromEnv("BENCH_FANOUT_LARGE", 10_000, 1)
  const fanoutSmall = intFromEnv("BENCH_FANOUT_SMALL", 1_000, 1)
  const servers = (() => {
    const raw = process.env.BENCH_SERVERS
    if (raw === undefined || raw.trim() === "") return serverNames
    const names = raw.split(",").map((name) => name.trim().toLowerCase())
    const unknown = names.filter((name) => !serverNames.includes(name as ServerName))
    if (unknown.length > 0) throw new Error(`BENCH_SERVERS: unknown ${unknown.join(", ")} (known: ${serverNames.join(", ")})`)
    return serverNames.filter((name) => names.includes(name))
  })()
  if (fanoutLarge + fanoutSmall >= connections) {
    throw new Error(`BENCH_FANOUT_LARGE + BENCH_FANOUT_SMALL (${fanoutLarge + fanoutSmall}) must be below BENCH_CONNECTIONS (${connections}): the rest receive the targeted notifications`)
  }
  const loaders = intFromEnv("BENCH_LOADERS", 2, 1)
  if (connections / loaders > 19_000) throw new Error(`BENCH_CONNECTIONS / BENCH_LOADERS must stay under 19,000 sockets per load generator (open-file limit 20,000)`)
  const scenarios = (() => {
    const raw = process.env.BENCH_SCENARIOS
    if (raw === undefined || raw.trim() === "") return allScenarios
    const names = raw.split(",").map((name) => name.trim().toLowerCase())
    const unknown = names.filter((name) => !allScenarios.includes(name as Scenario))
    if (unknown.length > 0) throw new Error(`BENCH_SCENARIOS: unknown ${unknown.join(", ")} (known: ${allScenarios.join(", ")})`)
    return allScenarios.filter((name) => names.includes(name))
  })()
  return {
    servers,
    scenarios,
    rounds: intFromEnv("BENCH_ROUNDS", 3, 1),
    loaders,
    connections,
    connectionsLow: Math.min(intFromEnv("BENCH_CONNECTIONS_LOW", 10_000, 1), connections),
    fanoutLarge,
    fanoutSmall,
    targetedUsers: connections - fanoutLarge - fanoutSmall,
    burstsSmall: intFromEnv("BENCH_FANOUTS_SMALL", 8, 1),
    burstsLarge: intFromEnv("BENCH_FANOUTS_LARGE", 5, 1),
    concurrency: intFromEnv("BENCH_CONCURRENCY", 256, 1),
    connectSeconds: intFromEnv("BENCH_CONNECT_SECONDS", 3, 1),
    connectWarmupMs: 1_000,
    settleSeconds: intFromEnv("BENCH_SETTLE_SECONDS", 10, 0),
    targetedRate: intFromEnv("BENCH_TARGETED_RATE", 1_000, 1),
    targetedSeconds: intFromEnv("BENCH_TARGETED_SECONDS", 10, 1),
    writerConnections: intFromEnv("BENCH_WRITER_CONNECTIONS", 64, 1),
    churnUsers: intFromEnv("BENCH_CHURN_USERS", 4_000, 1),
    churnSessions: intFromEnv("BENCH_CHURN_SESSIONS", 10, 1),
    poolMax: intFromEnv("DB_POOL_MAX", 10, 1),
    deliveryTimeoutMs: 10_000,
    alg: "ES256" as Jwt.Algorithm,
    nodeArgs: (server: string) => (process.env[`BENCH_NODE_ARGS_${server.toUpperCase()}`] ?? "").split(/\s+/).filter((arg) => arg !== "")
  }
})()

export type Config = typeof config

const benchDir = Path.dirname(Url.fileURLToPath(import.meta.url))
const repoDir = Path.dirname(benchDir)
const resultsFile = Path.join(benchDir, "results", "notifications.md")

const t0 = performance.now()
const log = (message: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}`)

const scripts: Readonly<Record<ServerName, string>> = {
  project: "src/main.ts",
  ws: "bench/notifications/ws.ts",
  socketio: "bench/notifications/socketio.ts"
}
const kinds: Readonly<Record<ServerName, ClientKind>> = { project: "json", ws: "json", socketio: "socketio" }

/** VmRSS of a process, bytes (NaN when it is gone). */
const rssBytes = (pid: number) => {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return match === null ? Number.NaN : Number(match[1]) * 1024
  } catch {
    return Number.NaN
  }
}

/** `nodejs_heap_size_used_bytes` from GET /metrics (prom-client's default metric); undefined when not served. */
const heapBytes = async (origin: string) => {
  try {
    const response = await fetch(`${origin}/metrics`)
    if (response.status !== 200) return undefined
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.e+]+)/m.exec(await response.text())
    return match === null ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// Children spoken to over IPC: a request with an id, the reply with the same id.

const channel = <Request extends { readonly id: number }, Reply extends { readonly id: number; readonly type: string }>(child: Children.Child) => {
  let nextId = 1
  const waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>()
  child.process.on("message", (message: Reply | { readonly type: "ready" }) => {
    if (message.type === "ready" || !("id" in message)) return
    const entry = waiting.get(message.id)
    if (entry === undefined) return
    waiting.delete(message.id)
    if (message.type === "error") entry.reject(new Error(`${child.name}: ${(message as unknown as { message: string }).message}`))
    else entry.resolve(message)
  })
  child.process.once("exit", () => {
    for (const entry of waiting.values()) entry.reject(new Error(Children.describeExit(child)))
    waiting.clear()
  })
  const ready = new Promise<void>((resolve, reject) => {
    const onMessage = (message: { readonly type?: string }) => {
      if (message.type !== "ready") return
      child.process.off("message", onMessage)
      resolve()
    }
    child.process.on("message", onMessage)
    child.process.once("exit", () => reject(new Error(Children.describeExit(child))))
  })
  const ask = (request: Omit<Request, "id">) =>
    new Promise<Reply>((resolve, reject) => {
      const id = nextId++
      waiting.set(id, { resolve, reject })
      child.process.send({ ...request, id })
    })
  return { child, ready, ask: ask as unknown as (request: Omit<Request, "id">) => Promise<Reply> }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
type LoaderAsk = (request: DistributiveOmit<LoaderRequest, "id">) => Promise<LoaderReply>
type WriterAsk = (request: DistributiveOmit<WriterRequest, "id">) => Promise<WriterReply>

const expect = <T extends { readonly type: string }, K extends T["type"]>(reply: T, type: K): Extract<T, { type: K }> => {
  if (reply.type !== type) throw new Error(`expected a ${type} reply, got ${JSON.stringify(reply).slice(0, 300)}`)
  return reply as Extract<T, { type: K }>
}

/** Credentials dealt round-robin to the load generators. */
const deal = <T>(items: ReadonlyArray<T>, parts: number) => {
  const out: Array<Array<T>> = Array.from({ length: parts }, () => [])
  items.forEach((item, i) => out[i % parts]!.push(item))
  return out
}

const mergeProblems = (problems: ReadonlyArray<Problem>): Problem => ({
  count: problems.reduce((total, p) => total + p.count, 0),
  first: problems.find((p) => p.first !== undefined)?.first
})

// ---------------------------------------------------------------------------------------------
// Entry point

const main = Effect.gen(function* () {
  const key = yield* Effect.promise(() => Jwt.generateSigningKey(config.alg))
  // track_commit_timestamp: the fan-out latency runs from each notification's commit (pg_xact_commit_timestamp).
  const { url, database, dataDir } = yield* benchDatabase(log, { track_commit_timestamp: "on" })
  const postmasterPid = readPostmasterPid(dataDir)

  // The project's CLI migrates (its public contract: `npm run migrate` with DATABASE_URL).
  log("migrating the benchmark database (node --import tsx src/cli.ts migrate)")
  const migrate = yield* Children.start("migrate", "src/cli.ts", { cwd: repoDir, env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: "Warn" }, ipc: false, echo: log, args: ["migrate"] })
  yield* Effect.promise(() => migrate.exited)
  if (migrate.process.exitCode !== 0) return yield* Effect.dieMessage(`migrate failed: ${Children.describeExit(migrate)}`)

  const client = yield* benchClient(url, "bench-notifications", log)
  const { version: postgresVersion, settings } = yield* postgresFacts(client, ["fsync", "synchronous_commit", "shared_buffers", "max_connections", "track_commit_timestamp"])
  const commitTimestamps = settings.some((s) => s.name === "track_commit_timestamp" && s.setting === "on")
  if (!commitTimestamps) log("track_commit_timestamp is off on this server: fan-out latency is measured from the POST being sent")

  log(`seeding: ${config.fanoutLarge.toLocaleString("en")} + ${config.fanoutSmall.toLocaleString("en")} + ${config.targetedUsers.toLocaleString("en")} users (one session each), ` +
    `${config.churnUsers.toLocaleString("en")} × ${config.churnSessions} sessions for the connects, 3 notifications per user`)
  const seeded: Seeded = yield* Effect.promise(() =>
    seed(client, { large: config.fanoutLarge, small: config.fanoutSmall, targeted: config.targetedUsers, churnUsers: config.churnUsers, churnSessions: config.churnSessions })
  )
  yield* Effect.promise(() => client.query("VACUUM ANALYZE organizations, users, auth_sessions, notifications"))

  // ---- servers
  const sharedEnv: NodeJS.ProcessEnv = {
    ...Children.serverEnv({ databaseUrl: url, key, alg: config.alg, poolMax: config.poolMax }),
    // Every socket of the run comes from 127.x.y.z loopback addresses: no per-address cap may refuse them.
    WS_MAX_SOCKETS_PER_ADDRESS: "100000"
  }
  const serverProcesses = Children.serverSet(scripts, { cwd: repoDir, env: sharedEnv, echo: log, nodeArgs: config.nodeArgs })
  const { origins, children } = serverProcesses
  const startServer = (server: ServerName) =>
    Effect.gen(function* () {
      yield* serverProcesses.start(server)
      yield* Children.waitFor200(children[server], `${origins[server]}${server === "project" ? "/readyz" : "/healthz"}`, server === "project" ? 180_000 : 60_000)
    })
  /** A fresh process for each round: every memory reading starts from a server that has served nothing yet. */
  const restartServer = (server: ServerName) =>
    Effect.gen(function* () {
      const old = children[server]
      yield* Effect.promise(async () => {
        if (!Children.isRunning(old)) return
        old.process.kill("SIGTERM")
        const gone = await Promise.race([old.exited.then(() => true), sleep(15_000).then(() => false)])
        if (!gone) {
          old.process.kill("SIGKILL")
          await old.exited
        }
      })
      yield* startServer(server)
    })

  let jwksNote = "the project was not run"
  if (config.servers.includes("project")) {
    log(`starting the project (${scripts.project})`)
    yield* startServer("project")
    const published = yield* Effect.promise(() => Jwt.publishedKid(origins.project, key.kid, config.alg))
    jwksNote = published.note
    log(published.note)
  }
  const peers = config.servers.filter((s) => s !== "project")
  if (peers.length > 0) log(`starting the peers: ${peers.join(", ")}`)
  for (const server of peers) yield* startServer(server)
  const keys = yield* Effect.promise(() => Jwt.loadKeys(key.pem, config.alg, key.kid))
  const mint = (c: Credential) => Effect.promise(() => Jwt.sign(keys, c).then((t) => t.token))

  log("probing every server: the handshake, the unread count, POST /notifications (401 without a token, 2xx as ADMIN) and its frame")
  for (const server of config.servers) {
    const member = seeded.targeted.members[1]!
    yield* Effect.promise(() =>
      probe({
        server,
        kind: kinds[server],
        origin: origins[server],
        member,
        memberToken: () => Jwt.sign(keys, member).then((t) => t.token),
        adminToken: () => Jwt.sign(keys, seeded.targeted.admin).then((t) => t.token),
        unreadInDatabase: () =>
          client.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL`, [member.userId]).then((r) => r.rows[0]?.n ?? -1)
      })
    )
    log(`probe ${server}: ok`)
  }

  // ---- load generators and the writer
  const loaderChildren = yield* Effect.forEach(Array.from({ length: config.loaders }, (_, i) => i), (i) =>
    Children.start(`load-${i}`, "bench/notifications/load.ts", {
      cwd: repoDir,
      env: { ...process.env, BENCH_LOADER_INDEX: String(i), BENCH_JWT_PEM: key.pem, BENCH_JWT_ALG: config.alg, BENCH_JWT_KID: key.kid },
      ipc: true,
      echo: log
    }))
  const loaders = loaderChildren.map((child) => channel<LoaderRequest, LoaderReply>(child))
  const writerChild = yield* Children.start("writer", "bench/notifications/writer.ts", { cwd: repoDir, env: process.env, ipc: true, echo: log })
  const writer = channel<WriterRequest, WriterReply>(writerChild)
  yield* Effect.promise(() => Promise.all([...loaders.map((l) => l.ready), writer.ready]))
  const askLoaders = (make: (i: number) => DistributiveOmit<LoaderRequest, "id">) => Promise.all(loaders.map((l, i) => (l.ask as LoaderAsk)(make(i))))
  const askWriter = writer.ask as WriterAsk

  const target = (server: ServerName): Target => ({ kind: kinds[server], origin: origins[server] })
  const ensureRunning = (server: ServerName) =>
    Children.isRunning(children[server]) ? Effect.void : Effect.dieMessage(Children.describeExit(children[server]))

  // ---- connects/s: each server walks the churn sessions with its own cursor (a session is not reused within minutes).
  const cursors = Object.fromEntries(config.servers.map((s, i) => [s, Math.floor((i * seeded.churn.length) / config.servers.length)])) as Record<ServerName, number>
  const rateEstimate = Object.fromEntries(config.servers.map((s) => [s, 1_500])) as Record<ServerName, number>
  const churnSlice = (server: ServerName, count: number) => {
    const out: Array<Credential> = []
    for (let i = 0; i < count; i++) out.push(seeded.churn[(cursors[server] + i) % seeded.churn.length]!)
    return out
  }
  const connectRate = (server: ServerName, warmupMs: number, measuredMs: number) =>
    Effect.gen(function* () {
      yield* ensureRunning(server)
      const wanted = Math.ceil((rateEstimate[server] * (warmupMs + measuredMs) * 2) / 1000) + 2 * config.concurrency
      const count = Math.min(seeded.churn.length, wanted)
      const credentials = deal(churnSlice(server, count), config.loaders)
      yield* Effect.promise(() => askLoaders((i) => ({ type: "prepare", credentials: credentials[i]! })))
      const startAt = wallNow() + 200
      const windowStart = startAt + warmupMs
      const windowEnd = windowStart + measuredMs
      const pids = { server: children[server].pid, loaders: loaderChildren.map((c) => c.pid) }
      const sample = () => ({ at: wallNow(), server: processCpuMs(pids.server), postgres: postgresCpuMs(postmasterPid), load: pids.loaders.reduce((t, pid) => t + processCpuMs(pid), 0) })
      let before = sample()
      let after = sample()
      const timers = [
        setTimeout(() => (before = sample()), Math.max(0, windowStart - wallNow())),
        setTimeout(() => (after = sample()), Math.max(0, windowEnd - wallNow()))
      ]
      const replies = yield* Effect.promise(() =>
        askLoaders(() => ({
          type: "connectRate",
          target: target(server),
          concurrency: Math.max(1, Math.round(config.concurrency / config.loaders)),
          startAt,
          windowStart,
          windowEnd
        }))
      ).pipe(Effect.ensuring(Effect.sync(() => timers.forEach(clearTimeout))))
      const results = replies.map((r) => expect(r, "connectRate"))
      const used = results.reduce((t, r) => t + r.tokensUsed, 0)
      cursors[server] = (cursors[server] + used) % seeded.churn.length
      const completed = results.reduce((t, r) => t + r.completed, 0)
      const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b)
      const seconds = measuredMs / 1000
      rateEstimate[server] = Math.max(1_000, completed / seconds)
      const result: ConnectResult = {
        completed,
        seconds,
        latencies,
        failures: mergeProblems(results.map((r) => r.failures)),
        wrapped: results.some((r) => r.wrapped),
        serverCpuMs: after.server - before.server,
        postgresCpuMs: after.postgres - before.postgres,
        loadCpuMs: after.load - before.load,
        cpuWindowMs: after.at - before.at
      }
      return result
    })

  /**
   * Waits until the server and the load generators have gone quiet (each under 10 % of a core for half a second; at most 30 s): the work a phase leaves behind
   * (closing 18,000 sockets, a delivery backlog) must not land in the next phase's figures.
   */
  const quiet = (server: ServerName) =>
    Effect.promise(async () => {
      // The server and each load generator (closing 9,000 Socket.IO clients takes a while after `disconnect()` returns).
      const pids = [children[server].pid, ...loaderChildren.map((c) => c.pid)]
      const deadline = performance.now() + 30_000
      for (;;) {
        const before = pids.map(processCpuMs)
        await sleep(500)
        const busy = pids.some((pid, i) => processCpuMs(pid) - before[i]! > 50)
        if (!busy || performance.now() > deadline) return
      }
    })

  const memory = (server: ServerName) =>
    Effect.gen(function* () {
      yield* quiet(server)
      if (config.settleSeconds > 0) yield* Effect.sleep(`${config.settleSeconds} seconds`)
      yield* ensureRunning(server)
      const heap = yield* Effect.promise(() => heapBytes(origins[server]))
      return { rss: rssBytes(children[server].pid), heap } satisfies Memory
    })

  const openSockets = (server: ServerName, credentials: ReadonlyArray<Credential>) =>
    Effect.gen(function* () {
      const parts = deal(credentials, config.loaders)
      const replies = yield* Effect.promise(() =>
        askLoaders((i) => ({ type: "open", target: target(server), credentials: parts[i]!, concurrency: Math.max(1, Math.round(config.concurrency / config.loaders)) }))
      )
      const results = replies.map((r) => expect(r, "open"))
      return {
        opened: results.reduce((t, r) => t + r.opened, 0),
        failures: mergeProblems(results.map((r) => r.failures)),
        seconds: Math.max(...results.map((r) => r.seconds))
      }
    })

  const collect = Effect.promise(() => askLoaders(() => ({ type: "collect" }))).pipe(
    Effect.map((replies) => {
      const results = replies.map((r) => expect(r, "collect"))
      const titles = new Map<string, { times: Array<number>; sockets: number }>()
      for (const result of results) {
        for (const [title, entry] of Object.entries(result.titles)) {
          const merged = titles.get(title) ?? { times: [], sockets: 0 }
          merged.times.push(...entry.times)
          merged.sockets += entry.sockets
          titles.set(title, merged)
        }
      }
      return { titles, dropped: mergeProblems(results.map((r) => r.dropped)), clockSkewMs: Math.max(...results.map((r) => r.clockSkewMs)) }
    })
  )

  /** Frames of `notification:new` received since the last collect, all load generators together. */
  const received = Effect.promise(() => askLoaders(() => ({ type: "progress" }))).pipe(
    Effect.map((replies) => replies.reduce((t, r) => t + expect(r, "progress").count, 0))
  )
  const waitForDeliveries = (expected: number) =>
    Effect.gen(function* () {
      const deadline = performance.now() + config.deliveryTimeoutMs
      for (;;) {
        const count = yield* received
        if (count >= expected || performance.now() > deadline) return count
        yield* Effect.sleep("20 millis")
      }
    })

  /** Commit time (wall-clock ms) of the transactions that wrote these notification ids. */
  const commitTimes = (ids: ReadonlyArray<string>) =>
    Effect.promise(async () => {
      const out = new Map<string, number>()
      if (!commitTimestamps || ids.length === 0) return out
      const { rows } = await client.query<{ id: string; ms: number | null }>(
        `SELECT id::text AS id, (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000)::float8 AS ms FROM notifications WHERE id = ANY($1::bigint[])`,
        [ids]
      )
      for (const row of rows) if (row.ms !== null) out.set(row.id, row.ms)
      return out
    })

  const fanout = (server: ServerName, round: number, size: "small" | "large", org: SeededOrg, bursts: number) =>
    Effect.gen(function* () {
      const adminToken = yield* mint(org.admin)
      const sent: Array<{ title: string; sentAt: number; answeredAt: number; status: number; firstId: string; rows: number }> = []
      // Burst 0 warms the path up (the process is fresh) and is not recorded.
      for (let seq = 0; seq <= bursts; seq++) {
        yield* ensureRunning(server)
        const title = seq === 0 ? `[warmup:${server}:${size}:r${round + 1}]` : `[fanout:${server}:${size}:r${round + 1}:${seq}]`
        const before = yield* received
        const reply = expect(
          yield* Effect.promise(() => askWriter({ type: "post", origin: origins[server], token: adminToken, body: { title, body: "org-wide notification from bench/notifications" } })),
          "post"
        )
        let ids: ReadonlyArray<string> = []
        try {
          ids = (JSON.parse(reply.body) as { ids?: ReadonlyArray<string> }).ids ?? []
        } catch {
          // reported below through the status
        }
        if (seq > 0) sent.push({ title, sentAt: reply.sentAt, answeredAt: reply.answeredAt, status: reply.status, firstId: ids[0] ?? "", rows: ids.length })
        if (reply.status < 200 || reply.status >= 300) {
          log(`fan-out ${server} ${size}: POST /notifications answered ${reply.status} ${reply.body.slice(0, 200)}`)
          continue
        }
        yield* waitForDeliveries(before + org.members.length)
        yield* Effect.sleep("100 millis")
      }
      return sent
    })

  const runTargeted = (server: ServerName, round: number) =>
    Effect.gen(function* () {
      const adminToken = yield* mint(seeded.targeted.admin)
      const prefix = `[targeted:${server}:r${round + 1}]#`
      const before = { server: processCpuMs(children[server].pid), postgres: postgresCpuMs(postmasterPid) }
      const reply = expect(
        yield* Effect.promise(() =>
          askWriter({
            type: "targeted",
            origin: origins[server],
            token: adminToken,
            userIds: seeded.targeted.members.map((m) => m.userId),
            rate: config.targetedRate,
            durationMs: config.targetedSeconds * 1000,
            prefix,
            connections: config.writerConnections
          })
        ),
        "targeted"
      )
      const after = { server: processCpuMs(children[server].pid), postgres: postgresCpuMs(postmasterPid) }
      yield* waitForDeliveries(reply.ok)
      return { reply, cpu: { server: after.server - before.server, postgres: after.postgres - before.postgres }, prefix }
    })

  const idlePhase = (server: ServerName, round: number) =>
    Effect.gen(function* () {
      const idle = [...seeded.large.members, ...seeded.small.members, ...seeded.targeted.members]
      const base = yield* memory(server)
      const low = yield* openSockets(server, idle.slice(0, config.connectionsLow))
      const atLow = yield* memory(server)
      const high = yield* openSockets(server, idle.slice(config.connectionsLow))
      const atHigh = yield* memory(server)
      const failures = mergeProblems([low.failures, high.failures])
      log(
        `round ${round + 1} ${server.padEnd(8)} idle: ${low.opened.toLocaleString("en")} open → RSS +${((atLow.rss - base.rss) / low.opened / 1024).toFixed(1)} KiB/conn; ` +
          `${(low.opened + high.opened).toLocaleString("en")} open → +${((atHigh.rss - base.rss) / (low.opened + high.opened) / 1024).toFixed(1)} KiB/conn ` +
          `(opened at ${Math.round((low.opened + high.opened) / (low.seconds + high.seconds)).toLocaleString("en")}/s)` +
          `${failures.count > 0 ? `; ${failures.count} failed: ${failures.first}` : ""}`
      )
      yield* collect // nothing expected yet; the receipts start afresh
      return { base, low: atLow, high: atHigh, lowOpened: low.opened, highOpened: low.opened + high.opened, failures, openSeconds: low.seconds + high.seconds }
    })

  const fanoutPhase = (server: ServerName, round: number) =>
    Effect.gen(function* () {
      const smallSent = yield* fanout(server, round, "small", seeded.small, config.burstsSmall)
      const largeSent = yield* fanout(server, round, "large", seeded.large, config.burstsLarge)
      const receipts = yield* collect
      const commits = yield* commitTimes([...smallSent, ...largeSent].map((s) => s.firstId).filter((id) => id !== ""))
      const bursts = (sent: typeof smallSent, expected: number): Array<Burst> =>
        sent.map((s) => {
          const entry = receipts.titles.get(s.title)
          const times = entry?.times ?? []
          const committedAt = commits.get(s.firstId)
          return {
            status: s.status,
            rows: s.rows,
            expected,
            frames: times.length,
            sockets: entry?.sockets ?? 0,
            postMs: s.answeredAt - s.sentAt,
            commitAfterSendMs: committedAt === undefined ? Number.NaN : committedAt - s.sentAt,
            fromCommit: committedAt === undefined ? [] : times.map((t) => t - committedAt),
            fromSend: times.map((t) => t - s.sentAt)
          }
        })
      const small = bursts(smallSent, seeded.small.members.length)
      const large = bursts(largeSent, seeded.large.members.length)
      const p = (bs: ReadonlyArray<Burst>, q: number) => {
        const all = bs.flatMap((b) => (commitTimestamps ? b.fromCommit : b.fromSend)).sort((a, b) => a - b)
        return all.length === 0 ? Number.NaN : all[Math.min(all.length - 1, Math.ceil(q * all.length) - 1)]!
      }
      log(
        `round ${round + 1} ${server.padEnd(8)} fan-out (${commitTimestamps ? "commit" : "send"} → frame): ${seeded.small.members.length.toLocaleString("en")} sockets p50 ${p(small, 0.5).toFixed(1)} p99 ${p(small, 0.99).toFixed(1)} ms, ` +
          `${seeded.large.members.length.toLocaleString("en")} sockets p50 ${p(large, 0.5).toFixed(1)} p99 ${p(large, 0.99).toFixed(1)} ms; ` +
          `frames ${[...small, ...large].reduce((t, b) => t + b.frames, 0).toLocaleString("en")} of ${[...small, ...large].reduce((t, b) => t + b.expected, 0).toLocaleString("en")}`
      )
      return { small, large, dropped: receipts.dropped, clockSkewMs: receipts.clockSkewMs }
    })

  const targetedPhase = (server: ServerName, round: number) =>
    Effect.gen(function* () {
      const targeted = yield* runTargeted(server, round)
      const receipts = yield* collect
      const commits = yield* commitTimes(targeted.reply.ids.filter((id) => id !== ""))
      const fromSend: Array<number> = []
      const fromCommit: Array<number> = []
      let frames = 0
      let unique = 0
      for (const [title, entry] of receipts.titles) {
        if (!title.startsWith(targeted.prefix)) continue
        const [seqText, sentText] = title.slice(targeted.prefix.length).split(" ")
        const sentAt = Number(sentText)
        const firstFrame = Math.min(...entry.times)
        frames += entry.times.length
        unique++
        fromSend.push(firstFrame - sentAt)
        const committedAt = commits.get(targeted.reply.ids[Number(seqText)] ?? "")
        if (committedAt !== undefined) fromCommit.push(firstFrame - committedAt)
      }
      const result: TargetedResult = {
        planned: targeted.reply.planned,
        sent: targeted.reply.sent,
        ok: targeted.reply.ok,
        statuses: targeted.reply.statuses,
        errors: targeted.reply.errors,
        seconds: targeted.reply.seconds,
        maxLagMs: targeted.reply.maxLagMs,
        postLatencies: targeted.reply.postLatencies,
        received: unique,
        frames,
        fromSend: fromSend.sort((a, b) => a - b),
        fromCommit: fromCommit.sort((a, b) => a - b),
        serverCpuMs: targeted.cpu.server,
        postgresCpuMs: targeted.cpu.postgres,
        dropped: receipts.dropped
      }
      const q = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN
      log(
        `round ${round + 1} ${server.padEnd(8)} targeted: ${result.ok.toLocaleString("en")}/${result.sent.toLocaleString("en")} POSTs 2xx, ` +
          `${unique.toLocaleString("en")} delivered, send → frame p50 ${q(result.fromSend, 0.5).toFixed(1)} p99 ${q(result.fromSend, 0.99).toFixed(1)} ms, ` +
          `commit → frame p99 ${q(result.fromCommit, 0.99).toFixed(1)} ms, POST p99 ${q(result.postLatencies, 0.99).toFixed(1)} ms` +
          `${result.errors.count > 0 ? `; ${result.errors.count} failed: ${result.errors.first}` : ""}`
      )
      return { result, clockSkewMs: receipts.clockSkewMs }
    })

  const connectPhase = (server: ServerName, round: number) =>
    Effect.gen(function* () {
      const connect = yield* connectRate(server, config.connectWarmupMs, config.connectSeconds * 1000)
      log(
        `round ${round + 1} ${server.padEnd(8)} connects: ${Math.round(connect.completed / connect.seconds).toLocaleString("en")}/s, ` +
          `p50 ${(connect.latencies[Math.floor(connect.latencies.length / 2)] ?? Number.NaN).toFixed(1)} ms, server CPU ${(connect.serverCpuMs / Math.max(1, connect.completed)).toFixed(3)} ms/connect` +
          `${connect.failures.count > 0 ? `; ${connect.failures.count} failed: ${connect.failures.first}` : ""}${connect.wrapped ? " (tokens reused)" : ""}`
      )
      return connect
    })

  const wants = (scenario: Scenario) => config.scenarios.includes(scenario)
  const serverRound = (server: ServerName, round: number) =>
    Effect.gen(function* () {
      yield* restartServer(server)
      const sockets = wants("idle") || wants("fanout") || wants("targeted")
      const idle = sockets ? yield* idlePhase(server, round) : undefined
      const fan = wants("fanout") ? yield* fanoutPhase(server, round) : undefined
      const targeted = wants("targeted") ? yield* targetedPhase(server, round) : undefined
      if (sockets) {
        const closed = yield* Effect.promise(() => askLoaders(() => ({ type: "closeAll" })))
        if (closed.some((r) => expect(r, "closeAll").open !== 0)) log(`${server}: some sockets did not finish closing within 10 s`)
        yield* quiet(server)
      }
      const connect = wants("connects") ? yield* connectPhase(server, round) : undefined
      const result: RoundResult = {
        round,
        server,
        ...(connect === undefined ? {} : { connect }),
        ...(idle === undefined || !wants("idle") ? {} : { idle }),
        ...(fan === undefined ? {} : { fanout: fan }),
        ...(targeted === undefined ? {} : { targeted: targeted.result }),
        clockSkewMs: Math.max(fan?.clockSkewMs ?? 0, targeted?.clockSkewMs ?? 0)
      }
      return result
    })

  /**
   * The database alone: the peers' targeted transaction (lock the user row, insert, pg_notify, commit) in closed loops on DB_POOL_MAX
   * connections from this process for 2 s. Commits that NOTIFY are serialized by PostgreSQL: this is the ceiling of the targeted rate.
   */
  const ceilings: Array<Ceiling> = []
  const measureCeiling = (when: string) =>
    Effect.promise(async () => {
      const pool = new pg.Pool({ connectionString: url, max: config.poolMax, application_name: "bench-notifications-ceiling" })
      pool.on("error", () => undefined)
      try {
        const users = seeded.targeted.members
        const latencies: Array<number> = []
        const before = postgresCpuMs(postmasterPid)
        const start = performance.now()
        const stopAt = start + 2_000
        await Promise.all(Array.from({ length: config.poolMax }, async () => {
          const c = await pool.connect()
          try {
            while (performance.now() < stopAt) {
              const user = users[Math.floor(Math.random() * users.length)]!
              const t = performance.now()
              await c.query("BEGIN")
              const { rows } = await c.query<{ id: string }>(
                `WITH recipients AS (SELECT id FROM users WHERE organization_id = $1 AND id = $2 AND status = 'ACTIVE' ORDER BY id FOR UPDATE)
                 INSERT INTO notifications (organization_id, user_id, type, title, body) SELECT $1, id, 'GENERAL', 'ceiling', 'bench' FROM recipients RETURNING id::text AS id`,
                [user.organizationId, user.userId]
              )
              await c.query(`SELECT pg_notify('bench_ceiling', chunk) FROM unnest($1::text[]) AS chunk`, [rows.map((r) => r.id)])
              await c.query("COMMIT")
              latencies.push(performance.now() - t)
            }
          } finally {
            c.release()
          }
        }))
        const seconds = (performance.now() - start) / 1000
        const cpu = postgresCpuMs(postmasterPid) - before
        latencies.sort((a, b) => a - b)
        const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? Number.NaN
        const ceiling: Ceiling = { when, clients: config.poolMax, perSecond: latencies.length / seconds, p50Ms: q(0.5), p99Ms: q(0.99), postgresCpuMs: cpu / latencies.length }
        ceilings.push(ceiling)
        log(`database alone (${when}): ${Math.round(ceiling.perSecond).toLocaleString("en")} notifying commits/s on ${config.poolMax} connections, p99 ${ceiling.p99Ms.toFixed(1)} ms`)
      } finally {
        await pool.end()
      }
    })

  if (wants("targeted")) yield* measureCeiling("before the rounds")
  const loadBefore = Os.loadavg()[0] ?? Number.NaN
  const results: Array<RoundResult> = []
  for (let round = 0; round < config.rounds; round++) {
    const order = config.servers.map((_, i) => config.servers[(i + round) % config.servers.length]!)
    for (const server of order) results.push(yield* serverRound(server, round))
  }

  if (wants("targeted")) yield* measureCeiling("after the rounds")

  const facts: Facts = {
    database,
    postgres: postgresVersion,
    settings,
    commitTimestamps,
    loadBefore,
    loadAfter: Os.loadavg()[0] ?? Number.NaN,
    jwks: jwksNote,
    logLines: Object.fromEntries(config.servers.map((server) => [server, children[server].output.lines])) as Partial<Record<ServerName, number>>,
    postgresCpuKnown: postmasterPid !== undefined,
    versions: {
      socketio: JSON.parse(Fs.readFileSync(Path.join(repoDir, "node_modules", "socket.io", "package.json"), "utf8")).version as string,
      ws: JSON.parse(Fs.readFileSync(Path.join(repoDir, "node_modules", "ws", "package.json"), "utf8")).version as string
    },
    seededNotifications: seeded.notifications,
    churnSessions: seeded.churn.length,
    ceiling: ceilings,
    ulimit: (() => {
      try {
        return ChildProcess.execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim()
      } catch {
        return "unknown"
      }
    })()
  }
  writeResults(resultsFile, report(results, config, facts), log)
}).pipe(Effect.scoped)

runBenchmark(main, log)
