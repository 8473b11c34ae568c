import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { MigrationCommandLive } from "../../layers/Main.ts"
import { migrate } from "../../migrations/Migrate.ts"
import { migrateStatusCommand } from "./MigrateStatusCommand.ts"

/** `migrate`: pending migrations, then the declared indexes built concurrently. */
export const migrateCommand = Command.make(
  "migrate",
  {},
  Effect.fn("cli.migrate")(function* () {
    const { applied, indexes } = yield* migrate()
    const built = indexes.filter((index) => index.action !== "unchanged").length
    yield* Console.log(`migrations applied: ${applied.length === 0 ? "none pending" : applied.map(([id, name]) => `${id}_${name}`).join(", ")}`)
    yield* Console.log(`indexes: ${indexes.length} declared, ${built} built, all valid`)
  })
).pipe(
  Command.withDescription("apply pending migrations, then build the declared indexes concurrently"),
  Command.withSubcommands([migrateStatusCommand]),
  // Provided after withSubcommands, so it wraps `migrate` and `migrate status` alike (one connection each).
  Command.provide(MigrationCommandLive)
)
