import { Effect, Redacted } from "effect"
import * as Readline from "node:readline"
import { CliError } from "./CliError.ts"

/** One line from stdin when piped; a prompt with echo off in a terminal. Never from argv. */
export const readPassword = Effect.async<Redacted.Redacted<string>, CliError>((resume) => {
  const interactive = process.stdin.isTTY === true
  const output = interactive ? process.stderr : undefined
  const rl = Readline.createInterface({ input: process.stdin, ...(output === undefined ? {} : { output }), terminal: interactive })
  let answered = false
  const finish = (line: string | undefined) => {
    if (answered) return
    answered = true
    rl.close()
    if (interactive) process.stderr.write("\n")
    resume(
      line === undefined || line.length === 0
        ? Effect.fail(new CliError({ message: "no password given on stdin" }))
        : line.length < 12
          ? Effect.fail(new CliError({ message: "the password must have at least 12 characters" }))
          : Effect.succeed(Redacted.make(line))
    )
  }
  if (interactive) {
    process.stderr.write("Password: ")
    // Mute the echo of what is typed.
    ;(rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined
  }
  rl.once("line", finish)
  rl.once("close", () => finish(undefined))
})
