/**
 * Index build under write load: the longest insert stall while `CREATE INDEX` (plain) and
 * `CREATE INDEX CONCURRENTLY` build an index on a table of BENCH_ROWS rows that W writers keep
 * inserting into at a steady rate.
 *
 *   npx tsx bench/indexBuild.ts
 *
 * Environment: BENCH_DATABASE_URL (else an embedded, ephemeral PostgreSQL in a temp dir),
 * BENCH_ROWS (1000000), BENCH_REPEATS (3), BENCH_WRITERS (8), BENCH_RATE (2000 inserts/s in total),
 * BENCH_BUILD_TIMEOUT_S (300, a safety net only: statement_timeout of the build statement),
 * BENCH_PARALLEL_WORKERS (0, as the project's index step sets it; empty: the server's setting).
 * Prints a markdown table and writes it, with the machine facts, to bench/results/index-build.md.
 */
import { Effect } from "effect"
import * as Path from "node:path"
import * as Perf from "node:perf_hooks"
import * as Url from "node:url"
import pg from "pg"
import { benchDatabase, intFromEnv, machineLine, runBenchmark, writeResults } from "./Support.ts"

// ---------------------------------------------------------------------------------------------
// Configuration

const config = {
  rows: intFromEnv("BENCH_ROWS", 1_000_000, 1),
  repeats: intFromEnv("BENCH_REPEATS", 3, 1),
  writers: intFromEnv("BENCH_WRITERS", 8, 1),
  rate: intFromEnv("BENCH_RATE", 2_000, 1),
  buildTimeoutSeconds: intFromEnv("BENCH_BUILD_TIMEOUT_S", 300, 1),
  /** max_parallel_maintenance_workers for the build session; unset keeps the server's setting. */
  /** max_parallel_maintenance_workers for the build session: 0 as migrations/ConcurrentIndexes.ts sets it; "" keeps the server's. */
  parallelWorkers: process.env.BENCH_PARALLEL_WORKERS === "" ? undefined : intFromEnv("BENCH_PARALLEL_WORKERS", 0, 0),
  baselineMs: 1_000,
  tailMs: 1_000,
  stallMs: 100,
  organizations: 50
}

type Mode = "plain" | "concurrent"

const benchDir = Path.dirname(Url.fileURLToPath(import.meta.url))
const resultsFile = Path.join(benchDir, "results", "index-build.md")
const writerApplicationName = "bench-index-build-writer"
const indexColumns = "(organization_id, status, created_at DESC)"

// ---------------------------------------------------------------------------------------------
// Small helpers

const t0 = process.hrtime.bigint()
/** Milliseconds since the script started, from the monotonic clock. */
const nowMs = () => Number(process.hrtime.bigint() - t0) / 1e6

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, Math.max(0, ms))
    function done() {
      signal.removeEventListener("abort", done)
      clearTimeout(timer)
      resolve()
    }
    signal.addEventListener("abort", done, { once: true })
  })

const throwIfAborted = (signal: AbortSignal) => {
  if (signal.aborted) throw new Error("benchmark interrupted")
}

const connect = async (url: string, applicationName: string) => {
  const client = new pg.Client({ connectionString: url, application_name: applicationName })
  // A dropped connection must reject the query in flight, not crash the process.
  client.on("error", () => {})
  await client.connect()
  return client
}

const quantile = (sorted: ReadonlyArray<number>, q: number) => {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[index]!
}

const fmtMs = (ms: number) => (Number.isNaN(ms) ? "–" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`)

const log = (message: string) => console.error(`[${(nowMs() / 1000).toFixed(1).padStart(6)} s] ${message}`)

// ---------------------------------------------------------------------------------------------
// Load generator

interface Sample {
  readonly start: number
  readonly end: number
}

/**
 * One writer: one row per statement (autocommit), paced to `perWriterRate`. A writer that falls a
 * little behind (timer granularity) catches up; one that was stalled does not burst afterwards.
 */
const runWriter = async (client: pg.Client, perWriterRate: number, stop: AbortSignal, samples: Array<Sample>) => {
  const statuses = ["open", "in_review", "escalated", "closed", "archived"]
  const priorities = ["low", "medium", "high", "critical"]
  const intervalMs = 1000 / perWriterRate
  let next = nowMs()
  let n = 0
  while (!stop.aborted) {
    const wait = next - nowMs()
    if (wait >= 1) await sleep(wait, stop)
    if (stop.aborted) break
    n++
    const start = nowMs()
    await client.query({
      name: "bench_insert",
      text: `INSERT INTO bench_cases (organization_id, status, priority, title)
             VALUES (md5('org-' || $1::int)::uuid, $2, $3, $4)`,
      values: [n % config.organizations, statuses[n % statuses.length], priorities[n % priorities.length], `Load case ${n}`]
    })
    const end = nowMs()
    samples.push({ start, end })
    next += intervalMs
    if (next < end - 50) next = end // stalled: resume the pace, do not replay the backlog
  }
}

interface WaitSample {
  readonly at: number
  /** "type:event" of each writer waiting inside a statement: "Lock:relation", "Lock:extend", "IO:WalSync", … */
  readonly events: ReadonlyArray<string>
}

/** Samples what the writers' backends wait on (`pg_stat_activity`), to explain a stall. */
const runWaitMonitor = async (client: pg.Client, stop: AbortSignal, seen: Array<WaitSample>) => {
  while (!stop.aborted) {
    const at = nowMs()
    const result = await client.query<{ wait: string }>(
      `SELECT wait_event_type || ':' || wait_event AS wait FROM pg_stat_activity
        WHERE application_name = $1 AND state = 'active' AND wait_event IS NOT NULL`,
      [writerApplicationName]
    )
    seen.push({ at, events: result.rows.map((row) => row.wait) })
    await sleep(20, stop)
  }
}

// ---------------------------------------------------------------------------------------------
// One measured build

interface RunResult {
  readonly mode: Mode
  readonly run: number
  readonly buildMs: number
  readonly insertsDuringBuild: number
  readonly buildMaxMs: number
  readonly buildP99Ms: number
  readonly buildP50Ms: number
  readonly buildStalls: number
  readonly baselineMaxMs: number
  readonly baselineP99Ms: number
  readonly baselineP50Ms: number
  readonly baselineRate: number
  readonly buildRate: number
  /** Samples in which a writer waited on a heavyweight lock, of all samples taken during the build. */
  readonly lockWaitSamples: number
  readonly waitSamples: number
  /** The most frequent writer wait events during the build, with how many writer-samples showed each. */
  readonly topWaits: ReadonlyArray<readonly [string, number]>
  /** Longest event-loop delay of this process during the build (client-side measurement noise). */
  readonly eventLoopMaxMs: number
}

interface Connections {
  readonly admin: pg.Client
  readonly builder: pg.Client
  readonly monitor: pg.Client
  readonly writers: ReadonlyArray<pg.Client>
}

const measure = async (connections: Connections, mode: Mode, run: number, signal: AbortSignal): Promise<RunResult> => {
  const { admin, builder, monitor, writers } = connections
  const indexName = `ix_bench_${mode}_${run}`
  const samples: Array<Sample> = []
  const waitsSeen: Array<WaitSample> = []
  const eventLoop = Perf.monitorEventLoopDelay({ resolution: 5 })
  const stopLoad = new AbortController()
  const onAbort = () => stopLoad.abort()
  signal.addEventListener("abort", onAbort, { once: true })

  const load = Promise.all([
    ...writers.map((client) => runWriter(client, config.rate / writers.length, stopLoad.signal, samples)),
    runWaitMonitor(monitor, stopLoad.signal, waitsSeen)
  ])
  // A writer failure stops the run at once instead of after the build.
  load.catch(() => stopLoad.abort())

  let buildStart = Number.NaN
  let buildEnd = Number.NaN
  try {
    await sleep(config.baselineMs, stopLoad.signal)
    throwIfAborted(stopLoad.signal)
    eventLoop.enable()
    buildStart = nowMs()
    await builder.query(`CREATE INDEX ${mode === "concurrent" ? "CONCURRENTLY " : ""}${indexName} ON bench_cases ${indexColumns}`)
    buildEnd = nowMs()
    eventLoop.disable()
    await sleep(config.tailMs, stopLoad.signal)
  } finally {
    stopLoad.abort()
    signal.removeEventListener("abort", onAbort)
    await load.catch((error: unknown) => {
      throw new Error(`insert load failed: ${error instanceof Error ? error.message : String(error)}`)
    })
  }
  throwIfAborted(signal)
  await admin.query(`DROP INDEX IF EXISTS ${indexName}`)

  // Baseline: inserts issued and completed in the second before the build. Build window: every insert
  // that was in flight at any moment of the build (so one that was already waiting when it started counts).
  const baseline = samples.filter((s) => s.start >= buildStart - config.baselineMs && s.end < buildStart)
  const during = samples.filter((s) => s.start < buildEnd && s.end > buildStart)
  const latencies = (list: ReadonlyArray<Sample>) => list.map((s) => s.end - s.start).sort((a, b) => a - b)
  const baselineLatencies = latencies(baseline)
  const buildLatencies = latencies(during)
  const waitsInBuild = waitsSeen.filter((w) => w.at >= buildStart && w.at <= buildEnd)
  const waitCounts = new Map<string, number>()
  for (const event of waitsInBuild.flatMap((w) => w.events)) waitCounts.set(event, (waitCounts.get(event) ?? 0) + 1)
  const insertsDuringBuild = samples.filter((s) => s.end >= buildStart && s.end <= buildEnd).length
  return {
    mode,
    run,
    buildMs: buildEnd - buildStart,
    insertsDuringBuild,
    buildMaxMs: buildLatencies.at(-1) ?? Number.NaN,
    buildP99Ms: quantile(buildLatencies, 0.99),
    buildP50Ms: quantile(buildLatencies, 0.5),
    buildStalls: buildLatencies.filter((ms) => ms > config.stallMs).length,
    baselineMaxMs: baselineLatencies.at(-1) ?? Number.NaN,
    baselineP99Ms: quantile(baselineLatencies, 0.99),
    baselineP50Ms: quantile(baselineLatencies, 0.5),
    baselineRate: baseline.length / (config.baselineMs / 1000),
    buildRate: insertsDuringBuild / ((buildEnd - buildStart) / 1000),
    lockWaitSamples: waitsInBuild.filter((w) => w.events.some((event) => event.startsWith("Lock:"))).length,
    waitSamples: waitsInBuild.length,
    topWaits: [...waitCounts].sort((a, b) => b[1] - a[1]).slice(0, 3),
    eventLoopMaxMs: eventLoop.max / 1e6
  }
}

// ---------------------------------------------------------------------------------------------
// The benchmark

const loadTable = async (admin: pg.Client) => {
  await admin.query("DROP TABLE IF EXISTS bench_cases")
  await admin.query(`
    CREATE TABLE bench_cases (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id uuid NOT NULL,
      status text NOT NULL,
      priority text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      title text NOT NULL
    )`)
  await admin.query("SELECT setseed(0.42)")
  await admin.query(
    `INSERT INTO bench_cases (organization_id, status, priority, created_at, title)
     SELECT md5('org-' || floor(random() * $2)::int)::uuid,
            (ARRAY['open', 'in_review', 'escalated', 'closed', 'archived'])[1 + floor(random() * 5)::int],
            (ARRAY['low', 'medium', 'high', 'critical'])[1 + floor(random() * 4)::int],
            now() - random() * interval '730 days',
            'Case ' || g
       FROM generate_series(1, $1::int) AS g`,
    [config.rows, config.organizations]
  )
  await admin.query("VACUUM ANALYZE bench_cases")
}

/** Puts the table back to the loaded rows, so every run builds over the same data. */
const resetTable = async (admin: pg.Client, loadedMaxId: string) => {
  await admin.query("DELETE FROM bench_cases WHERE id > $1", [loadedMaxId])
  await admin.query("VACUUM ANALYZE bench_cases")
  // A checkpoint now, not in the middle of the next run (needs superuser or pg_checkpoint).
  await admin.query("CHECKPOINT").catch(() => undefined)
}

interface Facts {
  readonly postgres: string
  readonly settings: ReadonlyArray<{ name: string; setting: string; unit: string | null }>
  readonly tableSize: string
  readonly database: string
}

const runAllModes = async (url: string, database: string, signal: AbortSignal) => {
  const opened: Array<pg.Client> = []
  const open = async (name: string) => {
    const client = await connect(url, name)
    opened.push(client)
    return client
  }
  // Ctrl-C mid-statement: cancel the bulk load or the build on the server (from a fresh connection,
  // the others are busy), so the statements in flight reject and nothing outlives us on an external server.
  const busyPids: Array<number> = []
  const cancelStatements = () => {
    if (busyPids.length === 0) return
    void connect(url, "bench-index-build-cancel").then(
      (client) =>
        client
          .query("SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid", [busyPids])
          .catch(() => undefined)
          .finally(() => client.end().catch(() => undefined)),
      () => undefined
    )
  }
  signal.addEventListener("abort", cancelStatements, { once: true })
  try {
    const admin = await open("bench-index-build-admin")
    const builder = await open("bench-index-build-builder")
    const monitor = await open("bench-index-build-monitor")
    const writers = await Promise.all(Array.from({ length: config.writers }, () => open(writerApplicationName)))
    for (const client of [admin, builder]) {
      busyPids.push(Number((await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid))
    }
    await builder.query(`SET statement_timeout = '${config.buildTimeoutSeconds}s'`)
    if (config.parallelWorkers !== undefined) {
      await builder.query(`SET max_parallel_maintenance_workers = ${config.parallelWorkers}`)
    }

    log(`loading ${config.rows.toLocaleString("en")} rows`)
    const loadStart = nowMs()
    await loadTable(admin)
    log(`loaded in ${((nowMs() - loadStart) / 1000).toFixed(1)} s`)
    throwIfAborted(signal)
    const loadedMaxId = String((await admin.query<{ max: string }>("SELECT max(id) AS max FROM bench_cases")).rows[0]?.max)

    const facts: Facts = {
      postgres: String((await admin.query<{ version: string }>("SELECT version()")).rows[0]?.version),
      settings: (
        await admin.query<{ name: string; setting: string; unit: string | null }>(
          `SELECT name, setting, unit FROM pg_settings
            WHERE name IN ('shared_buffers', 'maintenance_work_mem', 'max_parallel_maintenance_workers',
                           'fsync', 'synchronous_commit', 'max_wal_size', 'wal_level')
            ORDER BY name`
        )
      ).rows,
      tableSize: String(
        (await admin.query<{ size: string }>("SELECT pg_size_pretty(pg_total_relation_size('bench_cases')) AS size")).rows[0]?.size
      ),
      database
    }

    const results: Array<RunResult> = []
    for (let run = 1; run <= config.repeats; run++) {
      // Alternate which mode goes first, so neither always runs on the colder cache.
      const modes: ReadonlyArray<Mode> = run % 2 === 1 ? ["plain", "concurrent"] : ["concurrent", "plain"]
      for (const mode of modes) {
        throwIfAborted(signal)
        await resetTable(admin, loadedMaxId)
        log(`run ${run}/${config.repeats}: ${mode}`)
        const result = await measure({ admin, builder, monitor, writers }, mode, run, signal)
        log(
          `  build ${fmtMs(result.buildMs)}, max insert ${fmtMs(result.buildMaxMs)} (baseline max ${fmtMs(result.baselineMaxMs)}), ` +
            `${result.buildStalls} inserts > ${config.stallMs} ms`
        )
        results.push(result)
      }
    }
    await admin.query("DROP TABLE IF EXISTS bench_cases")
    return { results, facts }
  } finally {
    signal.removeEventListener("abort", cancelStatements)
    await Promise.all(opened.map((client) => client.end().catch(() => undefined)))
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const report = (results: ReadonlyArray<RunResult>, facts: Facts) => {
  const header =
    "| mode | run | build | inserts during build | max insert during build | p99 during build | p50 during build | " +
    `inserts > ${config.stallMs} ms | baseline max | baseline p99 | baseline p50 | rate baseline → build | lock-wait samples | top writer waits | client event-loop max |\n` +
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
  const rows = results.map(
    (r) =>
      `| ${r.mode} | ${r.run} | ${fmtMs(r.buildMs)} | ${r.insertsDuringBuild} | **${fmtMs(r.buildMaxMs)}** | ${fmtMs(r.buildP99Ms)} | ` +
      `${fmtMs(r.buildP50Ms)} | ${r.buildStalls} | ${fmtMs(r.baselineMaxMs)} | ${fmtMs(r.baselineP99Ms)} | ` +
      `${fmtMs(r.baselineP50Ms)} | ${Math.round(r.baselineRate)}/s → ${Math.round(r.buildRate)}/s | ` +
      `${r.lockWaitSamples}/${r.waitSamples} | ${r.topWaits.map(([event, n]) => `${event} ×${n}`).join(", ") || "–"} | ` +
      `${fmtMs(r.eventLoopMaxMs)} |`
  )
  const summaryRows = (["plain", "concurrent"] as const).map((mode) => {
    const of = results.filter((r) => r.mode === mode)
    const builds = of.map((r) => r.buildMs).sort((a, b) => a - b)
    const worst = Math.max(...of.map((r) => r.buildMaxMs))
    const stalls = of.reduce((sum, r) => sum + r.buildStalls, 0)
    const verdict = worst <= config.stallMs ? "met" : "missed"
    return `| ${mode} | ${of.length} | ${fmtMs(quantile(builds, 0.5))} | **${fmtMs(worst)}** | ${stalls} | ${verdict} |`
  })
  const summary =
    `| mode | runs | median build | longest insert stall (all runs) | inserts > ${config.stallMs} ms (all runs) | target ≤ ${config.stallMs} ms |\n` +
    "|---|---:|---:|---:|---:|---|\n" +
    summaryRows.join("\n")
  const table = `${summary}\n\nPer run:\n\n${header}\n${rows.join("\n")}`

  const markdown = `# Index build under write load

Generated by \`npx tsx bench/indexBuild.ts\` on ${new Date().toISOString()}.

${table}

## Machine and settings

- ${machineLine()}
- ${facts.postgres}
- Database: ${facts.database}
- Server settings: ${facts.settings.map((s) => `${s.name}=${s.setting}${s.unit !== null && s.unit !== "" ? ` (${s.unit})` : ""}`).join(", ")}
- Table: ${config.rows.toLocaleString("en")} rows loaded (${facts.tableSize} with the primary key), index \`${indexColumns}\`
- Load: ${config.writers} writer connections, ${config.rate} inserts/s in total (target), one autocommitted row per INSERT
- Build session: max_parallel_maintenance_workers = ${config.parallelWorkers ?? "server setting (above)"}, no lock_timeout
- Repeats: ${config.repeats} per mode, order alternating (odd runs plain first, even runs concurrent first)

## Method

1. \`bench_cases\` is created and filled with one \`INSERT … SELECT FROM generate_series\` (${config.organizations}
   organizations, 5 statuses, 4 priorities, \`created_at\` spread over two years, seeded random), then \`VACUUM ANALYZE\`.
2. Before each run the rows inserted by the previous run are deleted, the table is vacuumed and a \`CHECKPOINT\`
   is taken, so every build reads the same ${config.rows.toLocaleString("en")} rows.
3. The writers start; each sends one \`INSERT\` at a time, paced to its share of the rate, and records the
   latency of each statement (send to reply, \`process.hrtime.bigint()\`). After ${config.baselineMs} ms of warm-up
   (the baseline window: inserts that started and finished in it), a separate connection runs \`CREATE INDEX [CONCURRENTLY] … ON bench_cases ${indexColumns}\`
   with no \`lock_timeout\` (raw behaviour of both statements). The load continues ${config.tailMs} ms after the build returns,
   then stops and the index is dropped.
4. The build window holds every insert in flight at any moment of the build (an insert that started just
   before it and waited is counted). "Inserts during build" counts inserts that completed inside the build.
   A paced writer that was stalled does not replay its backlog, so a stall shows up as one long insert per writer,
   not as a burst afterwards.
5. A monitor connection samples the writers' \`pg_stat_activity\` rows every 20 ms. "Lock-wait samples" counts
   samples during the build in which at least one writer waited on a heavyweight lock (\`wait_event_type = 'Lock'\`);
   "top writer waits" lists the most frequent \`wait_event_type:wait_event\` during the build, counted per
   writer per sample: \`Lock:relation\` is the table lock a plain build holds, \`Lock:extend\` writers queueing
   to grow the table file, \`IO:WalSync\`/\`LWLock:WALWrite\` commit flushes. No wait event while an insert is
   slow means the backend was running or waiting for a CPU.
6. "Rate baseline → build" is the achieved rate: inserts completed per second in the baseline window and
   inside the build. Each writer has one statement in flight, so once an insert takes longer than
   ${config.writers}/${config.rate} s (${((config.writers / config.rate) * 1000).toFixed(1)} ms) the achieved rate falls short of the target;
   raise \`BENCH_WRITERS\` to hold the rate on a slower disk.
7. "Client event-loop max" is the longest event-loop delay of the benchmark process during the build
   (\`perf_hooks.monitorEventLoopDelay\`): a latency close to it may be the client being starved, not the server.
`
  return { table, markdown }
}

// ---------------------------------------------------------------------------------------------
// Entry point: the embedded server lives in a scope that closes on success, failure and Ctrl-C.

const main = Effect.gen(function* () {
  const { url, database } = yield* benchDatabase(log)
  // Unlike Effect.tryPromise, interruption here waits until the benchmark has closed its connections,
  // and only then does the scope stop the embedded server.
  const { results, facts } = yield* Effect.async<Awaited<ReturnType<typeof runAllModes>>, Error>((resume) => {
    const controller = new AbortController()
    const running = runAllModes(url, database, controller.signal)
    running.then(
      (value) => resume(Effect.succeed(value)),
      (error: unknown) => resume(Effect.fail(error instanceof Error ? error : new Error(String(error))))
    )
    return Effect.promise(() => {
      controller.abort()
      return running.then(
        () => undefined,
        () => undefined
      )
    })
  })
  writeResults(resultsFile, report(results, facts), log)
}).pipe(Effect.scoped)

runBenchmark(main, log)
