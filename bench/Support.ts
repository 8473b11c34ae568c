import { Cause, Effect, Exit, Fiber, Redacted } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"
import * as EmbeddedPostgres from "../layers/EmbeddedPostgres.ts"

/** An integer benchmark setting from the environment; a malformed one stops the run. */
export const intFromEnv = (name: string, fallback: number, min: number) => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${raw}`)
  return value
}

/** Prints the table and records the full report in bench/results/. */
export const writeResults = (resultsFile: string, report: { readonly table: string; readonly markdown: string }, log: (message: string) => void) => {
  console.log(report.table)
  Fs.mkdirSync(Path.dirname(resultsFile), { recursive: true })
  Fs.writeFileSync(resultsFile, report.markdown)
  log(`wrote ${Path.relative(process.cwd(), resultsFile)}`)
}

/** Runs a benchmark's scoped program; SIGINT/SIGTERM interrupt it, so connections and servers close. */
export const runBenchmark = <A, E>(main: Effect.Effect<A, E>, log: (message: string) => void) => {
  const fiber = Effect.runFork(main)
  const interrupt = () => {
    log("interrupted; stopping")
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.once("SIGINT", interrupt)
  process.once("SIGTERM", interrupt)
  fiber.addObserver((exit) => {
    process.off("SIGINT", interrupt)
    process.off("SIGTERM", interrupt)
    if (Exit.isFailure(exit)) {
      if (!Cause.isInterruptedOnly(exit.cause)) console.error(Cause.pretty(exit.cause))
      process.exitCode = 1
    }
  })
}

/**
 * The benchmark's database: BENCH_DATABASE_URL, or an embedded PostgreSQL in a temporary directory that
 * is stopped and removed when the caller's scope closes. Never the machine's own server.
 */
export const benchDatabase = (log: (message: string) => void, settings?: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const configured = process.env.BENCH_DATABASE_URL
    if (configured !== undefined && configured !== "") {
      return { url: configured, database: "BENCH_DATABASE_URL (external server)", dataDir: undefined }
    }
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "casecore-bench-pg-"))
    // Added before the server starts, so it runs after the server has stopped.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        Fs.rmSync(dataDir, { recursive: true, force: true })
        Fs.rmSync(`${dataDir}.password`, { force: true })
      })
    )
    log(`starting embedded PostgreSQL in ${dataDir}`)
    const handle = yield* EmbeddedPostgres.start({ dataDir, port: 0, ephemeral: true, ...(settings === undefined ? {} : { settings }) })
    return {
      url: Redacted.value(handle.url),
      database: "embedded PostgreSQL (layers/EmbeddedPostgres.ts), default server settings, temp data directory",
      dataDir: handle.dataDir
    }
  })

/** The pid of the embedded server's postmaster (for its CPU time in /proc); undefined for an external server. */
export const readPostmasterPid = (dataDir: string | undefined) =>
  dataDir === undefined ? undefined : Number(Fs.readFileSync(Path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0])

/** The benchmark's own database connection, for the caller's scope. */
export const benchClient = (url: string, applicationName: string, log: (message: string) => void) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: url, application_name: applicationName })
      // Ctrl-C in a terminal reaches the database too: its fast shutdown ends this connection before our scope closes.
      client.on("error", (error) => log(`benchmark's database connection: ${error.message}`))
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

/** PostgreSQL's version and the named settings (ordered by name), for a results file. */
export const postgresFacts = (client: pg.Client, settingNames: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    const [{ version } = { version: "unknown" }] = (await client.query<{ version: string }>("SELECT version()")).rows
    const settings = (await client.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, setting, unit FROM pg_settings WHERE name IN (${settingNames.map((name) => `'${name}'`).join(", ")}) ORDER BY name`
    )).rows
    return { version, settings }
  })

/** One line of machine facts for a results file. */
export const machineLine = () => {
  const nproc = (() => {
    try {
      return ChildProcess.execFileSync("nproc", { encoding: "utf8" }).trim()
    } catch {
      return String(Os.availableParallelism())
    }
  })()
  const cpu = Os.cpus()[0]?.model ?? "unknown CPU"
  return `Node ${process.version}, ${Os.platform()} ${Os.release()}, \`nproc\` = ${nproc} (${cpu}), ${(Os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`
}
