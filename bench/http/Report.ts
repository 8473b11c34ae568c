/** The tables of bench/results/http.md: per scenario the median ratios, per round, per measurement, and HOT updates. */
import { machineLine } from "../Support.ts"
import type { LoadResult, Scenario } from "./Protocol.ts"

export const servers = ["project", "bare", "fastify"] as const
export type Server = (typeof servers)[number]

export interface Measurement {
  readonly round: number
  readonly scenario: Scenario
  readonly server: Server
  readonly result: LoadResult
}

export interface StatsDelta {
  readonly sessionsUpd: number
  readonly sessionsHot: number
  readonly tokensUpd: number
  readonly tokensHot: number
}

/** pg_stat_user_tables deltas over one of the project's refresh measurements (warm-up included). */
export interface HotWindow {
  readonly round: number
  readonly refreshed: number
  readonly delta: StatsDelta
  readonly settled: boolean
}

export interface Facts {
  readonly config: {
    readonly connections: number
    readonly seconds: number
    readonly warmupMs: number
    readonly prewarmSeconds: number
    readonly rounds: number
    readonly users: number
    readonly sessionsPerUser: number
    readonly poolMax: number
    readonly alg: string
    readonly scenarios: ReadonlyArray<Scenario>
    readonly refreshesPerMinute: number
  }
  readonly database: string
  readonly postgres: string
  readonly settings: ReadonlyArray<{ readonly name: string; readonly setting: string; readonly unit: string | null }>
  readonly loadBefore: number
  readonly loadAfter: number
  readonly jwks: string
  readonly sessionIndexes: ReadonlyArray<string>
  readonly peersHot: { readonly delta: StatsDelta; readonly settled: boolean }
  readonly logLines: Readonly<Record<Server, number>>
  readonly postgresCpuKnown: boolean
  readonly fastifyVersion: string
  readonly undiciVersion: string
}

/** Targets: the project's rate as a share of the bare server's, measured side by side. */
export const targets: Readonly<Record<Scenario, number>> = { healthz: 0.4, sessions: 0.6, refresh: 0.8 }
export const hotTarget = 0.9

const describe: Readonly<Record<Scenario, string>> = {
  healthz: "`GET /healthz`",
  sessions: "`GET /auth/sessions` (Bearer)",
  refresh: "`POST /auth/refresh` (rotation)"
}

const rateOf = (r: LoadResult) => (r.seconds > 0 ? r.requests / r.seconds : 0)
const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const sum = (values: ReadonlyArray<number>) => values.reduce((total, v) => total + v, 0)

const fmtRate = (perSecond: number) => Math.round(perSecond).toLocaleString("en")
const fmtRatio = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "–")
const fmtMs = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(ms < 1 ? 3 : 2)}` : "–")
const fmtShare = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : "–")
const slash = (values: ReadonlyArray<string>) => values.join(" / ")

export const report = (measurements: ReadonlyArray<Measurement>, hot: ReadonlyArray<HotWindow>, facts: Facts) => {
  const { config } = facts
  const find = (round: number, scenario: Scenario, server: Server) =>
    measurements.find((m) => m.round === round && m.scenario === scenario && m.server === server)?.result
  const rounds = Array.from({ length: config.rounds }, (_, i) => i)
  const of = (scenario: Scenario, server: Server) => measurements.filter((m) => m.scenario === scenario && m.server === server).map((m) => m.result)
  /** Totals over the rounds: CPU per request is total CPU over total requests. */
  const perRequest = (results: ReadonlyArray<LoadResult>, pick: (r: LoadResult) => number) => sum(results.map(pick)) / sum(results.map((r) => r.requests))
  const ratio = (round: number, scenario: Scenario, server: Server) => {
    const subject = find(round, scenario, server)
    const bare = find(round, scenario, "bare")
    return subject === undefined || bare === undefined ? Number.NaN : rateOf(subject) / rateOf(bare)
  }

  const summary =
    "| scenario | project / bare | target | | fastify / bare | req/s project / bare / fastify | server CPU ms / req project / bare / fastify | server CPU / req, project ÷ bare | PostgreSQL CPU ms / req project / bare / fastify | non-2xx |\n" +
    "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|\n" +
    config.scenarios
      .map((scenario) => {
        const projectRatio = median(rounds.map((round) => ratio(round, scenario, "project")))
        const fastifyRatio = median(rounds.map((round) => ratio(round, scenario, "fastify")))
        const met = projectRatio >= targets[scenario] ? "met" : "**missed**"
        return (
          `| ${describe[scenario]} | **${fmtRatio(projectRatio)}** | ≥ ${targets[scenario].toFixed(1)}× | ${met} | ${fmtRatio(fastifyRatio)} | ` +
          `${slash(servers.map((server) => fmtRate(median(of(scenario, server).map(rateOf)))))} | ` +
          `${slash(servers.map((server) => fmtMs(perRequest(of(scenario, server), (r) => r.serverCpuMs))))} | ` +
          `${fmtRatio(perRequest(of(scenario, "project"), (r) => r.serverCpuMs) / perRequest(of(scenario, "bare"), (r) => r.serverCpuMs))} | ` +
          `${slash(servers.map((server) => fmtMs(perRequest(of(scenario, server), (r) => r.postgresCpuMs))))} | ` +
          `${slash(servers.map((server) => String(sum(of(scenario, server).map((r) => r.non2xx + r.errors)))))} |`
        )
      })
      .join("\n")

  const hotTotal = hot.reduce(
    (total, w) => ({
      refreshed: total.refreshed + w.refreshed,
      sessionsUpd: total.sessionsUpd + w.delta.sessionsUpd,
      sessionsHot: total.sessionsHot + w.delta.sessionsHot,
      tokensUpd: total.tokensUpd + w.delta.tokensUpd,
      tokensHot: total.tokensHot + w.delta.tokensHot
    }),
    { refreshed: 0, sessionsUpd: 0, sessionsHot: 0, tokensUpd: 0, tokensHot: 0 }
  )
  const hotShare = hotTotal.sessionsUpd > 0 ? hotTotal.sessionsHot / hotTotal.sessionsUpd : Number.NaN
  const peers = facts.peersHot.delta
  const hotTable =
    hot.length === 0
      ? "(refresh not measured)"
      : "| window | 2xx refreshes | auth_sessions updates | HOT | HOT share | auth_refresh_tokens updates | HOT | HOT share |\n" +
        "|---|---:|---:|---:|---:|---:|---:|---:|\n" +
        hot
          .map(
            (w) =>
              `| project, round ${w.round + 1}${w.settled ? "" : " (counters not settled)"} | ${w.refreshed.toLocaleString("en")} | ${w.delta.sessionsUpd.toLocaleString("en")} | ` +
              `${w.delta.sessionsHot.toLocaleString("en")} | ${fmtShare(w.delta.sessionsHot, w.delta.sessionsUpd)} | ${w.delta.tokensUpd.toLocaleString("en")} | ` +
              `${w.delta.tokensHot.toLocaleString("en")} | ${fmtShare(w.delta.tokensHot, w.delta.tokensUpd)} |`
          )
          .join("\n") +
        `\n| **project, all rounds** | ${hotTotal.refreshed.toLocaleString("en")} | ${hotTotal.sessionsUpd.toLocaleString("en")} | ${hotTotal.sessionsHot.toLocaleString("en")} | ` +
        `**${fmtShare(hotTotal.sessionsHot, hotTotal.sessionsUpd)}** | ${hotTotal.tokensUpd.toLocaleString("en")} | ${hotTotal.tokensHot.toLocaleString("en")} | ${fmtShare(hotTotal.tokensHot, hotTotal.tokensUpd)} |` +
        `\n| bare + fastify, all rounds${facts.peersHot.settled ? "" : " (counters not settled)"} | ${sum(servers.filter((s) => s !== "project").flatMap((s) => of("refresh", s).map((r) => r.refreshed))).toLocaleString("en")} | ` +
        `${peers.sessionsUpd.toLocaleString("en")} | ${peers.sessionsHot.toLocaleString("en")} | ${fmtShare(peers.sessionsHot, peers.sessionsUpd)} | ` +
        `${peers.tokensUpd.toLocaleString("en")} | ${peers.tokensHot.toLocaleString("en")} | ${fmtShare(peers.tokensHot, peers.tokensUpd)} |`
  const hotVerdict =
    hot.length === 0 ? "" : `\n\nHOT share of auth_sessions updates during the project's refresh measurements: **${fmtShare(hotTotal.sessionsHot, hotTotal.sessionsUpd)}** ` +
      `(target > ${(hotTarget * 100).toFixed(0)} %: ${hotShare > hotTarget ? "met" : "**missed**"}).`

  const perRound =
    "| round | scenario | order | req/s project | bare | fastify | project / bare | fastify / bare | server CPU ms / req project / bare / fastify |\n" +
    "|---:|---|---|---:|---:|---:|---:|---:|---:|\n" +
    rounds
      .flatMap((round) =>
        config.scenarios.map((scenario) => {
          const order = measurements.filter((m) => m.round === round && m.scenario === scenario).map((m) => m.server)
          const rate = (server: Server) => {
            const r = find(round, scenario, server)
            return r === undefined ? "–" : fmtRate(rateOf(r))
          }
          const cpu = (server: Server) => {
            const r = find(round, scenario, server)
            return r === undefined ? "–" : fmtMs(r.serverCpuMs / r.requests)
          }
          return (
            `| ${round + 1} | ${scenario} | ${order.join(" → ")} | ${rate("project")} | ${rate("bare")} | ${rate("fastify")} | ` +
            `${fmtRatio(ratio(round, scenario, "project"))} | ${fmtRatio(ratio(round, scenario, "fastify"))} | ${slash(servers.map(cpu))} |`
          )
        })
      )
      .join("\n")

  const detail =
    "| round | scenario | server | requests | req/s | p50 ms | p99 ms | non-2xx | errors | server CPU ms / req | server CPU busy | PostgreSQL CPU ms / req | load generator CPU ms / req |\n" +
    "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" +
    measurements
      .map(({ round, scenario, server, result: r }) =>
        `| ${round + 1} | ${scenario} | ${server} | ${r.requests.toLocaleString("en")} | ${fmtRate(rateOf(r))} | ${fmtMs(r.p50Ms)} | ${fmtMs(r.p99Ms)} | ` +
        `${r.non2xx}${r.non2xx > 0 ? ` (${Object.entries(r.statuses).filter(([s]) => Number(s) >= 300).map(([s, n]) => `${s}: ${n}`).join(", ")})` : ""} | ${r.errors} | ` +
        `${fmtMs(r.serverCpuMs / r.requests)} | ${r.seconds > 0 ? `${((100 * r.serverCpuMs) / (r.seconds * 1000)).toFixed(0)} %` : "–"} | ` +
        `${fmtMs(r.postgresCpuMs / r.requests)} | ${fmtMs(r.loadCpuMs / r.requests)} |`
      )
      .join("\n")

  const problems = measurements.filter((m) => m.result.firstProblem !== undefined)
  const problemList =
    problems.length === 0
      ? "None: every answer in every measurement was 2xx."
      : problems.map((m) => `- round ${m.round + 1}, ${m.scenario}, ${m.server}: ${m.result.firstProblem!.replace(/\s+/g, " ").slice(0, 300)}`).join("\n")

  const table = `Median over ${config.rounds} rounds (ratios: per round, the server's req/s over the bare server's in the same round; CPU: totals over the rounds):

${summary}

HOT updates (pg_stat_user_tables deltas; each window covers one refresh measurement of the project, warm-up included):

${hotTable}${hotVerdict}

Per round:

${perRound}`

  const markdown = `# HTTP request cost: the project beside bare node:http and Fastify

Generated by \`npm run bench -- http\` (\`bench/http.ts\`) on ${new Date().toISOString()}.

${table}

Every measurement (CPU per request over the measured phase; "server CPU busy" is the server process's CPU time over wall time,
100 % = one core; PostgreSQL is the postmaster and all its processes${facts.postgresCpuKnown ? "" : ", unknown for an external server"}):

${detail}

Answers other than 2xx and transport errors (first one per measurement):

${problemList}

## Machine and settings

- ${machineLine()}
- 1-minute load average ${facts.loadBefore.toFixed(1)} when the measurements started, ${facts.loadAfter.toFixed(1)} at the end
  (the run itself keeps about 2 busy: a server, PostgreSQL and the load generator; more means other work shared the CPUs)
- ${facts.postgres}
- Database: ${facts.database}; ${facts.settings.map((s) => `${s.name}=${s.setting}${s.unit !== null && s.unit !== "" ? ` (${s.unit})` : ""}`).join(", ")}
- Load: ${config.connections} connections (\`BENCH_CONNECTIONS\`), ${config.rounds} rounds, per measurement ${config.warmupMs / 1000} s warm-up + ${config.seconds} s measured (\`BENCH_SECONDS\`);
  load generator: one Node process, undici ${facts.undiciVersion} \`Client\` per connection (keep-alive, no pipelining)
- Data: ${config.users.toLocaleString("en")} users × ${config.sessionsPerUser} sessions (\`BENCH_USERS\`, \`BENCH_SESSIONS_PER_USER\`), one organization
- Servers: each its own Node process (\`node --import tsx\`): the project \`src/main.ts\`; bare \`bench/http/bare.ts\` (node:http);
  Fastify ${facts.fastifyVersion} \`bench/http/fastify.ts\`. The same \`DATABASE_URL\`, \`DB_POOL_MAX=${config.poolMax}\`, signing key (${config.alg}, \`BENCH_JWT_ALG\`;
  \`JWT_ALGORITHM\` and \`JWT_KEY_ID\` passed to all three) and \`REFRESHES_PER_SESSION_PER_MINUTE=${config.refreshesPerMinute}\`; the project with
  \`LOG_LEVEL=Warn LOG_FORMAT=json SEED_DEMO=false NODE_ENV=development HOST=127.0.0.1\`. ${facts.jwks}.
- Lines printed by the servers during the whole run: ${servers.map((s) => `${s} ${facts.logLines[s]}`).join(", ")}
- Indexes on auth_sessions (an update that changes an indexed column cannot be HOT):
${facts.sessionIndexes.map((def) => `  - \`${def}\``).join("\n")}

## Method

1. An embedded PostgreSQL in a temporary directory (or \`BENCH_DATABASE_URL\`). The project starts first
   (\`node --import tsx src/main.ts\`; \`serve\` migrates), and the benchmark waits for \`GET /readyz\` 200. Then it inserts one
   organization, its users, their sessions and one generation-0 refresh token per session directly in SQL
   (\`bench/http/Seed.ts\`; Argon2 logins would take minutes), gives the sessions it will refresh known tokens,
   and runs \`VACUUM ANALYZE\`. Then the two peers start.
2. The peers do what the project does per request (\`bench/http/PeerWork.ts\`, shared, so only the HTTP layer differs):
   - \`GET /healthz\`: \`{"status":"ok"}\`.
   - \`GET /auth/sessions\`: the Bearer token verified with jose \`jwtVerify\` (algorithm pinned, issuer \`casecore\`, audience
     \`casecore-api\`, \`typ: at+jwt\`, all claims required, 30 s clock tolerance, key looked up by \`kid\`, claim types checked),
     verified tokens cached by token string until \`exp\` + 30 s, the session/user/organization status query cached per
     session for 30 s, then the session list query; \`{"sessions":[{id, createdAt, lastRefreshedAt, current}]}\`.
   - \`POST /auth/refresh\`: the body checked (\`refreshToken\`, 1..200 characters; bare: \`JSON.parse\` and a hand check;
     Fastify: its JSON parser and a body schema), the token's format checked, one \`SELECT * FROM auth_refresh(…)\` with the
     project's arguments (idle 30 min, leeway 10 s, burst and rate from \`REFRESHES_PER_SESSION_PER_MINUTE\`, a new selector
     and the SHA-256 of a new 32-byte secret, address, user agent, channel \`casecore_events\`), a new access token signed
     with jose (same header and claims), and the token pair.
   - The peers keep no metrics, write no request log and hold no LISTEN connection: that, and the framework, is the
     difference being measured.
3. Before measuring, each server answers one request of each kind, checked for the same status and JSON shape
   (and a 401 \`UNAUTHORIZED\` without a token).
4. The load generator (\`bench/http/load.ts\`) is one Node process for the whole run: ${config.connections} closed loops, each on its own
   keep-alive connection, send the next request when the last answer is read. Per measurement: ${config.warmupMs / 1000} s warm-up, then
   ${config.seconds} s measured; the loops keep running across the boundary. Latency is taken from send to the end of the body.
   \`req/s\` = answers in the measured phase / its wall time. CPU time of the server process (\`/proc/<pid>/stat\` utime + stime,
   all threads), of PostgreSQL (postmaster and children) and of the load generator is read at the start and the end of
   the measured phase, and divided by the answers.
   - healthz: no token. sessions: connection i presents an access token for user i's newest session, minted for
     each measurement (so its first request in the warm-up verifies a signature, the rest hit the token cache); each user
     has ${config.sessionsPerUser} sessions, so each answer lists ${config.sessionsPerUser}. refresh: each connection owns a session and always presents
     the refresh token returned by its previous refresh; each server has its own ${config.connections} sessions, and the chains go on
     from round to round. A refresh loop stops at its first non-2xx answer or transport error (its chain is broken).
5. Before round 1, every server runs every scenario once for ${config.prewarmSeconds} s untimed (\`BENCH_PREWARM_SECONDS\`): the JIT of a
   server that has seen no traffic needs more than the 1 s warm-up of a measurement. Then ${config.rounds} rounds; in each, every scenario (${config.scenarios.join(", ")}), and for each scenario the three servers in an order that
   rotates by one per round. The figure that matters is each round's ratio to the bare server measured minutes apart at
   most, then the median of those ratios: on a shared 2-core machine absolute rates move with the neighbours.
6. HOT updates: PostgreSQL publishes a backend's table counters at most once a second (idle backends within 10 s), so
   before and after each of the project's refresh measurements the benchmark waits until \`pg_stat_user_tables\` shows
   every refresh made so far (one auth_sessions update each; at most 12 s), and takes the delta of \`n_tup_upd\` and
   \`n_tup_hot_upd\`. The peers' line is the rest of the refresh rounds.

How to read it:

- The server, PostgreSQL and the load generator share the machine's cores. "server CPU busy" near 100 % means the server's one JavaScript
  thread was the limit; the CPU per request is then the steadiest figure (it moves less than req/s with the neighbours).
- The load generator's own CPU per request is listed: where it is close to the server's, the bare server's rate is
  held down by the load generator sharing the CPUs, and the ratios understate the project's overhead.
- The peers run the project's SQL, so PostgreSQL CPU per request should be about equal across the three; a difference
  there is a difference in the database work.
`
  return { table, markdown }
}
