import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { DirectoryCommandLive } from "../../layers/Main.ts"
import { seedDemo } from "../seed/Demo.ts"

/** `seed demo`: the demo organizations, users of every role and their cases. */
export const seedDemoCommand = Command.make("demo", {}, () => Effect.flatMap(seedDemo, Console.log)).pipe(
  Command.withDescription("load the demo organizations, users of every role, cases, RIUs and investigations"),
  Command.provide(DirectoryCommandLive)
)
