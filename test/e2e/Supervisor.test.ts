import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { projectRoot } from "../support/Cli.ts"

/**
 * What a supervisor does (Docker, systemd without cgroup kill, PM2, CI runners): start `npm start` and
 * signal only the pid it started. Nothing of the process tree may outlive the signal by more than 10 s,
 * and clients in the middle of a conversation are answered, not reset.
 */

interface Started {
  readonly npm: ChildProcess.ChildProcess
  readonly baseUrl: string
  readonly output: () => string
  readonly exit: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly at: number }>
}

const startNpm = (dir: string) =>
  new Promise<Started>((resolve, reject) => {
    const npm = ChildProcess.spawn("npm", ["start"], {
      cwd: projectRoot,
      env: {
        ...process.env,
        DATABASE_URL: "",
        EMBEDDED_PG_DIR: Path.join(dir, "pg"),
        JWT_DEV_KEY_FILE: Path.join(dir, "jwt.json"),
        SEED_DEMO: "false",
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "Info",
        LOG_FORMAT: "json"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((done) =>
      npm.once("exit", (code, signal) => done({ code, signal, at: Date.now() })))
    const timer = setTimeout(() => reject(new Error(`npm start did not listen in time:\n${output}`)), 90_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/[^\s"\\]+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ npm, baseUrl: match[1]!.replace("localhost", "127.0.0.1"), output: () => output, exit })
      }
    }
    npm.stdout!.on("data", onData)
    npm.stderr!.on("data", onData)
    void exit.then(() => {
      clearTimeout(timer)
      reject(new Error(`npm start exited before listening:\n${output}`))
    })
  })

/** Every process below `pid` (node, the embedded postgres and its workers). */
const descendants = (pid: number): ReadonlyArray<number> => {
  // `ps` exits 1 when it lists nothing.
  const listed = ChildProcess.spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).stdout
  const children = listed
    .split("\n")
    .map((line) => Number(line.trim()))
    .filter((child) => child > 0)
  return children.flatMap((child) => [child, ...descendants(child)])
}

/**
 * Still running: the pid exists and is not a zombie. A process that exits after its parent is reparented to
 * this machine's pid 1, which may leave it unreaped for a while; exited, it holds nothing but its pid.
 */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}

const get = (url: string, agent: Http.Agent) =>
  new Promise<number>((resolve, reject) => {
    const request = Http.get(url, { agent, timeout: 15_000 }, (response) => {
      response.resume()
      response.once("end", () => resolve(response.statusCode ?? 0))
    })
    request.once("timeout", () => request.destroy(new Error("unanswered")))
    request.once("error", reject)
  })

interface LoopResult {
  readonly answered: number
  readonly failures: ReadonlyArray<string>
}

/** A keep-alive client asking again and again until the server stops accepting connections. */
const loop = async (url: string, stop: () => boolean): Promise<LoopResult> => {
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 1 })
  let answered = 0
  const failures: Array<string> = []
  try {
    for (;;) {
      try {
        const status = await get(url, agent)
        if (status !== 200) failures.push(`status ${status}`)
        answered++
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        // A refused connection is the server gone, which a client handles by going elsewhere: not a reset.
        if (code === "ECONNREFUSED") return { answered, failures }
        failures.push(code ?? (error as Error).message)
        return { answered, failures }
      }
      if (stop()) return { answered, failures }
    }
  } finally {
    agent.destroy()
  }
}

/** A request whose body trickles in at one byte a second: it must not hold the shutdown. */
const trickle = (baseUrl: string) => {
  const url = new URL("/auth/login", baseUrl)
  const request = Http.request({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { "content-type": "application/json", "content-length": "1000" } })
  request.on("error", () => undefined)
  request.on("response", (response) => response.resume())
  const timer = setInterval(() => request.write("{"), 1_000)
  return () => {
    clearInterval(timer)
    request.destroy()
  }
}

const tempDir = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "casecore-supervisor-"))
    Fs.chmodSync(dir, 0o755)
    return dir
  }),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const signalDuringLoad = (signal: "SIGTERM" | "SIGINT") =>
  Effect.gen(function* () {
    const dir = yield* tempDir
    const server = yield* Effect.acquireRelease(Effect.promise(() => startNpm(dir)), (started) =>
      Effect.sync(() => {
        for (const pid of descendants(started.npm.pid!)) if (alive(pid)) process.kill(pid, "SIGKILL")
        started.npm.kill("SIGKILL")
      }))
    const ready = yield* Effect.promise(() => fetch(`${server.baseUrl}/readyz`))
    assert.strictEqual(ready.status, 200)
    const tree = descendants(server.npm.pid!)
    assert.isAtLeast(tree.length, 2, "node and the embedded postgres run below npm")

    let signalled = 0
    const loops = Array.from({ length: 20 }, () => loop(`${server.baseUrl}/healthz`, () => signalled > 0 && Date.now() - signalled > 12_000))
    const stopTrickle = trickle(server.baseUrl)
    yield* Effect.sleep("500 millis")

    signalled = Date.now()
    process.kill(server.npm.pid!, signal)
    const exit = yield* Effect.promise(() => server.exit)
    stopTrickle()
    const results = yield* Effect.promise(() => Promise.all(loops))
    const gone = yield* Effect.promise(async () => {
      while (tree.some(alive) && Date.now() - signalled < 10_000) await new Promise((resume) => setTimeout(resume, 100))
      return tree.filter(alive)
    })

    assert.strictEqual(exit.code, 0, server.output())
    assert.isBelow(exit.at - signalled, 10_000, "npm start exits within 10 s, whatever the slow client does")
    assert.deepStrictEqual(gone, [], "no process of the tree is left")
    assert.deepStrictEqual(results.flatMap((result) => result.failures), [], "no keep-alive client is reset or left unanswered")
    assert.isAbove(results.reduce((sum, result) => sum + result.answered, 0), 20)
    assert.include(server.output(), "drain began")
    assert.include(server.output(), "drain ended")
  })

describe("a supervisor signals the pid of npm start", () => {
  it.scopedLive("SIGTERM: keep-alive clients are answered, a trickling body is cut, and every process is gone within 10 s", () =>
    signalDuringLoad("SIGTERM"), { timeout: 150_000 })

  it.scopedLive("SIGINT: the same", () => signalDuringLoad("SIGINT"), { timeout: 150_000 })
})
