import { Command } from "@effect/cli"
import { commandGroup } from "./CommandGroup.ts"
import { seedDemoCommand } from "./SeedDemoCommand.ts"

/** `seed <command>`: data sets to load. */
export const seedCommand = commandGroup("seed", "load a data set").pipe(Command.withSubcommands([seedDemoCommand]))
