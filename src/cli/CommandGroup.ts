import { Command } from "@effect/cli"
import { UsageError } from "./UsageError.ts"

/**
 * A command that only holds subcommands (`org`, `user`, ...). Run alone it is bad usage (exit 2), like
 * an unknown command, where @effect/cli would print its help and exit 0.
 */
export const commandGroup = <const Name extends string>(name: Name, description: string) =>
  Command.make(name, {}, () => new UsageError({ message: `missing command: ${name} <command> (see ${name} --help)` })).pipe(
    Command.withDescription(description)
  )
