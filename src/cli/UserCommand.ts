import { Command } from "@effect/cli"
import { commandGroup } from "./CommandGroup.ts"
import { userCreateCommand } from "./UserCreateCommand.ts"
import { userDeactivateCommand } from "./UserDeactivateCommand.ts"
import { userSetRoleCommand } from "./UserSetRoleCommand.ts"

/** `user <command>`: users of an organization. */
export const userCommand = commandGroup("user", "manage users").pipe(
  Command.withSubcommands([userCreateCommand, userDeactivateCommand, userSetRoleCommand])
)
