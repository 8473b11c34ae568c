import { NodeRuntime } from "@effect/platform-node"
import { Effect, Either } from "effect"
import { LoggingLive } from "../../layers/Logging.ts"
import { parseArgs, usage } from "./Args.ts"
import { command } from "./Commands.ts"
import { describeFailure } from "./Report.ts"

/**
 * Runs one CLI command. Exit codes a script can rely on: 0 success, 1 a user or runtime error (one
 * line on stderr), 2 bad usage. SIGINT/SIGTERM interrupt the program, so every scope (HTTP server,
 * pool, embedded database) closes before exit.
 */
export const runCli = (argv: ReadonlyArray<string>) => {
  const parsed = Either.flatMap(parseArgs(argv, new Set(["json", "help"])), command)
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${usage}\n`)
    return
  }
  if (Either.isLeft(parsed)) {
    process.stderr.write(`error: ${parsed.left.message}\n${usage}\n`)
    process.exitCode = 2
    return
  }
  const program = parsed.right.pipe(
    Effect.provide(LoggingLive),
    Effect.tapErrorCause((cause) => Effect.sync(() => process.stderr.write(`error: ${describeFailure(cause)}\n`)))
  )
  NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
}
