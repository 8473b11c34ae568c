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

/** What a terminal showed: stdout and stderr share the pseudo-terminal, as they do on screen. */
export interface TerminalRun {
  readonly code: number | null
  readonly output: string
}

const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

/**
 * Runs one CLI command under a pseudo-terminal (util-linux `script`), so that its stdin is a TTY; each
 * step types its keys once the text it waits for has appeared (so nothing is typed before the
 * program has taken the terminal, which would echo it).
 */
export const runCliInTerminal = (
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Readonly<Record<string, string | undefined>>
    readonly steps: ReadonlyArray<{ readonly waitFor: string; readonly type: string }>
  }
) =>
  new Promise<TerminalRun>((resolve, reject) => {
    const command = [process.execPath, "--import", "tsx", Path.join("src", "cli.ts"), ...args].map(shellQuote).join(" ")
    const child = ChildProcess.spawn("script", ["--quiet", "--flush", "--return", "--command", command, "/dev/null"], {
      cwd: projectRoot,
      env: childEnv(options.env ?? {}),
      stdio: ["pipe", "pipe", "pipe"]
    })
    let output = ""
    let seen = 0
    let step = 0
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const next = options.steps[step]
      const at = next === undefined ? -1 : output.indexOf(next.waitFor, seen)
      if (next !== undefined && at >= 0) {
        seen = at + next.waitFor.length
        step++
        child.stdin.write(next.type)
      }
    })
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.on("error", reject)
    child.on("close", (code) => {
      child.stdin.destroy()
      resolve({ code, output })
    })
  })
