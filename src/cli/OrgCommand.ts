import { Command } from "@effect/cli"
import { commandGroup } from "./CommandGroup.ts"
import { orgCreateCommand } from "./OrgCreateCommand.ts"
import { orgActivateCommand, orgSuspendCommand } from "./OrgStatusCommands.ts"

/** `org <command>`: organizations. */
export const orgCommand = commandGroup("org", "manage organizations").pipe(Command.withSubcommands([orgCreateCommand, orgSuspendCommand, orgActivateCommand]))
