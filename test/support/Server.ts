import type * as ChildProcess from "node:child_process"
import { spawnEntry } from "./Cli.ts"

export interface RunningServer {
  readonly child: ChildProcess.ChildProcess
  readonly baseUrl: string
  /** Everything the process printed so far. */
  readonly output: () => string
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>
}

/** Starts `npm start`'s program and waits for its "listening on" line. */
export const startServer = (env: Readonly<Record<string, string | undefined>>, timeoutMs = 60_000) =>
  new Promise<RunningServer>((resolve, reject) => {
    const child = spawnEntry("main.ts", [], { PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "Info", ...env })
    let output = ""
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`server did not start in time:\n${output}`))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/[^\s"]+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ child, baseUrl: match[1]!.replace("localhost", "127.0.0.1"), output: () => output, exited })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening:\n${output}`))
    })
  })
