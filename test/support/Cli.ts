import * as ChildProcess from "node:child_process"
import * as Os from "node:os"
import * as Path from "node:path"

export const projectRoot = Path.resolve(import.meta.dirname, "../..")

export interface CliRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Children keep their generated development key out of the project's .data/. */
const devKeyFile = Path.join(Os.tmpdir(), `casecore-test-jwt-${process.ppid}.json`)

const childEnv = (env: Readonly<Record<string, string | undefined>>) => {
  const merged: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, LOG_FORMAT: "json", JWT_DEV_KEY_FILE: devKeyFile, ...env })) {
    if (value !== undefined) merged[key] = value
  }
  return merged
}

/** Starts `src/<entry>` in a child process (as `npm run cli` / `npm start` would). */
export const spawnEntry = (entry: "cli.ts" | "main.ts", args: ReadonlyArray<string>, env: Readonly<Record<string, string | undefined>> = {}) =>
  ChildProcess.spawn(process.execPath, ["--import", "tsx", Path.join("src", entry), ...args], {
    cwd: projectRoot,
    env: childEnv(env),
    stdio: ["pipe", "pipe", "pipe"]
  })

/** Runs one CLI command to completion, with optional stdin. */
export const runCli = (args: ReadonlyArray<string>, options: { readonly env?: Readonly<Record<string, string | undefined>>; readonly stdin?: string } = {}) =>
  new Promise<CliRun>((resolve, reject) => {
    const child = spawnEntry("cli.ts", args, options.env)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.stdin ?? "")
  })
