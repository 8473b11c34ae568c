import { NodeTerminal } from "@effect/platform-node"
import { Error as PlatformError, Terminal } from "@effect/platform"
import { Effect, Layer } from "effect"

/**
 * The Node terminal with its output on stderr. NodeTerminal draws prompts on stdout, which a script
 * captures (`id=$(npm run cli -- user create ...)`): stdout carries only a command's result.
 */
export const StderrTerminalLive = Layer.scoped(
  Terminal.Terminal,
  Effect.map(NodeTerminal.make(), (terminal) =>
    Terminal.Terminal.of({
      ...terminal,
      columns: Effect.sync(() => process.stderr.columns ?? 0),
      rows: Effect.sync(() => process.stderr.rows ?? 0),
      isTTY: Effect.sync(() => process.stderr.isTTY === true),
      display: (text) =>
        Effect.async<void, PlatformError.PlatformError>((resume) => {
          process.stderr.write(text, (cause) =>
            resume(
              cause
                ? Effect.fail(new PlatformError.SystemError({ reason: "Unknown", module: "Terminal", method: "display", cause }))
                : Effect.void
            ))
        })
    }))
)
