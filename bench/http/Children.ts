/** The benchmark's child processes (servers, load generator): started in the caller's scope, stopped with it. */
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Net from "node:net"
import { setTimeout as sleep } from "node:timers/promises"

export interface Child {
  readonly name: string
  readonly pid: number
  readonly process: ChildProcess.ChildProcess
  /** Lines the child printed on stdout and stderr: how many, the first few and the last few. */
  readonly output: { lines: number; readonly first: Array<string>; readonly last: Array<string> }
  readonly exited: Promise<void>
}

const keepFirst = 20
const keepLast = 40

export const describeExit = (child: Child) =>
  `${child.name} (pid ${child.pid}) exited with ${child.process.exitCode ?? child.process.signalCode}; last output:\n${child.output.last.join("\n")}`

const stop = (child: Child) =>
  Effect.promise(async () => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) return
    child.process.kill("SIGTERM")
    const gone = await Promise.race([child.exited.then(() => true), sleep(10_000).then(() => false)])
    if (!gone) {
      child.process.kill("SIGKILL")
      await child.exited
    }
  })

/**
 * `node --import tsx <script>` with the given environment; `ipc` gives it a message channel (the load
 * generator, and the peers, which stop when the channel closes). The pid is the Node process itself, so
 * /proc/<pid>/stat is its CPU time.
 */
export interface StartOptions {
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  readonly ipc: boolean
  readonly echo: (line: string) => void
  /** Extra node options before the script, e.g. --cpu-prof. */
  readonly nodeArgs?: ReadonlyArray<string>
  /** Arguments after the script. */
  readonly args?: ReadonlyArray<string>
}

export const start = (name: string, script: string, options: StartOptions) =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      const child = ChildProcess.spawn(process.execPath, [...(options.nodeArgs ?? []), "--import", "tsx", script, ...(options.args ?? [])], {
        cwd: options.cwd,
        env: options.env,
        stdio: options.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"]
      })
      const output = { lines: 0, first: [] as Array<string>, last: [] as Array<string> }
      const remember = (chunk: Buffer) => {
        for (const line of chunk.toString().split("\n")) {
          if (line.trim() === "") continue
          output.lines++
          if (output.first.length < keepFirst) {
            output.first.push(line)
            options.echo(`[${name}] ${line.length > 300 ? `${line.slice(0, 300)}…` : line}`)
          }
          output.last.push(line)
          if (output.last.length > keepLast) output.last.shift()
        }
      }
      child.stdout!.on("data", remember)
      child.stderr!.on("data", remember)
      const exited = new Promise<void>((resolve) => {
        child.once("exit", () => resolve())
        child.once("error", (error) => {
          output.last.push(error.message)
          resolve()
        })
      })
      if (child.pid === undefined) throw new Error(`${name}: could not start ${script}`)
      return { name, pid: child.pid, process: child, output, exited }
    }),
    stop
  )

export const isRunning = (child: Child) => child.process.exitCode === null && child.process.signalCode === null

/** Polls `url` until it answers 200; fails when the child exits first or after `timeoutMs`. */
export const waitFor200 = (child: Child, url: string, timeoutMs: number) =>
  Effect.promise(async (signal) => {
    const deadline = Date.now() + timeoutMs
    let last = "no answer"
    while (Date.now() < deadline && !signal.aborted) {
      if (!isRunning(child)) throw new Error(describeExit(child))
      try {
        const response = await fetch(url, { signal })
        last = `${response.status} ${(await response.text()).slice(0, 200)}`
        if (response.status === 200) return
      } catch (cause) {
        last = String(cause)
      }
      await sleep(100)
    }
    throw new Error(`${child.name}: ${url} did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`)
  })

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A server (`start`) on a free port of 127.0.0.1, given as PORT in its environment: its origin and the child. */
export const startServer = (name: string, script: string, options: StartOptions) =>
  Effect.gen(function* () {
    const port = yield* Effect.promise(freePort)
    const child = yield* start(name, script, { ...options, env: { ...options.env, PORT: String(port) } })
    return { origin: `http://127.0.0.1:${port}`, child }
  })

/**
 * The environment every server of a benchmark gets, the project and its peers alike (the project's own
 * variables, which the peers read the same way): this process's environment, the database, 127.0.0.1,
 * warnings only, no demo data, the signing key, the pool size.
 */
export const serverEnv = (options: {
  readonly databaseUrl: string
  readonly key: { readonly pem: string; readonly kid: string }
  readonly alg: string
  readonly poolMax: number
}): NodeJS.ProcessEnv => ({
  ...process.env,
  DATABASE_URL: options.databaseUrl,
  HOST: "127.0.0.1",
  LOG_LEVEL: "Warn",
  LOG_FORMAT: "json",
  SEED_DEMO: "false",
  NODE_ENV: "development",
  JWT_PRIVATE_KEY: options.key.pem,
  JWT_ALGORITHM: options.alg,
  JWT_KEY_ID: options.key.kid,
  DB_POOL_MAX: String(options.poolMax)
})

/**
 * The servers a benchmark compares, each started with `start` on a free port (`startServer`), their
 * origins and children recorded by name. The peers get an IPC channel and stop when it closes; the
 * project gets only signals, as in production.
 */
export const serverSet = <Name extends string>(
  scripts: Readonly<Record<Name, string>>,
  options: Omit<StartOptions, "ipc" | "nodeArgs"> & { readonly nodeArgs: (server: Name) => ReadonlyArray<string> }
) => {
  const origins = {} as Record<Name, string>
  const children = {} as Record<Name, Child>
  const start = (server: Name) =>
    Effect.gen(function* () {
      const started = yield* startServer(server, scripts[server], {
        cwd: options.cwd,
        env: options.env,
        ipc: server !== "project",
        echo: options.echo,
        nodeArgs: options.nodeArgs(server)
      })
      origins[server] = started.origin
      children[server] = started.child
    })
  return { origins, children, start }
}
