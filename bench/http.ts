/**
 * The cost of an HTTP request: the project (`node --import tsx src/main.ts`) beside a bare `node:http`
 * server and a Fastify server that do the same work per request (bench/http/PeerWork.ts), each in its own
 * process on the same database, key and pool size, driven in turn by one load generator process
 * (bench/http/load.ts), 3 rounds with the order rotating. Only the HTTP contract of the project is used
 * (PROTOCOL.md), never its internals: after a rewrite, `src/main.ts` still serves the same routes from the
 * same environment variables.
 *
 *   npm run bench -- http            (or: npx tsx bench/http.ts)
 *
 * Environment: BENCH_DATABASE_URL (else an embedded, ephemeral PostgreSQL in a temp dir), BENCH_CONNECTIONS
 * (32), BENCH_SECONDS (5, after 1 s of warm-up), BENCH_ROUNDS (3), BENCH_USERS (2000), BENCH_SESSIONS_PER_USER
 * (5), BENCH_JWT_ALG (EdDSA | ES256), BENCH_SCENARIOS (healthz,sessions,refresh), DB_POOL_MAX (10, all servers).
 * Prints markdown tables and writes them, with the machine facts and the method, to bench/results/http.md.
 */
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import { setTimeout as sleep } from "node:timers/promises"
import * as Url from "node:url"
import pg from "pg"
import * as Children from "./http/Children.ts"
import * as Jwt from "./http/Jwt.ts"
import type { LoadFailure, LoadRequest, LoadResult, Scenario } from "./http/Protocol.ts"
import { type Measurement, report, type Facts, type HotWindow, servers, type Server } from "./http/Report.ts"
import { knownRefreshTokens, seed } from "./http/Seed.ts"
import { benchClient, benchDatabase, intFromEnv, postgresFacts, readPostmasterPid, runBenchmark, writeResults } from "./Support.ts"

// ---------------------------------------------------------------------------------------------
// Configuration

const scenarios: ReadonlyArray<Scenario> = ["healthz", "sessions", "refresh"]

const config = {
  connections: intFromEnv("BENCH_CONNECTIONS", 32, 1),
  seconds: intFromEnv("BENCH_SECONDS", 5, 1),
  warmupMs: 1_000,
  /** Before round 1, every server runs every scenario untimed for this long: the project's JIT needs more than 1 s. */
  prewarmSeconds: intFromEnv("BENCH_PREWARM_SECONDS", 2, 0),
  rounds: intFromEnv("BENCH_ROUNDS", 3, 1),
  users: intFromEnv("BENCH_USERS", 2_000, 1),
  sessionsPerUser: intFromEnv("BENCH_SESSIONS_PER_USER", 5, 1),
  poolMax: intFromEnv("DB_POOL_MAX", 10, 1),
  alg: Jwt.parseAlgorithm("BENCH_JWT_ALG", process.env.BENCH_JWT_ALG, "ES256"),
  scenarios: (() => {
    const raw = process.env.BENCH_SCENARIOS
    if (raw === undefined || raw.trim() === "") return scenarios
    const names = raw.split(",").map((name) => name.trim().toLowerCase())
    const unknown = names.filter((name) => !scenarios.includes(name as Scenario))
    if (unknown.length > 0) throw new Error(`BENCH_SCENARIOS: unknown ${unknown.join(", ")} (known: ${scenarios.join(", ")})`)
    return scenarios.filter((scenario) => names.includes(scenario))
  })(),
  /** Extra node options per server, e.g. BENCH_NODE_ARGS_PROJECT="--cpu-prof --cpu-prof-dir=/tmp/prof" (written when it stops). */
  nodeArgs: (server: string) => (process.env[`BENCH_NODE_ARGS_${server.toUpperCase()}`] ?? "").split(/\s+/).filter((arg) => arg !== ""),
  /** The per-session refresh limit must never trip (default 30 per minute). */
  refreshesPerMinute: 1_000_000
}

if (config.users < 4 * config.connections) {
  throw new Error(`BENCH_USERS (${config.users}) must be at least 4 × BENCH_CONNECTIONS (${4 * config.connections}): one user per connection for the list, and one per connection and server for the refresh chains`)
}

const benchDir = Path.dirname(Url.fileURLToPath(import.meta.url))
const repoDir = Path.dirname(benchDir)
const resultsFile = Path.join(benchDir, "results", "http.md")

const t0 = performance.now()
const log = (message: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}`)

const scripts: Readonly<Record<Server, string>> = {
  project: "src/main.ts",
  bare: "bench/http/bare.ts",
  fastify: "bench/http/fastify.ts"
}

// ---------------------------------------------------------------------------------------------
// pg_stat_user_tables: HOT updates, read once PostgreSQL has published every refresh's counts.

interface TableStats {
  readonly sessionsUpd: number
  readonly sessionsHot: number
  readonly tokensUpd: number
  readonly tokensHot: number
}

const tableStats = async (client: pg.Client): Promise<TableStats> => {
  const { rows } = await client.query<{ relname: string; n_tup_upd: string; n_tup_hot_upd: string }>(
    `SELECT relname, n_tup_upd::text, n_tup_hot_upd::text FROM pg_stat_user_tables WHERE relname IN ('auth_sessions', 'auth_refresh_tokens')`
  )
  const of = (table: string) => rows.find((row) => row.relname === table)
  return {
    sessionsUpd: Number(of("auth_sessions")?.n_tup_upd ?? 0),
    sessionsHot: Number(of("auth_sessions")?.n_tup_hot_upd ?? 0),
    tokensUpd: Number(of("auth_refresh_tokens")?.n_tup_upd ?? 0),
    tokensHot: Number(of("auth_refresh_tokens")?.n_tup_hot_upd ?? 0)
  }
}

/**
 * A backend publishes its table counters at most once a second, and an idle one within 10 s: wait until
 * auth_sessions shows at least `expected` updates since `base` (one per successful refresh today), for
 * at most 12 s (a project that updates fewer rows per refresh just waits that long).
 */
const settledStats = async (client: pg.Client, base: TableStats, expected: number) => {
  const deadline = Date.now() + 12_000
  for (;;) {
    const stats = await tableStats(client)
    if (stats.sessionsUpd - base.sessionsUpd >= expected) return { stats, settled: true }
    if (Date.now() > deadline) return { stats, settled: false }
    await sleep(200)
  }
}

const minus = (a: TableStats, b: TableStats): TableStats => ({
  sessionsUpd: a.sessionsUpd - b.sessionsUpd,
  sessionsHot: a.sessionsHot - b.sessionsHot,
  tokensUpd: a.tokensUpd - b.tokensUpd,
  tokensHot: a.tokensHot - b.tokensHot
})

// ---------------------------------------------------------------------------------------------
// One request of each kind to each server before measuring: they must answer alike.

const probe = async (origin: string, server: Server, accessToken: string, refreshToken: string, sessionsPerUser: number) => {
  const fail = (what: string) => {
    throw new Error(`${server}: ${what}`)
  }
  const health = await fetch(`${origin}/healthz`)
  const healthBody = await health.text()
  if (health.status !== 200 || JSON.stringify(JSON.parse(healthBody)) !== `{"status":"ok"}`) fail(`GET /healthz answered ${health.status} ${healthBody}`)

  const anonymous = await fetch(`${origin}/auth/sessions`)
  const anonymousBody = (await anonymous.json()) as { readonly code?: unknown }
  if (anonymous.status !== 401 || anonymousBody.code !== "UNAUTHORIZED") fail(`GET /auth/sessions without a token answered ${anonymous.status} ${JSON.stringify(anonymousBody)}`)

  const list = await fetch(`${origin}/auth/sessions`, { headers: { authorization: `Bearer ${accessToken}` } })
  const listBody = (await list.json()) as { readonly sessions?: ReadonlyArray<Record<string, unknown>> }
  if (list.status !== 200 || !Array.isArray(listBody.sessions)) fail(`GET /auth/sessions answered ${list.status} ${JSON.stringify(listBody).slice(0, 300)}`)
  const sessions = listBody.sessions!
  const keys = sessions.map((s) => Object.keys(s).sort().join(","))
  if (sessions.length !== sessionsPerUser || sessions.filter((s) => s.current === true).length !== 1 || keys.some((k) => k !== "createdAt,current,id,lastRefreshedAt")) {
    fail(`GET /auth/sessions: expected ${sessionsPerUser} sessions {id, createdAt, lastRefreshedAt, current}, one current; got ${JSON.stringify(listBody).slice(0, 300)}`)
  }

  const refreshed = await fetch(`${origin}/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "bench-http" },
    body: JSON.stringify({ refreshToken })
  })
  const pair = (await refreshed.json()) as Record<string, unknown> & { readonly user?: Record<string, unknown> }
  const shape = `${Object.keys(pair).sort().join(",")};${Object.keys(pair.user ?? {}).sort().join(",")}`
  if (refreshed.status !== 200 || shape !== "accessToken,expiresAt,refreshExpiresAt,refreshToken,user;displayName,id,organizationId,role") {
    fail(`POST /auth/refresh answered ${refreshed.status} ${JSON.stringify(pair).slice(0, 300)}`)
  }
  const again = await fetch(`${origin}/auth/sessions`, { headers: { authorization: `Bearer ${String(pair.accessToken)}` } })
  if (again.status !== 200) fail(`the access token from POST /auth/refresh was refused: ${again.status} ${await again.text()}`)
  return String(pair.refreshToken)
}

// ---------------------------------------------------------------------------------------------
// The load generator: one child process for the whole run.

const runLoad = (loader: Children.Child, request: LoadRequest) =>
  Effect.promise(
    () =>
      new Promise<LoadResult>((resolve, reject) => {
        const onMessage = (message: LoadResult | LoadFailure) => {
          cleanup()
          if (message.type === "done") resolve(message)
          else reject(new Error(`load generator: ${message.message}`))
        }
        const onExit = () => {
          cleanup()
          reject(new Error(Children.describeExit(loader)))
        }
        const cleanup = () => {
          loader.process.off("message", onMessage)
          loader.process.off("exit", onExit)
        }
        loader.process.on("message", onMessage)
        loader.process.once("exit", onExit)
        loader.process.send(request)
      })
  )

// ---------------------------------------------------------------------------------------------
// Entry point: everything lives in one scope that closes on success, failure and Ctrl-C.

const main = Effect.gen(function* () {
  const key = yield* Effect.promise(() => Jwt.generateSigningKey(config.alg))
  const { url, database, dataDir } = yield* benchDatabase(log)
  const postmasterPid = readPostmasterPid(dataDir)

  const sharedEnv: NodeJS.ProcessEnv = {
    ...Children.serverEnv({ databaseUrl: url, key, alg: config.alg, poolMax: config.poolMax }),
    REFRESHES_PER_SESSION_PER_MINUTE: String(config.refreshesPerMinute)
  }
  const { origins, children, start: startServer } = Children.serverSet(scripts, { cwd: repoDir, env: sharedEnv, echo: log, nodeArgs: config.nodeArgs })

  // The project first: `serve` migrates the database before it listens.
  log(`starting the project (${scripts.project}); it migrates the benchmark database`)
  yield* startServer("project")
  yield* Children.waitFor200(children.project, `${origins.project}/readyz`, 180_000)
  const published = yield* Effect.promise(() => Jwt.publishedKid(origins.project, key.kid, config.alg))
  log(published.note)
  sharedEnv.JWT_KEY_ID = published.kid
  const keys = yield* Effect.promise(() => Jwt.loadKeys(key.pem, config.alg, published.kid))

  const client = yield* benchClient(url, "bench-http", log)
  const { version: postgresVersion, settings } = yield* postgresFacts(client, ["fsync", "synchronous_commit", "shared_buffers", "max_connections"])

  log(`seeding ${config.users.toLocaleString("en")} users × ${config.sessionsPerUser} sessions with their refresh tokens`)
  const seeded = yield* Effect.promise(() => seed(client, config.users, config.sessionsPerUser))
  // Connections 0..C-1 list the sessions of users 0..C-1; each server's refresh chains are its own C users' newest sessions.
  const listUsers = seeded.users.slice(0, config.connections)
  const chainSessions = (server: Server) => {
    const first = (1 + servers.indexOf(server)) * config.connections
    return seeded.users.slice(first, first + config.connections).map((u) => u.sessionId)
  }
  const chains = {} as Record<Server, Array<string>>
  for (const server of servers) chains[server] = yield* Effect.promise(() => knownRefreshTokens(client, chainSessions(server)))
  yield* Effect.promise(() => client.query("VACUUM ANALYZE organizations, users, auth_sessions, auth_refresh_tokens"))
  const sessionIndexes = (yield* Effect.promise(() =>
    client.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE tablename = 'auth_sessions' ORDER BY indexname`)
  )).rows.map((row) => row.indexdef)

  log("starting the peers: bare node:http and Fastify")
  yield* startServer("bare")
  yield* startServer("fastify")
  yield* Children.waitFor200(children.bare, `${origins.bare}/healthz`, 60_000)
  yield* Children.waitFor200(children.fastify, `${origins.fastify}/healthz`, 60_000)

  const mint = (users: ReadonlyArray<{ readonly userId: string; readonly sessionId: string }>) =>
    Effect.promise(() =>
      Promise.all(users.map((u) => Jwt.sign(keys, { userId: u.userId, organizationId: seeded.organizationId, sessionId: u.sessionId, role: seeded.role }).then((t) => t.token)))
    )

  const statsBase = yield* Effect.promise(() => tableStats(client))
  let expectedUpdates = 0
  log("probing every server once: health, 401 without a token, the session list, one refresh")
  for (const server of servers) {
    const [token] = yield* mint(listUsers.slice(0, 1))
    chains[server][0] = yield* Effect.promise(() => probe(origins[server], server, token!, chains[server][0]!, config.sessionsPerUser))
    expectedUpdates++
  }

  const loader = yield* Children.start("load", "bench/http/load.ts", { cwd: repoDir, env: process.env, ipc: true, echo: log })
  const loadBefore = Os.loadavg()[0] ?? Number.NaN
  const measurements: Array<Measurement> = []
  const hot: Array<HotWindow> = []
  // Where the peers' share of the refresh rounds starts: taken at the first refresh measurement, by when the
  // probes' counts are published (the other scenarios run first), so it rarely waits.
  let afterProbes: TableStats | undefined

  const load = (server: Server, scenario: Scenario, tokens: ReadonlyArray<string>, warmupMs: number, durationMs: number) =>
    Effect.gen(function* () {
      if (!Children.isRunning(children[server])) return yield* Effect.dieMessage(Children.describeExit(children[server]))
      const result = yield* runLoad(loader, {
        type: "run",
        origin: origins[server],
        scenario,
        warmupMs,
        durationMs,
        tokens,
        connections: config.connections,
        serverPid: children[server].pid,
        postmasterPid
      })
      if (scenario === "refresh") {
        chains[server] = [...result.tokens]
        expectedUpdates += result.refreshed
      }
      if (result.firstProblem !== undefined && durationMs === 0) log(`warm-up ${scenario} ${server}: ${result.firstProblem}`)
      return result
    })
  const tokensFor = (server: Server, scenario: Scenario) =>
    scenario === "sessions" ? mint(listUsers) : Effect.succeed(scenario === "refresh" ? chains[server] : [])

  if (config.prewarmSeconds > 0) {
    log(`warming up: every scenario on every server for ${config.prewarmSeconds} s, untimed`)
    for (const scenario of config.scenarios) {
      for (const server of servers) yield* load(server, scenario, yield* tokensFor(server, scenario), config.prewarmSeconds * 1000, 0)
    }
  }

  for (let round = 0; round < config.rounds; round++) {
    for (const scenario of config.scenarios) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length]!)
      for (const server of order) {
        const tokens = yield* tokensFor(server, scenario)
        if (scenario === "refresh" && afterProbes === undefined) afterProbes = (yield* Effect.promise(() => settledStats(client, statsBase, expectedUpdates))).stats
        const watchHot = scenario === "refresh" && server === "project"
        const before = watchHot ? yield* Effect.promise(() => settledStats(client, statsBase, expectedUpdates)) : undefined
        const result = yield* load(server, scenario, tokens, config.warmupMs, config.seconds * 1000)
        if (before !== undefined) {
          const after = yield* Effect.promise(() => settledStats(client, statsBase, expectedUpdates))
          hot.push({ round, refreshed: result.refreshed, delta: minus(after.stats, before.stats), settled: before.settled && after.settled })
        }
        measurements.push({ round, scenario, server, result })
        const rate = result.seconds > 0 ? result.requests / result.seconds : 0
        log(
          `round ${round + 1} ${scenario.padEnd(8)} ${server.padEnd(7)} ${Math.round(rate).toLocaleString("en").padStart(7)} req/s, ` +
            `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, non-2xx ${result.non2xx}, errors ${result.errors}, ` +
            `server CPU ${(result.serverCpuMs / result.requests).toFixed(3)} ms/req` +
            (result.firstProblem === undefined ? "" : `; first problem: ${result.firstProblem}`)
        )
      }
    }
  }
  const end = yield* Effect.promise(() => settledStats(client, statsBase, expectedUpdates))
  const peersDelta = hot.reduce((total, window) => minus(total, window.delta), minus(end.stats, afterProbes ?? end.stats))

  const facts: Facts = {
    config,
    database,
    postgres: postgresVersion,
    settings,
    loadBefore,
    loadAfter: Os.loadavg()[0] ?? Number.NaN,
    jwks: published.note,
    sessionIndexes,
    peersHot: { delta: peersDelta, settled: end.settled },
    logLines: Object.fromEntries(servers.map((server) => [server, children[server].output.lines])) as Record<Server, number>,
    postgresCpuKnown: postmasterPid !== undefined,
    fastifyVersion: JSON.parse(Fs.readFileSync(Path.join(repoDir, "node_modules", "fastify", "package.json"), "utf8")).version as string,
    undiciVersion: JSON.parse(Fs.readFileSync(Path.join(repoDir, "node_modules", "undici", "package.json"), "utf8")).version as string
  }
  writeResults(resultsFile, report(measurements, hot, facts), log)
}).pipe(Effect.scoped)

runBenchmark(main, log)
