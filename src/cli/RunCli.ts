import { CliConfig, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { defaultTeardown, type Teardown } from "@effect/platform/Runtime"
import { Cause, Effect, Exit, Option } from "effect"
import { cli } from "./Cli.ts"
import { describeFailure } from "./Report.ts"
import { UsageError } from "./UsageError.ts"

/** Bad usage: a parse error of @effect/cli (which has printed it already) or our own UsageError. */
const usageError = (cause: Cause.Cause<unknown>) =>
  Option.filter(Cause.failureOption(cause), (error) => ValidationError.isValidationError(error) || error instanceof UsageError)

/** One line on stderr: not for a parse error (printed already), nor for an interruption (SIGTERM is no error). */
const report = (cause: Cause.Cause<unknown>) =>
  Effect.sync(() => {
    if (Cause.isInterruptedOnly(cause) || Option.exists(usageError(cause), ValidationError.isValidationError)) return
    process.stderr.write(`error: ${describeFailure(cause)}\n`)
  })

/** Exit codes scripts rely on: 0 success (SIGTERM and SIGINT included), 1 a user or runtime error, 2 bad usage. */
const teardown: Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Option.isSome(usageError(exit.cause)) ? onExit(2) : defaultTeardown(exit, onExit)

const isHelpFlag = (arg: string) => arg === "--help" || arg === "-h"

/**
 * @effect/cli 0.77 sees `--help` only before a command's options (`org create --help`); after one
 * (`org create --slug acme --help`) it reports an unknown argument, exit 2. Asking for help is never
 * bad usage: keep the command's words and ask for its help.
 */
const helpAfterWords = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const [runtime = "node", script = "cli", ...args] = argv
  if (!args.some(isHelpFlag)) return argv
  const words = args.slice(0, args.findIndex((arg) => arg.startsWith("-")))
  return [runtime, script, ...words, "--help"]
}

/**
 * Runs one command line (`process.argv`). Under runMain, SIGINT/SIGTERM interrupt the command, so every
 * scope (HTTP server, pool, embedded database) closes before the process exits. Help goes to stdout;
 * parse errors, logs and failures go to stderr.
 */
export const runCli = (argv: ReadonlyArray<string>) =>
  cli(helpAfterWords(argv)).pipe(
    Effect.tapErrorCause(report),
    Effect.provide([NodeContext.layer, CliConfig.layer({ showBuiltIns: false })]),
    NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true, teardown })
  )
