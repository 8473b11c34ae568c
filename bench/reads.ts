/**
 * Batched reads: `Cases.List` with its tree for the 100 and the 500 newest cases of an organization, five ways
 * side by side in one run (bench/reads/Peers.ts): naive N+1, the project's resolvers (layers/LoadersLive.ts
 * through layers/CaseTrees.ts), the `dataloader` package, hand-written set-based `= ANY` queries, and one
 * json_agg statement (the reference, ratio 1.0); plus scattered single-user lookups through `Loaders.user`
 * with and without the per-request cache (layers/RequestCache.ts).
 *
 *   npm run bench -- reads            (or: npx tsx bench/reads.ts)
 *
 * Environment: BENCH_DATABASE_URL (an EMPTY database; else an embedded, ephemeral PostgreSQL in a temp dir),
 * BENCH_ROUNDS (5), BENCH_MEASURE_MS (1000 per variant, size and round), BENCH_WARMUP_MS (1500 per variant and
 * size), BENCH_ORGANIZATIONS (10), BENCH_CASES_PER_ORGANIZATION (2000), DB_POOL_MAX (10), BENCH_ONLY (variants,
 * e.g. "resolvers": json_agg always runs). Prints markdown tables and writes them, with the machine facts and the
 * method, to bench/results/reads.md.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import * as Assert from "node:assert"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import * as Url from "node:url"
import pg from "pg"
import { LoadersLive } from "../layers/LoadersLive.ts"
import { withRequestScopedCache } from "../layers/RequestCache.ts"
import { migrate } from "../migrations/Migrate.ts"
import type { OrganizationId, UserId } from "../src/domain/Ids.ts"
import { datasetId, seedReadsDataset } from "../test/support/ReadsDataset.ts"
import { jsonAggSql, type PeerName, peers, scattered, scatteredIds } from "./reads/Peers.ts"
import { profiled, summarize } from "./reads/Profile.ts"
import { type Measurement, median, ms, report, type ScatteredMeasurement } from "./reads/Report.ts"
import { benchDatabase, intFromEnv, machineLine, runBenchmark, writeResults } from "./Support.ts"

const allVariants: ReadonlyArray<PeerName> = ["naive", "resolvers", "dataloader", "setBased", "jsonAgg"]

const config = {
  rounds: intFromEnv("BENCH_ROUNDS", 5, 1),
  measureMs: intFromEnv("BENCH_MEASURE_MS", 1_000, 50),
  warmupMs: intFromEnv("BENCH_WARMUP_MS", 1_500, 0),
  /** At least this many requests per measurement, however long they take (naive N+1 at 500 cases). */
  minSamples: 3,
  organizations: intFromEnv("BENCH_ORGANIZATIONS", 10, 1),
  casesPerOrganization: intFromEnv("BENCH_CASES_PER_ORGANIZATION", 2_000, 500),
  poolMax: intFromEnv("DB_POOL_MAX", 10, 1),
  sizes: [100, 500] as const,
  scatteredSize: 100,
  variants: (() => {
    const raw = process.env.BENCH_ONLY
    if (raw === undefined || raw.trim() === "") return allVariants
    const names = raw.split(",").map((name) => name.trim())
    const unknown = names.filter((name) => !(allVariants as ReadonlyArray<string>).includes(name) && name !== "scattered")
    if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown ${unknown.join(", ")} (known: ${allVariants.join(", ")}, scattered)`)
    return allVariants.filter((variant) => variant === "jsonAgg" || names.includes(variant))
  })(),
  /** BENCH_PROFILE=resolvers[,setBased,…]: instead of the rounds, profile those variants (bench/results/reads-profile.md). */
  profile: (() => {
    const raw = process.env.BENCH_PROFILE
    if (raw === undefined || raw.trim() === "") return []
    const names = raw.split(",").map((name) => name.trim())
    const unknown = names.filter((name) => !(allVariants as ReadonlyArray<string>).includes(name))
    if (unknown.length > 0) throw new Error(`BENCH_PROFILE: unknown ${unknown.join(", ")} (known: ${allVariants.join(", ")})`)
    return names as ReadonlyArray<PeerName>
  })(),
  profileSeconds: intFromEnv("BENCH_PROFILE_SECONDS", 5, 1),
  scattered: (() => {
    const raw = process.env.BENCH_ONLY
    return raw === undefined || raw.trim() === "" || raw.split(",").map((name) => name.trim()).includes("scattered")
  })()
}

const benchDir = Path.dirname(Url.fileURLToPath(import.meta.url))
const resultsFile = Path.join(benchDir, "results", "reads.md")
const profileFile = Path.join(benchDir, "results", "reads-profile.md")

const t0 = performance.now()
const log = (message: string) => console.error(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}`)

// ---------------------------------------------------------------------------------------------
// Counters: statements (every one @effect/sql-pg sends goes through pg.Client#query), Node and PostgreSQL CPU

let statements = 0
const countStatements = Effect.acquireRelease(
  Effect.sync(() => {
    const original = pg.Client.prototype.query
    const counting = function (this: pg.Client, ...args: Array<unknown>) {
      statements++
      return (original as (...args: Array<unknown>) => unknown).apply(this, args)
    }
    pg.Client.prototype.query = counting as typeof original
    return original
  }),
  (original) => Effect.sync(() => { pg.Client.prototype.query = original })
)

const nodeCpuMs = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

const clockTicks = (() => {
  try {
    return Number(ChildProcess.execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

let postmasterPid: number | undefined

/** CPU time (ms) of the embedded postmaster and its children, live or exited, or NaN (external server, not Linux). */
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
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // utime and stime; for the postmaster also cutime and cstime, where the CPU of backends that exited (parallel
    // workers, closed connections) ends up once it has reaped them, so a delta never goes negative.
    if (Number(entry) === postmasterPid) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
    else if (Number(fields[1]) === postmasterPid) ticks += Number(fields[11]) + Number(fields[12])
  }
  return (ticks / clockTicks) * 1000
}

// ---------------------------------------------------------------------------------------------
// The run

const main = Effect.gen(function* () {
  log(`variants: ${config.variants.join(", ")}${config.scattered ? ", scattered" : ""}; rounds ${config.rounds}, ${config.measureMs} ms each`)
  const database = yield* benchDatabase(log)
  if (database.dataDir !== undefined) {
    postmasterPid = Number(Fs.readFileSync(Path.join(database.dataDir, "postmaster.pid"), "utf8").split("\n")[0])
  }
  const SqlLive = PgClient.layer({ url: Redacted.make(database.url), maxConnections: config.poolMax, applicationName: "casecore-bench-reads" })
  const AppLive = LoadersLive.pipe(Layer.provideMerge(SqlLive))
  const context = yield* Layer.build(AppLive)
  const run = <A, E>(effect: Effect.Effect<A, E, Layer.Layer.Success<typeof AppLive>>) => Effect.provide(effect, context)

  log("migrating")
  yield* run(migrate())
  const options = { organizations: config.organizations, casesPerOrganization: config.casesPerOrganization, usersPerOrganization: 40, categoriesPerOrganization: 20 }
  log(`seeding ${options.organizations * options.casesPerOrganization} cases over ${options.organizations} organizations`)
  const seedStart = performance.now()
  const shape = yield* run(seedReadsDataset(options))
  log(`seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`)
  const organizations = Array.from({ length: config.organizations }, (_, n) => datasetId("org", n) as OrganizationId)

  yield* countStatements

  // Every peer answers the same: checked on two organizations at each size before anything is measured.
  for (const size of config.sizes) {
    for (const organization of organizations.slice(0, 2)) {
      const reference = yield* run(peers.jsonAgg(organization, size))
      Assert.strictEqual(reference.length, size)
      for (const variant of config.variants) {
        const answer = yield* run(peers[variant](organization, size))
        Assert.deepStrictEqual(answer, reference, `${variant} answers differently from json_agg at ${size} cases`)
      }
    }
  }
  log("all variants return the same trees")

  let next = 0
  /** Requests one after another for `ms` (at least minSamples), organizations in turn. */
  const measure = (variant: PeerName, size: number, ms: number) =>
    Effect.gen(function* () {
      const samples: Array<number> = []
      const statements0 = statements
      const cpu0 = nodeCpuMs()
      const pg0 = postgresCpuMs()
      const start = performance.now()
      while (performance.now() - start < ms || samples.length < config.minSamples) {
        const organization = organizations[next++ % organizations.length]!
        const began = performance.now()
        yield* run(peers[variant](organization, size))
        samples.push(performance.now() - began)
      }
      return {
        samples,
        statementsPerOp: (statements - statements0) / samples.length,
        nodeCpuMsPerOp: (nodeCpuMs() - cpu0) / samples.length,
        postgresCpuMsPerOp: (postgresCpuMs() - pg0) / samples.length
      }
    })

  if (config.profile.length > 0) {
    const sections: Array<string> = []
    for (const variant of config.profile) {
      for (const size of config.sizes) {
        yield* measure(variant, size, config.warmupMs)
        const { profile, result } = yield* Effect.promise(() => profiled(() => Effect.runPromise(measure(variant, size, config.profileSeconds * 1000))))
        const summary = summarize(profile, 30)
        const perRequest = summary.busyMs / result.samples.length
        log(`profiled ${variant} at ${size} cases: ${result.samples.length} requests, ${perRequest.toFixed(2)} ms of Node CPU each`)
        sections.push(`## ${variant}, ${size} cases\n\n${result.samples.length} requests in ${config.profileSeconds} s; ${perRequest.toFixed(2)} ms of sampled Node CPU per request; ${ms(median(result.samples))} ms median wall time; ${result.statementsPerOp.toFixed(1)} statements per request.\n\n${summary.places}\n\n${summary.functions}\n`)
      }
    }
    Fs.mkdirSync(Path.dirname(profileFile), { recursive: true })
    Fs.writeFileSync(profileFile, `# CPU profile of bench/reads\n\nGenerated by \`BENCH_PROFILE=${config.profile.join(",")} npm run bench -- reads\` on ${new Date().toISOString()}; ${machineLine()}. V8 sampling profiler (100 µs) of this process only, while one variant runs requests back to back (self time; PostgreSQL is not in it).\n\n${sections.join("\n")}`)
    log(`wrote ${Path.relative(process.cwd(), profileFile)}`)
    return
  }

  log("warming up")
  for (const size of config.sizes) {
    for (const variant of config.variants) yield* measure(variant, size, config.warmupMs)
  }

  const measurements: Array<Measurement> = []
  for (let round = 1; round <= config.rounds; round++) {
    for (const size of config.sizes) {
      const shift = (round - 1) % config.variants.length
      const order = [...config.variants.slice(shift), ...config.variants.slice(0, shift)]
      for (const variant of order) {
        const m = yield* measure(variant, size, config.measureMs)
        measurements.push({ round, size, variant, order: order.join(" → "), ...m })
      }
      log(`round ${round}, ${size} cases: ${order.join(" → ")}`)
    }
  }

  const scatteredMeasurements: Array<ScatteredMeasurement> = []
  if (config.scattered) {
    const inputs = yield* run(Effect.forEach(organizations, (organization, n) =>
      Effect.map(scatteredIds(organization, config.scatteredSize), (ids) => ({ organization, ids, caller: datasetId("user", n) as UserId }))))
    const lookups = inputs[0]!.ids.creators.length * 2 + inputs[0]!.ids.investigators.length + 10
    const scatteredVariants = {
      "no cache": (input: (typeof inputs)[number]) => scattered(input.organization, input.ids, input.caller),
      "per-request cache": (input: (typeof inputs)[number]) => withRequestScopedCache(scattered(input.organization, input.ids, input.caller))
    } as const
    const names = Object.keys(scatteredVariants) as Array<keyof typeof scatteredVariants>
    const answers = yield* Effect.forEach(names, (name) => run(scatteredVariants[name](inputs[0]!)))
    Assert.strictEqual(answers[0], answers[1], "the cache changes what the lookups find")
    const measureScattered = (name: keyof typeof scatteredVariants, ms: number) =>
      Effect.gen(function* () {
        const samples: Array<number> = []
        const statements0 = statements
        const cpu0 = nodeCpuMs()
        const start = performance.now()
        while (performance.now() - start < ms || samples.length < config.minSamples) {
          const input = inputs[next++ % inputs.length]!
          const began = performance.now()
          yield* run(scatteredVariants[name](input))
          samples.push(performance.now() - began)
        }
        return { samples, statementsPerOp: (statements - statements0) / samples.length, nodeCpuMsPerOp: (nodeCpuMs() - cpu0) / samples.length }
      })
    for (const name of names) yield* measureScattered(name, config.warmupMs)
    for (let round = 1; round <= config.rounds; round++) {
      const order = round % 2 === 1 ? names : [...names].reverse()
      for (const name of order) scatteredMeasurements.push({ round, variant: name, lookups, ...(yield* measureScattered(name, config.measureMs)) })
    }
    log("scattered lookups measured")
  }

  const [server] = yield* run(Effect.flatMap(PgClient.PgClient, (sql) => sql<{ version: string }>`SELECT current_setting('server_version') AS version`))
  writeResults(resultsFile, report({
    date: new Date().toISOString(),
    machine: machineLine(),
    loadAverage: Os.loadavg().map((n) => n.toFixed(2)).join(" / "),
    database: `${database.database}, PostgreSQL ${server?.version ?? "?"}`,
    poolMax: config.poolMax,
    rounds: config.rounds,
    measureMs: config.measureMs,
    warmupMs: config.warmupMs,
    shape,
    sizes: config.sizes,
    variants: config.variants,
    measurements,
    scattered: scatteredMeasurements,
    scatteredSize: config.scatteredSize,
    jsonAggSql
  }), log)
})

runBenchmark(Effect.scoped(main), log)
