import { Command } from "@effect/cli"
import packageJson from "../../package.json" with { type: "json" }
import { LoggingLive } from "../../layers/Main.ts"
import { commandGroup } from "./CommandGroup.ts"
import { migrateCommand } from "./MigrateCommand.ts"
import { orgCommand } from "./OrgCommand.ts"
import { seedCommand } from "./SeedCommand.ts"
import { serveCommand } from "./ServeCommand.ts"
import { userCommand } from "./UserCommand.ts"

/** Logs on stderr for every command but `serve`, whose MainLive has its own (twice would print every line twice). */
const withLogging = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>) =>
  Command.provide(command, LoggingLive)

const casecore = commandGroup("casecore", "operate the case-management core; every command honours DATABASE_URL").pipe(
  Command.withSubcommands([
    serveCommand,
    withLogging(migrateCommand),
    withLogging(seedCommand),
    withLogging(orgCommand),
    withLogging(userCommand)
  ])
)

/** The command tree, parsing `process.argv` (runtime and script first). */
export const cli = Command.run(casecore, { name: "casecore", version: packageJson.version })
