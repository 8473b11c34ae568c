import { Command, Options } from "@effect/cli"
import { SqlClient } from "@effect/sql"
import { Console, Effect } from "effect"
import { indexStates } from "../../migrations/ConcurrentIndexes.ts"
import { migrations } from "../../migrations/index.ts"
import { appliedMigrations } from "../../migrations/Migrate.ts"

const json = Options.boolean("json").pipe(Options.withDescription("print the status as JSON"))

/** `migrate status [--json]`: applied and pending migrations, and every declared index with its state. */
export const migrateStatusCommand = Command.make(
  "status",
  { json },
  Effect.fn("cli.migrate.status")(function* ({ json }) {
    const sql = yield* SqlClient.SqlClient
    const applied = yield* appliedMigrations
    const appliedIds = new Set(applied.map((row) => row.id))
    const pending = migrations.filter(([id]) => !appliedIds.has(id)).map(([id, name]) => ({ id, name }))
    const indexes = yield* Effect.scoped(Effect.flatMap(sql.reserve, indexStates))
    if (json) return yield* Console.log(JSON.stringify({ applied, pending, indexes }, null, 2))
    for (const row of applied) yield* Console.log(`applied  ${row.id}_${row.name}  ${row.appliedAt.toISOString()}`)
    for (const row of pending) yield* Console.log(`pending  ${row.id}_${row.name}`)
    for (const index of indexes) yield* Console.log(`index    ${index.name.padEnd(48)} ${index.state}`)
  })
).pipe(Command.withDescription("list applied and pending migrations and the state of every declared index"))
