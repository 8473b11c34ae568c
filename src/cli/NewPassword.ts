import { Prompt } from "@effect/cli"
import { NodeStream } from "@effect/platform-node"
import { Effect, Option, Redacted, Stream } from "effect"
import { CliError } from "./CliError.ts"
import { StderrTerminalLive } from "./StderrTerminal.ts"

const minimumLength = 12

const checkLength = (password: string) =>
  password.length >= minimumLength
    ? Effect.succeed(password)
    : Effect.fail(`the password must have at least ${minimumLength} characters`)

/** In a terminal: a hidden prompt that asks again until the password is long enough. */
const prompted = Prompt.hidden({ message: "Password", validate: checkLength }).pipe(
  Effect.provide(StderrTerminalLive),
  Effect.catchTag("QuitException", () => new CliError({ message: "no password given (prompt cancelled)" }))
)

/** From a script: the first line of stdin. */
const piped = NodeStream.fromReadable(
  () => process.stdin,
  (cause) => new CliError({ message: `cannot read the password from stdin: ${String(cause)}` })
).pipe(
  Stream.decodeText(),
  Stream.splitLines,
  Stream.runHead,
  Effect.flatMap((line) =>
    Option.isNone(line) || line.value === ""
      ? new CliError({ message: "no password given on stdin" })
      : Effect.mapError(checkLength(line.value), (message) => new CliError({ message }))
  ),
  Effect.map(Redacted.make)
)

/** A new user's password: prompted (hidden) when stdin is a terminal, else one line of stdin; never argv. */
export const readNewPassword = Effect.suspend(() => (process.stdin.isTTY === true ? prompted : piped))
