import { Runtime } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Layer } from "effect"
import { MainLive } from "../layers/Main.ts"
import { describeFailure } from "./cli/Report.ts"

/**
 * `npm start`: the whole application until SIGTERM or SIGINT, then a bounded drain and exit 0. A
 * startup failure is one line on stderr and exit 1. A component that gives up for good (an embedded
 * database that keeps dying) sets a failing exit code and signals the process: the same orderly stop,
 * then that code for the supervisor.
 */
NodeRuntime.runMain(
  Layer.launch(MainLive).pipe(
    Effect.tapErrorCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.void : Effect.sync(() => process.stderr.write(`error: ${describeFailure(cause)}\n`)))
  ),
  {
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => Runtime.defaultTeardown(exit, (code) => onExit(code === 0 ? Number(process.exitCode ?? 0) : code))
  }
)
