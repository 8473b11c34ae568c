/** The tables of bench/results/notifications.md: targets, summary, per round, and the method. */
import { machineLine } from "../Support.ts"
import type { Problem, ServerName } from "./Protocol.ts"

export interface Memory {
  /** VmRSS of the server process, bytes. */
  readonly rss: number
  /** `nodejs_heap_size_used_bytes` from GET /metrics; undefined when the server does not publish it. */
  readonly heap: number | undefined
}

export interface ConnectResult {
  readonly completed: number
  readonly seconds: number
  /** Handshake latencies of the connects completed in the window, ms, sorted. */
  readonly latencies: ReadonlyArray<number>
  readonly failures: Problem
  readonly wrapped: boolean
  readonly serverCpuMs: number
  readonly postgresCpuMs: number
  readonly loadCpuMs: number
  readonly cpuWindowMs: number
}

export interface Burst {
  readonly status: number
  /** Rows the POST reported (ids), frames received, distinct sockets that received one, sockets expected. */
  readonly rows: number
  readonly expected: number
  readonly frames: number
  readonly sockets: number
  readonly postMs: number
  readonly commitAfterSendMs: number
  /** Receipt minus commit time, and minus the POST's send time, ms, one per frame. */
  readonly fromCommit: ReadonlyArray<number>
  readonly fromSend: ReadonlyArray<number>
}

export interface TargetedResult {
  readonly planned: number
  readonly sent: number
  readonly ok: number
  readonly statuses: Readonly<Record<string, number>>
  readonly errors: Problem
  readonly seconds: number
  readonly maxLagMs: number
  readonly postLatencies: ReadonlyArray<number>
  /** Notifications that reached their socket, and frames (more than received: duplicates). */
  readonly received: number
  readonly frames: number
  readonly fromSend: ReadonlyArray<number>
  readonly fromCommit: ReadonlyArray<number>
  readonly serverCpuMs: number
  readonly postgresCpuMs: number
  readonly dropped: Problem
}

export interface IdleResult {
  readonly base: Memory
  readonly low: Memory
  readonly high: Memory
  readonly lowOpened: number
  readonly highOpened: number
  readonly failures: Problem
  readonly openSeconds: number
}

export interface FanoutResult {
  readonly small: ReadonlyArray<Burst>
  readonly large: ReadonlyArray<Burst>
  readonly dropped: Problem
}

/** One server in one round; a scenario left out (BENCH_SCENARIOS) is absent. */
export interface RoundResult {
  readonly round: number
  readonly server: ServerName
  readonly connect?: ConnectResult
  readonly idle?: IdleResult
  readonly fanout?: FanoutResult
  readonly targeted?: TargetedResult
  readonly clockSkewMs: number
}

export interface Facts {
  readonly database: string
  readonly postgres: string
  readonly settings: ReadonlyArray<{ readonly name: string; readonly setting: string; readonly unit: string | null }>
  readonly commitTimestamps: boolean
  readonly loadBefore: number
  readonly loadAfter: number
  readonly jwks: string
  readonly logLines: Partial<Record<ServerName, number>>
  readonly postgresCpuKnown: boolean
  readonly versions: { readonly socketio: string; readonly ws: string }
  readonly seededNotifications: number
  readonly churnSessions: number
  readonly ulimit: string
  /** The database alone: the peers' targeted transaction from the benchmark itself, before the rounds and after them. */
  readonly ceiling: ReadonlyArray<Ceiling>
}

export interface Ceiling {
  readonly when: string
  readonly clients: number
  readonly perSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly postgresCpuMs: number
}

export interface ReportConfig {
  readonly servers: ReadonlyArray<ServerName>
  readonly scenarios: ReadonlyArray<string>
  readonly rounds: number
  readonly loaders: number
  readonly connections: number
  readonly connectionsLow: number
  readonly fanoutLarge: number
  readonly fanoutSmall: number
  readonly targetedUsers: number
  readonly burstsSmall: number
  readonly burstsLarge: number
  readonly concurrency: number
  readonly connectSeconds: number
  readonly connectWarmupMs: number
  readonly settleSeconds: number
  readonly targetedRate: number
  readonly targetedSeconds: number
  readonly writerConnections: number
  readonly churnUsers: number
  readonly churnSessions: number
  readonly poolMax: number
  readonly alg: string
}

export const targets = {
  connectsVsWs: 0.9,
  rssVsWs: 1.25,
  rssVsSocketio: 0.75,
  fanoutLargeP99Ms: 150,
  targetedP99Ms: 50
}

const labels: Readonly<Record<ServerName, string>> = { project: "project", ws: "bare ws", socketio: "Socket.IO" }

const median = (values: ReadonlyArray<number>) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const quantile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
const sortNumbers = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)
const sum = (values: ReadonlyArray<number>) => values.reduce((total, v) => total + v, 0)

const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "–")
const fmtMs = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(ms < 10 ? 2 : 1) : "–")
const fmtKiB = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1024).toFixed(1) : "–")
const fmtRatio = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "–")

export const connectRate = (c: ConnectResult) => (c.seconds > 0 ? c.completed / c.seconds : Number.NaN)
export const rssPerConnection = (i: IdleResult, level: "low" | "high") => (i[level].rss - i.base.rss) / (level === "low" ? i.lowOpened : i.highOpened)
export const heapPerConnection = (i: IdleResult, level: "low" | "high") =>
  i[level].heap === undefined || i.base.heap === undefined ? Number.NaN : (i[level].heap! - i.base.heap!) / (level === "low" ? i.lowOpened : i.highOpened)
const marginalRss = (i: IdleResult) => (i.high.rss - i.low.rss) / (i.highOpened - i.lowOpened)

export const report = (results: ReadonlyArray<RoundResult>, config: ReportConfig, facts: Facts) => {
  const servers = config.servers
  const rounds = Array.from({ length: config.rounds }, (_, i) => i)
  const wants = (scenario: string) => config.scenarios.includes(scenario)
  const of = (server: ServerName) => results.filter((r) => r.server === server)
  const find = (round: number, server: ServerName) => results.find((r) => r.round === round && r.server === server)
  const has = (server: ServerName) => of(server).length > 0
  const connects = (server: ServerName) => of(server).flatMap((r) => (r.connect === undefined ? [] : [r.connect]))
  const idles = (server: ServerName) => of(server).flatMap((r) => (r.idle === undefined ? [] : [r.idle]))
  const fanouts = (server: ServerName) => of(server).flatMap((r) => (r.fanout === undefined ? [] : [r.fanout]))
  const targeteds = (server: ServerName) => of(server).flatMap((r) => (r.targeted === undefined ? [] : [r.targeted]))
  const latencyKey = facts.commitTimestamps ? "fromCommit" : "fromSend"
  const fanoutLatencies = (server: ServerName, size: "small" | "large", key: "fromCommit" | "fromSend" = latencyKey) =>
    sortNumbers(fanouts(server).flatMap((f) => f[size].flatMap((b) => b[key])))
  const targetedLatencies = (server: ServerName, key: "fromCommit" | "fromSend" = "fromSend") => sortNumbers(targeteds(server).flatMap((t) => t[key]))
  /** Median over rounds of a per-round ratio subject / reference. */
  const ratio = <T>(subject: ServerName, reference: ServerName, part: (r: RoundResult) => T | undefined, pick: (t: T) => number) =>
    median(rounds.map((round) => {
      const a = find(round, subject)
      const b = find(round, reference)
      const pa = a === undefined ? undefined : part(a)
      const pb = b === undefined ? undefined : part(b)
      return pa === undefined || pb === undefined ? Number.NaN : pick(pa) / pick(pb)
    }))
  const cells = (render: (server: ServerName) => string) => servers.map((s) => (has(s) ? render(s) : "–")).join(" | ")
  const idleOf = (r: RoundResult) => r.idle
  const connectOf = (r: RoundResult) => r.connect

  // ---- targets
  const projectRun = has("project")
  const targetRows: Array<string> = []
  const addTarget = (scenario: string, what: string, figure: number, shown: string, limit: string, ok: (v: number) => boolean) => {
    const verdict = !projectRun
      ? "not measured (project not run)"
      : !wants(scenario)
        ? "not measured (BENCH_SCENARIOS)"
        : !Number.isFinite(figure)
          ? "not measured"
          : ok(figure)
            ? "met"
            : "**missed**"
    targetRows.push(`| ${what} | ${projectRun && wants(scenario) ? shown : "–"} | ${limit} | ${verdict} |`)
  }
  const connectsRatio = ratio("project", "ws", connectOf, connectRate)
  addTarget("connects", "authenticated connects/s, project ÷ bare ws", connectsRatio, fmtRatio(connectsRatio), `≥ ${targets.connectsVsWs}×`, (v) => v >= targets.connectsVsWs)
  for (const level of ["low", "high"] as const) {
    const count = level === "low" ? config.connectionsLow : config.connections
    const vsWs = ratio("project", "ws", idleOf, (i) => rssPerConnection(i, level))
    const vsIo = ratio("project", "socketio", idleOf, (i) => rssPerConnection(i, level))
    addTarget("idle", `RSS per idle connection at ${fmtInt(count)}, project ÷ bare ws`, vsWs, fmtRatio(vsWs), `≤ ${targets.rssVsWs}×`, (v) => v <= targets.rssVsWs)
    addTarget("idle", `RSS per idle connection at ${fmtInt(count)}, project ÷ Socket.IO`, vsIo, fmtRatio(vsIo), `≤ ${targets.rssVsSocketio}×`, (v) => v <= targets.rssVsSocketio)
  }
  const largeP99 = quantile(fanoutLatencies("project", "large"), 0.99)
  addTarget("fanout", `fan-out to ${fmtInt(config.fanoutLarge)} sockets, p99 ${facts.commitTimestamps ? "commit" : "send"} → frame`, largeP99, `${fmtMs(largeP99)} ms`, `< ${targets.fanoutLargeP99Ms} ms`, (v) => v < targets.fanoutLargeP99Ms)
  const targetedP99 = quantile(targetedLatencies("project"), 0.99)
  addTarget("targeted", `targeted delivery at ${fmtInt(config.targetedRate)}/s, p99 send → frame`, targetedP99, `${fmtMs(targetedP99)} ms`, `< ${targets.targetedP99Ms} ms`, (v) => v < targets.targetedP99Ms)
  const targetsTable = "| target | project | limit | |\n|---|---:|---:|---|\n" + targetRows.join("\n")

  // ---- summary
  const header = `| | ${servers.map((s) => labels[s]).join(" | ")} |\n|---|${servers.map(() => "---:").join("|")}|`
  const row = (what: string, render: (server: ServerName) => string) => `| ${what} | ${cells(render)} |`
  const perConnect = (server: ServerName, pick: (c: ConnectResult) => number) => sum(connects(server).map(pick)) / sum(connects(server).map((c) => c.completed))
  const connectLatencies = (server: ServerName) => sortNumbers(connects(server).flatMap((c) => c.latencies))
  const frames = (server: ServerName, size: "small" | "large") => {
    const bursts = fanouts(server).flatMap((f) => f[size])
    return `${fmtInt(sum(bursts.map((b) => b.frames)))} / ${fmtInt(sum(bursts.map((b) => b.expected)))}`
  }
  const summaryRows: Array<string> = []
  if (wants("connects")) {
    summaryRows.push(
      row("**authenticated connects/s** (median of rounds)", (s) => `**${fmtInt(median(connects(s).map(connectRate)))}**`),
      row("… ÷ bare ws (median of per-round ratios)", (s) => fmtRatio(ratio(s, "ws", connectOf, connectRate))),
      row("handshake p50 / p99 ms (open → unread count)", (s) => `${fmtMs(quantile(connectLatencies(s), 0.5))} / ${fmtMs(quantile(connectLatencies(s), 0.99))}`),
      row("server CPU ms / connect", (s) => fmtMs(perConnect(s, (c) => c.serverCpuMs))),
      row("server CPU busy during the connects (100 % = one core)", (s) => `${(100 * sum(connects(s).map((c) => c.serverCpuMs)) / sum(connects(s).map((c) => c.cpuWindowMs))).toFixed(0)} %`),
      row("PostgreSQL CPU ms / connect", (s) => fmtMs(perConnect(s, (c) => c.postgresCpuMs))),
      row("load generators' CPU ms / connect", (s) => fmtMs(perConnect(s, (c) => c.loadCpuMs))),
      row("failed connects (all rounds)", (s) => fmtInt(sum(connects(s).map((c) => c.failures.count))))
    )
  }
  if (wants("idle")) {
    summaryRows.push(
      row(`**RSS KiB / idle connection at ${fmtInt(config.connectionsLow)}**`, (s) => `**${fmtKiB(median(idles(s).map((i) => rssPerConnection(i, "low"))))}**`),
      row(`**RSS KiB / idle connection at ${fmtInt(config.connections)}**`, (s) => `**${fmtKiB(median(idles(s).map((i) => rssPerConnection(i, "high"))))}**`),
      row(`… ÷ bare ws at ${fmtInt(config.connectionsLow)} / ${fmtInt(config.connections)}`, (s) =>
        `${fmtRatio(ratio(s, "ws", idleOf, (i) => rssPerConnection(i, "low")))} / ${fmtRatio(ratio(s, "ws", idleOf, (i) => rssPerConnection(i, "high")))}`),
      row(`RSS KiB / connection from ${fmtInt(config.connectionsLow)} to ${fmtInt(config.connections)} (marginal)`, (s) => fmtKiB(median(idles(s).map(marginalRss)))),
      row(`heap KiB / idle connection at ${fmtInt(config.connectionsLow)} / ${fmtInt(config.connections)} (\`nodejs_heap_size_used_bytes\`)`, (s) =>
        `${fmtKiB(median(idles(s).map((i) => heapPerConnection(i, "low"))))} / ${fmtKiB(median(idles(s).map((i) => heapPerConnection(i, "high"))))}`),
      row(`RSS MiB: before / at ${fmtInt(config.connectionsLow)} / at ${fmtInt(config.connections)} (median)`, (s) =>
        `${(median(idles(s).map((i) => i.base.rss)) / 2 ** 20).toFixed(0)} / ${(median(idles(s).map((i) => i.low.rss)) / 2 ** 20).toFixed(0)} / ${(median(idles(s).map((i) => i.high.rss)) / 2 ** 20).toFixed(0)}`),
      row("sockets opened per second while filling (all rounds)", (s) => fmtInt(sum(idles(s).map((i) => i.highOpened)) / sum(idles(s).map((i) => i.openSeconds))))
    )
  }
  if (wants("fanout")) {
    summaryRows.push(
      row(`**fan-out to ${fmtInt(config.fanoutSmall)} sockets, p50 / p99 ms**`, (s) => `**${fmtMs(quantile(fanoutLatencies(s, "small"), 0.5))} / ${fmtMs(quantile(fanoutLatencies(s, "small"), 0.99))}**`),
      row(`**fan-out to ${fmtInt(config.fanoutLarge)} sockets, p50 / p99 ms**`, (s) => `**${fmtMs(quantile(fanoutLatencies(s, "large"), 0.5))} / ${fmtMs(quantile(fanoutLatencies(s, "large"), 0.99))}**`),
      row(`fan-out ${fmtInt(config.fanoutSmall)} / ${fmtInt(config.fanoutLarge)}: p99 from the POST being sent, ms`, (s) =>
        `${fmtMs(quantile(fanoutLatencies(s, "small", "fromSend"), 0.99))} / ${fmtMs(quantile(fanoutLatencies(s, "large", "fromSend"), 0.99))}`),
      row(`fan-out ${fmtInt(config.fanoutSmall)} / ${fmtInt(config.fanoutLarge)}: commit after the POST was sent, median ms`, (s) =>
        `${fmtMs(median(fanouts(s).flatMap((f) => f.small.map((b) => b.commitAfterSendMs))))} / ${fmtMs(median(fanouts(s).flatMap((f) => f.large.map((b) => b.commitAfterSendMs))))}`),
      row(`fan-out ${fmtInt(config.fanoutSmall)} / ${fmtInt(config.fanoutLarge)}: POST round trip, median ms`, (s) =>
        `${fmtMs(median(fanouts(s).flatMap((f) => f.small.map((b) => b.postMs))))} / ${fmtMs(median(fanouts(s).flatMap((f) => f.large.map((b) => b.postMs))))}`),
      row(`fan-out frames received / expected (${fmtInt(config.fanoutSmall)}; ${fmtInt(config.fanoutLarge)})`, (s) => `${frames(s, "small")}; ${frames(s, "large")}`)
    )
  }
  if (wants("targeted")) {
    summaryRows.push(
      row(`**targeted at ${fmtInt(config.targetedRate)}/s, send → frame p50 / p99 ms**`, (s) => `**${fmtMs(quantile(targetedLatencies(s), 0.5))} / ${fmtMs(quantile(targetedLatencies(s), 0.99))}**`),
      row("targeted: commit → frame p50 / p99 ms", (s) => `${fmtMs(quantile(targetedLatencies(s, "fromCommit"), 0.5))} / ${fmtMs(quantile(targetedLatencies(s, "fromCommit"), 0.99))}`),
      row("targeted: POST round trip p50 / p99 ms", (s) => {
        const all = sortNumbers(targeteds(s).flatMap((t) => t.postLatencies))
        return `${fmtMs(quantile(all, 0.5))} / ${fmtMs(quantile(all, 0.99))}`
      }),
      row("targeted: POSTs 2xx / sent / planned; delivered", (s) =>
        `${fmtInt(sum(targeteds(s).map((t) => t.ok)))} / ${fmtInt(sum(targeteds(s).map((t) => t.sent)))} / ${fmtInt(sum(targeteds(s).map((t) => t.planned)))}; ${fmtInt(sum(targeteds(s).map((t) => t.received)))}`),
      row("targeted: server CPU ms / notification; PostgreSQL", (s) =>
        `${fmtMs(sum(targeteds(s).map((t) => t.serverCpuMs)) / sum(targeteds(s).map((t) => t.ok)))}; ${fmtMs(sum(targeteds(s).map((t) => t.postgresCpuMs)) / sum(targeteds(s).map((t) => t.ok)))}`)
    )
  }
  const summary = [header, ...summaryRows].join("\n")

  const ceiling = facts.ceiling.length === 0
    ? ""
    : `\n\nThe database alone (the peers' targeted transaction: \`BEGIN\`; lock the user row, insert one notification; \`pg_notify\`; \`COMMIT\`, from the benchmark process
on ${facts.ceiling[0]!.clients} connections, closed loop, no socket server involved). PostgreSQL serializes the commits of transactions that NOTIFY
(a lock held through the commit's WAL flush), so this is about the most targeted notifications per second any of the three can commit here:

| when | commits/s | p50 ms | p99 ms | PostgreSQL CPU ms / commit |
|---|---:|---:|---:|---:|
${facts.ceiling.map((c) => `| ${c.when} | ${fmtInt(c.perSecond)} | ${fmtMs(c.p50Ms)} | ${fmtMs(c.p99Ms)} | ${fmtMs(c.postgresCpuMs)} |`).join("\n")}`

  // ---- per round
  const dash = "–"
  const perRound =
    "| round | server | connects/s | failed | RSS KiB/conn " + `${fmtInt(config.connectionsLow)} / ${fmtInt(config.connections)}` + " | heap KiB/conn | open failures | " +
    `fan-out ${fmtInt(config.fanoutSmall)} p50 / p99 ms | fan-out ${fmtInt(config.fanoutLarge)} p50 / p99 ms | targeted p50 / p99 ms | targeted 2xx / sent | writer lag max ms |\n` +
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" +
    results
      .map((r) => {
        const c = r.connect
        const i = r.idle
        const f = r.fanout
        const t = r.targeted
        const small = f === undefined ? [] : sortNumbers(f.small.flatMap((b) => b[latencyKey]))
        const large = f === undefined ? [] : sortNumbers(f.large.flatMap((b) => b[latencyKey]))
        return (
          `| ${r.round + 1} | ${labels[r.server]} | ${c === undefined ? dash : fmtInt(connectRate(c))} | ${c === undefined ? dash : c.failures.count} | ` +
          `${i === undefined ? dash : `${fmtKiB(rssPerConnection(i, "low"))} / ${fmtKiB(rssPerConnection(i, "high"))}`} | ` +
          `${i === undefined ? dash : `${fmtKiB(heapPerConnection(i, "low"))} / ${fmtKiB(heapPerConnection(i, "high"))}`} | ${i === undefined ? dash : i.failures.count} | ` +
          `${f === undefined ? dash : `${fmtMs(quantile(small, 0.5))} / ${fmtMs(quantile(small, 0.99))}`} | ${f === undefined ? dash : `${fmtMs(quantile(large, 0.5))} / ${fmtMs(quantile(large, 0.99))}`} | ` +
          `${t === undefined ? dash : `${fmtMs(quantile(t.fromSend, 0.5))} / ${fmtMs(quantile(t.fromSend, 0.99))}`} | ${t === undefined ? dash : `${fmtInt(t.ok)} / ${fmtInt(t.sent)}`} | ` +
          `${t === undefined ? dash : fmtMs(t.maxLagMs)} |`
        )
      })
      .join("\n")

  const problems = results.flatMap((r) => {
    const lines: Array<string> = []
    const add = (what: string, p: Problem | undefined) => {
      if (p !== undefined && p.count > 0) lines.push(`- round ${r.round + 1}, ${labels[r.server]}, ${what}: ${p.count} × ${(p.first ?? "").replace(/\s+/g, " ").slice(0, 300)}`)
    }
    add("connects", r.connect?.failures)
    add("opening idle sockets", r.idle?.failures)
    add("sockets closed by the server while held (fan-out)", r.fanout?.dropped)
    add("sockets closed by the server while held (targeted)", r.targeted?.dropped)
    add("targeted POSTs", r.targeted?.errors)
    if (r.connect?.wrapped === true) lines.push(`- round ${r.round + 1}, ${labels[r.server]}, connects: the prepared tokens ran out and were used again (token-cache hits)`)
    const bad = [...(r.fanout?.small ?? []), ...(r.fanout?.large ?? [])].filter((b) => b.status < 200 || b.status >= 300 || b.frames !== b.expected || b.sockets !== b.expected)
    for (const b of bad) lines.push(`- round ${r.round + 1}, ${labels[r.server]}, fan-out: POST ${b.status}, ${b.rows} rows, ${b.frames} frames on ${b.sockets} sockets, ${b.expected} expected`)
    const t = r.targeted
    if (t !== undefined && t.sent < t.planned) {
      lines.push(`- round ${r.round + 1}, ${labels[r.server]}, targeted: the writer stopped after ${t.sent} of ${t.planned} POSTs, with ${fmtInt(config.targetedRate * 5)} (5 s) unanswered: the rate was not sustained`)
    }
    if (t !== undefined && (t.received !== t.ok || t.frames !== t.received)) {
      lines.push(`- round ${r.round + 1}, ${labels[r.server]}, targeted: ${t.ok} created, ${t.received} delivered, ${t.frames} frames`)
    }
    if (r.clockSkewMs > 5) lines.push(`- round ${r.round + 1}, ${labels[r.server]}: a load generator's clock was ${r.clockSkewMs.toFixed(1)} ms off the system clock`)
    return lines
  })
  const problemList = problems.length === 0 ? "None: every connect succeeded and every notification reached each of its sockets exactly once." : problems.join("\n")

  const table = `Targets (ratios: the median of the per-round ratios, measured side by side; latencies: every frame of every round):

${targetsTable}

Summary (${config.rounds} round${config.rounds === 1 ? "" : "s"}; scenarios: ${config.scenarios.join(", ")}):

${summary}${ceiling}

Per round:

${perRound}`

  const markdown = `# Realtime notifications: the project beside Socket.IO and bare ws

Generated by \`npm run bench -- notifications\` (\`bench/notifications.ts\`) on ${new Date().toISOString()}.
Servers: ${servers.map((s) => labels[s]).join(", ")}${servers.includes("project") ? "" : " (the project was not run: `BENCH_SERVERS`)"}.

${table}

Problems (first of each kind per round):

${problemList}

## Machine and settings

- ${machineLine()}; open-file limit ${facts.ulimit} per process
- 1-minute load average ${facts.loadBefore.toFixed(1)} when the rounds started, ${facts.loadAfter.toFixed(1)} at the end (the run itself keeps about 2 busy; more
  means other work shared the CPUs: compare the servers within this file, not with another run's absolute figures)
- ${facts.postgres}
- Database: ${facts.database}; ${facts.settings.map((s) => `${s.name}=${s.setting}${s.unit !== null && s.unit !== "" ? ` (${s.unit})` : ""}`).join(", ")}
- Servers, each its own Node process (\`node --import tsx\`), same \`DATABASE_URL\`, \`DB_POOL_MAX=${config.poolMax}\`, signing key (${config.alg}, \`JWT_PRIVATE_KEY\`,
  \`JWT_ALGORITHM\`, \`JWT_KEY_ID\`): the project \`src/main.ts\` (\`HOST=127.0.0.1 LOG_LEVEL=Warn LOG_FORMAT=json SEED_DEMO=false NODE_ENV=development
  WS_MAX_SOCKETS_PER_ADDRESS=100000\`; ${facts.jwks}); bare ws \`bench/notifications/ws.ts\` (ws ${facts.versions.ws}); Socket.IO
  \`bench/notifications/socketio.ts\` (socket.io ${facts.versions.socketio}, in-memory adapter, default heartbeat)
- Lines printed by the servers during the run: ${servers.map((s) => `${labels[s]} ${facts.logLines[s] ?? 0}`).join(", ")}
- Load: ${config.loaders} load generator processes (\`BENCH_LOADERS\`), ${config.concurrency} handshakes in flight (\`BENCH_CONCURRENCY\`), one HTTP writer process
- Data: organizations of ${fmtInt(config.fanoutLarge)}, ${fmtInt(config.fanoutSmall)} and ${fmtInt(config.targetedUsers)} users (one session each: the ${fmtInt(config.connections)}
  idle sockets), ${fmtInt(config.churnUsers)} users × ${config.churnSessions} sessions for the connects (${fmtInt(facts.churnSessions)}); ${fmtInt(facts.seededNotifications)} seeded notifications (3 per user, 1 read)

## Method

1. An embedded PostgreSQL in a temporary directory (or \`BENCH_DATABASE_URL\`), started with \`track_commit_timestamp=on\`
   (${facts.commitTimestamps ? "on here" : "**off here: fan-out latency is measured from the POST being sent**"}). The project's CLI migrates it
   (\`src/cli.ts migrate\`), then organizations, users, sessions and notifications are inserted in SQL (\`bench/notifications/Seed.ts\`; Argon2
   logins would take minutes). Access tokens are minted with the project's key and claims (\`bench/http/Jwt.ts\`: ES256, \`typ\` at+jwt, \`kid\`,
   iss aud sub org sid role jti iat exp, 10 minutes) by the load generators themselves before each phase, outside any timed window, one fresh
   token per socket.
2. The three servers do the same job (PROTOCOL.md). The peers share \`bench/notifications/PeerWork.ts\` and differ only in their socket layer:
   jose \`jwtVerify\` with the project's checks, verified tokens cached until exp; the session check (session + user + organization status,
   role, absolute expiry) cached per session for 30 s like the project's; the unread count (\`count(*)\` on the partial index) at connect;
   \`POST /notifications\` (ADMIN): one transaction locking the recipients' user rows in id order, one row per recipient, \`pg_notify\` of
   the ids (split under 8,000 bytes), commit; one LISTEN connection loads the notified rows by id, one query per batch (the ids that arrive
   while a load runs make the next one), and hands them to the socket layer, which sends \`notification:new\` to every socket of the row's
   user, then that user's new unread count (the contract sends the count on every change). Bare ws serializes each row once and writes
   the same buffer to each of the user's sockets; Socket.IO emits to the room \`user:<id>\` (each recipient has a row, and an id, of their
   own, so an org-wide notification is one emit per recipient, not one \`io.to("org:…")\` emit). Rooms \`org:<id>\` are joined at connect by both.
3. Before measuring, each server is probed once (\`bench/notifications/Probe.ts\`): \`connected\` with its fields, the unread count equal to
   the database's, \`POST /notifications\` 401 without a token and 2xx \`{ ids }\` as ADMIN, its \`notification:new\` with the contract's fields.
4. ${config.rounds} round${config.rounds === 1 ? "" : "s"} (\`BENCH_ROUNDS\`); in each, every server in turn (the order rotates by one per round). A server starts
   each of its turns as a fresh process (stopped with SIGTERM, started again, \`GET /readyz\` or \`/healthz\` 200): no garbage or cache of the
   previous turn blurs its memory readings. Then, in order:
   - **Idle connections**: RSS (\`/proc/<pid>/status\` VmRSS) and \`nodejs_heap_size_used_bytes\` from \`GET /metrics\` (prom-client's
     default metric in the project; the peers serve the same figure, \`process.memoryUsage().heapUsed\`) once the server and the load generators are quiet (each under 10 %
     of a core for half a second) and ${config.settleSeconds} s more (\`BENCH_SETTLE_SECONDS\`); then ${fmtInt(config.connectionsLow)} sockets opened and handshaken (\`BENCH_CONNECTIONS_LOW\`), quiet, read again; then up to
     ${fmtInt(config.connections)} (\`BENCH_CONNECTIONS\`), quiet, read again. Per connection = (after − before) / sockets open. No GC is forced
     (the project cannot be asked to), so a figure includes whatever garbage is left after the quiet period; the marginal RSS from
     ${fmtInt(config.connectionsLow)} to ${fmtInt(config.connections)} leaves out one-off growth.
   - **Fan-out**, with all ${fmtInt(config.connections)} sockets open: ${config.burstsSmall} org-wide notifications to the ${fmtInt(config.fanoutSmall)}-user organization, then
     ${config.burstsLarge} to the ${fmtInt(config.fanoutLarge)}-user one (\`POST /notifications\` without \`userId\`, as its ADMIN; \`BENCH_FANOUTS_SMALL\`, \`BENCH_FANOUTS_LARGE\`),
     one at a time: the next is sent once every socket has its frame (or after 10 s), and 100 ms more; one more before each series warms
     the path up and is not counted. Latency per frame: its arrival in the
     load generator (wall clock, \`performance.timeOrigin + performance.now()\`) minus ${facts.commitTimestamps ? "the commit time of the notification's transaction (`pg_xact_commit_timestamp(xmin)` of its row; same machine, same clock)" : "the time the POST was sent"}.
     The time from the POST being sent is listed too (it adds the insert of the rows).
   - **Targeted**: \`POST /notifications\` with the \`userId\` of a random user of the ${fmtInt(config.targetedUsers)}-user organization (all connected), open loop at
     ${fmtInt(config.targetedRate)}/s for ${config.targetedSeconds} s (\`BENCH_TARGETED_RATE\`, \`BENCH_TARGETED_SECONDS\`; ${config.writerConnections} keep-alive connections). The title
     carries the send time; latency = arrival − send time (the target), and arrival − commit time beside it. A server that falls 5 s behind
     (that many POSTs unanswered) gets no more: the rate was not sustained, and the phase stays bounded in time.
   - **Connects/s**, once the server and the load generators are quiet again after the sockets were closed: ${config.concurrency} closed loops across the load generators, each: open a socket, \`connect\` with a fresh token for a session
     that server has not seen (no cache helps), wait for \`connected\` and \`notification:unread_count\`, close, next.
     ${config.connectWarmupMs / 1000} s warm-up, ${config.connectSeconds} s measured (\`BENCH_CONNECT_SECONDS\`); connects/s = handshakes completed in the window / its length.
     CPU of the server, of PostgreSQL${facts.postgresCpuKnown ? "" : " (unknown for an external server)"} and of the load generators is read from \`/proc\` at the window's edges.
5. Load generators (\`bench/notifications/load.ts\`): the project and bare ws are driven with a \`ws\` client speaking the JSON protocol,
   Socket.IO with \`socket.io-client\` (websocket transport only). Each load generator connects from its own loopback addresses
   (127.<20 + i>.0.1–250), so neither the ephemeral ports of one address nor TIME_WAIT limit the run. Frames are stamped on arrival and
   parsed later; the Socket.IO client parses each packet itself, which costs its load generators more CPU (listed) and adds to its latencies.

How to read it:

- **Ratios over absolutes.** The machine has 2 cores shared by the server, PostgreSQL, the load generators and the writer, and by other
  work; absolute rates move with it, ratios measured a minute apart much less.
- **Connects/s** is bounded by CPU: the server's per connect (signature verification, two queries, the frames, the close) plus PostgreSQL's
  plus the load generators'. The server's share is what differs between the three.
- **RSS per connection** counts what the process keeps per socket (ws objects, buffers, rooms, per-socket timers) plus heap growth not
  yet returned; the kernel's socket buffers are not in RSS.
- **Fan-out** to N sockets is one transaction of N rows; the frames leave one event loop one after another, so p99 is about the time to
  load the rows and serialize and write N frames (and N unread counts), plus the load generators' time to read them.
- **Targeted** latency includes the wait for the commit: when the offered rate is above what the database commits (the ceiling above), the
  POSTs queue and the latency grows for as long as the load lasts, whatever the socket layer does.
`
  return { table, markdown }
}
