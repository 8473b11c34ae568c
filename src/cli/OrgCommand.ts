import { Command } from "@effect/cli"
import { commandGroup } from "./CommandGroup.ts"
import { orgCreateCommand } from "./OrgCreateCommand.ts"

/** `org <command>`: organizations. */
export const orgCommand = commandGroup("org", "manage organizations").pipe(Command.withSubcommands([orgCreateCommand]))
